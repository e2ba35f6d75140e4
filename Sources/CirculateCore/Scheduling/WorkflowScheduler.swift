import Foundation
import Logging

/// The daemon's clock-driven work besides delivery: the monthly update at its slot and the reminders about it,
/// the thank-you after each session, the follow-up after each report. Each step is one transaction that is safe to
/// repeat, so a restart at any moment neither loses nor doubles anything.
public final class WorkflowScheduler: Sendable {
    /// What one tick queued.
    public struct TickReport: Sendable, Equatable {
        public var updates: [QueueingResult] = []
        public var notices: [QueueingResult] = []
        public var sessionFollowUps: [QueueingResult] = []
        public var reportFollowUps: [QueueingResult] = []
        public var reminders: [QueueingResult] = []
    }

    private let database: AppDatabase
    private let configuration: Configuration
    private let logger: Logger
    /// Now, as the scheduler sees it (injectable for tests and rehearsals).
    public let clock: @Sendable () -> Date

    /// Creates a scheduler; nothing happens until `tick()`.
    public init(database: AppDatabase, configuration: Configuration, logger: Logger,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    /// Does everything that is due now.
    @discardableResult
    public func tick() throws -> TickReport {
        let now = clock()
        let domain = configuration.domain
        var report = TickReport()
        report.updates = try database.queueDueUpdates(now: now, domain: domain)
        if let rule = configuration.updates.schedule {
            let coordinator = try EmailAddress(configuration.coordinatorAddress)
            report.notices = try database.queueSlotNotices(
                rule: rule, zone: configuration.community.timeZone, remindDays: configuration.updates.remindDaysBefore,
                coordinator: coordinator, community: configuration.community.name, now: now, domain: domain)
        }
        report.sessionFollowUps = try database.queueSessionFollowUps(now: now, domain: domain, noShows: configuration.sessions.thankNoShows)
        report.reminders = try database.queueSessionReminders(rule: configuration.reminderRule, now: now, domain: domain)
        report.reportFollowUps = try database.queueReportFollowUps(now: now, domain: domain)
        for (what, results) in [("monthly update", report.updates), ("notice to the coordinator", report.notices),
                                ("session thank-you", report.sessionFollowUps), ("report follow-up", report.reportFollowUps),
                                ("session reminder", report.reminders)] {
            for r in results where r.added > 0 {
                logger.info("queued \(what)", metadata: ["mailing": "\(r.mailing.id ?? 0)", "kind": "\(r.mailing.kind.rawValue)",
                                                       "recipients": "\(r.added)"])
            }
        }
        return report
    }

    /// When to look again: the earliest thing known to be due, but at least once a minute (the CLI adds work, and
    /// reminders depend on the calendar rather than on a stored row).
    public func nextWake() -> Date {
        let now = clock()
        var candidates = [now.addingTimeInterval(60)]
        if let d = try? database.nextSessionFollowUp() { candidates.append(d) }
        if let d = try? database.nextQueuedUpdate() { candidates.append(d) }
        if let d = try? database.nextReportFollowUp() { candidates.append(d) }
        if let d = try? database.nextReminder(rule: configuration.reminderRule, now: now) { candidates.append(d) }
        return max(now.addingTimeInterval(0.2), candidates.min() ?? now)
    }
}
