import CirculateTestSupport
import Foundation

extension CLI {
    /// An instance sending through `relay` and reading `mailbox` (a real Dovecot) over IMAPS, polling every half
    /// second; `inbox` adds lines to the `[inbox]` section, `extra` whole sections.
    static func inboxInstance(_ relay: SMTPServer, _ mailbox: DovecotServer, members: [String], inbox: String = "",
                              extra: String = "") throws -> CLI {
        let cli = try CLI.relayInstance(relay, members: members, extra: """
            \(extra)
            [inbox]
            url = "imaps://127.0.0.1:\(mailbox.imapsPort)/INBOX"
            username = "\(mailbox.username)"
            password_file = "imap-password"
            ca_file = "\(mailbox.caFile)"
            \(inbox)
            """)
        _ = try cli.write("imap-password", mailbox.password + "\n")
        cli.environment["CIRCULATE_POLL_INTERVAL"] = "0.5"
        return cli
    }

    /// Runs a query on the instance's database with Python's sqlite3 (an independent look at what circulate
    /// committed): rows a line, columns joined by "|".
    func sql(_ query: String) throws -> String {
        try CLI.python("import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in c.execute(sys.argv[2]): print('|'.join(map(str,r)))",
                       [path("var/circulate.sqlite"), query]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
