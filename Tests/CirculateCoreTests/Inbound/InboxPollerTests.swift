import CirculateTestSupport
import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

/// A real Dovecot with the list's mailbox, and the November update sent from a real SQLite database.
private struct MailboxWorld {
    let server: DovecotServer
    let inbox: InboxWorldBase
    let settings: CirculateCore.Configuration.Inbox

    init(implicitTLS: Bool = true, capabilities: String? = nil, mechanisms: String = "plain login") throws {
        server = try DovecotServer(capabilities: capabilities, mechanisms: mechanisms)
        inbox = try InboxWorldBase()
        let url = implicitTLS ? "imaps://127.0.0.1:\(server.imapsPort)/INBOX" : "imap://127.0.0.1:\(server.imapPort)/INBOX"
        var settings = CirculateCore.Configuration.Inbox(url: try #require(URL(string: url)), username: server.username)
        settings.passwordEnv = "IMAP_PW"
        settings.caFile = server.caFile
        self.settings = settings
    }

    func poller(_ settings: CirculateCore.Configuration.Inbox? = nil, password: String? = nil,
                now: @escaping @Sendable () -> Date = { Date() }) -> InboxPoller {
        InboxPoller(settings: settings ?? self.settings, database: inbox.world.db, key: testKey, bounceLimit: inbox.world.policy.bounceLimit,
                    timeZone: .gmt,
                    environment: ["IMAP_PW": password ?? server.password], logger: Logger(label: "test"), clock: now)
    }
}

/// The queue world with the update sent to p0, p1 and p2.
private struct InboxWorldBase {
    let world: QueueWorld
    let sent: [Claim]

    init() throws {
        world = try QueueWorld()
        sent = try world.claimAll()
        try world.record(sent.map { ($0, SendOutcome.accepted(reply: "250 Ok")) })
    }

