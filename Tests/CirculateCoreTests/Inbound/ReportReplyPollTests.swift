import CirculateTestSupport
import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

/// A report's replies in a real Dovecot mailbox, read by the poller.
@Suite("Replies to a report in the mailbox (a real Dovecot)")
struct ReportReplyPollTests {
    let w: ReportReplyWorld
    let server: DovecotServer
    let settings: CirculateCore.Configuration.Inbox

    init() throws {
        w = try ReportReplyWorld()
        server = try DovecotServer()
        var settings = CirculateCore.Configuration.Inbox(url: try #require(URL(string: "imaps://127.0.0.1:\(server.imapsPort)/INBOX")),
                                                         username: server.username)
        settings.passwordEnv = "IMAP_PW"
        settings.caFile = server.caFile
        settings.messagesPerPoll = 2
        self.settings = settings
    }

    /// A poller as the daemon makes one (a new one stands for a restart: nothing is kept between polls but the database).
    func poll(at now: Date = utc(2026, 11, 20, 2)) throws -> InboxPoller.Report {
        try InboxPoller(settings: settings, database: w.world.db, key: testKey, bounceLimit: 2, timeZone: ReportReplyWorld.zone,
                        environment: ["IMAP_PW": server.password], logger: Logger(label: "test"), clock: { now }).poll()
    }

    /// A connection of its own, to read the folder's UIDVALIDITY.
    func client() throws -> IMAPClient {
        try IMAPClient(try InboxPoller(settings: settings, database: w.world.db, key: testKey, bounceLimit: 2, timeZone: .gmt,
                                       environment: ["IMAP_PW": server.password], logger: Logger(label: "test"), clock: { Date() })
            .clientSettings())
    }

    func reply(_ email: String, id: String) throws -> String {
        ReportReplyWorld.reply(from: email, inReplyTo: try w.messageID(.report, to: email), id: id)
    }

    @Test("replies to a report stay in INBOX, flagged; later polls neither read nor count them, so new mail is never held up")
    func leftInPlace() throws {
        for (n, email) in ["kay@example.org", "lee@example.org", "fay@example.org"].enumerated() {
            try server.deliver(try reply(email, id: "answer-\(n)@example.net"), from: email)
        }
        // Two a poll: the third waits for the next one.
        let first = try poll()
        #expect(first.leftFlagged == 2 && first.waiting == 1, "\(first)")
        let second = try poll()
        #expect(second.leftFlagged == 1 && second.waiting == 0, "\(second)")
        #expect(server.count(in: "INBOX") == 3)
        #expect(server.flags(in: "INBOX").count == 3 && server.flags(in: "INBOX").allSatisfy { $0.contains("F") }, "\(server.flags(in: "INBOX"))")
        #expect(server.count(in: "circulate-processed") == 0 && server.count(in: "circulate-for-coordinator") == 0)
        #expect(try w.world.count("SELECT count(*) FROM report_recipient WHERE response_note LIKE 'replied by email on %'") == 3)

        // New mail behind the three replies is read at once, though the per-poll limit is two.
        let notice = try w.messageID(.reportNotice, to: "mo@example.org")
        try server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: notice, recipient: "mo@example.org"))
        let third = try poll(at: utc(2026, 11, 20, 3))
        #expect(third.handled == 1 && third.waiting == 0 && third.leftFlagged == 0 && third.alreadyRecorded == 0, "\(third)")
        #expect(server.count(in: "circulate-processed") == 1)

        // The coordinator reads one and clears its flag: it is not flagged again. An hour later, and with a new
        // poller (a restart), nothing is read or done.
        let cur = "\(server.maildir)/cur"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: cur).first { $0.hasSuffix(":2,F") })
        try FileManager.default.moveItem(atPath: "\(cur)/\(name)", toPath: "\(cur)/\(name.dropLast())")
        #expect(try poll(at: utc(2026, 11, 20, 4)) == InboxPoller.Report())
        #expect(try poll(at: utc(2026, 11, 20, 5)) == InboxPoller.Report())
        #expect(server.count(in: "INBOX") == 3)
        #expect(server.flags(in: "INBOX").filter { $0.contains("F") }.count == 2, "\(server.flags(in: "INBOX"))")
        #expect(try w.world.count("SELECT count(*) FROM inbound_message") == 4)
        #expect(try w.recipient("kay@example.org").respondedAt == utc(2026, 11, 20, 2))
    }

    @Test("a reply delivered twice (two copies left in INBOX) is acted on once, and later polls fetch neither copy again")
    func copyLeftInPlace() throws {
        let text = try reply("kay@example.org", id: "answer-twice@example.net")
        try server.deliver(text, from: "kay@example.org")
        try server.deliver(text, from: "kay@example.org")
        let first = try poll()
        #expect(first.leftFlagged == 2 && first.alreadyRecorded == 1, "\(first)")
        #expect(try w.world.count("SELECT count(*) FROM inbound_message WHERE kind = 'report-reply'") == 2)
        #expect(try w.world.count("SELECT count(*) FROM report_recipient WHERE response_note LIKE 'replied by email on %'") == 1)
        // Each copy has a record at its own UID: the next polls (and a restart) skip both without fetching either.
        #expect(try poll(at: utc(2026, 11, 20, 3)) == InboxPoller.Report())
        #expect(try poll(at: utc(2026, 11, 20, 4)) == InboxPoller.Report())
        #expect(server.count(in: "INBOX") == 2 && server.flags(in: "INBOX").allSatisfy { $0.contains("F") })
    }

    @Test("after the folder's UIDVALIDITY changes, a reply left in place is known by its Message-ID: not acted on again, skipped after")
    func uidValidityChange() throws {
        try server.deliver(try reply("kay@example.org", id: "answer-kay@example.net"), from: "kay@example.org")
        #expect(try poll().leftFlagged == 1)
        let before = try client().status("INBOX").uidValidity
        // What a server rebuilding its index does: every UID and the UIDVALIDITY change.
        Thread.sleep(forTimeInterval: 1.1)
        for file in try FileManager.default.contentsOfDirectory(atPath: server.maildir) where file.hasPrefix("dovecot") {
            try FileManager.default.removeItem(atPath: "\(server.maildir)/\(file)")
        }
        let after = try client().status("INBOX").uidValidity
        #expect(after != before, "the test could not change UIDVALIDITY")

        let again = try poll(at: utc(2026, 11, 21, 9))
        #expect(again.alreadyRecorded == 1 && again.handled == 0, "\(again)")
        #expect(try poll(at: utc(2026, 11, 21, 10)) == InboxPoller.Report())
        #expect(server.count(in: "INBOX") == 1 && server.flags(in: "INBOX").allSatisfy { $0.contains("F") })
        #expect(try w.recipient("kay@example.org").respondedAt == utc(2026, 11, 20, 2))
        #expect(try w.world.count("SELECT count(*) FROM inbound_message WHERE uid_validity = ?", [after]) == 1)
    }
}
