import Foundation
import GRDB

extension OutboundQueue {
    /// One delivery turn (see `DeliveryTurn`), inside the caller's write transaction: record, give back, then start
    /// and claim. Recording comes first, so that the claim sees this batch's bounces, withdrawals and relay pause.
    static func work(_ db: Database, _ turn: DeliveryTurn, policy: RecordingPolicy) throws -> DeliveryTurn.Outcome {
        var outcome = DeliveryTurn.Outcome()
        let now = turn.now
        if !turn.results.isEmpty || !turn.reopen.isEmpty {
            outcome.events = try record(db, turn.results, reopen: turn.reopen, policy: policy)
        }
        try giveBack(db, turn.giveBack.map(\.deliveryID), now: now)
        guard var room = turn.claimRoom else { return outcome }
        outcome.held = try startDue(db, now: now, lateLimit: turn.lateLimit)
        if let pause = try currentPause(db), pause.until > now {
            outcome.pause = pause
            return outcome
        }
        var limiter: RateLimiter?
        if !turn.rateLimits.isEmpty {
            if turn.pruneRateLog { try RateAccounting.prune(db, windows: turn.rateLimits, now: now) }
            var current = try RateAccounting.limiter(db, windows: turn.rateLimits, now: now)
            room = min(room, current.allowance(now: now))
            limiter = current
        }
        outcome.claimed = try claim(db, limit: room, now: now, reserveRate: limiter != nil)
        if outcome.claimed.isEmpty {
            var next = try nextWakeUp(db) ?? .distantFuture
            if var limiter, room == 0, next <= now { next = limiter.nextSlot(now: now) }
            outcome.nextCheck = max(now, next)
        }
        return outcome
    }

    /// The relay pause on record, read through a cached statement (every turn and every record reads it).
    static func currentPause(_ db: Database) throws -> RelayPause? {
        try RelayPause.fetchOne(db.cachedStatement(sql: "SELECT * FROM relay_pause"))
    }
}
