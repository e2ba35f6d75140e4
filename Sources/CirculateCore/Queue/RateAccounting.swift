import Foundation
import GRDB

/// The relay's rate limits, counted as the relay counts them: one entry per SMTP transaction, at the moment its MAIL
/// FROM went out, whatever the outcome. Entries live in the `relay_attempt` table, so the daemon, `send-test` and a
/// restarted daemon all see the same windows.
///
/// A claim reserves its place before any SMTP traffic (an unsettled entry, counted in every window), and recording
/// settles it at the transaction's start, or removes it if no transaction began. Kept only when limits are set.
enum RateAccounting {
    /// Reserves a place for a claimed message.
    static func reserve(_ db: Database, delivery: Int64, at now: Date) throws {
        try db.cachedStatement(sql: "INSERT INTO relay_attempt (at, delivery_id, settled) VALUES (?, ?, 0)")
            .execute(arguments: [now.stored, delivery])
    }

    /// Settles a message's reservation at the start of its transaction, or removes it when none began (`startedAt`
    /// nil).
    static func settle(_ db: Database, delivery: Int64, startedAt: Date?) throws {
        if let startedAt {
            try db.cachedStatement(sql: "UPDATE relay_attempt SET at = max(at, ?), settled = 1 WHERE delivery_id = ? AND settled = 0")
                .execute(arguments: [startedAt.stored, delivery])
        } else {
            try release(db, delivery: delivery)
        }
    }

    /// Removes a reservation whose message never reached the relay.
    static func release(_ db: Database, delivery: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM relay_attempt WHERE delivery_id = ? AND settled = 0").execute(arguments: [delivery])
    }

    /// After a crash: reservations of messages in flight may have gone out at about the time they were made.
    static func settleAll(_ db: Database) throws {
        try db.execute(sql: "UPDATE relay_attempt SET settled = 1 WHERE settled = 0")
    }

    /// The limiter for now: every settled transaction inside the longest window, and every reservation (counted as
    /// happening now, since it may go out at any moment).
    static func limiter(_ db: Database, windows: [RateWindow], now: Date) throws -> RateLimiter {
        guard let longest = windows.map(\.seconds).max() else { return RateLimiter(windows: []) }
        let history = try Date.fetchAll(db.cachedStatement(sql: """
            SELECT CASE WHEN settled = 0 THEN ? ELSE at END FROM relay_attempt WHERE settled = 0 OR at > ?
            """), arguments: [now.stored, now.addingTimeInterval(-longest).stored])
        return RateLimiter(windows: windows, history: history)
    }

    /// At start: messages the relay saw inside the longest window that the log does not know yet (limits were
    /// switched on, or the database comes from an earlier release) are entered from their last attempt; entries too
    /// old to matter are dropped.
    static func rebuild(_ db: Database, windows: [RateWindow], now: Date) throws {
        guard let longest = windows.map(\.seconds).max() else {
            try db.execute(sql: "DELETE FROM relay_attempt")
            return
        }
        let start = now.addingTimeInterval(-longest)
        try db.execute(sql: "DELETE FROM relay_attempt WHERE settled = 1 AND at <= ?", arguments: [start])
        try db.execute(sql: """
            INSERT INTO relay_attempt (at, delivery_id, settled)
            SELECT d.last_attempt_at, d.id, 1 FROM delivery d
            WHERE d.last_attempt_at > ? AND d.state <> '\(Delivery.State.cancelled.rawValue)'
              AND NOT EXISTS (SELECT 1 FROM relay_attempt a WHERE a.delivery_id = d.id)
            """, arguments: [start])
    }

    /// Drops entries older than the longest window (called now and then by the engine).
    static func prune(_ db: Database, windows: [RateWindow], now: Date) throws {
        guard let longest = windows.map(\.seconds).max() else { return }
        try db.execute(sql: "DELETE FROM relay_attempt WHERE settled = 1 AND at <= ?", arguments: [now.addingTimeInterval(-longest)])
    }
}
