import Foundation
import GRDB

/// Bounces in a row, per person: `delivery.bounce_limit` of them mark the person bounced (no more mail until their
/// address is corrected). Only failures of class `bounce` count; any message the relay accepts starts the count again.
enum BounceCounter {
    /// Counts one bounce; returns the person's bounces in a row.
    static func count(_ db: Database, member: Int64) throws -> Int {
        try db.cachedStatement(sql: "UPDATE member SET hard_bounces = hard_bounces + 1 WHERE id = ?").execute(arguments: [member])
        return try Int.fetchOne(db.cachedStatement(sql: "SELECT hard_bounces FROM member WHERE id = ?"), arguments: [member]) ?? 0
    }

    /// Counts one bounce reported after the relay accepted the message, and returns the person's bounces in a row.
    ///
    /// The relay's acceptance of later messages has meanwhile started the count again, though those may bounce
    /// too; so the count is at least the run of bounced messages, in the order they were sent, that ends with this
    /// one (messages still counted as sent, or that failed otherwise, end a run; test messages are left out).
    static func countReturned(_ db: Database, member: Int64, delivery: Int64, limit: Int) throws -> Int {
        let counted = try count(db, member: member)
        let recent = try Row.fetchAll(db, sql: """
            SELECT d.failure FROM delivery d JOIN mailing g ON g.id = d.mailing_id
            WHERE d.member_id = ? AND d.id <= ? AND g.kind <> 'test' AND d.state IN ('sent', 'failed')
            ORDER BY d.id DESC LIMIT ?
            """, arguments: [member, delivery, max(1, limit)])
        let run = recent.prefix { ($0["failure"] as String?) == Delivery.Failure.bounce.rawValue }.count
        guard run > counted else { return counted }
        try db.execute(sql: "UPDATE member SET hard_bounces = ? WHERE id = ?", arguments: [run, member])
        return run
    }

    /// Marks an active person bounced; returns whether they were active.
    static func markBounced(_ db: Database, member: Int64, now: Date) throws -> Bool {
        try db.execute(sql: """
            UPDATE member SET status = '\(MemberStatus.bounced.rawValue)', status_changed_at = ?, updated_at = ?
            WHERE id = ? AND status = '\(MemberStatus.active.rawValue)'
            """, arguments: [now, now, member])
        return db.changesCount > 0
    }

    /// Delivered messages to each of `members`: their counts start again.
    static func clear(_ db: Database, members: [Int64]) throws {
        guard !members.isEmpty else { return }
        // One cached statement for the whole run, the ids as one JSON array: a statement with the list in it was
        // compiled for every batch, and one statement per person showed in profiles as statement overhead.
        let clear = try db.cachedStatement(sql: """
            UPDATE member SET hard_bounces = 0 WHERE id IN (SELECT value FROM json_each(?)) AND hard_bounces > 0
            """)
        try clear.execute(arguments: ["[" + members.map(String.init).joined(separator: ",") + "]"])
    }
}
