import Foundation
import GRDB
@testable import CirculateCore

/// The workflows' steps as the tests call them: each runs the workflow's own step in one transaction, with the
/// default configuration (changed only where a test says so) and the built-in templates.
extension AppDatabase {
    static func testContext(_ configure: (inout CirculateCore.Configuration) -> Void = { _ in }) -> WorkflowContext {
        var configuration = CirculateCore.Configuration()
        configure(&configuration)
        // The built-in templates always load; a test failing here means the embedded copies are broken.
        let templates = (try? MessageTemplates.load(directory: nil))!
        return WorkflowContext(configuration: configuration, templates: templates)
    }

    func queueSessionFollowUps(now: Date, domain: String, noShows: Bool = false) throws -> [QueueingResult] {
        let context = Self.testContext { $0.sessions.thankNoShows = noShows }
        return try write { db in try SessionFollowUps(context: context).queueDue(db, now: now) }
    }

    func queueLateSessionNotes(now: Date) throws -> [QueueingResult] {
        try write { db in try LateSessionNotes(context: Self.testContext()).queueDue(db, now: now) }
    }

    func queueSessionReminders(rule: ReminderRule, now: Date, domain: String) throws -> [QueueingResult] {
        let context = Self.testContext {
            $0.sessions.reminderDaysBefore = rule.daysBefore
            $0.sessions.reminderTime = rule.time
            $0.sessions.reminderOnTheDay = rule.onTheDay
            $0.community.timeZone = rule.timeZone
        }
        return try write { db in try SessionReminders(context: context).queueDue(db, now: now) }
    }

    func queueDueUpdates(now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in try MonthlyUpdates(context: Self.testContext()).queueDue(db, now: now) }
    }

    func queueSlotNotices(rule: RecurrenceRule, zone: TimeZone, remindDays: Int, coordinator: EmailAddress, community: String,
                          now: Date, domain: String) throws -> [QueueingResult] {
        let context = Self.testContext {
            $0.updates.schedule = rule
            $0.community.timeZone = zone
            $0.updates.remindDaysBefore = remindDays
            $0.coordinator.email = coordinator.description
            $0.community.name = community
        }
        return try write { db in try UpdateSlotNotices(context: context).queueDue(db, now: now) }
    }

    func queueReportFollowUps(now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in try ReportFollowUps(context: Self.testContext()).queueDue(db, now: now) }
    }

    func nextSessionFollowUp() throws -> Date? { try fetch { db in try SessionFollowUps.nextDue(db) } }
    func nextQueuedUpdate() throws -> Date? { try fetch { db in try MonthlyUpdates.nextDue(db) } }
    func nextReportFollowUp() throws -> Date? { try fetch { db in try ReportFollowUps.nextDue(db) } }

    func editSession(_ id: Int64, changes: SessionChanges, followUp: FollowUpRule, createdBy: String, domain: String,
                     now: Date) throws -> SessionChangeResult {
        let context = Self.testContext {
            $0.sessions.thankYouDaysAfter = followUp.daysAfter
            $0.sessions.thankYouTime = followUp.time
            $0.community.timeZone = followUp.timeZone
        }
        return try editSession(id, changes: changes, context: context, createdBy: createdBy, now: now)
    }

    func cancelSession(_ id: Int64, reason: String?, createdBy: String, domain: String, now: Date) throws -> SessionChangeResult {
        try cancelSession(id, reason: reason, context: Self.testContext(), createdBy: createdBy, now: now)
    }

    func invite(session id: Int64, tags: [String], sendAfter: Date, createdBy: String, dryRun: Bool, domain: String, zone: TimeZone,
                now: Date) throws -> QueueingResult {
        try invite(session: id, tags: tags, sendAfter: sendAfter, createdBy: createdBy, dryRun: dryRun,
                   context: Self.testContext { $0.community.timeZone = zone }, now: now)
    }

    func inviteGuest(session id: Int64, address: EmailAddress, name: String, invitedBy: String, reason: String, key: InstanceKey,
                     sendAfter: Date, domain: String, zone: TimeZone, now: Date) throws -> QueueingResult {
        try inviteGuest(session: id, address: address, name: name, invitedBy: invitedBy, reason: reason, key: key, sendAfter: sendAfter,
                        context: Self.testContext { $0.community.timeZone = zone }, now: now)
    }

    func distributeReport(_ request: ReportRequest, followUpAfter: TimeInterval, again: Bool, domain: String,
                          now: Date) throws -> DistributionResult {
        try distributeReport(request, repeat: again ? .again : .once, context: Self.testContext { $0.reports.followUpAfter = followUpAfter },
                             now: now)
    }
}
