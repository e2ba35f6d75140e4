import Foundation
import GRDB

extension AppDatabase {
    /// Queues the coordinator's content for a slot; one update per slot.
    public func queueUpdate(subject: String, bodyMarkdown: String, slot: Date, createdBy: String, now: Date) throws -> MonthlyUpdate {
        let clean = try TextField.clean(subject, field: "subject", maxLength: 250)
        guard !clean.isEmpty else { throw InvalidField(field: "subject", value: subject, problem: "is empty; give --subject \"...\"") }
        guard !bodyMarkdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw WorkflowError("the update's file is empty; write the month's news in it first")
        }
        guard slot > now else { throw WorkflowError("that slot has already passed; queue the update for a later one") }
        return try write { db in
            if let other = try Self.update(db, slot: slot) {
                throw WorkflowError("update \(other) is already queued for that slot; change it with `circulate update cancel \(other)` and queue again, or choose another --slot")
            }
            try db.execute(sql: """
                INSERT INTO monthly_update (slot_at, subject, body_markdown, state, created_by, created_at, updated_at)
                VALUES (?, ?, ?, 'queued', ?, ?, ?)
                """, arguments: [slot, clean, bodyMarkdown, createdBy, now, now])
            return try Self.update(db, id: db.lastInsertedRowID)
        }
    }

    /// Updates, newest slot first: all, or only those still queued.
    public func updates(queuedOnly: Bool) throws -> [MonthlyUpdate] {
        try fetch { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM monthly_update \(queuedOnly ? "WHERE state = 'queued'" : "") ORDER BY slot_at DESC, id DESC LIMIT 200
                """).map(MonthlyUpdate.init(row:))
        }
    }

    /// One update.
    public func update(id: Int64) throws -> MonthlyUpdate {
        try fetch { db in try Self.update(db, id: id) }
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
            let update = try Self.update(db, id: id)
            switch update.state {
            case .cancelled: return update
            case .sent:
                throw WorkflowError("update \(id) went to the queue at its slot as mailing \(update.mailingID ?? 0); stop what is not yet sent with `circulate queue cancel \(update.mailingID ?? 0)`")
            case .queued:
                try db.execute(sql: "UPDATE monthly_update SET state = 'cancelled', updated_at = ? WHERE id = ?", arguments: [now, id])
                return try Self.update(db, id: id)
            }
        }
    }

    /// The update queued (or sent) for a slot, if any.
    static func update(_ db: Database, slot: Date) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM monthly_update WHERE slot_at = ? AND state <> 'cancelled'", arguments: [slot])
    }

    static func update(_ db: Database, id: Int64) throws -> MonthlyUpdate {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM monthly_update WHERE id = ?", arguments: [id]) else {
            throw WorkflowError.noUpdate(id)
        }
        return MonthlyUpdate(row: row)
    }

    /// At each update's slot: makes its mailing to every active member opted in to the monthly update. The mailing
    /// keeps the slot as its start, so a daemon that was off too long holds it (delivery.late_limit) instead of
    /// sending it days late.
    public func queueDueUpdates(now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in
            let due = try Row.fetchAll(db, sql: "SELECT * FROM monthly_update WHERE state = 'queued' AND slot_at <= ? ORDER BY slot_at",
                                       arguments: [now]).map(MonthlyUpdate.init(row:))
            var results: [QueueingResult] = []
            for update in due {
                let result = try Self.enqueueWorkflow(db, WorkflowMailing(
                    kind: .update, stream: .monthlyUpdate, audience: "stream monthly-update",
                    subject: update.subject, body: update.bodyMarkdown, sendAfter: update.slotAt, key: "update:\(update.id)",
                    createdBy: update.createdBy, sessionID: nil, invitationSessionID: nil, reportID: nil),
                    recipients: "SELECT id FROM member", arguments: [], domain: domain, now: now)
                try db.execute(sql: "UPDATE monthly_update SET state = 'sent', mailing_id = ?, updated_at = ? WHERE id = ?",
                               arguments: [result.mailing.id, now, update.id])
                results.append(result)
            }
            return results
        }
    }

    /// The earliest queued update's slot.
    public func nextQueuedUpdate() throws -> Date? {
        try fetch { db in try Date.fetchOne(db, sql: "SELECT min(slot_at) FROM monthly_update WHERE state = 'queued'") }
    }

    /// Tells the coordinator, once per slot, when nothing is queued `remindDays` days before the next slot, and when
    /// a slot passed with nothing queued (nothing was sent). Slots before the scheduler first ran are never reported.
    public func queueSlotNotices(rule: RecurrenceRule, zone: TimeZone, remindDays: Int,
                                 coordinator: EmailAddress, community: String, now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in
            var results: [QueueingResult] = []
            let mark = "updates.checked_through"
            let checkedThrough = try Self.mark(db, mark) ?? now
            for slot in rule.occurrences(after: checkedThrough, through: now, in: zone) {
                guard try Self.update(db, slot: slot) == nil else { continue }
                try db.execute(sql: "INSERT OR IGNORE INTO slot_notice (slot_at, kind, created_at) VALUES (?, 'missed', ?)",
                               arguments: [slot, now])
                guard db.changesCount > 0 else { continue }
                let when = LocalTime.describe(slot, in: zone)
                results.append(try Self.enqueueCoordinatorNotice(
                    db, to: coordinator, subject: "No monthly update went out on \(LocalTime.day(slot, in: zone))",
                    body: """
                        The monthly update slot (\(when)) has passed with nothing queued, so nothing was sent to members.

                        To send this month's news now, queue it for the next slot, or use `circulate send` for a one-off message:

                        ```
                        circulate update queue update.md --subject "..."
                        ```
                        """,
                    key: "slot-missed:\(Int(slot.timeIntervalSince1970))", domain: domain, now: now))
            }
            try Self.setMark(db, mark, max(checkedThrough, now))

            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            if remindDays > 0, let slot = rule.nextOccurrence(after: now, in: zone),
               let remindAt = calendar.date(byAdding: .day, value: -remindDays, to: slot), now >= remindAt {
                if try Self.update(db, slot: slot) == nil {
                    try db.execute(sql: "INSERT OR IGNORE INTO slot_notice (slot_at, kind, created_at) VALUES (?, 'reminder', ?)",
                                   arguments: [slot, now])
                    if db.changesCount > 0 {
                        let when = LocalTime.describe(slot, in: zone)
                        results.append(try Self.enqueueCoordinatorNotice(
                            db, to: coordinator, subject: "Reminder: nothing is queued yet for the monthly update on \(LocalTime.day(slot, in: zone))",
                            body: """
                                The next monthly update for \(community) goes out on \(when), and nothing is queued for it yet.

                                Write the month's news in a Markdown file and queue it:

                                ```
                                circulate update queue update.md --subject "News from \(community)"
                                ```

                                Check how it will look with `circulate update preview ID`. If nothing is queued by then, nothing is sent and you will get a note saying so.
                                """,
                            key: "slot-reminder:\(Int(slot.timeIntervalSince1970))", domain: domain, now: now))
                    }
                }
            }
            return results
        }
    }
}

extension MonthlyUpdate {
    init(row: Row) {
        id = row["id"]
        slotAt = row["slot_at"]
        subject = row["subject"]
        bodyMarkdown = row["body_markdown"]
        state = State(rawValue: row["state"]) ?? .queued
        mailingID = row["mailing_id"]
        createdBy = row["created_by"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}