    func bounces(_ email: String) throws -> Int {
        try world.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT hard_bounces FROM member WHERE email = ?", arguments: [email]) ?? -1 }
    }
}

@Suite("The mailbox over IMAP (a real Dovecot)")
struct InboxPollerTests {
    @Test("a poll reads every message over TLS, acts once, moves handled mail to the processed folder and the rest, flagged, to the coordinator's")
    func poll() throws {
        let m = try MailboxWorld()
        let claim = m.inbox.sent[0]
        try m.server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: claim.messageID, recipient: claim.recipient))
        try m.server.deliver(try InboundFixtures.text("question.eml", messageID: claim.messageID, recipient: claim.recipient), from: claim.recipient)
        let report = try m.poller().poll()
        #expect(report.handled == 1)
        #expect(report.forCoordinator == 1)
        #expect(m.server.count(in: "INBOX") == 0)
        #expect(m.server.count(in: "circulate-processed") == 1)
        #expect(m.server.count(in: "circulate-for-coordinator") == 1)
        #expect(m.server.flags(in: "circulate-for-coordinator").allSatisfy { $0.contains("F") })
        // BODY.PEEK: reading did not mark the processed message seen.
        #expect(m.server.flags(in: "circulate-processed").allSatisfy { !$0.contains("S") })
        #expect(try m.inbox.bounces(claim.recipient) == 1)
        // A second poll finds nothing new and changes nothing.
        let again = try m.poller().poll()
        #expect(again == InboxPoller.Report())
        #expect(try m.inbox.bounces(claim.recipient) == 1)
    }

    @Test("a message recorded but not yet moved (a crash between the two) is moved at the next poll without acting again")
    func recordedNotMoved() throws {
        let m = try MailboxWorld()
        let claim = m.inbox.sent[0]
        let text = try InboundFixtures.text("postfix-bounce.eml", messageID: claim.messageID, recipient: claim.recipient)
        try m.server.deliver(text)
        // What a crash after the commit leaves: the record, the message still in INBOX.
        let client = try IMAPClient(try m.poller().clientSettings())
        let validity = try client.status("INBOX").uidValidity
        let uid = try #require(try client.allUIDs(in: "INBOX").first)
        _ = try InboxProcessor(database: m.inbox.world.db, key: testKey, bounceLimit: 2, timeZone: .gmt)
            .handle(Array(text.utf8), at: InboundRecord.Place(folder: "INBOX", uidValidity: validity, uid: uid), now: testNow)
        #expect(try m.inbox.bounces(claim.recipient) == 1)
        let report = try m.poller().poll()
        #expect(report.alreadyRecorded == 1)
        #expect(report.handled == 0)
        #expect(m.server.count(in: "INBOX") == 0)
        #expect(m.server.count(in: "circulate-processed") == 1)
        #expect(try m.inbox.bounces(claim.recipient) == 1)
    }

    @Test("STARTTLS on imap:// works, and without MOVE the server gets COPY, \\Deleted and UID EXPUNGE")
    func starttlsWithoutMove() throws {
        let m = try MailboxWorld(implicitTLS: false, capabilities: "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS STARTTLS AUTH=PLAIN")
        let client = try IMAPClient(try m.poller().clientSettings())
        #expect(try client.capability("MOVE") == false)
        try m.server.deliver(try InboundFixtures.text("question.eml"), from: "kim@example.org")
        let report = try m.poller().poll()
        #expect(report.forCoordinator == 1)
        #expect(m.server.count(in: "INBOX") == 0)
        #expect(m.server.count(in: "circulate-for-coordinator") == 1)
    }

    @Test("messages over the size limit are not downloaded but left for the coordinator; the per-poll limit leaves the rest for later")
    func limits() throws {
        let m = try MailboxWorld()
        var settings = m.settings
        settings.maximumMessageSize = 10_000
        settings.messagesPerPoll = 2
        let big = try InboundFixtures.text("question.eml") + String(repeating: "A long reply line, over and over.\r\n", count: 600)
        try m.server.deliver(big, from: "kim@example.org")
        for _ in 0..<2 { try m.server.deliver(try InboundFixtures.text("question.eml"), from: "kim@example.org") }
        let first = try m.poller(settings).poll()
        #expect(first.waiting == 1)
        #expect(m.server.count(in: "INBOX") == 1)
        let kinds = try m.inbox.world.db.inbox(limit: 10).awaiting.map(\.record.kind)
        #expect(kinds.contains("too-large"))
        _ = try m.poller(settings).poll()
        #expect(m.server.count(in: "INBOX") == 0)
    }

    @Test("handled messages are deleted from the processed folder once they arrived more than retention_days ago, not before")
    func retention() throws {
        let m = try MailboxWorld()
        var settings = m.settings
        settings.retentionDays = 2
        try m.server.deliver(try InboundFixtures.text("question.eml"), folder: "circulate-processed", from: "kim@example.org")
        let kept = try m.poller(settings, now: { Date().addingTimeInterval(86_400) }).poll()
        #expect(kept.expired == 0)
        #expect(m.server.count(in: "circulate-processed") == 1)
        let expired = try m.poller(settings, now: { Date().addingTimeInterval(4 * 86_400) }).poll()
        #expect(expired.expired == 1)
        #expect(m.server.count(in: "circulate-processed") == 0)
        #expect(InboxPoller.imapDate(Date(timeIntervalSince1970: 1_801_094_400)) == "28-Jan-2027")
    }

    @Test("a wrong password and an untrusted certificate are refused with words that say what to check")
    func refusals() throws {
        let m = try MailboxWorld()
        #expect(throws: IMAPError.self) { try m.poller(password: "wrong").poll() }
        do { _ = try m.poller(password: "wrong").poll() } catch { #expect("\(error)".contains("inbox.username")) }
        var untrusted = m.settings
        untrusted.caFile = nil
        do {
            _ = try m.poller(untrusted).poll()
            Issue.record("a self-signed certificate was trusted")
        } catch { #expect("\(error)".contains("inbox.ca_file")) }
        #expect(!m.server.log.contains(m.server.password))
    }

    @Test("XOAUTH2 (Microsoft 365's only way in): the token file is read at each poll, so a refreshed token works without a restart and an expired one is refused with words naming the file")
    func oauth2TokenReadAtEachPoll() throws {
        // The server offers XOAUTH2 alone, as Microsoft 365 does, and accepts one token at a time.
        let m = try MailboxWorld(mechanisms: "xoauth2")
        try m.server.accept(secret: "first-access-token")
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("imap-token-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        try "first-access-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        var settings = m.settings
        settings.passwordEnv = nil
        settings.oauth2TokenFile = tokenFile
        let poller = m.poller(settings, password: "not-used")
        let claim = m.inbox.sent[0]
        try m.server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: claim.messageID, recipient: claim.recipient))
        #expect(try poller.poll().handled == 1)
        #expect(m.server.log.contains("method=XOAUTH2"))

        // The token expires (the server takes only a new one) before the refresher has run: the poll is refused,
        // and the words say where the token is read from.
        try m.server.accept(secret: "second-access-token-after-refresh")
        do {
            _ = try poller.poll()
            Issue.record("an expired token was accepted")
        } catch {
            #expect("\(error)".contains("inbox.oauth2_token_file"))
            #expect(!"\(error)".contains("first-access-token"))
        }
        // The refresher writes the new token: the same poller, with no restart, gets in at its next poll.
        try "second-access-token-after-refresh\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try m.server.deliver(try InboundFixtures.text("postfix-bounce.eml", messageID: m.inbox.sent[1].messageID, recipient: m.inbox.sent[1].recipient))
        #expect(try poller.poll().handled == 1)
        #expect(try m.inbox.bounces(m.inbox.sent[1].recipient) == 1)
        #expect(!m.server.log.contains("access-token"))
    }
}
