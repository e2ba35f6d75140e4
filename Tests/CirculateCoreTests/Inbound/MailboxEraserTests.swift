import CirculateTestSupport
import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

/// A real Dovecot with the list's mailbox, and the November update sent to p0, p1 and p2 from a real SQLite database.
private struct ErasureMailbox {
    let server: DovecotServer
    let world: QueueWorld
    let sent: [Claim]
    let settings: CirculateCore.Configuration.Inbox

    init() throws {
        server = try DovecotServer()
        world = try QueueWorld()
        sent = try world.claimAll()
        try world.record(sent.map { ($0, SendOutcome.accepted(reply: "250 Ok")) })
        var settings = CirculateCore.Configuration.Inbox(url: try #require(URL(string: "imaps://127.0.0.1:\(server.imapsPort)/INBOX")),
                                                         username: server.username)
        settings.passwordEnv = "IMAP_PW"
        settings.caFile = server.caFile
        self.settings = settings
    }

    var environment: [String: String] { ["IMAP_PW": server.password] }

    func poller(_ settings: CirculateCore.Configuration.Inbox? = nil) -> InboxPoller {
        InboxPoller(settings: settings ?? self.settings, database: world.db, key: testKey, bounceLimit: world.policy.bounceLimit,
                    timeZone: .gmt, environment: environment, logger: Logger(label: "test"), clock: { Date() })
    }

    func eraser(_ settings: CirculateCore.Configuration.Inbox? = nil) -> MailboxEraser {
        MailboxEraser(settings: settings ?? self.settings, database: world.db, logger: Logger(label: "test"))
    }

    func memberID(_ email: String) throws -> Int64 {
        try #require(try world.db.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM member WHERE email = ?", arguments: [email]) })
    }

    /// Rows of `mailbox_erasure`: (address, message_ids, attempts).
    func jobs() throws -> [(String, String, Int)] {
        try world.db.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT address, message_ids, attempts FROM mailbox_erasure ORDER BY id").map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Every message file in the Maildir (all folders; new, cur and tmp), read whole.
    func messageFiles() -> [String: Data] {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        let folders = [server.maildir] + ((try? fm.contentsOfDirectory(atPath: server.maildir)) ?? []).filter { $0.hasPrefix(".") }
            .map { "\(server.maildir)/\($0)" }
        for folder in folders {
            for sub in ["new", "cur", "tmp"] {
                for name in (try? fm.contentsOfDirectory(atPath: "\(folder)/\(sub)")) ?? [] {
                    files["\(folder)/\(sub)/\(name)"] = fm.contents(atPath: "\(folder)/\(sub)/\(name)")
                }
            }
        }
        return files
    }

    /// The person's messages: a bounce report of their message, their unsubscribe email (valid token), a question
    /// (for the coordinator, flagged), and an unsubscribe email from another address of theirs carrying their token
    /// (found only through the Message-ID its record keeps). And p1's bounce and question, which must stay.
    func deliverTheirs() throws {
        let p0 = sent[0], p1 = sent[1]
        #expect(p0.recipient == "p0@example.org" && p1.recipient == "p1@example.org")
        let token = testKey.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: try memberID("p0@example.org")))
        try server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: p0.messageID, recipient: p0.recipient))
        try server.deliver(InboundFixtures.unsubscribeEmail(subject: "unsubscribe \(token)", from: p0.recipient, messageID: "u-p0@example.org"),
                           from: p0.recipient)
        try server.deliver(try InboundFixtures.text("question.eml", messageID: p0.messageID, recipient: p0.recipient), from: p0.recipient)
        try server.deliver(InboundFixtures.unsubscribeEmail(subject: "Re: unsubscribe \(token)", from: "kim.alias@example.net",
                                                            messageID: "forwarded-p0@example.org"), from: "kim.alias@example.net")
        // p1's report and question have Message-IDs of their own (InboundFixtures.reportID names the recipient).
        try server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: p1.messageID, recipient: p1.recipient))
        try server.deliver(try InboundFixtures.text("question.eml", messageID: p1.messageID, recipient: p1.recipient), from: p1.recipient)
    }
}

