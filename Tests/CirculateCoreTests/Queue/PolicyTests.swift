import Foundation
import GRDB
import Testing
@testable import CirculateCore

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

@Suite("What a relay's reply means (RFC 3463), relay pauses, doubts")
struct DispositionTests {
    @Test("enhanced status codes are read from the reply and must agree with the reply code")
    func enhanced() {
        #expect(EnhancedStatus(parsingReply: "550 5.1.1 No such user", code: 550) == EnhancedStatus(5, 1, 1))
        #expect(EnhancedStatus(parsingReply: "452-4.2.2 Mailbox full\r\n452 4.2.2 try later", code: 452) == EnhancedStatus(4, 2, 2))
        #expect(EnhancedStatus(parsingReply: "550 Requested action not taken", code: 550) == nil)
        #expect(EnhancedStatus(parsingReply: "550 4.1.1 mismatched class", code: 550) == nil)
        #expect(EnhancedStatus(parsingReply: "250 2.0.0 Ok", code: 250) == EnhancedStatus(2, 0, 0))
    }

    @Test("the classification table", arguments: [
        // (code, text, stage, expected)
        (550, "5.1.1 No such user", SMTPStage.recipient, "bounce"),
        (550, "5.1.10 Recipient not found", .recipient, "bounce"),
        (550, "5.2.1 Mailbox disabled", .recipient, "bounce"),
        (552, "5.2.2 Mailbox full", .recipient, "deferred"),
        (452, "4.2.2 Mailbox full", .recipient, "deferred"),
        (451, "4.3.0 Try again later", .recipient, "deferred"),
        (450, "Greylisted", .recipient, "deferred"),
        (550, "5.7.1 Relaying denied for this recipient", .recipient, "rejected"),
        (554, "5.7.1 Message rejected as spam", .endOfData, "rejected"),
        (552, "5.3.4 Message too big", .endOfData, "rejected"),
        (552, "Message size exceeds limit", .endOfData, "rejected"),
        (553, "5.6.7 Non-ASCII address without SMTPUTF8", .recipient, "rejected"),
        (553, "Mailbox name not allowed", .recipient, "rejected"),
        (550, "Mailbox unavailable", .recipient, "bounce"),
        (551, "User not local", .recipient, "bounce"),
        (550, "Content rejected", .endOfData, "rejected"),
        (554, "Transaction failed", .recipient, "rejected"),
        (421, "4.3.2 Service shutting down", .recipient, "pause"),
        (421, "4.7.0 Too many errors", .endOfData, "pause"),
        (530, "5.7.0 Authentication required", .mail, "pause"),
        (451, "4.3.0 Sender temporarily refused", .mail, "pause"),
        (550, "5.7.1 Sender address rejected", .mail, "pause"),
        (552, "5.3.4 Message size exceeds fixed limit", .mail, "rejected"),
    ])
    func table(code: Int, text: String, stage: SMTPStage, expected: String) {
        let disposition = ReplyClassification.classify(SMTPReply(code: code, text: "\(code) \(text)", stage: stage))
        let name: String = switch disposition {
        case .failed(.bounce, _): "bounce"
        case .failed(.rejected, _): "rejected"
        case .failed: "failed"
        case .deferred: "deferred"
        case .pause: "pause"
        default: "other"
        }
        #expect(name == expected, "\(code) \(text) at \(stage)")
    }

    @Test("the same 5.7.x for several different recipients in a row pauses the relay and gives the earlier ones back")
    func policyStreak() {
        var streak = PolicyStreak()
        let refusal = SendOutcome.refused(SMTPReply(code: 550, text: "550 5.7.1 Sending quota exceeded", stage: .recipient))
        #expect(streak.observe(refusal, recipient: "a@example.org", delivery: 1) == nil)
        #expect(streak.observe(refusal, recipient: "a@example.org", delivery: 2) == nil, "the same person twice is one")
        #expect(streak.observe(refusal, recipient: "b@example.org", delivery: 3) == nil)
        let run = streak.observe(refusal, recipient: "c@example.org", delivery: 4)
        #expect(run?.reopen == [1, 3])
        #expect(run?.problem.kind == .policy)
        // Anything accepted in between ends a streak.
        var broken = PolicyStreak()
        _ = broken.observe(refusal, recipient: "a@example.org", delivery: 1)
        _ = broken.observe(.accepted(reply: "250"), recipient: "x@example.org", delivery: 2)
        _ = broken.observe(refusal, recipient: "b@example.org", delivery: 3)
        #expect(broken.observe(refusal, recipient: "c@example.org", delivery: 4) == nil)
    }

