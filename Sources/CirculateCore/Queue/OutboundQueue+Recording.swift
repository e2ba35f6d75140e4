import Foundation
import GRDB

extension OutboundQueue {
    /// Records a batch of outcomes (the one way out): each message's `Disposition` becomes its next state, bounces
    /// are counted against the person, relay trouble pauses delivery once per outage, and a relay that answers again
    /// ends the pause. `reopen` gives back messages failed earlier in a run of the same policy refusal (see
    /// `PolicyStreak`). Returns what the journal should say.
    static func record(_ db: Database, _ results: [DeliveryResult], reopen: [Int64] = [], policy: RecordingPolicy) throws -> [QueueEvent] {
        var events: [QueueEvent] = []
        var touched: Set<Int64> = []
        var relayAnswered = false
        var pause = try currentPause(db)
        var pauseChanged = false
        let current = try db.cachedStatement(sql: "SELECT state, cancel_requested, member_id FROM delivery WHERE id = ?")
        let update = try db.cachedStatement(sql: """
            UPDATE delivery SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), reply_code = ?, reply = ?, failure = ?,
                   doubts = ?, updated_at = ?
            WHERE id = ?
            """)
        // The common outcome, for the whole batch at once: delivered, still being sent, and its person not erased
        // meanwhile. Those it did not mark take the path below, in order.
        let marked = try markDelivered(db, results)
        // People whose message was delivered start their bounce count again; done in one statement per run of them
        // (before any bounce of the same batch is counted, so that the order of outcomes is kept).
        var clearBounces: [Int64] = []
        func flushClears() throws {
            guard !clearBounces.isEmpty else { return }
            try BounceCounter.clear(db, members: clearBounces)
            clearBounces.removeAll()
        }
        for result in results {
            let claim = result.claim
            let now = result.finishedAt
            touched.insert(claim.mailingID)
            if policy.rateAccounting {
                try RateAccounting.settle(db, delivery: claim.deliveryID, startedAt: result.outcome.reachedRelay ? (result.startedAt ?? now) : nil)
            }
            let disposition = disposition(of: result)
            let code = replyCode(result.outcome)
            if case .sent = disposition, marked.contains(claim.deliveryID) {
                relayAnswered = true
                if let member = claim.memberID { clearBounces.append(member) }
                continue
            }
            guard let row = try Row.fetchOne(current, arguments: [claim.deliveryID]),
                  row["state"] == Delivery.State.sending.rawValue else { continue }
            let cancelRequested: String? = row["cancel_requested"]
            if cancelRequested == erased {
                // The person was erased while this message was in flight: nothing about it is kept.
                try db.execute(sql: "DELETE FROM delivery WHERE id = ?", arguments: [claim.deliveryID])
                continue
            }
            func set(_ state: Delivery.State, next: Date? = nil, code: Int? = nil, reply: String, failure: Delivery.Failure? = nil,
                     doubts: Int = claim.doubts) throws {
                try update.execute(arguments: [state.rawValue, next.map(StoredTimestamp.databaseValue), code,
                                               Redaction.maskingAddresses(in: String(reply.prefix(500))), failure?.rawValue, doubts,
                                               StoredTimestamp.databaseValue(now), claim.deliveryID])
            }

            switch disposition {
            case .sent(let reply):
                relayAnswered = true
                try set(.sent, code: code ?? 250, reply: reply)
                if let member = claim.memberID { clearBounces.append(member) }
            case .deferred(let reason):
                relayAnswered = true
                if let cancelRequested {
                    try set(.cancelled, code: code, reply: cancelRequested)
                } else if let next = policy.retry.nextAttempt(after: claim.attempt, queuedAt: claim.queuedAt, now: now) {
                    try set(.deferred, next: next, code: code, reply: reason)
                    events.append(.deferred(mailing: claim.mailingID, delivery: claim.deliveryID, attempt: claim.attempt, next: next,
                                            reply: Redaction.maskingAddresses(in: reason)))
                } else {
                    try set(.failed, code: code, reply: "gave up after retrying since it was queued: " + reason, failure: .gaveUp)
                    events.append(.failed(mailing: claim.mailingID, delivery: claim.deliveryID, failure: .gaveUp,
                                          reason: Redaction.maskingAddresses(in: reason)))
                }
            case .failed(let failure, let reason):
                if failure != .notSent { relayAnswered = true }
                try set(.failed, code: code, reply: reason, failure: failure)
                if failure == .bounce, claim.kind != .test, let member = claim.memberID {
                    try flushClears()
                    let count = try BounceCounter.count(db, member: member)
                    events.append(.bounced(mailing: claim.mailingID, delivery: claim.deliveryID, member: member, count: count,
                                           reply: Redaction.maskingAddresses(in: reason)))
                    if count >= policy.bounceLimit, try BounceCounter.markBounced(db, member: member, now: now) {
                        let cancelled = try cancel(db, .member(member), reason: "the recipient's address bounced", now: now)
                        events.append(.memberBounced(member: member, cancelled: cancelled.total))
                    }
                } else {
                    events.append(.failed(mailing: claim.mailingID, delivery: claim.deliveryID, failure: failure,
                                          reason: Redaction.maskingAddresses(in: reason)))
                }
            case .pause(let problem):
                // Not the recipient's fault: the message goes back untouched, on its own schedule.
                try giveBack(db, [claim.deliveryID], now: now)
                let next = RelayPause.after(problem, at: now, current: pause, initial: policy.relayPause)
                if next.until != pause?.until || pause == nil { events.append(.paused(next)) }
                pause = next
                pauseChanged = true
                relayAnswered = false
            case .inDoubt(let detail):
                let doubts = claim.doubts + 1
                let decision = InDoubtDecision.after(doubts: doubts, policy: policy.inDoubt, resends: policy.inDoubtResends)
                let retryAt = policy.retry.nextAttempt(after: claim.attempt, queuedAt: claim.queuedAt, now: now)
                if let cancelRequested, decision == .resend {
                    try set(.cancelled, reply: cancelRequested + "; its last try may or may not have arrived", doubts: doubts)
                } else if decision == .resend, let retryAt {
                    try set(.deferred, next: retryAt, reply: "in doubt (\(detail)); sending again with the same Message-ID", doubts: doubts)
                    events.append(.inDoubt(mailing: claim.mailingID, delivery: claim.deliveryID, resendAt: retryAt, detail: detail))
                } else {
                    try set(.sent, reply: "in doubt (\(detail)); counted as probably delivered and not sent again", doubts: doubts)
                    events.append(.inDoubt(mailing: claim.mailingID, delivery: claim.deliveryID, resendAt: nil, detail: detail))
                }
            case .withdrawn(let reason):
                try set(.cancelled, reply: cancelRequested ?? reason)
                events.append(.withdrawn(mailing: claim.mailingID, delivery: claim.deliveryID, reason: cancelRequested ?? reason))
            case .retrySoon:
                try giveBack(db, [claim.deliveryID], retryAt: now.addingTimeInterval(60), now: now)
            }
        }
        try flushClears()
        if !reopen.isEmpty {
            let mailings = try Int64.fetchAll(db, sql: "SELECT DISTINCT mailing_id FROM delivery WHERE id IN (\(reopen.map(String.init).joined(separator: ",")))")
            try db.execute(sql: """
                UPDATE delivery SET state = CASE WHEN attempts <= 1 THEN '\(Delivery.State.queued.rawValue)' ELSE '\(Delivery.State.deferred.rawValue)' END,
                       failure = NULL, updated_at = ?
                WHERE id IN (\(reopen.map(String.init).joined(separator: ","))) AND state = '\(Delivery.State.failed.rawValue)'
                """, arguments: [results.last?.finishedAt ?? Date()])
            try db.execute(sql: """
                UPDATE mailing SET state = '\(Mailing.State.sending.rawValue)' WHERE state = '\(Mailing.State.done.rawValue)'
                  AND id IN (\(mailings.map(String.init).joined(separator: ",").nonEmpty ?? "NULL"))
                """)
            events.append(.reopened(deliveries: reopen))
        }
        if relayAnswered, let ended = pause {
            try db.execute(sql: "DELETE FROM relay_pause")
            events.append(.resumed(since: ended.since))
        } else if pauseChanged, let pause {
            try db.execute(sql: """
                INSERT INTO relay_pause (id, reason, since, until, failures) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET reason = excluded.reason, since = excluded.since, until = excluded.until,
                                              failures = excluded.failures
                """, arguments: [Redaction.maskingAddresses(in: pause.reason), pause.since, pause.until, pause.failures])
        }
        for mailing in try finishEmptied(db, touched, now: results.last?.finishedAt ?? Date()) {
            let counts = try stateCounts(db, mailing: mailing)
            events.append(.finished(mailing: mailing, sent: counts[.sent] ?? 0, failed: counts[.failed] ?? 0,
                                    cancelled: counts[.cancelled] ?? 0))
        }
        return events
    }

