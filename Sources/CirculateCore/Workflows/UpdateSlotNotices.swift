import Foundation
import GRDB

/// Notes to the coordinator about the monthly update's slots, each once per slot: a reminder `updates.remind_days_before`
/// days before a slot with nothing queued, and a note when a slot passed with nothing queued (nothing was sent).
/// Slots before the scheduler first ran are never reported.
struct UpdateSlotNotices {
    let context: WorkflowContext

    /// Queues the notes that are due; returns them.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        guard let rule = context.configuration.updates.schedule else { return [] }
        let zone = context.zone
        let coordinator = try EmailAddress(context.configuration.coordinatorAddress)
        var results: [QueueingResult] = []
        let mark = "updates.checked_through"
        let checkedThrough = try SchedulerMark.value(db, mark) ?? now
        for slot in rule.occurrences(after: checkedThrough, through: now, in: zone) where try !Self.hasUpdate(db, slot: slot) {
            if let result = try notify(db, .missed, slot: slot, to: coordinator, now: now) { results.append(result) }
        }
        try SchedulerMark.set(db, mark, max(checkedThrough, now))

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let remindDays = context.configuration.updates.remindDaysBefore
        if remindDays > 0, let slot = rule.nextOccurrence(after: now, in: zone),
           let remindAt = calendar.date(byAdding: .day, value: -remindDays, to: slot), now >= remindAt,
           try !Self.hasUpdate(db, slot: slot),
           let result = try notify(db, .reminder, slot: slot, to: coordinator, now: now) {
            results.append(result)
        }
        return results
    }

    /// Queues one note about a slot unless it was already sent; its subject and text come from the templates.
    private func notify(_ db: Database, _ kind: SlotNotice.Kind, slot: Date, to coordinator: EmailAddress, now: Date) throws -> QueueingResult? {
        try db.execute(sql: "INSERT OR IGNORE INTO slot_notice (slot_at, kind, created_at) VALUES (?, ?, ?)",
                       arguments: [slot, kind.rawValue, now])
        guard db.changesCount > 0 else { return nil }
        let name = "slot-\(kind.rawValue)"
        let values: [String: Any] = ["community": context.configuration.community.name, "slot_day": LocalTime.day(slot, in: context.zone),
                                     "slot_when": LocalTime.describe(slot, in: context.zone)]
        return try OutboundQueue.enqueue(db, MailingPlan(
            kind: .coordinatorNotice, stream: nil, audience: "the coordinator", subject: context.templates.subject(name, values),
            body: context.templates.notice(name, values), sendAfter: now,
            identity: .workflow("\(name):\(Int(slot.timeIntervalSince1970))"), createdBy: "circulate",
            recipients: .address(coordinator, memberID: nil)), domain: context.domain, now: now)
    }

    private static func hasUpdate(_ db: Database, slot: Date) throws -> Bool {
        try MonthlyUpdate.filter(MonthlyUpdate.Columns.slotAt == slot && MonthlyUpdate.Columns.state != MonthlyUpdate.State.cancelled.rawValue)
            .fetchCount(db) > 0
    }
}
