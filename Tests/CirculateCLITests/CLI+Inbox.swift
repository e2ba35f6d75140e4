import CirculateTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

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

    /// Starts `serve` on a mailbox full of messages, kills it (SIGKILL) as soon as its poll has moved a first one to
    /// the processed folder, starts it again and waits until the folder read is empty. Returns the restarted daemon
    /// and how many messages had been moved before the kill.
    func killMidPollAndRestart(_ mailbox: DovecotServer) throws -> (daemon: Process, movedBeforeKill: Int) {
        let killed = try start("serve", log: "serve-killed.log")
        #expect(waitFor(20) { mailbox.count(in: "circulate-processed") >= 1 }, "\(log("serve-killed.log"))")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let moved = mailbox.count(in: "circulate-processed")
        let daemon = try start("serve", log: "serve-after.log")
        #expect(waitFor(30) { mailbox.count(in: "INBOX") == 0 }, "\(log("serve-after.log"))")
        return (daemon, moved)
    }
}