@Suite("Erasure reaches the list's mailbox (a real Dovecot)")
struct MailboxEraserTests {
    @Test("after an erasure the next poll deletes the person's messages from the folder read, the processed folder and the coordinator's (flagged too), found by address and by their records' Message-IDs; others' stay, and the job's row goes")
    func nextPoll() throws {
        let m = try ErasureMailbox()
        try m.deliverTheirs()
        let first = try m.poller().poll()
        #expect(first.handled == 4 && first.forCoordinator == 2, "\(first)")
        #expect(m.server.count(in: "circulate-processed") == 4 && m.server.count(in: "circulate-for-coordinator") == 2)
        // A reply of theirs that arrives after the erasure is never read: it goes first.
        try m.server.deliver("From: <p0@example.org>\r\nTo: community@example.org\r\nSubject: Re: November update\r\nMessage-ID: <late@example.org>\r\n\r\nThanks!\r\n",
                             from: "p0@example.org")

        _ = try m.world.db.erase(EmailAddress("p0@example.org"), key: testKey, erasedBy: "sam", mailbox: true, now: testNow)
        let jobs = try m.jobs()
        #expect(jobs.count == 1 && jobs[0].0 == "p0@example.org", "queued in the erasure's commit: \(jobs)")
        #expect(jobs[0].1.contains("forwarded-p0@example.org") && jobs[0].1.contains("u-p0@example.org"), "\(jobs)")

        let report = try m.poller().poll()
        #expect(report.erased == 5, "the bounce, both unsubscribe emails, the flagged question, the late reply: \(report)")
        #expect(report.handled == 0 && report.forCoordinator == 0, "the late reply was not read: \(report)")
        #expect(m.server.count(in: "INBOX") == 0)
        #expect(m.server.count(in: "circulate-processed") == 1 && m.server.count(in: "circulate-for-coordinator") == 1)
        for (path, bytes) in m.messageFiles() {
            #expect(bytes.range(of: Data("p0@example.org".utf8)) == nil && bytes.range(of: Data("forwarded-p0".utf8)) == nil, "\(path)")
        }
        #expect(m.messageFiles().values.contains { $0.range(of: Data("p1@example.org".utf8)) != nil }, "p1's messages stay")
        #expect(try m.jobs().isEmpty, "the address is gone with the job")
        let records = try m.world.db.pool.read { db in try String.fetchAll(db, sql: "SELECT message_id FROM inbound_message ORDER BY id") }
        let p1 = m.sent[1]
        let expected = ["postfix-bounce.eml", "question.eml"].map {
            InboundFixtures.reportID($0, messageID: p1.messageID, recipient: p1.recipient)
        }
        #expect(records.map { $0.prefix { $0 != "@" } } == expected.map { Substring($0) },
                "the record of their question for the coordinator went with its message; p1's stay: \(records)")
        #expect(try m.world.db.pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'wal_cleanup_pending'") } == nil,
                "the log holding the job's old page was emptied")
        // And the next poll has nothing more to do.
        #expect(try m.poller().poll() == InboxPoller.Report())
    }

    @Test("a crash after the mailbox deletion and before the commit leaves the row: the next run finds nothing, finishes, and a repeated erasure adds no second row")
    func crashAndRepeat() throws {
        let m = try ErasureMailbox()
        try m.deliverTheirs()
        _ = try m.poller().poll()
        _ = try m.world.db.erase(EmailAddress("p0@example.org"), key: testKey, erasedBy: "sam", mailbox: true, now: testNow)
        // The mailbox part done, then the process dies before the row goes (the state a kill -9 there leaves).
        let job = try #require(try m.world.db.pendingMailboxErasures().first)
        let client = try IMAPClient(try m.settings.clientSettings(environment: m.environment))
        #expect(try m.eraser().deleteMessages(of: job, client: client) == 4)
        #expect(try m.jobs().count == 1)
        // Erased again meanwhile (the command's already-erased path): still one row, its Message-IDs kept.
        try m.world.db.queueMailboxErasure(EmailAddress("p0@example.org"), now: testNow)
        #expect(try m.jobs().count == 1 && m.jobs()[0].1.contains("forwarded-p0@example.org"))
        // After a restart, the next run searches again, deletes nothing more, and finishes.
        let outcome = try m.eraser().runNow(environment: m.environment)
        #expect(outcome == MailboxEraser.Outcome(deleted: 0, finished: 1, waiting: 0, problem: nil))
        #expect(try m.jobs().isEmpty)
        #expect(m.server.count(in: "circulate-processed") == 1 && m.server.count(in: "circulate-for-coordinator") == 1)
    }

    @Test("while the mailbox refuses or is away, the erasure commits and the job waits, counted, with no address in its problem; when it answers, the job finishes")
    func outage() throws {
        let m = try ErasureMailbox()
        try m.deliverTheirs()
        _ = try m.poller().poll()
        var away = m.settings
        away.url = try #require(URL(string: "imaps://127.0.0.1:1/INBOX"))
        let receipt = try m.world.db.erase(EmailAddress("p0@example.org"), key: testKey, erasedBy: "sam", mailbox: true, now: testNow)
        #expect(receipt.mailboxPending && receipt.withdrawal.erased)
        guard case .erased = try m.world.db.lookup(EmailAddress("p0@example.org"), key: testKey) else {
            Issue.record("the database part is done at once")
            return
        }

        let first = try m.eraser(away).runNow(environment: m.environment)
        #expect(first.waiting == 1 && first.finished == 0 && first.problem?.contains("cannot connect") == true, "\(first)")
        let wrong = try m.eraser().runNow(environment: ["IMAP_PW": "wrong"])
        #expect(wrong.waiting == 1 && wrong.problem?.contains("refused the login") == true, "\(wrong)")
        let jobs = try m.jobs()
        #expect(jobs.count == 1 && jobs[0].2 == 2, "two tries counted: \(jobs)")
        let problem = try m.world.db.pool.read { db in try String.fetchOne(db, sql: "SELECT last_problem FROM mailbox_erasure") } ?? ""
        #expect(!problem.isEmpty && !problem.contains("p0@example.org"), "\(problem)")
        #expect(m.server.count(in: "circulate-processed") == 4, "nothing deleted yet")

        // The outage ends: the daemon's next poll does it.
        #expect(try m.poller().poll().erased == 4)
        #expect(try m.jobs().isEmpty)
        #expect(m.server.count(in: "circulate-processed") == 1 && m.server.count(in: "circulate-for-coordinator") == 1)
    }

    @Test("the searches: From, To, Cc or the text, in both forms of an internationalised domain (UTF-8 declared), and each Message-ID by header")
    func searches() {
        let job = MailboxErasureJob(id: 1, address: "zoë@bücher.example", messageIDs: ["a\"b@example.org"], requestedAt: testNow, attempts: 0)
        #expect(MailboxEraser.searches(for: job) == [
            "CHARSET UTF-8 OR OR OR FROM \"zoë@bücher.example\" TO \"zoë@bücher.example\" CC \"zoë@bücher.example\" TEXT \"zoë@bücher.example\"",
            "CHARSET UTF-8 OR OR OR FROM \"zoë@xn--bcher-kva.example\" TO \"zoë@xn--bcher-kva.example\" CC \"zoë@xn--bcher-kva.example\" TEXT \"zoë@xn--bcher-kva.example\"",
            "HEADER Message-ID \"<a\\\"b@example.org>\"",
        ])
    }
}
