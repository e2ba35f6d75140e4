import Foundation
import GRDB

/// Reminders before a session (`sessions.reminder_days_before` at `sessions.reminder_time`, and optionally on the
/// morning itself) to everyone invited who has not sent apologies and may still be mailed.
///
/// Each reminder goes once per session start time: a session moved after a reminder gets the reminder for its new
/// time; one moved before it only ever has the new time announced. Cancelled and started sessions get none.
struct SessionReminders {
    let context: WorkflowContext

    private var rule: ReminderRule { context.configuration.reminderRule }

    /// Queues every reminder whose time has come; returns the mailings that gained recipients.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        var results: [QueueingResult] = []
        for session in try upcoming(db, now: now) {
            for reminder in rule.reminders(forSessionStarting: session.startsAt) where reminder.at <= now {
                let result = try SessionInvitations.reachInvited(
                    db, kind: .reminder, subject: context.subject("reminder", session: session), sendAfter: reminder.at,
                    key: "reminder:\(session.id):\(Int(session.startsAt.timeIntervalSince1970)):\(reminder.name)",
                    createdBy: "circulate", session: session.id, exceptApologies: true, context: context, now: now)
                if result.added > 0 { results.append(result) }
            }
        }
        return results
    }

    /// The next reminder instant after `now`, for the scheduler's sleep.
    func nextDue(_ db: Database, now: Date) throws -> Date? {
        try upcoming(db, now: now).flatMap { rule.reminders(forSessionStarting: $0.startsAt).map(\.at) }.filter { $0 > now }.min()
    }

    /// Sessions that start soon enough for a reminder to be due.
    private func upcoming(_ db: Database, now: Date) throws -> [Session] {
        try Session.fetchAll(db, sql: """
            \(Session.select) WHERE s.state = '\(Session.State.scheduled.rawValue)' AND s.starts_at > ? AND s.starts_at <= ?
            ORDER BY s.starts_at
            """, arguments: [now, now.addingTimeInterval(Double(rule.daysBefore + 2) * 86_400)])
    }
}
