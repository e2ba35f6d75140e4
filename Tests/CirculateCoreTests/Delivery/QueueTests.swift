import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("The outbound queue")
struct QueueTests {
    let scratch: Scratch
    let db: AppDatabase

    init() throws {
        scratch = try Scratch()
        db = try scratch.database()
        for (i, tags) in [["member"], ["member", "board"], ["key-influencer"], ["member"]].enumerated() {
            _ = try db.addMember(person("p\(i)@example.org", name: "Person \(i)", tags: tags), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        _ = try db.addMember(person("li@example.org", tags: ["key-influencer"]), grant: grant(.legitimateInterest), key: testKey, rejoin: false, now: testNow)
        _ = try db.unsubscribe(EmailAddress("p3@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
    }

    func request(_ stream: MailStream = .monthlyUpdate, tags: [String] = [], subject: String = "November update",
                 at: Date = testNow, again: Bool = false) throws -> MailingRequest {
        try MailingRequest(kind: .announcement, audience: Audience(stream: stream, tags: tags), subject: subject,
                           bodyMarkdown: "Hello **all**", sendAfter: at, createdBy: "sam", again: again)
    }

    func states() throws -> [String: Int] {
        try db.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM delivery GROUP BY state").map { ($0["state"], $0["n"]) })
        }
    }

    @Test("an audience is everyone who may receive the stream now, narrowed by any of the tags")
    func audience() throws {
        #expect(try db.audienceSize(Audience(stream: .monthlyUpdate)) == 3)  // p0, p1, p2; p3 left; li has reports only
        #expect(try db.audienceSize(Audience(stream: .reports)) == 4)
        #expect(try db.audienceSize(Audience(stream: .reports, tags: ["board", "key-influencer"])) == 3)
    }

    @Test("queueing the same mailing twice doubles nobody; people who became eligible since are added")
    func idempotent() throws {
        let first = try db.enqueue(request(), domain: "example.org", now: testNow)
        #expect(first.added == 3 && !first.existed)
        let again = try db.enqueue(request(), domain: "example.org", now: testNow)
        #expect(again.existed && again.added == 0 && again.total == 3)
        #expect(again.mailing.id == first.mailing.id)
        _ = try db.addMember(person("new@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        let third = try db.enqueue(request(), domain: "example.org", now: testNow)
        #expect(third.added == 1 && third.total == 4)
        let forced = try db.enqueue(request(again: true), domain: "example.org", now: testNow)
        #expect(!forced.existed && forced.mailing.id != first.mailing.id)
        // Message-IDs are fixed at queueing, unique, and on the configured domain.
        let ids = try db.pool.read { try String.fetchAll($0, sql: "SELECT message_id FROM delivery") }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasSuffix("@example.org") && $0.count == 32 + 12 })
    }

    @Test("claiming marks messages sending, and cancels those whose recipient left since queueing")
    func claim() throws {
        _ = try db.enqueue(request(), domain: "example.org", now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        _ = try db.unsubscribe(EmailAddress("p1@example.org"), stream: .monthlyUpdate, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(try states() == ["queued": 2, "cancelled": 1], "unsubscribing cancels the person's queued message in the same transaction")
        let claims = try db.claimDue(limit: 10, now: testNow)
        #expect(claims.map(\.recipient).sorted() == ["p0@example.org", "p2@example.org"])
        #expect(claims.allSatisfy { $0.attempt == 1 })
        #expect(try states() == ["sending": 2, "cancelled": 1])
        #expect(try db.claimDue(limit: 10, now: testNow).isEmpty)
        // An unsubscribe now cancels even a claimed message, and the last check before sending sees it.
        #expect(db.stillDeliverable(claims[0].deliveryID))
        // Leaving the mailing's stream is seen by the last check too.
        let p2 = try #require(claims.first { $0.recipient == "p2@example.org" })
        try db.pool.write { try $0.execute(sql: "UPDATE member SET monthly_update = 0 WHERE email = 'p2@example.org'") }
        #expect(!db.stillDeliverable(p2.deliveryID))
        let who = try #require(claims.first { $0.recipient == "p0@example.org" })
        _ = try db.unsubscribe(EmailAddress("p0@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        #expect(!db.stillDeliverable(who.deliveryID))
    }

    @Test("a mailing whose every recipient left before their turn is finished, not left sending for ever")
    func everyoneLeft() throws {
        let mailing = try db.enqueue(request(.monthlyUpdate, tags: ["board"]), domain: "example.org", now: testNow).mailing
        #expect(try db.mailing(id: mailing.id ?? -1)?.state == .scheduled)
        // Left while it was waiting for its time: it starts with nothing to send, and is finished at once.
        _ = try db.unsubscribe(EmailAddress("p1@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        #expect(try db.mailing(id: mailing.id ?? -1)?.state == .done)

        // Left while it was sending: the unsubscribe finishes it.
        let second = try db.enqueue(request(.reports, tags: ["key-influencer"], subject: "Report"), domain: "example.org", now: testNow).mailing
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        for email in ["p2@example.org", "li@example.org"] {
            _ = try db.unsubscribe(EmailAddress(email), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        }
        #expect(try db.mailing(id: second.id ?? -1)?.state == .done)

        // Stopped the stream without an unsubscribe being recorded (edited directly): the claim cancels and finishes it.
        let third = try db.enqueue(request(.monthlyUpdate, tags: ["member"], subject: "Third"), domain: "example.org", now: testNow).mailing
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        try db.pool.write { try $0.execute(sql: "UPDATE member SET monthly_update = 0") }
        #expect(try db.claimDue(limit: 10, now: testNow).isEmpty)
        #expect(try db.mailing(id: third.id ?? -1)?.state == .done)
    }

    @Test("a mailing is not claimed before its time, and one more than late_limit late is held, not sent")
    func scheduling() throws {
        let later = testNow.addingTimeInterval(3600)
        _ = try db.enqueue(request(at: later), domain: "example.org", now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        #expect(try db.claimDue(limit: 10, now: testNow).isEmpty)
        #expect(try db.nextWakeUp() == later)
        let muchLater = later.addingTimeInterval(5 * 3600)
        let held = try db.startDueMailings(now: muchLater, lateLimit: 4 * 3600)
        #expect(held.count == 1)
        #expect(try db.claimDue(limit: 10, now: muchLater).isEmpty)
        let mailing = try #require(try db.mailing(id: held[0].id ?? -1))
        #expect(mailing.state == .held)
        #expect(mailing.heldReason?.contains("circulate queue release") == true)
        #expect(try db.releaseMailing(mailing.id ?? -1, now: muchLater))
        #expect(try db.claimDue(limit: 10, now: muchLater).count == 3)
    }

    func claimAll() throws -> [Claim] {
        _ = try db.enqueue(request(), domain: "example.org", now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        return try db.claimDue(limit: 10, now: testNow).sorted { $0.recipient < $1.recipient }
    }

    func record(_ pairs: [(Claim, SendOutcome)], at time: Date = testNow, inDoubt: CirculateCore.Configuration.Delivery.InDoubtPolicy = .resend) throws {
        try db.record(pairs.map { DeliveryResult(claim: $0.0, outcome: $0.1, finishedAt: time) },
                      retry: RetryPolicy(initial: 300, maximum: 3600, lifetime: 86_400), inDoubt: inDoubt, bounceLimit: 2,
                      pauseFor: { _, n in 60 * Double(n) })
    }

    func delivery(_ claim: Claim) throws -> Delivery {
        try #require(try db.deliveries(states: Delivery.State.allCases, mailing: nil, limit: 100).first { $0.id == claim.deliveryID })
    }

    @Test("outcomes: sent, deferred with backoff, failed as a bounce, in doubt sent again with the same Message-ID")
    func outcomes() throws {
        let c = try claimAll()
        try record([(c[0], .accepted(reply: "250 2.0.0 Ok")),
                    (c[1], .refused(code: 451, reply: "451 4.3.0 Try again later", permanent: false)),
                    (c[2], .refused(code: 550, reply: "550 5.1.1 No such user", permanent: true))])
        #expect(try delivery(c[0]).state == .sent)
        let deferred = try delivery(c[1])
        #expect(deferred.state == .deferred && deferred.replyCode == 451)
        #expect(deferred.nextAttemptAt == testNow.addingTimeInterval(300))
        let failed = try delivery(c[2])
        #expect(failed.state == .failed && failed.reply == "550 5.1.1 No such user")

        // The deferred one comes back when due, with the same Message-ID; the in-doubt outcome sends it again.
        #expect(try db.claimDue(limit: 10, now: testNow.addingTimeInterval(299)).isEmpty)
        let retry = try #require(try db.claimDue(limit: 10, now: testNow.addingTimeInterval(300)).first)
        #expect(retry.messageID == c[1].messageID && retry.attempt == 2)
        try record([(retry, .inDoubt(detail: "connection lost after the final dot"))], at: testNow.addingTimeInterval(301))
        let doubt = try delivery(retry)
        #expect(doubt.state == .deferred && doubt.inDoubt)
        let again = try #require(try db.claimDue(limit: 10, now: testNow.addingTimeInterval(301)).first)
        #expect(again.messageID == c[1].messageID && again.attempt == 3)
    }

    @Test("retrying gives up after the lifetime")
    func givesUp() throws {
        let c = try claimAll()
        try record([(c[0], .refused(code: 451, reply: "451 busy", permanent: false))], at: testNow.addingTimeInterval(86_200))
        let d = try delivery(c[0])
        #expect(d.state == .failed)
        #expect(d.reply?.hasPrefix("gave up") == true)
    }

    @Test("repeated hard bounces mark the member bounced and cancel their other messages")
    func bounces() throws {
        let c = try claimAll()
        let p0 = try #require(c.first { $0.recipient == "p0@example.org" })
        try record([(p0, .refused(code: 550, reply: "550 no", permanent: true))])
        _ = try db.enqueue(request(subject: "Second"), domain: "example.org", now: testNow)
        _ = try db.startDueMailings(now: testNow, lateLimit: 3600)
        let second = try #require(try db.claimDue(limit: 10, now: testNow).first { $0.recipient == "p0@example.org" })
        _ = try db.enqueue(request(subject: "Third"), domain: "example.org", now: testNow)
        try record([(second, .refused(code: 550, reply: "550 no", permanent: true))])
        guard case .found(let profile) = try db.lookup(EmailAddress("p0@example.org"), key: testKey) else { Issue.record("gone"); return }
        #expect(profile.member.status == .bounced)
        let third = try db.deliveries(states: Delivery.State.allCases, mailing: nil, limit: 100).filter { $0.recipient == "p0@example.org" }
        #expect(third.contains { $0.state == .cancelled && $0.reply == "recipient's address bounced" })
    }

    @Test("a relay problem puts the message back without counting it, and pauses delivery with the reason")
    func relayProblem() throws {
        let c = try claimAll()
        try record([(c[0], .relayProblem(RelayProblem(kind: .authentication, code: 535, description: "the relay refused the password (535)")))])
        let d = try delivery(c[0])
        #expect(d.state == .queued && d.attempts == 0)
        let pause = try #require(try db.relayPause())
        #expect(pause.reason.contains("535"))
        #expect(pause.until == testNow.addingTimeInterval(60))
        #expect(d.nextAttemptAt == pause.until)
        try record([(c[1], .accepted(reply: "250 ok"))])
        #expect(try db.relayPause() == nil, "a success clears the pause")
    }

    @Test("after a crash, messages left sending are in doubt: sent again (or counted as sent, if configured)")
    func recovery() throws {
        let c = try claimAll()
        try record([(c[0], .accepted(reply: "250 ok"))])
        #expect(try db.recoverInFlight(policy: .resend, now: testNow) == 2)
        let back = try db.claimDue(limit: 10, now: testNow)
        #expect(Set(back.map(\.messageID)) == Set([c[1].messageID, c[2].messageID]))
        #expect(try db.recoverInFlight(policy: .assumeSent, now: testNow) == 2)
        #expect(try states()["sent"] == 3)
    }

    @Test("withdrawn outcomes and coordinator cancellation")
    func cancelling() throws {
        let c = try claimAll()
        try record([(c[0], .withdrawn)])
        #expect(try delivery(c[0]).state == .cancelled)
        #expect(try db.cancelMailing(c[0].mailingID, now: testNow) == 0, "the other two are in flight, not waiting")
        #expect(try db.mailing(id: c[0].mailingID)?.state == .cancelled)
    }
}

@Suite("Retry policy and rate limits")
struct DeliveryPolicyTests {
    @Test("backoff doubles from the initial wait, is clamped to the maximum, and stops after the lifetime")
    func backoff() {
        let p = RetryPolicy(initial: 300, maximum: 3600, lifetime: 4 * 86_400)
        let q = testNow
        #expect(p.nextAttempt(after: 1, queuedAt: q, now: q) == q.addingTimeInterval(300))
        #expect(p.nextAttempt(after: 2, queuedAt: q, now: q) == q.addingTimeInterval(600))
        #expect(p.nextAttempt(after: 4, queuedAt: q, now: q) == q.addingTimeInterval(2400))
        #expect(p.nextAttempt(after: 5, queuedAt: q, now: q) == q.addingTimeInterval(3600))
        #expect(p.nextAttempt(after: 60, queuedAt: q, now: q) == q.addingTimeInterval(3600))
        #expect(p.nextAttempt(after: 9, queuedAt: q, now: q.addingTimeInterval(4 * 86_400 - 60)) == nil)
    }

    @Test("several windows at once: 30 a minute and 100 a day")
    func windows() {
        var limiter = RateLimiter(windows: [RateWindow(limit: 30, seconds: 60), RateWindow(limit: 100, seconds: 86_400)])
        #expect(limiter.allowance(now: testNow) == 30)
        limiter.record(30, at: testNow)
        #expect(limiter.allowance(now: testNow.addingTimeInterval(59)) == 0)
        #expect(limiter.nextSlot(now: testNow.addingTimeInterval(10)) == testNow.addingTimeInterval(60))
        #expect(limiter.allowance(now: testNow.addingTimeInterval(61)) == 30)
        limiter.record(30, at: testNow.addingTimeInterval(61))
        limiter.record(30, at: testNow.addingTimeInterval(122))
        #expect(limiter.allowance(now: testNow.addingTimeInterval(200)) == 10, "the day window binds now")
    }

    @Test("history from before a restart counts")
    func history() {
        var limiter = RateLimiter(windows: [RateWindow(limit: 30, seconds: 60)],
                                  history: (0..<25).map { testNow.addingTimeInterval(Double(-$0)) })
        #expect(limiter.allowance(now: testNow) == 5)
    }

    @Test("the dry-run finish time for Microsoft 365 limits")
    func finishTime() {
        let limiter = RateLimiter(windows: RateWindow.preset("microsoft365") ?? [])
        #expect(limiter.finishTime(of: 30, from: testNow) == testNow)
        #expect(limiter.finishTime(of: 31, from: testNow) == testNow.addingTimeInterval(60))
        #expect(limiter.finishTime(of: 300, from: testNow) == testNow.addingTimeInterval(9 * 60))
        #expect(RateLimiter(windows: []).finishTime(of: 100_000, from: testNow) == testNow)
    }
}
