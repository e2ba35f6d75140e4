import CirculateTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Spam complaints and per-message bounce addresses, end to end: the real daemon sends through the test relay and
/// reads a real Dovecot mailbox.
@Suite("Inbound mail end to end: complaints and VERP", .serialized)
struct InboxComplaintTests {
    private func instance(_ relay: SMTPServer, _ mailbox: DovecotServer, members: [String], verp: Bool = false) throws -> CLI {
        try CLI.inboxInstance(relay, mailbox, members: members, inbox: verp ? "verp = true" : "")
    }

    /// What the relay received for `address`: the Message-ID (without brackets), MAIL FROM, and the message's text.
    private func sent(_ relay: SMTPServer, to address: String) throws -> [(messageID: String, mailFrom: String, text: String)] {
        try relay.captured().filter { ($0.meta["rcpt_tos"] as? [String])?.contains(address) == true }.map { meta, path in
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let id = try #require(text.range(of: #"(?m)^Message-ID: <([^>]+)>"#, options: .regularExpression))
            return (String(String(text[id]).components(separatedBy: "<")[1].dropLast()), meta["mail_from"] as? String ?? "", text)
        }
    }

    private func fixture(_ name: String, messageID: String, recipient: String, bounceTo: String = "cop@example.org") throws -> String {
        try InboundFixture.text(name, messageID: messageID, recipient: recipient, bounceTo: bounceTo)
    }

