import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// A list of five people and helpers to drive the queue through its states directly (no daemon, no relay).
struct QueueWorld {
    let scratch: Scratch
    let db: AppDatabase
    let policy: RecordingPolicy

    init(_ configure: (inout CirculateCore.Configuration.Delivery) -> Void = { _ in }) throws {
        scratch = try Scratch()
        db = try scratch.database()
        var delivery = CirculateCore.Configuration.Delivery()
        delivery.retryInitial = 300
        delivery.retryMaximum = 3600
        delivery.giveUpAfter = 86_400
        delivery.bounceLimit = 2
        configure(&delivery)
        policy = RecordingPolicy(delivery)
        for (i, tags) in [["member"], ["member", "board"], ["key-influencer"], ["member"]].enumerated() {
            _ = try db.addMember(person("p\(i)@example.org", name: "Person \(i)", tags: tags), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        _ = try db.addMember(person("li@example.org", tags: ["key-influencer"]), grant: grant(.legitimateInterest), key: testKey, rejoin: false, now: testNow)
        _ = try db.unsubscribe(EmailAddress("p3@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
    }

    func announcement(_ stream: MailStream = .monthlyUpdate, tags: [String] = [], subject: String = "November update",
                      at: Date? = nil, repeatMode: SendRepeat = .once, now: Date = testNow) throws -> Announcement {
        try Announcement(audience: Audience(stream: stream, tags: tags), subject: subject, bodyMarkdown: "Hello **all**", requestedStart: at,
                         now: now, createdBy: "sam", repeatMode: repeatMode)
    }

    /// Queues the November update to the three people on the monthly update, starts it and claims everything.
    func claimAll() throws -> [Claim] {
        _ = try db.enqueue(announcement(), domain: "example.org", now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        return try db.claimDue(limit: 10, now: testNow).sorted { $0.recipient < $1.recipient }
    }

    @discardableResult
    func record(_ pairs: [(Claim, SendOutcome)], at time: Date = testNow) throws -> [QueueEvent] {
        try db.record(pairs.map { DeliveryResult(claim: $0.0, outcome: $0.1, startedAt: time, finishedAt: time) }, policy: policy)
    }

    func delivery(_ claim: Claim) throws -> Delivery {
        try #require(try db.deliveries(states: Delivery.State.allCases, mailing: nil, limit: 1000).first { $0.id == claim.deliveryID })
    }

    func states() throws -> [String: Int] {
        try db.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM delivery GROUP BY state").map { ($0["state"], $0["n"]) })
        }
    }

    func member(_ email: String) throws -> Member {
        guard case .found(let profile) = try db.lookup(EmailAddress(email), key: testKey) else { throw CLIQueueError("no \(email)") }
        return profile.member
    }
}

struct CLIQueueError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

func reply(_ code: Int, _ text: String, _ stage: SMTPStage = .recipient) -> SendOutcome {
    .refused(SMTPReply(code: code, text: "\(code) \(text)", stage: stage))
}

@Suite("The outbound queue: in, claimed, out")
struct QueueTests {
    @Test("an audience is everyone who may receive the stream now, narrowed by any of the tags")
    func audience() throws {
        let w = try QueueWorld()
        #expect(try w.db.audienceSize(Audience(stream: .monthlyUpdate)) == 3)  // p0, p1, p2; p3 left; li has reports only
        #expect(try w.db.audienceSize(Audience(stream: .reports)) == 4)
        #expect(try w.db.audienceSize(Audience(stream: .reports, tags: ["board", "key-influencer"])) == 3)
    }

    @Test("the same announcement asked for again, a minute or a week later, queues nobody; --newcomers adds only those who joined; --again is a new mailing")
    func repeatedSend() throws {
        let w = try QueueWorld()
        let first = try w.db.enqueue(w.announcement(), domain: "example.org", now: testNow)
        #expect(first.added == 3 && !first.existed)
        // An hour later, and a week later after it was sent: the same mailing is found and nobody is added.
        let hour = try w.db.enqueue(w.announcement(now: testNow.addingTimeInterval(3600)), domain: "example.org", now: testNow.addingTimeInterval(3600))
        #expect(hour.existed && hour.added == 0 && hour.mailing.id == first.mailing.id)
        _ = try w.db.addMember(person("new@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        let week = testNow.addingTimeInterval(7 * 86_400)
        let later = try w.db.enqueue(w.announcement(now: week), domain: "example.org", now: week)
        #expect(later.existed && later.added == 0, "a newcomer is not added unless asked")
        #expect(try w.db.existingMailing(for: w.announcement(now: week))?.id == first.mailing.id, "the dry run sees it too")
        let newcomers = try w.db.enqueue(w.announcement(repeatMode: .newcomers, now: week), domain: "example.org", now: week)
        #expect(newcomers.existed && newcomers.added == 1 && newcomers.total == 4)
        let again = try w.db.enqueue(w.announcement(repeatMode: .again, now: week), domain: "example.org", now: week)
        #expect(!again.existed && again.mailing.id != first.mailing.id && again.added == 4)
        // A different start time (--at) is a different request; a cancelled mailing no longer counts.
        let other = try w.db.enqueue(w.announcement(at: week.addingTimeInterval(86_400), now: week), domain: "example.org", now: week)
        #expect(!other.existed)
        _ = try w.db.cancelMailing(other.mailing.id ?? -1, now: week)
        let afterCancel = try w.db.enqueue(w.announcement(at: week.addingTimeInterval(86_400), now: week), domain: "example.org", now: week)
        #expect(!afterCancel.existed && afterCancel.mailing.id != other.mailing.id)
        // Message-IDs are fixed at queueing, unique, and on the configured domain.
        let ids = try w.db.pool.read { try String.fetchAll($0, sql: "SELECT message_id FROM delivery") }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasSuffix("@example.org") && $0.count == 32 + 12 })
    }

    @Test("claiming marks messages sending and cancels those whose recipient may no longer receive them")
    func claim() throws {
        let w = try QueueWorld()
        _ = try w.db.enqueue(w.announcement(), domain: "example.org", now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        _ = try w.db.unsubscribe(EmailAddress("p1@example.org"), stream: .monthlyUpdate, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(try w.states() == ["queued": 2, "cancelled": 1], "unsubscribing cancels the person's queued message in the same transaction")
        // A stream left without an unsubscribe being recorded (edited directly) is caught when claiming.
        try w.db.pool.write { try $0.execute(sql: "UPDATE member SET monthly_update = 0 WHERE email = 'p2@example.org'") }
        let claims = try w.db.claimDue(limit: 10, now: testNow)
        #expect(claims.map(\.recipient) == ["p0@example.org"])
        #expect(claims.allSatisfy { $0.attempt == 1 && $0.kind == .announcement })
        #expect(try w.states() == ["sending": 1, "cancelled": 2])
        let cancelled = try w.db.deliveries(states: [.cancelled], mailing: nil, limit: 10).compactMap(\.reply)
        #expect(cancelled.contains("the recipient left the mailing's stream"))
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
    }

    @Test("the last check sees an unsubscribe, a stream left, a cancelled mailing and an erasure; a database it cannot read is not a withdrawal")
    func lastCheck() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        #expect(c.count == 3)
        // A worker's own checker, made before the changes and kept across them, sees each one as the pool does.
        let checker = try w.db.makeLastChecker()
        #expect(w.db.lastCheck(c[0].deliveryID) == .go)
        #expect(c.allSatisfy { checker.check($0.deliveryID) == .go })
        _ = try w.db.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(w.db.lastCheck(c[0].deliveryID) == .stop("the recipient unsubscribed"))
        #expect(checker.check(c[0].deliveryID) == .stop("the recipient unsubscribed"))
        #expect(checker.check(c[1].deliveryID) == .go)
        try w.db.pool.write { try $0.execute(sql: "UPDATE member SET monthly_update = 0 WHERE email = 'p1@example.org'") }
        #expect(w.db.lastCheck(c[1].deliveryID) == .stop("the recipient left the mailing's stream"))
        #expect(checker.check(c[1].deliveryID) == .stop("the recipient left the mailing's stream"))
        _ = try w.db.erase(EmailAddress("p2@example.org"), key: testKey, erasedBy: "sam", now: testNow)
        #expect(w.db.lastCheck(c[2].deliveryID) == .stop(OutboundQueue.erased))
        #expect(checker.check(c[2].deliveryID) == .stop(OutboundQueue.erased))
        #expect(checker.check(-1) == .stop(OutboundQueue.erased), "no such message")
        // A check that could not be made is not a withdrawal: the message goes back, counting nothing.
        try w.record([(c[1], .checkFailed(detail: "database is locked", atRelay: false))])
        let back = try w.delivery(c[1])
        #expect(back.state == .queued && back.attempts == 0)
    }

    @Test("the check before the content needs no query when nothing was committed since the first check began; any commit means a full check")
    func lastCheckUnchangedLog() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let checker = try w.db.makeLastChecker()
        // Another pool on the same file: its commits reach the checker only through the file, as a command's do.
        let other = try AppDatabase.open(path: w.db.path, create: false)
        var header: LastChecker.LogHeader?
        #expect(checker.check(c[0].deliveryID, noting: &header) == .go)
        #expect(header != nil, "the log index's header can be read")
        let queries = checker.queries
        #expect(checker.check(c[0].deliveryID, unlessUnchangedSince: header) == .go)
        #expect(checker.queries == queries, "nothing was committed: answered from the header")

        // A commit that has nothing to do with the message still means a full check (which says go).
        try other.pool.write { try $0.execute(sql: "UPDATE member SET name = 'Someone Else' WHERE email = 'p1@example.org'") }
        #expect(checker.check(c[0].deliveryID, unlessUnchangedSince: header) == .go)
        #expect(checker.queries == queries + 1)

        // The person unsubscribes between the two checks: the second sees it.
        #expect(checker.check(c[0].deliveryID, noting: &header) == .go)
        _ = try other.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(checker.check(c[0].deliveryID, unlessUnchangedSince: header) == .stop("the recipient unsubscribed"))

        // A first check that does not say go notes nothing, so the next one queries.
        #expect(checker.check(c[0].deliveryID, noting: &header) == .stop("the recipient unsubscribed"))
        #expect(header == nil)
        #expect(checker.check(c[0].deliveryID, unlessUnchangedSince: header) == .stop("the recipient unsubscribed"))

        // A checkpoint that empties the log, then a commit: the log starts again with new salts, so its header never
        // matches the one noted before the checkpoint, whatever the frame count. A full check, never a stale go.
        #expect(checker.check(c[1].deliveryID, noting: &header) == .go)
        let before = checker.queries
        try other.pool.writeWithoutTransaction { _ = try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        _ = try other.erase(EmailAddress("p1@example.org"), key: testKey, erasedBy: "sam", now: testNow)
        #expect(checker.check(c[1].deliveryID, unlessUnchangedSince: header) == .stop(OutboundQueue.erased))
        #expect(checker.queries == before + 1)
    }

    @Test("through a symbolic link to the database, the checker reads the log index SQLite uses, never a stray file next to the link")
    func lastCheckThroughLink() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let link = w.scratch.path("linked.sqlite")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: w.db.path)
        // A stale copy of the index where a naive "<path>-shm" would look: it never changes.
        try FileManager.default.copyItem(atPath: w.db.path + "-shm", toPath: link + "-shm")
        let linked = try AppDatabase.open(path: link, create: false)
        let checker = try linked.makeLastChecker()
        var header: LastChecker.LogHeader?
        #expect(checker.check(c[0].deliveryID, noting: &header) == .go)
        _ = try w.db.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(checker.check(c[0].deliveryID, unlessUnchangedSince: header) == .stop("the recipient unsubscribed"))
    }

    @Test("a check that could not be made gives the message back for a try a minute later, counting nothing")
    func checkFailed() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], .checkFailed(detail: "database is locked", atRelay: false))])
        let d = try w.delivery(c[0])
        #expect(d.state == .queued && d.attempts == 0 && d.nextAttemptAt == testNow.addingTimeInterval(60))
    }

    @Test("a mailing whose every recipient left is finished, not left sending for ever, by every cancel path")
    func everyoneLeft() throws {
        let w = try QueueWorld()
        let mailing = try w.db.enqueue(w.announcement(.monthlyUpdate, tags: ["board"]), domain: "example.org", now: testNow).mailing
        #expect(try w.db.mailing(id: mailing.id ?? -1)?.state == .scheduled)
        _ = try w.db.unsubscribe(EmailAddress("p1@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        #expect(try w.db.mailing(id: mailing.id ?? -1)?.state == .done)

        let second = try w.db.enqueue(w.announcement(.reports, tags: ["key-influencer"], subject: "Report"), domain: "example.org", now: testNow).mailing
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        for email in ["p2@example.org", "li@example.org"] {
            _ = try w.db.unsubscribe(EmailAddress(email), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        }
        #expect(try w.db.mailing(id: second.id ?? -1)?.state == .done)

        let third = try w.db.enqueue(w.announcement(.monthlyUpdate, tags: ["member"], subject: "Third"), domain: "example.org", now: testNow).mailing
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        try w.db.pool.write { try $0.execute(sql: "UPDATE member SET monthly_update = 0") }
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
        #expect(try w.db.mailing(id: third.id ?? -1)?.state == .done)
    }

    @Test("a mailing is not claimed before its time; one more than late_limit late is held, out of the claim index, until released")
    func holding() throws {
        let w = try QueueWorld()
        let later = testNow.addingTimeInterval(3600)
        _ = try w.db.enqueue(w.announcement(at: later), domain: "example.org", now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
        #expect(try w.db.nextWakeUp() == later)
        let muchLater = later.addingTimeInterval(5 * 3600)
        let held = try w.db.startDueMailings(now: muchLater, lateLimit: 4 * 3600)
        #expect(held.count == 1)
        #expect(try w.states() == ["held": 3], "held messages leave the claim index")
        #expect(try w.db.nextWakeUp() == nil, "nothing wakes the engine for a held mailing")
        #expect(try w.db.claimDue(limit: 10, now: muchLater).isEmpty)
        let mailing = try #require(try w.db.mailing(id: held[0].id ?? -1))
        #expect(mailing.state == .held)
        #expect(mailing.heldReason?.contains("circulate queue release") == true)
        #expect(try w.db.releaseMailing(mailing.id ?? -1, now: muchLater))
        #expect(try !w.db.releaseMailing(mailing.id ?? -1, now: muchLater), "releasing twice does nothing")
        #expect(try w.db.claimDue(limit: 10, now: muchLater).count == 3)
    }

    @Test("a held mailing that is cancelled is finished with everything in it")
    func heldCancelled() throws {
        let w = try QueueWorld()
        _ = try w.db.enqueue(w.announcement(at: testNow), domain: "example.org", now: testNow)
        let held = try w.db.startDueMailings(now: testNow.addingTimeInterval(86_400), lateLimit: 3600)
        let cancelled = try w.db.cancelMailing(held[0].id ?? -1, now: testNow)
        #expect(cancelled.cancelled == 3 && cancelled.inFlight.isEmpty)
        #expect(try w.db.mailing(id: held[0].id ?? -1)?.state == .cancelled)
        #expect(try w.states() == ["cancelled": 3])
    }

    @Test("outcomes: sent; deferred on its own backoff; a bounce; in doubt sent again with the same Message-ID, then probably delivered")
    func outcomes() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], .accepted(reply: "250 2.0.0 Ok")), (c[1], reply(451, "4.3.0 Try again later")),
                      (c[2], reply(550, "5.1.1 No such user"))])
        #expect(try w.delivery(c[0]).state == .sent)
        let deferred = try w.delivery(c[1])
        #expect(deferred.state == .deferred && deferred.replyCode == 451 && deferred.nextAttemptAt == testNow.addingTimeInterval(300))
        let failed = try w.delivery(c[2])
        #expect(failed.state == .failed && failed.failure == .bounce && failed.reply == "550 5.1.1 No such user")

        #expect(try w.db.claimDue(limit: 10, now: testNow.addingTimeInterval(299)).isEmpty)
        let retry = try #require(try w.db.claimDue(limit: 10, now: testNow.addingTimeInterval(300)).first)
        #expect(retry.messageID == c[1].messageID && retry.attempt == 2)
        // In doubt once: back on the retry schedule (not "now"), attempt counted, same Message-ID.
        let t1 = testNow.addingTimeInterval(301)
        try w.record([(retry, .inDoubt(detail: "connection lost after the final dot"))], at: t1)
        let doubt = try w.delivery(retry)
        #expect(doubt.state == .deferred && doubt.doubts == 1 && doubt.nextAttemptAt == t1.addingTimeInterval(600))
        #expect(try w.db.claimDue(limit: 10, now: t1).isEmpty, "in doubt is not 'send again now'")
        let again = try #require(try w.db.claimDue(limit: 10, now: t1.addingTimeInterval(600)).first)
        #expect(again.messageID == c[1].messageID && again.attempt == 3 && again.doubts == 1)
        // In doubt a second time (in_doubt_resends = 1): probably delivered, not sent again.
        try w.record([(again, .inDoubt(detail: "connection lost after the final dot"))], at: t1.addingTimeInterval(601))
        let done = try w.delivery(again)
        #expect(done.state == .sent && done.doubts == 2)
        #expect(try w.db.queueSummary().probablyDelivered == 1)
        #expect(try w.db.mailing(id: c[0].mailingID)?.state == .done)
    }

    @Test("with assume-sent a message in doubt is never sent again")
    func assumeSent() throws {
        let w = try QueueWorld { $0.inDoubt = .assumeSent }
        let c = try w.claimAll()
        try w.record([(c[0], .inDoubt(detail: "no reply"))])
        #expect(try w.delivery(c[0]).state == .sent)
    }

    @Test("retrying gives up after the lifetime")
    func givesUp() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], reply(451, "4.3.0 busy"))], at: testNow.addingTimeInterval(86_200))
        let d = try w.delivery(c[0])
        #expect(d.state == .failed && d.failure == .gaveUp && d.reply?.hasPrefix("gave up") == true)
    }

    @Test("only the recipient's own permanent failures count: bounces in a row mark them bounced and cancel their other messages")
    func bounces() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let p0 = try #require(c.first { $0.recipient == "p0@example.org" })
        let p1 = try #require(c.first { $0.recipient == "p1@example.org" })
        // Not the person's fault: too large, a policy, a message circulate would not send. None of these counts.
        try w.record([(p1, reply(552, "5.3.4 Message too big")), (p0, .notSent(reason: "could not compose"))])
        #expect(try w.member("p0@example.org").status == .active)
        #expect(try w.delivery(p1).failure == .rejected && w.delivery(p0).failure == .notSent)
        let hardBounces = try w.db.pool.read { try Int.fetchOne($0, sql: "SELECT sum(hard_bounces) FROM member") }
        #expect(hardBounces == 0)

        for subject in ["Second", "Third"] {
            _ = try w.db.enqueue(w.announcement(subject: subject), domain: "example.org", now: testNow)
        }
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        let claims = try w.db.claimDue(limit: 10, now: testNow).filter { $0.recipient == "p0@example.org" }
        try w.record([(claims[0], reply(550, "5.1.1 <p0@example.org>: No such user"))])
        #expect(try w.member("p0@example.org").status == .active, "one bounce is not the limit (2)")
        let events = try w.record([(claims[1], reply(550, "5.2.1 Mailbox disabled"))])
        #expect(try w.member("p0@example.org").status == .bounced)
        #expect(events.contains { if case .memberBounced = $0 { true } else { false } })
        #expect(try w.delivery(claims[0]).reply == "550 5.1.1 <[address]>: No such user", "addresses in replies are masked")
    }

    @Test("a relay problem gives the message back untouched on its own schedule and pauses once per outage")
    func relayProblem() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let problem = RelayProblem(kind: .authentication, code: 535, description: "the relay refused the password (535)")
        let events = try w.record([(c[0], .relayProblem(problem))])
        let d = try w.delivery(c[0])
        #expect(d.state == .queued && d.attempts == 0 && d.nextAttemptAt == testNow, "its own schedule, not the pause's")
        let pause = try #require(try w.db.relayPause())
        #expect(pause.reason.contains("535") && pause.failures == 1 && pause.until == testNow.addingTimeInterval(60))
        #expect(events.count == 1)
        // The other messages in flight fail the same way: the same outage, the same pause.
        try w.record([(c[1], .relayProblem(problem)), (c[2], .relayProblem(problem))], at: testNow.addingTimeInterval(1))
        let same = try #require(try w.db.relayPause())
        #expect(same.failures == 1 && same.until == testNow.addingTimeInterval(60))
        #expect(try w.states() == ["queued": 3])
        // The probe after the pause fails: the pause doubles.
        let probe = try #require(try w.db.claimDue(limit: 1, now: testNow.addingTimeInterval(61)).first)
        try w.record([(probe, .relayProblem(problem))], at: testNow.addingTimeInterval(62))
        let doubled = try #require(try w.db.relayPause())
        #expect(doubled.failures == 2 && doubled.until == testNow.addingTimeInterval(62 + 120) && doubled.since == testNow)
        // The relay answers: the pause ends.
        let next = try #require(try w.db.claimDue(limit: 1, now: testNow.addingTimeInterval(200)).first)
        let resumed = try w.record([(next, .accepted(reply: "250 ok"))], at: testNow.addingTimeInterval(201))
        #expect(try w.db.relayPause() == nil)
        #expect(resumed.contains(.resumed(since: testNow)))
    }

    @Test("queue resume ends a pause at once")
    func resume() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], .relayProblem(RelayProblem(kind: .tls, description: "TLS failed")))])
        #expect(try w.db.resumeRelay(now: testNow.addingTimeInterval(5)))
        #expect(try w.db.relayPause()?.until == testNow.addingTimeInterval(5))
        #expect(try !w.db.resumeRelay(now: testNow.addingTimeInterval(6)), "no pause in force: nothing to resume")
    }

    @Test("a delivery turn that fails part-way changes nothing (record, start and claim are one transaction); the next turn works")
    func turnFailsWhole() throws {
        let w = try QueueWorld()
        let claims = try w.claimAll()
        _ = try w.db.enqueue(w.announcement(subject: "December update"), domain: "example.org", now: testNow)
        // The claim, after the record and the start in the same turn, is refused by the database.
        try w.db.pool.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_claim BEFORE UPDATE OF state ON delivery WHEN NEW.state = 'sending'
                BEGIN SELECT RAISE(ABORT, 'claim refused for the test'); END
                """)
        }
        var turn = DeliveryTurn(now: testNow.addingTimeInterval(1), lateLimit: 3600)
        turn.results = claims.map { DeliveryResult(claim: $0, outcome: .accepted(reply: "250 2.0.0 Ok"), startedAt: testNow, finishedAt: testNow) }
        turn.claimRoom = 10
        #expect(throws: StorageError.self) { try w.db.deliveryTurn(turn, policy: w.policy) }
        #expect(try w.states() == ["sending": 3, "queued": 3], "the outcomes recorded before the failure were rolled back with it")
        let mailingStates = try w.db.pool.read { try String.fetchAll($0, sql: "SELECT state FROM mailing ORDER BY id") }
        #expect(mailingStates == ["sending", "scheduled"], "the second mailing's start was rolled back too")

        try w.db.pool.write { try $0.execute(sql: "DROP TRIGGER refuse_claim") }
        let outcome = try w.db.deliveryTurn(turn, policy: w.policy)
        #expect(outcome.claimed.count == 3)
        #expect(outcome.events.contains { if case .finished(_, 3, 0, 0) = $0 { true } else { false } })
        #expect(try w.states() == ["sent": 3, "sending": 3])
        // The connection is not left inside a transaction: an ordinary write after both turns commits.
        _ = try w.db.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(try w.states() == ["sent": 3, "sending": 3])
        #expect(try w.db.pool.read { try String.fetchOne($0, sql: "SELECT cancel_requested FROM delivery WHERE state = 'sending' AND recipient = 'p0@example.org'") } != nil)
    }

    @Test("after a crash, messages left sending are sent again with the same Message-ID, however many crashes catch them; a real doubt after that is the last")
    func recovery() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], .accepted(reply: "250 ok"))])
        let first = try w.db.recoverInFlight(policy: .resend, resends: 1, now: testNow)
        #expect(first.resent == 2 && first.probablyDelivered == 0)
        let back = try w.db.claimDue(limit: 10, now: testNow)
        #expect(Set(back.map(\.messageID)) == Set([c[1].messageID, c[2].messageID]))
        // A second crash catches them again before a worker took them: they may never have gone, so they go again.
        let second = try w.db.recoverInFlight(policy: .resend, resends: 1, now: testNow)
        #expect(second.resent == 2 && second.probablyDelivered == 0)
        let again = try w.db.claimDue(limit: 10, now: testNow).sorted { $0.recipient < $1.recipient }
        #expect(again.count == 2 && again.allSatisfy { $0.doubts == 2 })
        // Now the relay takes one's whole content and no reply comes: its resends are used up, so it counts as delivered.
        try w.record([(again[0], .inDoubt(detail: "no reply to the final dot")), (again[1], .accepted(reply: "250 ok"))])
        #expect(try w.delivery(again[0]).state == .sent && w.delivery(again[0]).doubts == 3)
        #expect(try w.states()["sent"] == 3)
        #expect(try w.db.mailing(id: c[0].mailingID)?.state == .done)
        // With assume-sent, a crash counts them as sent.
        let x = try QueueWorld { $0.inDoubt = .assumeSent }
        _ = try x.claimAll()
        #expect(try x.db.recoverInFlight(policy: .assumeSent, resends: 1, now: testNow).probablyDelivered == 3)
    }

    @Test("a message cancelled while in flight ends cancelled whatever the relay said before its content, and sent if the relay already had it")
    func cancelledInFlight() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let result = try w.db.cancelMailing(c[0].mailingID, now: testNow)
        #expect(result.cancelled == 0 && Set(result.inFlight) == Set(c.map(\.deliveryID)))
        #expect(try w.db.mailing(id: c[0].mailingID)?.state == .cancelled)
        #expect(c.allSatisfy { w.db.lastCheck($0.deliveryID) == .stop("cancelled by the coordinator") })
        try w.record([(c[0], .withdrawn(reason: "cancelled by the coordinator", atRelay: true)), (c[1], reply(451, "4.3.0 later")),
                      (c[2], .accepted(reply: "250 ok"))])
        #expect(try w.delivery(c[0]).state == .cancelled)
        #expect(try w.delivery(c[1]).state == .cancelled)
        #expect(try w.delivery(c[2]).state == .sent, "the relay had it before the cancellation: recorded as it is")
        let outcome = try w.db.awaitWithdrawals(result, daemonRunning: true, timeout: 0)
        #expect(outcome == WithdrawalOutcome(stopped: 2, alreadySent: 1, stillSending: 0))
    }

    @Test("a batch of 70 claimed and delivered (more than one marking statement each way): each marked sending, each sent with its reply, an erased person's deleted, bounce counts cleared")
    func largeDeliveredBatch() throws {
        let w = try QueueWorld()
        for i in 0..<67 {
            _ = try w.db.addMember(person("many\(i)@example.org", tags: ["member"]), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        _ = try w.db.enqueue(w.announcement(), domain: "example.org", now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        let c = try w.db.claimDue(limit: 100, now: testNow).sorted { $0.deliveryID < $1.deliveryID }
        #expect(c.count == 70)
        #expect(try w.states() == ["sending": 70], "every claimed message is marked, across more than one marking statement")
        for claim in c {
            let marked = try w.delivery(claim)
            #expect(marked.attempts == 1 && marked.lastAttemptAt == testNow)
        }
        let bouncing = try #require(c[40].memberID)
        try w.db.pool.write { try $0.execute(sql: "UPDATE member SET hard_bounces = 1 WHERE id = ?", arguments: [bouncing]) }
        let erased = try #require(c[33].recipient)
        _ = try w.db.erase(EmailAddress(erased), key: testKey, erasedBy: "sam", now: testNow)
        let cancelled = try w.db.cancelMailing(c[0].mailingID, now: testNow)
        #expect(cancelled.inFlight.count == 69)
        try w.record(c.enumerated().map { ($1, .accepted(reply: "250 2.0.0 queued as Q\($0)")) })
        #expect(try w.states() == ["sent": 69], "the relay had them all before the cancellation; the erased person's row is gone")
        for (index, claim) in c.enumerated() where index != 33 {
            #expect(try w.delivery(claim).reply == "250 2.0.0 queued as Q\(index)")
            #expect(try w.delivery(claim).replyCode == 250)
        }
        let count = try w.db.pool.read { try Int.fetchOne($0, sql: "SELECT hard_bounces FROM member WHERE id = ?", arguments: [bouncing]) }
        #expect(count == 0)
    }

    @Test("claimed messages a worker never started go back as they were; an erased person's are deleted")
    func giveBack() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        let receipt = try w.db.erase(EmailAddress("p2@example.org"), key: testKey, erasedBy: "sam", now: testNow)
        #expect(receipt.withdrawal.inFlight.count == 1)
        let row = try #require(try w.db.pool.read { try Row.fetchOne($0, sql: "SELECT member_id, recipient FROM delivery WHERE id = ?", arguments: [c[2].deliveryID]) })
        #expect(row["member_id"] == nil && row["recipient"] == "", "nothing about the person stays while a worker holds the message")
        try w.db.giveBack(c, now: testNow)
        #expect(try w.states() == ["queued": 2])
        #expect(try w.db.claimDue(limit: 10, now: testNow).map(\.attempt) == [1, 1])
    }

    @Test("retry now puts deferred (and failed) messages back for people who may still receive them, and ends a pause")
    func retryNow() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], reply(451, "4.3.0 later")), (c[1], reply(554, "5.7.1 rejected")), (c[2], .relayProblem(RelayProblem(kind: .tls, description: "x")))])
        _ = try w.db.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(try w.db.retryNow(mailing: nil, includeFailed: true, now: testNow) == 1, "p1's failed message; p0 left")
        #expect(try w.db.relayPause()?.until == testNow)
    }

    @Test("a test message is a one-off: never claimed by the daemon, never deferred, never a pause or a bounce")
    func testMessages() throws {
        let w = try QueueWorld()
        let to = try EmailAddress("p0@example.org")
        let claim = try w.db.startTestMessage(to: to, subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org", windows: [], now: testNow)
        #expect(claim.memberID != nil, "tied to the member on the list")
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
        try w.record([(claim, reply(451, "4.3.0 later"))])
        #expect(try w.delivery(claim).state == .failed)
        let second = try w.db.startTestMessage(to: to, subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org", windows: [], now: testNow)
        try w.record([(second, .relayProblem(RelayProblem(kind: .authentication, code: 535, description: "535")))])
        #expect(try w.db.relayPause() == nil && w.delivery(second).state == .failed)
        let third = try w.db.startTestMessage(to: to, subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org", windows: [], now: testNow)
        try w.record([(third, reply(550, "5.1.1 no such user"))])
        #expect(try w.member("p0@example.org").status == .active)
        let interrupted = try w.db.startTestMessage(to: to, subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org", windows: [], now: testNow)
        let recovery = try w.db.recoverInFlight(policy: .resend, resends: 1, now: testNow)
        #expect(try recovery.interruptedTests == 1 && w.delivery(interrupted).state == .failed)
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
    }

    @Test("a send-test finds the rate window used up by other sends and says when it could go")
    func testMessageRate() throws {
        let w = try QueueWorld()
        let windows = [RateWindow(limit: 2, seconds: 60)]
        _ = try w.db.enqueue(w.announcement(), domain: "example.org", now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        let claimed = try w.db.claimDue(limit: 2, now: testNow, reserveRate: true)
        #expect(claimed.count == 2)
        #expect(throws: RateLimitReached.self) {
            try w.db.startTestMessage(to: EmailAddress("p0@example.org"), subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org",
                                      windows: windows, now: testNow.addingTimeInterval(10))
        }
        try w.db.record(claimed.map { DeliveryResult(claim: $0, outcome: .accepted(reply: "250"), startedAt: testNow, finishedAt: testNow) },
                        policy: RecordingPolicy({ var d = CirculateCore.Configuration.Delivery(); d.rateLimits = windows; return d }()))
        do {
            _ = try w.db.startTestMessage(to: EmailAddress("p0@example.org"), subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org",
                                          windows: windows, now: testNow.addingTimeInterval(30))
            Issue.record("the window is still full")
        } catch let full as RateLimitReached {
            #expect(full.nextSlot == testNow.addingTimeInterval(60))
        }
        #expect(throws: Never.self) {
            try w.db.startTestMessage(to: EmailAddress("p0@example.org"), subject: "Test", body: "Hi", createdBy: "sam", domain: "example.org",
                                      windows: windows, now: testNow.addingTimeInterval(61))
        }
    }

    @Test("rate accounting: a transaction counts at its MAIL FROM whatever the outcome; one that never reached the relay does not")
    func rateAccounting() throws {
        let windows = [RateWindow(limit: 10, seconds: 60)]
        let w = try QueueWorld { $0.rateLimits = windows }
        _ = try w.db.enqueue(w.announcement(), domain: "example.org", now: testNow)
        _ = try w.db.startDueMailings(now: testNow, lateLimit: 3600)
        let c = try w.db.claimDue(limit: 3, now: testNow, reserveRate: true)
        var limiter = try w.db.rateLimiter(windows: windows, now: testNow)
        #expect(limiter.allowance(now: testNow) == 7, "reservations count")
        try w.db.record([
            DeliveryResult(claim: c[0], outcome: reply(550, "5.1.1 no"), startedAt: testNow.addingTimeInterval(5), finishedAt: testNow.addingTimeInterval(5)),
            DeliveryResult(claim: c[1], outcome: .relayProblem(RelayProblem(kind: .cannotConnect, description: "refused")), finishedAt: testNow),
            DeliveryResult(claim: c[2], outcome: .withdrawn(reason: "left", atRelay: false), finishedAt: testNow),
        ], policy: w.policy)
        limiter = try w.db.rateLimiter(windows: windows, now: testNow.addingTimeInterval(6))
        #expect(limiter.allowance(now: testNow.addingTimeInterval(6)) == 9)
        #expect(limiter.allowance(now: testNow.addingTimeInterval(64)) == 9, "counted from its MAIL FROM, 5 s after the claim")
        #expect(limiter.allowance(now: testNow.addingTimeInterval(66)) == 10)
    }

    @Test("a message whose cancellation was asked for while in flight ends cancelled at the next start, never sent again")
    func recoveryOfCancelled() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        _ = try w.db.cancelMailing(c[0].mailingID, now: testNow)
        let recovery = try w.db.recoverInFlight(policy: .resend, resends: 1, now: testNow)
        #expect(recovery.cancelled == 3 && recovery.resent == 0)
        #expect(try w.states() == ["cancelled": 3])
        #expect(try w.db.claimDue(limit: 10, now: testNow).isEmpty)
    }

    @Test("messages failed earlier in a run of the same policy refusal are given back, and their finished mailing reopens")
    func reopenAfterStreak() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], reply(550, "5.7.1 quota exceeded")), (c[1], reply(550, "5.7.1 quota exceeded"))])
        try w.record([(c[2], .accepted(reply: "250 ok"))])
        #expect(try w.db.mailing(id: c[0].mailingID)?.state == .done)
        let events = try w.db.record([], reopen: [c[0].deliveryID, c[1].deliveryID], policy: w.policy)
        #expect(events == [.reopened(deliveries: [c[0].deliveryID, c[1].deliveryID])])
        #expect(try w.delivery(c[0]).state == .queued && w.delivery(c[0]).failure == nil)
        #expect(try w.db.mailing(id: c[0].mailingID)?.state == .sending)
        #expect(try w.db.claimDue(limit: 10, now: testNow).count == 2)
    }

    @Test("a relay's reply quoting an address is kept masked, in the message's reply and in the pause's reason")
    func masking() throws {
        let w = try QueueWorld()
        let c = try w.claimAll()
        try w.record([(c[0], reply(451, "4.7.1 <p0@example.org> rate limited")),
                      (c[1], .relayProblem(RelayProblem(kind: .unavailable, code: 421, description: "the relay said 421 4.7.0 <p1@example.org> try later")))])
        #expect(try w.delivery(c[0]).reply == "451 4.7.1 <[address]> rate limited")
        let pause = try #require(try w.db.relayPause())
        #expect(!pause.reason.contains("@") && pause.reason.contains("[address]"), "\(pause.reason)")
    }
}
