import CirculateTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `circulate erase` with `[inbox]`, against a real Dovecot, with the daemon killed and restarted around it.
@Suite("erase deletes the person's messages from the list's mailbox", .serialized)
struct MailboxErasureCommandTests {
    @Test("with the mailbox reachable, erase deletes their messages at once (a reply that came in while the daemon was down included) and says how many; a restarted daemon finds nothing of theirs to read, and someone else's message stays")
    func atOnce() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let cli = try CLI.inboxInstance(relay, mailbox, members: ["kim@example.org", "lee@example.org"])
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 2 }, "\(cli.countsText)")
        let captured = try #require(relay.captured().first { ($0.meta["rcpt_tos"] as? [String])?.contains("kim@example.org") == true })
        let text = try String(contentsOfFile: captured.path, encoding: .utf8).replacingOccurrences(of: "\r\n ", with: " ")
        let tokenRange = try #require(text.range(of: #"subject=unsubscribe%20[0-9a-z-]+"#, options: .regularExpression))
        let token = String(text[tokenRange].dropFirst("subject=unsubscribe%20".count))
        try mailbox.deliver("From: Kim <kim@example.org>\nTo: cop@example.org\nSubject: unsubscribe \(token)\nMessage-ID: <u-kim@example.org>\n\n\n",
                            from: "kim@example.org")
        try mailbox.deliver("From: Kim <kim@example.org>\nTo: cop@example.org\nSubject: Slides?\nMessage-ID: <q-kim@example.org>\n\nThe slides?\n",
                            from: "kim@example.org")
        try mailbox.deliver("From: Lee <lee@example.org>\nTo: cop@example.org\nSubject: Venue?\nMessage-ID: <q-lee@example.org>\n\nWhere?\n",
                            from: "lee@example.org")
        #expect(cli.waitFor(20) {
            mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 1 && mailbox.count(in: "circulate-for-coordinator") == 2
        }, "\(cli.log())")

        // The daemon dies; a reply from Kim arrives meanwhile; Kim is erased while it is down.
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        try mailbox.deliver("From: Kim <kim@example.org>\nTo: cop@example.org\nSubject: Re: December update\nMessage-ID: <r-kim@example.org>\n\nThanks\n",
                            from: "kim@example.org")
        let erase = try cli.run("erase", "kim@example.org")
        #expect(erase.status == 0 && erase.stdout.contains("3 message(s) of theirs deleted from the list's mailbox"), "\(erase.stdout) \(erase.stderr)")
        #expect(!erase.stderr.contains("mailbox_erasure"), "nothing waits: \(erase.stderr)")
        #expect(try cli.sql("SELECT count(*) FROM mailbox_erasure") == "0", "the address is not kept")
        #expect(mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 0 && mailbox.count(in: "circulate-for-coordinator") == 1)

        // Restarted, the daemon has nothing of Kim's to read; Lee's question is still there, on record once.
        daemon = try cli.start("serve", log: "serve-2.log")
        Thread.sleep(forTimeInterval: 2)
        #expect(mailbox.count(in: "circulate-for-coordinator") == 1)
        #expect(try cli.sql("SELECT kind, state FROM inbound_message") == "other|for-coordinator", "only Lee's question is on record")
        #expect(!cli.log("serve-2.log").contains("error"), "\(cli.log("serve-2.log"))")
    }
}