    /// Marks the delivered messages among `results` sent, those still being sent and not of a person erased meanwhile,
    /// in statements of `markChunk` rows (padded, so that one cached statement serves every batch); returns the ones it
    /// marked. One UPDATE per message showed in profiles as statement overhead.
    private static func markDelivered(_ db: Database, _ results: [DeliveryResult]) throws -> Set<Int64> {
        var rows: [DatabaseValue] = []
        for result in results {
            guard case .sent(let reply) = disposition(of: result) else { continue }
            rows += [result.claim.deliveryID.databaseValue, (replyCode(result.outcome) ?? 250).databaseValue,
                     Redaction.maskingAddresses(in: String(reply.prefix(500))).databaseValue, result.claim.doubts.databaseValue,
                     StoredTimestamp.databaseValue(result.finishedAt)]
        }
        guard !rows.isEmpty else { return [] }
        let statement = try db.cachedStatement(sql: """
            UPDATE delivery SET state = '\(Delivery.State.sent.rawValue)', reply_code = v.column2, reply = v.column3, failure = NULL,
                   doubts = v.column4, updated_at = v.column5
            FROM (VALUES \(Array(repeating: "(?, ?, ?, ?, ?)", count: markChunk).joined(separator: ", "))) AS v
            WHERE delivery.id = v.column1 AND delivery.state = '\(Delivery.State.sending.rawValue)'
              AND (delivery.cancel_requested IS NULL OR delivery.cancel_requested <> ?)
            RETURNING delivery.id
            """)
        var marked: Set<Int64> = []
        let width = 5 * markChunk
        for start in stride(from: 0, to: rows.count, by: width) {
            var chunk = Array(rows[start..<min(start + width, rows.count)])
            // Padding rows name no message (ids are positive).
            while chunk.count < width { chunk += [(-1).databaseValue, .null, .null, 0.databaseValue, .null] }
            marked.formUnion(try Int64.fetchAll(statement, arguments: StatementArguments(chunk + [erased.databaseValue])))
        }
        return marked
    }