    @Test("one pause per outage: problems during a pause change nothing, the try after it doubles it, up to 30 minutes")
    func relayPause() {
        let problem = RelayProblem(kind: .cannotConnect, description: "cannot connect")
        let first = RelayPause.after(problem, at: testNow, current: nil, initial: 60)
        #expect(first.failures == 1 && first.until == testNow.addingTimeInterval(60))
        let during = RelayPause.after(problem, at: testNow.addingTimeInterval(30), current: first, initial: 60)
        #expect(during == first)
        var pause = first
        for n in 2...8 { pause = RelayPause.after(problem, at: pause.until.addingTimeInterval(1), current: pause, initial: 60); #expect(pause.failures == n) }
        #expect(pause.until.timeIntervalSince(pause.until.addingTimeInterval(-1800)) == 1800)
        #expect(RelayPause.backoff(initial: 60, failures: 6) == 1800 && RelayPause.backoff(initial: 60, failures: 20) == 1800)
        let muchLater = RelayPause.after(problem, at: pause.until.addingTimeInterval(6 * 3600), current: pause, initial: 60)
        #expect(muchLater.failures == 1, "a problem hours after the last pause is a new outage")
    }

    @Test("in doubt: resent up to in_doubt_resends times, then probably delivered; assume-sent never resends")
    func inDoubt() {
        #expect(InDoubtDecision.after(doubts: 1, policy: .resend, resends: 1) == .resend)
        #expect(InDoubtDecision.after(doubts: 2, policy: .resend, resends: 1) == .probablyDelivered)
        #expect(InDoubtDecision.after(doubts: 1, policy: .resend, resends: 0) == .probablyDelivered)
        #expect(InDoubtDecision.after(doubts: 3, policy: .resend, resends: 3) == .resend)
        #expect(InDoubtDecision.after(doubts: 1, policy: .assumeSent, resends: 5) == .probablyDelivered)
    }

    @Test("addresses in a relay's reply are masked", arguments: [
        ("550 5.1.1 <kim@example.org>: Recipient address rejected", "550 5.1.1 <[address]>: Recipient address rejected"),
        ("421 4.7.0 kim.o'neil+cop@mail.example.org rate limited.", "421 4.7.0 [address] rate limited."),
        ("550 5.1.1 user josé@exämple.org unknown", "550 5.1.1 user [address] unknown"),
        ("250 2.0.0 Ok: queued as 12345", "250 2.0.0 Ok: queued as 12345"),
        ("a @ b and @@ stay", "a @ b and @@ stay"),
    ])
    func masking(text: String, masked: String) {
        #expect(Redaction.maskingAddresses(in: text) == masked)
    }
}

@Suite("The queue's definitions and its cost at scale")
struct QueueDefinitionTests {
    @Test("the claim index's predicate is exactly the claimable states, as the queue writes them")
    func claimIndex() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let sql = try db.pool.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'delivery_due'") }
        #expect(sql?.hasSuffix("WHERE state IN \(Delivery.State.claimable.sqlList)") == true, "\(sql ?? "")")
        let check = try db.pool.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'delivery'") } ?? ""
        for state in Delivery.State.allCases { #expect(check.contains("'\(state.rawValue)'")) }
        for failure in Delivery.Failure.allCases { #expect(check.contains("'\(failure.rawValue)'")) }
    }

    @Test("claiming and the next wake-up read the index: no full scan, no temporary B-tree, whatever the queue holds")
    func plans() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        try db.pool.write { db in
            try db.execute(sql: """
                INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key, created_by, created_at, updated_at)
                VALUES ('announcement', 'monthly-update', 'x', 's', 'b', '2026-01-01 00:00:00.000', 'sending', 'k', 'sam', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')
                """)
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                INSERT INTO delivery (mailing_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at, failure)
                SELECT 1, 'r' || i || '@example.org', 'm' || i, CASE i % 4 WHEN 0 THEN 'queued' WHEN 1 THEN 'sent' WHEN 2 THEN 'deferred' ELSE 'failed' END,
                       '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000', CASE i % 4 WHEN 3 THEN 'bounce' END
                FROM n
                """)
        }
        // As in production (no statistics: circulate never runs ANALYZE), then with statistics of a large queue. Without
        // them, the join the previous release used started from the mailing and sorted all its messages on every claim.
        for analyzed in [false, true] {
            if analyzed { try db.pool.write { try $0.execute(sql: "ANALYZE") } }
            for sql in [OutboundQueue.claimSQL, OutboundQueue.nextDueSQL] {
                let plan = try db.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: sql.contains("next_attempt_at <= ?") ? [Date(), 10] : [])
                        .map { $0["detail"] as String }
                }
                // Walking the index in order and stopping after LIMIT rows is fine; scanning the table or sorting is not.
                #expect(!plan.contains { ($0.hasPrefix("SCAN") && !$0.contains("INDEX delivery_due")) || $0.contains("TEMP B-TREE") },
                        "analyzed \(analyzed): \(plan)")
                #expect(plan.first?.contains("delivery_due") == true, "analyzed \(analyzed): \(plan)")
            }
        }
    }

    @Test("the last check, run twice per message, builds no temporary table when it runs")
    func lastCheckProgram() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let opcodes = try db.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN " + OutboundQueue.lastCheckSQL, arguments: [1]).map { $0["opcode"] as String }
        }
        #expect(opcodes.contains("ResultRow"))
        // An `IN (...)` list of three or more values is an ephemeral b-tree made afresh on every run of the statement.
        #expect(!opcodes.contains("OpenEphemeral"), "\(opcodes)")
    }

    @Test("eligibility is one definition: the SQL that queues and the SQL that checks are made from the same rules")
    func eligibility() {
        for rule in Eligibility.rules {
            #expect(Eligibility.holdsSQL.contains(rule.holds))
            #expect(Eligibility.refusalSQL.contains(rule.holds) && Eligibility.refusalSQL.contains(rule.refusal.replacingOccurrences(of: "'", with: "''")))
        }
    }
}
