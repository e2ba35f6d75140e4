import Foundation
import GRDB

/// The queue's numbers, for `queue status` and `send --wait`.
public struct QueueSummary: Sendable, Equatable {
    /// Messages by state.
    public var byState: [Delivery.State: Int]
    /// The relay pause, if one is recorded (in force when `until` is later than now).
    public var pause: RelayPause?
    /// The earliest next attempt among messages waiting for their turn (the queue's own schedule).
    public var nextAttempt: Date?
    /// Messages whose fate was unknown and that are counted as probably delivered.
    public var probablyDelivered: Int
    /// Messages whose fate was unknown and that wait to be sent again.
    public var inDoubtWaiting: Int

    /// Messages still to send (waiting or in flight).
    public var remaining: Int { Delivery.State.live.reduce(0) { $0 + (byState[$1] ?? 0) } }
}

extension OutboundQueue {
    /// Counts by state, optionally for one mailing.
    static func summary(_ db: Database, mailing: Int64?) throws -> QueueSummary {
        let counts = try stateCountsByMailing(db, only: mailing)
        return try summary(db, byState: mailing.map { counts[$0] ?? [:] } ?? totals(counts), mailing: mailing)
    }

    /// The rest of the summary, around counts already made.
    static func summary(_ db: Database, byState: [Delivery.State: Int], mailing: Int64?) throws -> QueueSummary {
        // Two statements rather than one with "? IS NULL OR mailing_id = ?", which no index can serve.
        let doubtsSQL = """
            SELECT count(CASE WHEN state = '\(Delivery.State.sent.rawValue)' THEN 1 END) AS delivered,
                   count(CASE WHEN state IN \(Delivery.State.pending.sqlList) THEN 1 END) AS waiting
            FROM delivery WHERE doubts > 0
            """
        let doubts = if let mailing {
            try Row.fetchOne(db.cachedStatement(sql: doubtsSQL + " AND mailing_id = ?"), arguments: [mailing])
        } else {
            try Row.fetchOne(db.cachedStatement(sql: doubtsSQL))
        }
        let next: Date?
        if let mailing {
            next = try Date.fetchOne(db, sql: """
                SELECT min(next_attempt_at) FROM delivery WHERE mailing_id = ? AND state IN \(Delivery.State.claimable.sqlList)
                """, arguments: [mailing])
        } else {
            next = try nextDue(db)
        }
        return QueueSummary(byState: byState, pause: try RelayPause.fetchOne(db), nextAttempt: next,
                            probablyDelivered: doubts?["delivered"] ?? 0, inDoubtWaiting: doubts?["waiting"] ?? 0)
    }

    /// Messages by state for each mailing (or only `mailing`), in one pass over the `delivery_by_mailing` index in its
    /// own order: counting by state alone made SQLite sort every message first (three times slower), and counting
    /// each mailing apart read the whole queue once per mailing.
    static func stateCountsByMailing(_ db: Database, only mailing: Int64? = nil) throws -> [Int64: [Delivery.State: Int]] {
        let sql = "SELECT mailing_id, state, count(*) FROM delivery \(mailing == nil ? "" : "WHERE mailing_id = ?") GROUP BY mailing_id, state"
        var counts: [Int64: [Delivery.State: Int]] = [:]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: mailing.map { [$0] } ?? [])
        while let row = try rows.next() {
            counts[row[0], default: [:]][try row.decode(Delivery.State.self, atIndex: 1)] = row[2]
        }
        return counts
    }

    /// The whole queue's counts from the counts of each mailing.
    static func totals(_ counts: [Int64: [Delivery.State: Int]]) -> [Delivery.State: Int] {
        var total: [Delivery.State: Int] = [:]
        for byState in counts.values {
            for (state, count) in byState { total[state, default: 0] += count }
        }
        return total
    }

    /// The earliest time any waiting message is due (its mailing's start, a retry): the first entry of the
    /// `delivery_due` index, so the cost does not grow with the queue.
    static func nextDue(_ db: Database) throws -> Date? {
        try Date.fetchOne(db.cachedStatement(sql: nextDueSQL))
    }

    static let nextDueSQL = """
        SELECT next_attempt_at FROM delivery WHERE state IN \(Delivery.State.claimable.sqlList) ORDER BY next_attempt_at LIMIT 1
        """

    /// When the engine should next look at the queue: the first message due, or a scheduled mailing with nobody on
    /// it yet.
    static func nextWakeUp(_ db: Database) throws -> Date? {
        let start = try Date.fetchOne(db.cachedStatement(sql: """
            SELECT min(send_after) FROM mailing WHERE state = '\(Mailing.State.scheduled.rawValue)'
            """))
        return [try nextDue(db), start].compactMap { $0 }.min()
    }

    /// Messages in the given states (newest first), optionally for one mailing.
    static func deliveries(_ db: Database, states: [Delivery.State], mailing: Int64?, limit: Int) throws -> [Delivery] {
        try Delivery.fetchAll(db, sql: """
            SELECT * FROM delivery WHERE state IN \(states.sqlList) AND (? IS NULL OR mailing_id = ?) ORDER BY id DESC LIMIT ?
            """, arguments: [mailing, mailing, limit])
    }

    /// Mailings, newest first (all, or only those not finished).
    static func mailings(_ db: Database, activeOnly: Bool) throws -> [Mailing] {
        try Mailing.fetchAll(db, sql: """
            SELECT * FROM mailing \(activeOnly ? "WHERE state IN \(Mailing.State.live.sqlList)" : "") ORDER BY id DESC LIMIT 200
            """)
    }

    /// Of `ids`, those still in a worker's hands.
    static func stillInFlight(_ db: Database, _ ids: [Int64]) throws -> [Delivery] {
        guard !ids.isEmpty else { return [] }
        return try Delivery.fetchAll(db, sql: "SELECT * FROM delivery WHERE id IN (\(ids.map(String.init).joined(separator: ",")))")
    }
}
