import Foundation
import GRDB

extension AppDatabase {
    /// Queues the coordinator's content for a slot; one update per slot. The same subject and text already queued
    /// (for any slot, or for `slot` when one was named) or sent in the last six weeks is found instead, unless `again`:
    /// the same command run twice must not fill two months with one update.
    public func queueUpdate(subject: String, bodyMarkdown: String, slot: Date, slotNamed: Bool = true, again: Bool = false, createdBy: String,
                            now: Date) throws -> (update: MonthlyUpdate, existed: Bool) {
        let clean = try TextField.clean(subject, field: "subject", maxLength: 250)
        guard !clean.isEmpty else { throw InvalidField(field: "subject", value: subject, problem: "is empty; give --subject \"...\"") }
        guard !bodyMarkdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw WorkflowError("the update's file is empty; write the month's news in it first")
        }
        guard slot > now else { throw WorkflowError("that slot has already passed; queue the update for a later one") }
        return try write { db in
            if !again, let same = try MonthlyUpdate.fetchOne(db, sql: """
                SELECT * FROM monthly_update
                WHERE subject = ? AND body_markdown = ? AND state <> ? AND (state = ? OR slot_at > ?) AND (? OR slot_at = ?)
                ORDER BY slot_at DESC LIMIT 1
                """, arguments: [clean, bodyMarkdown, MonthlyUpdate.State.cancelled.rawValue, MonthlyUpdate.State.queued.rawValue,
                                 now.addingTimeInterval(-42 * 86_400), !slotNamed, slot]) {
                return (same, true)
            }
            if let other = try Self.update(db, slot: slot) {
                throw WorkflowError("update \(other) is already queued for that slot; change it with `circulate update cancel \(other)` and queue again, or choose another --slot")
            }
            try db.execute(sql: """
                INSERT INTO monthly_update (slot_at, subject, body_markdown, state, created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [slot, clean, bodyMarkdown, MonthlyUpdate.State.queued.rawValue, createdBy, now, now])
            return (try MonthlyUpdate.find(db, id: db.lastInsertedRowID), false)
        }
    }

    /// Updates, newest slot first: all, or only those still queued.
    public func updates(queuedOnly: Bool) throws -> [MonthlyUpdate] {
        try fetch { db in
            try MonthlyUpdate.fetchAll(db, sql: """
                SELECT * FROM monthly_update \(queuedOnly ? "WHERE state = '\(MonthlyUpdate.State.queued.rawValue)'" : "") ORDER BY slot_at DESC, id DESC LIMIT 200
                """)
        }
    }

    /// One update.
    public func update(id: Int64) throws -> MonthlyUpdate {
        try fetch { db in try MonthlyUpdate.find(db, id: id) }
    }

    /// Slots that already have an update queued or sent, from `from` on.
    public func takenSlots(from: Date) throws -> Set<Date> {
        try fetch { db in
            Set(try Date.fetchAll(db, sql: "SELECT slot_at FROM monthly_update WHERE state <> 'cancelled' AND slot_at >= ?", arguments: [from]))
        }
    }

    /// Cancels a queued update (one already handed to the queue is cancelled with `queue cancel`).
    public func cancelUpdate(id: Int64, now: Date) throws -> MonthlyUpdate {
        try write { db in
            let update = try MonthlyUpdate.find(db, id: id)
            switch update.state {
            case .cancelled: return update
            case .sent:
                throw WorkflowError("update \(id) went to the queue at its slot as mailing \(update.mailingID ?? 0); stop what is not yet sent with `circulate queue cancel \(update.mailingID ?? 0)`")
            case .queued:
                try db.execute(sql: "UPDATE monthly_update SET state = ?, updated_at = ? WHERE id = ?",
                               arguments: [MonthlyUpdate.State.cancelled.rawValue, now, id])
                return try MonthlyUpdate.find(db, id: id)
            }
        }
    }

    /// The update queued (or sent) for a slot, if any.
    static func update(_ db: Database, slot: Date) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM monthly_update WHERE slot_at = ? AND state <> 'cancelled'", arguments: [slot])
    }
}
