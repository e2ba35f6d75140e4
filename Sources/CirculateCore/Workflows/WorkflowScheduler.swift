import Foundation
import Logging

/// The daemon's clock-driven work besides delivery: each workflow's due step in turn (the monthly update at its slot
/// and the notes to the coordinator about it, the thank-you after each session and its notes if they came late,
/// reminders before sessions, the follow-up after each report). Each step is one transaction that is safe to repeat, so a restart at any moment
/// neither loses nor doubles anything.
public final class WorkflowScheduler: Sendable {
    /// What one tick queued.
    public struct TickReport: Sendable, Equatable {
        public var updates: [QueueingResult] = []
        public var notices: [QueueingResult] = []
        public var sessionFollowUps: [QueueingResult] = []
        public var reportFollowUps: [QueueingResult] = []
        public var reminders: [QueueingResult] = []

        /// Everything queued, with what it was.
        var all: [(String, QueueingResult)] {
            updates.map { ("monthly update", $0) } + notices.map { ("note to the coordinator", $0) }
                + sessionFollowUps.map { ("session follow-up", $0) } + reminders.map { ("session reminder", $0) }
                + reportFollowUps.map { ("report follow-up", $0) }
        }
    }

    private let database: AppDatabase
    private let context: WorkflowContext
    private let logger: Logger
    /// Now, as the scheduler sees it (injectable for tests and rehearsals).
    public let clock: @Sendable () -> Date

    /// Creates a scheduler; nothing happens until `tick()`.
    public init(database: AppDatabase, context: WorkflowContext, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.context = context
        self.logger = logger
        self.clock = clock
    }

    /// Does everything that is due now, each workflow in its own transaction.
    @discardableResult
    public func tick() throws -> TickReport {
        let now = clock()
        var report = TickReport()
        report.updates = try database.write { db in try MonthlyUpdates(context: context).queueDue(db, now: now) }
        report.notices = try database.write { db in try UpdateSlotNotices(context: context).queueDue(db, now: now) }
        report.sessionFollowUps = try database.write { db in
            try SessionFollowUps(context: context).queueDue(db, now: now) + LateSessionNotes(context: context).queueDue(db, now: now)
        }
        report.reminders = try database.write { db in try SessionReminders(context: context).queueDue(db, now: now) }
        report.reportFollowUps = try database.write { db in try ReportFollowUps(context: context).queueDue(db, now: now) }
        // Unconfirmed sign-ups go after 7 days even when nobody visits the join page.
        try database.forgetExpiredSignUps(now: now)
        for (what, r) in report.all where r.added > 0 {
            logger.info("queued \(what)", metadata: ["mailing": "\(r.mailing.id ?? 0)", "kind": "\(r.mailing.kind.rawValue)",
                                                   "recipients": "\(r.added)"])
        }
        return report
    }

    /// When to look again: the earliest thing known to be due, but at least once every `atMost` seconds (a command
    /// may add work without waking the daemon, and reminders depend on the calendar rather than on a stored row).
    public func nextWake(atMost: TimeInterval = 60) -> Date {
        let now = clock()
        var candidates = [now.addingTimeInterval(atMost)]
        let due = try? database.fetch { db in
            [try SessionFollowUps.nextDue(db), try MonthlyUpdates.nextDue(db), try ReportFollowUps.nextDue(db),
             try SessionReminders(context: context).nextDue(db, now: now)]
        }
        candidates += (due ?? []).compactMap { $0 }
        return max(now.addingTimeInterval(0.2), candidates.min() ?? now)
    }
}
