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
        var byState: [Delivery.State: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT state, count(*) AS n FROM delivery WHERE (? IS NULL OR mailing_id = ?) GROUP BY state
            """, arguments: [mailing, mailing]) {
            byState[try row.decode(Delivery.State.self, forColumn: "state")] = row["n"]
        }
        let doubts = try Row.fetchOne(db, sql: """
            SELECT count(CASE WHEN state = '\(Delivery.State.sent.rawValue)' THEN 1 END) AS delivered,
                   count(CASE WHEN state IN \(Delivery.State.pending.sqlList) THEN 1 END) AS waiting
            FROM delivery WHERE doubts > 0 AND (? IS NULL OR mailing_id = ?)
            """, arguments: [mailing, mailing])
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