    @Test("a complaint unsubscribes the person from everything; the same report an hour later and a restart change nothing; no more mail goes to them")
    func complaint() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = ["kim@example.org", "lee@example.org", "sam@example.org"]
        let cli = try instance(relay, mailbox, members: people)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 3 }, "\(cli.countsText) \(cli.log())")
        let kim = try #require(try sent(relay, to: "kim@example.org").first)
        let report = try fixture("arf-yahoo.eml", messageID: kim.messageID, recipient: "kim@example.org")
        try mailbox.deliver(report)
        #expect(cli.waitFor(20) { mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 1 }, "\(cli.log())")

        let consent = "SELECT e.source FROM consent_event e JOIN member m ON m.id = e.member_id WHERE m.email = 'kim@example.org' AND e.action = 'withdrawn'"
        #expect(try cli.sql(consent) == "spam complaint via arf.mail.example.com")
        #expect(try cli.sql("SELECT status, monthly_update + session_invitations + reports FROM member WHERE email = 'kim@example.org'") == "unsubscribed|0")
        let changedAt = try cli.sql("SELECT status_changed_at FROM member WHERE email = 'kim@example.org'")
        #expect(try cli.sql("SELECT count(*) FROM member WHERE status = 'active'") == "2")
        let shown = try cli.run("inbox", "--json")
        #expect(shown.status == 0, "\(shown.stderr)")
        let handled = try #require(try shown.object()["handled"] as? [[String: Any]])
        #expect(handled.contains { $0["kind"] as? String == "complaint" && $0["member"] as? String == "kim@example.org"
            && ($0["action"] as? String ?? "").contains("unsubscribed from everything") }, "\(handled)")
        #expect(try cli.run("inbox").stdout.contains("spam complaint via arf.mail.example.com"))

        // An hour later (the daemon restarted on a clock an hour on), the same report arrives again: nothing more.
        daemon.terminate()
        daemon.waitUntilExit()
        cli.environment["CIRCULATE_NOW"] = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        daemon = try cli.start("serve", log: "serve-later.log")
        try mailbox.deliver(report)
        #expect(cli.waitFor(20) { mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 2 }, "\(cli.log("serve-later.log"))")
        #expect(try cli.sql(consent) == "spam complaint via arf.mail.example.com", "one withdrawal only")
        #expect(try cli.sql("SELECT status_changed_at FROM member WHERE email = 'kim@example.org'") == changedAt)
        // Known by its Message-ID: one record, now at the copy's place, and nothing acted on.
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "1")

        // The next update goes to the two others only; a restart redoes nothing.
        _ = try cli.send(subject: "January update")
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 5 }, "\(cli.countsText)")
        #expect(relay.countsByRecipient()["kim@example.org"] == 1)
        daemon.terminate()
        daemon.waitUntilExit()
        daemon = try cli.start("serve", log: "serve-3.log")
        Thread.sleep(forTimeInterval: 2)
        #expect(try cli.sql("SELECT count(*) FROM consent_event WHERE source LIKE 'spam complaint%'") == "1")
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "1")
        #expect(mailbox.count(in: "circulate-processed") == 2)
    }

    @Test("kill -9 in the middle of a poll of twenty complaints: after a restart each person is unsubscribed exactly once and every report is moved")
    func killedMidPoll() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = (1...20).map { "person\($0)@example.org" }
        let cli = try instance(relay, mailbox, members: people)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(60) { try cli.queueCounts()["sent"] == 20 }, "\(cli.countsText)")
        daemon.terminate()
        daemon.waitUntilExit()
        for person in people {
            let messageID = try #require(try sent(relay, to: person).first).messageID
            try mailbox.deliver(try fixture("arf-yahoo.eml", messageID: messageID, recipient: person))
        }
        // Killed while its poll is under way, then started again.
        let movedBeforeKill: Int
        (daemon, movedBeforeKill) = try cli.killMidPollAndRestart(mailbox)
        #expect(mailbox.count(in: "circulate-processed") == 20, "moved before the kill: \(movedBeforeKill)")
        #expect(try cli.sql("SELECT count(*), count(DISTINCT member_id) FROM consent_event WHERE source = 'spam complaint via arf.mail.example.com'") == "20|20")
        #expect(try cli.sql("SELECT count(*) FROM member WHERE status = 'unsubscribed'") == "20")
        #expect(try cli.sql("SELECT count(*), count(DISTINCT member_id) FROM inbound_message WHERE kind = 'complaint' AND state = 'handled'") == "20|20")
    }

    @Test("with inbox.verp, MAIL FROM carries each message's bounce token (From does not), and a bounce to it without any Message-ID counts against exactly that message, once")
    func verp() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = ["kim@example.org", "lee@example.org", "sam@example.org"]
        let cli = try instance(relay, mailbox, members: people, verp: true)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 3 }, "\(cli.countsText) \(cli.log())")
        var senders: Set<String> = []
        for person in people {
            let message = try #require(try sent(relay, to: person).first)
            #expect(message.mailFrom.range(of: #"^cop\+2bn-[0-9]+-[0-9a-f]{32}@example\.org$"#, options: .regularExpression) != nil, "\(message.mailFrom)")
            #expect(message.text.range(of: #"(?m)^From: .*<cop@example\.org>\r?$"#, options: .regularExpression) != nil, "From stays the list's")
            #expect(!message.text.contains("2bn-"), "the token is in the envelope only")
            senders.insert(message.mailFrom)
        }
        #expect(senders.count == 3, "one bounce address per message")

        let lee = try #require(try sent(relay, to: "lee@example.org").first)
        // Gmail's report, sent back to lee's message's bounce address, with every mention of its Message-ID removed.
        let bounce = try fixture("gmail-bounce.eml", messageID: lee.messageID, recipient: "lee@example.org", bounceTo: lee.mailFrom)
            .components(separatedBy: "\n").filter { !$0.contains(lee.messageID) }.joined(separator: "\n")
        #expect(!bounce.contains(lee.messageID))
        try mailbox.deliver(bounce)
        #expect(cli.waitFor(20) { mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 1 }, "\(cli.log())")
        let rows = "SELECT m.email, d.state, m.hard_bounces FROM delivery d JOIN member m ON m.id = d.member_id ORDER BY m.email"
        let expected = "kim@example.org|sent|0\nlee@example.org|failed|1\nsam@example.org|sent|0"
        #expect(try cli.sql(rows) == expected)

        // The same bounce again after a restart, an hour later: the message already failed, nothing counts twice.
        daemon.terminate()
        daemon.waitUntilExit()
        cli.environment["CIRCULATE_NOW"] = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        daemon = try cli.start("serve", log: "serve-later.log")
        try mailbox.deliver(bounce)
        #expect(cli.waitFor(20) { mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 2 }, "\(cli.log("serve-later.log"))")
        #expect(try cli.sql(rows) == expected)
        // A forged bounce address (one hex digit changed) is left for the coordinator and changes nothing.
        var forged = Array(lee.mailFrom)
        let last = try #require(forged.lastIndex(of: "@")) - 1
        forged[last] = forged[last] == "a" ? "b" : "a"
        let kim = try #require(try sent(relay, to: "kim@example.org").first)
        try mailbox.deliver(try fixture("gmail-bounce.eml", messageID: kim.messageID, recipient: "kim@example.org", bounceTo: String(forged))
            .components(separatedBy: "\n").filter { !$0.contains(kim.messageID) }.joined(separator: "\n"))
        #expect(cli.waitFor(20) { mailbox.count(in: "circulate-for-coordinator") == 1 }, "\(cli.log("serve-later.log"))")
        #expect(try cli.sql(rows) == expected)
    }
}
