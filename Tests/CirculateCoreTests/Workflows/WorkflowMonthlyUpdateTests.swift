import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: monthly updates and slot notices")
struct WorkflowMonthlyUpdateTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    let rule: RecurrenceRule
    let coordinator: EmailAddress
    /// First Tuesdays at 09:00 London time: 08:00Z in summer, 09:00Z in winter.
    let april = utc(2026, 4, 7, 8)
    let june = utc(2026, 6, 2, 8)
    let july = utc(2026, 7, 7, 8)
    let november = utc(2026, 11, 3, 9)

    init() throws {
        world = try WorkflowWorld()
        rule = try RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9")
        coordinator = try EmailAddress("coordinator@example.org")
        try world.member("alex@example.org", tags: ["member"], at: utc(2026, 1, 5, 9))
        try world.member("kim@example.org", tags: ["member"], at: utc(2026, 1, 5, 9))
        try world.member("lee@example.org", basis: .legitimateInterest, tags: ["key-influencer"], at: utc(2026, 1, 5, 9))
        try world.member("uma@example.org", at: utc(2026, 1, 5, 9))
        try world.leave("uma@example.org", at: utc(2026, 1, 6, 9))
        try world.member("pat@example.org", at: utc(2026, 1, 5, 9))
        try world.leave("pat@example.org", stream: .monthlyUpdate, at: utc(2026, 1, 6, 9))
    }

    func queue(_ slot: Date, subject: String = "News from the community", now: Date = utc(2026, 3, 1, 12)) throws -> MonthlyUpdate {
        try db.queueUpdate(subject: subject, bodyMarkdown: "This month we met about **hospital discharge**.", slot: slot, createdBy: "sam", now: now).update
    }

    func notices(_ now: Date) throws -> [QueueingResult] {
        try db.queueSlotNotices(rule: rule, zone: Zones.london, remindDays: 5, coordinator: coordinator,
                                community: "Riverside CoP", now: now, domain: world.domain)
    }

    @Test("the slots of 2026 follow the clock changes: April's first Tuesday is 08:00Z, November's 09:00Z")
    func slots() throws {
        #expect(rule.nextOccurrence(after: utc(2026, 4, 1, 0), in: Zones.london) == april)
        #expect(rule.nextOccurrence(after: utc(2026, 11, 1, 0), in: Zones.london) == november)
        #expect(rule.occurrences(after: utc(2026, 5, 10, 0), through: utc(2026, 7, 31, 0), in: Zones.london) == [june, july])
    }

    @Test("one update per slot; cancelling frees the slot; a past slot is refused")
    func onePerSlot() throws {
        let first = try queue(april)
        #expect(first.state == .queued && first.slotAt == april)
        let taken = #expect(throws: WorkflowError.self) { try queue(april, subject: "Another") }
        #expect(taken?.description.contains("already queued for that slot") == true)
        #expect(taken?.description.contains("update cancel \(first.id)") == true)

        let cancelled = try db.cancelUpdate(id: first.id, now: utc(2026, 3, 2, 12))
        #expect(cancelled.state == .cancelled)
        let second = try queue(april, subject: "Another")
        #expect(second.id != first.id && second.state == .queued)
        #expect(try db.takenSlots(from: utc(2026, 1, 1, 0)) == [april])

        let past = #expect(throws: WorkflowError.self) { try queue(utc(2026, 2, 3, 9)) }
        #expect(past?.description.contains("already passed") == true)
        #expect(throws: WorkflowError.self) {
            try db.queueUpdate(subject: "Empty", bodyMarkdown: "  \n", slot: july, createdBy: "sam", now: utc(2026, 3, 1, 12))
        }
    }

    @Test("at its slot an update becomes a mailing to members on the monthly update, once, starting at the slot itself")
    func dueUpdates() throws {
        let update = try queue(april)
        #expect(try db.nextQueuedUpdate() == april)
        #expect(try db.queueDueUpdates(now: april.addingTimeInterval(-1), domain: world.domain).isEmpty)

        let results = try db.queueDueUpdates(now: april, domain: world.domain)
        #expect(results.count == 1)
        let mailing = try world.onlyMailing(.update)
        #expect(results.first?.mailing.id == mailing.id)
        #expect(mailing.sendAfter == april, "09:00 BST is 08:00Z")
        #expect(mailing.stream == .monthlyUpdate)
        #expect(mailing.subject == "News from the community")
        #expect(try world.recipients(mailing) == ["alex@example.org", "kim@example.org"])

        let sent = try db.update(id: update.id)
        #expect(sent.state == .sent && sent.mailingID == mailing.id)
        #expect(throws: WorkflowError.self) { try db.cancelUpdate(id: update.id, now: april.addingTimeInterval(60)) }

        #expect(try db.queueDueUpdates(now: april.addingTimeInterval(60), domain: world.domain).isEmpty)
        #expect(try world.count("SELECT count(*) FROM delivery") == 2)
        #expect(try db.nextQueuedUpdate() == nil)
    }

    @Test("an update for November's slot starts at 09:00Z, after the clocks went back")
    func winterSlot() throws {
        _ = try queue(april)
        _ = try queue(november)
        _ = try db.queueDueUpdates(now: april, domain: world.domain)
        #expect(try db.queueDueUpdates(now: november.addingTimeInterval(-60), domain: world.domain).isEmpty)
        let results = try db.queueDueUpdates(now: november.addingTimeInterval(30), domain: world.domain)
        #expect(results.map(\.mailing.sendAfter) == [november])
        #expect(try world.mailings(.update).map(\.sendAfter) == [april, november])
    }

    @Test("a cancelled update is never sent")
    func cancelledNeverSent() throws {
        let update = try queue(april)
        _ = try db.cancelUpdate(id: update.id, now: utc(2026, 3, 2, 12))
        #expect(try db.queueDueUpdates(now: april.addingTimeInterval(3600), domain: world.domain).isEmpty)
        #expect(try world.mailings(.update).isEmpty)
    }

    @Test("the coordinator is reminded once, five days before a slot with nothing queued, and told once when a slot passed empty")
    func reminders() throws {
        // First run: earlier slots (5 May) are not reported.
        #expect(try notices(utc(2026, 5, 10, 12)).isEmpty)
        #expect(try world.count("SELECT count(*) FROM scheduler_mark WHERE name = 'updates.checked_through'") == 1)
        #expect(try notices(utc(2026, 5, 28, 7, 59)).isEmpty, "not yet five days before 2 June 09:00 BST")

        let reminder = try notices(utc(2026, 5, 28, 8))
        #expect(reminder.count == 1)
        let mailing = try world.onlyMailing(.coordinatorNotice)
        #expect(mailing.stream == nil)
        #expect(mailing.subject.hasPrefix("Reminder"))
        #expect(mailing.bodyMarkdown.contains("Riverside CoP"))
        #expect(try world.recipients(mailing) == ["coordinator@example.org"])
        #expect(try world.count("SELECT count(*) FROM delivery WHERE mailing_id = ? AND member_id IS NULL", [mailing.id]) == 1)
        #expect(try notices(utc(2026, 5, 28, 8, 1)).isEmpty)
        #expect(try notices(utc(2026, 5, 31, 12)).isEmpty)
        #expect(try world.mailings(.coordinatorNotice).count == 1)

        // 2 June passes with nothing queued: one notice saying nothing went out.
        let missed = try notices(june.addingTimeInterval(60))
        #expect(missed.count == 1)
        #expect(missed.first?.mailing.subject.hasPrefix("No monthly update went out") == true)
        #expect(try notices(utc(2026, 6, 3, 9)).isEmpty)
        #expect(try world.count("SELECT count(*) FROM slot_notice") == 2)

        // July's update is queued in time: no reminder, and no missed notice once the slot passes.
        _ = try queue(july, now: utc(2026, 6, 20, 9))
        #expect(try notices(utc(2026, 7, 2, 9)).isEmpty)
        #expect(try notices(july.addingTimeInterval(60)).isEmpty)
        #expect(try world.mailings(.coordinatorNotice).count == 2)
    }

    @Test("a daemon that was off over a slot reports the missed slot once it runs again")
    func offOverSlot() throws {
        #expect(try notices(utc(2026, 5, 10, 12)).isEmpty)
        // Off from 10 May until 4 June: 2 June went by; the reminder for 7 July is not due yet.
        let results = try notices(utc(2026, 6, 4, 12))
        #expect(results.count == 1)
        #expect(results.first?.mailing.subject.hasPrefix("No monthly update went out") == true)
        #expect(try notices(utc(2026, 6, 4, 13)).isEmpty)
    }

    @Test("a daemon that was off for months sends one notice listing every missed slot, not one per slot")
    func offForMonths() throws {
        #expect(try notices(utc(2026, 5, 10, 12)).isEmpty)
        // Off from 10 May until 10 September: the slots of June, July, August and September went by.
        let results = try notices(utc(2026, 9, 10, 12))
        let missed = results.filter { $0.mailing.subject.hasPrefix("No monthly update went out") }
        #expect(missed.count == 1, "\(results.map(\.mailing.subject))")
        let body = missed.first?.mailing.bodyMarkdown ?? ""
        for day in ["2 June", "7 July", "4 August", "1 September"] {
            #expect(body.contains(day) && missed.first?.mailing.subject.contains(day) == true, "\(day): \(body)")
        }
        #expect(try world.count("SELECT count(*) FROM slot_notice WHERE kind = 'missed'") == 4)
        #expect(try notices(utc(2026, 9, 10, 13)).filter { $0.mailing.subject.hasPrefix("No monthly update") }.isEmpty)
    }

    @Test("the scheduler's tick hands updates to the queue at their slot")
    func tick() throws {
        let update = try queue(november)
        let clock = TestClock(november.addingTimeInterval(-1))
        let scheduler = world.scheduler(clock)
        #expect(try scheduler.tick().updates.isEmpty)
        clock.now = november
        let report = try scheduler.tick()
        let made = try db.update(id: update.id).mailingID
        #expect(made != nil && report.updates.map(\.mailing.id) == [made])
        #expect(report.updates.first?.added == 2)
        #expect(scheduler.nextWake() <= november.addingTimeInterval(60))
    }
}