    /// Rows per statement of `markDelivered`: a record batch at one connection is 32 messages.
    private static let markChunk = 32

    /// What an outcome means for its message (a test message's as `testDisposition` says).
    private static func disposition(of result: DeliveryResult) -> Disposition {
        let disposition = Disposition.of(result.outcome)
        return result.claim.kind == .test ? testDisposition(disposition) : disposition
    }

    /// A test message is a one-off: it never waits for a retry, never pauses the relay, never counts as a bounce.
    private static func testDisposition(_ disposition: Disposition) -> Disposition {
        switch disposition {
        case .sent, .withdrawn, .failed: disposition
        case .deferred(let reason): .failed(.rejected, reason: "a temporary refusal (send-test does not try again): " + reason)
        case .pause(let problem): .failed(.notSent, reason: problem.description)
        case .retrySoon(let detail): .failed(.notSent, reason: detail)
        case .inDoubt(let detail): .sent(reply: "in doubt (\(detail)); send-test does not send it again")
        }
    }

    /// The relay's reply code, when the outcome carries one.
    private static func replyCode(_ outcome: SendOutcome) -> Int? {
        switch outcome {
        case .accepted(let reply): Int(reply.prefix(3))
        case .refused(let reply): reply.code
        case .relayProblem(let problem): problem.code
        default: nil
        }
    }

    /// Ends a relay pause at once (`queue resume`); returns whether there was one in force.
    static func resume(_ db: Database, now: Date) throws -> Bool {
        try db.execute(sql: "UPDATE relay_pause SET until = ? WHERE id = 1 AND until > ?", arguments: [now, now])
        return db.changesCount > 0
    }
}

extension String {
    /// nil for an empty string.
    var nonEmpty: String? { isEmpty ? nil : self }
}
