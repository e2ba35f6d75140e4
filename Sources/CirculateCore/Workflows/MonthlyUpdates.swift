import Foundation
import GRDB

/// The monthly update: at its slot (`updates.schedule`), the content the coordinator queued for it goes to every
/// member opted in to the monthly update. The mailing starts at the slot, so a daemon that was off too long holds it
/// (`delivery.late_limit`) instead of sending it days late.
struct MonthlyUpdates {
    let context: WorkflowContext

    /// Makes the mailing of every queued update whose slot has come; returns them.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        let due = try MonthlyUpdate.filter(MonthlyUpdate.Columns.state == MonthlyUpdate.State.queued.rawValue
                                              && MonthlyUpdate.Columns.slotAt <= now)
            .order(MonthlyUpdate.Columns.slotAt).fetchAll(db)
        var results: [QueueingResult] = []
        for update in due {
            let result = try OutboundQueue.enqueue(db, MailingPlan(
                kind: .update, stream: .monthlyUpdate, audience: "stream monthly-update", subject: update.subject,
                body: update.bodyMarkdown, sendAfter: update.slotAt, identity: .workflow("update:\(update.id)"),
                createdBy: update.createdBy, recipients: .members(sql: "SELECT id FROM member", arguments: [])),
                domain: context.domain, now: now)
            try db.execute(sql: "UPDATE monthly_update SET state = ?, mailing_id = ?, updated_at = ? WHERE id = ?",
                           arguments: [MonthlyUpdate.State.sent.rawValue, result.mailing.id, now, update.id])
            results.append(result)
        }
        return results
    }

    /// The earliest queued update's slot.
    static func nextDue(_ db: Database) throws -> Date? {
        try Date.fetchOne(db, sql: "SELECT min(slot_at) FROM monthly_update WHERE state = ?", arguments: [MonthlyUpdate.State.queued.rawValue])
    }
}
