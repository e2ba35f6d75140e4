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
        // A daemon that was off for months finds many empty slots at once: one notice lists them all.
        let missed = try rule.occurrences(after: checkedThrough, through: now, in: zone).filter { try !Self.hasUpdate(db, slot: $0) }
        if let result = try notify(db, .missed, slots: missed, to: coordinator, now: now) { results.append(result) }
        try SchedulerMark.set(db, mark, max(checkedThrough, now))

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let remindDays = context.configuration.updates.remindDaysBefore
        if remindDays > 0, let slot = rule.nextOccurrence(after: now, in: zone),
           let remindAt = calendar.date(byAdding: .day, value: -remindDays, to: slot), now >= remindAt,
           try !Self.hasUpdate(db, slot: slot),
           let result = try notify(db, .reminder, slots: [slot], to: coordinator, now: now) {
            results.append(result)
        }
        return results
    }

    /// Queues one note about the slots not told of yet (none: no note); its subject and text come from the templates,
    /// which see the first slot as `slot_day`/`slot_when`, all of them as `slots`, and `several` when there are more.
    private func notify(_ db: Database, _ kind: SlotNotice.Kind, slots: [Date], to coordinator: EmailAddress, now: Date) throws -> QueueingResult? {
        var fresh: [Date] = []
        for slot in slots {
            try db.execute(sql: "INSERT OR IGNORE INTO slot_notice (slot_at, kind, created_at) VALUES (?, ?, ?)",
                           arguments: [slot, kind.rawValue, now])
            if db.changesCount > 0 { fresh.append(slot) }
        }
        guard let first = fresh.first, let last = fresh.last else { return nil }
        let name = "slot-\(kind.rawValue)"
        let days = fresh.map { LocalTime.day($0, in: context.zone) }
        let values: [String: Any] = [
            "community": context.configuration.community.name,
            "slot_day": days.count == 1 ? days[0] : days.dropLast().joined(separator: ", ") + " and " + (days.last ?? ""),
            "slot_when": LocalTime.describe(first, in: context.zone),
            "slots": fresh.map { ["when": LocalTime.describe($0, in: context.zone)] }, "several": fresh.count > 1,
        ]
        let key = fresh.count == 1 ? "\(Int(first.timeIntervalSince1970))" : "\(Int(first.timeIntervalSince1970))-\(Int(last.timeIntervalSince1970))"
        return try OutboundQueue.enqueue(db, MailingPlan(
            kind: .coordinatorNotice, stream: nil, audience: "the coordinator", subject: context.templates.subject(name, values),
            body: context.templates.notice(name, values), sendAfter: now,
            identity: .workflow("\(name):\(key)"), createdBy: "circulate",
            recipients: .address(coordinator, memberID: nil)), domain: context.domain, now: now)
    }

    private static func hasUpdate(_ db: Database, slot: Date) throws -> Bool {
        try MonthlyUpdate.filter(MonthlyUpdate.Columns.slotAt == slot && MonthlyUpdate.Columns.state != MonthlyUpdate.State.cancelled.rawValue)
            .fetchCount(db) > 0
    }
}
