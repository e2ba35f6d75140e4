import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: session edits and cancellations")
struct WorkflowSessionChangeTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    /// 5 November 2026: Alex and Pat came, Kim sent apologies.
    let past: Session
    /// 3 December 2026: the session the thank-yous invited everyone to.
    let invitedTo: Session
    /// 7 January 2027: nobody has been invited yet.
    let uninvited: Session
    let editTime = utc(2026, 11, 8, 12)

    init() throws {
        world = try WorkflowWorld()
        past = try world.session(start: utc(2026, 11, 5, 18))
        invitedTo = try world.session("Discharge: the housing side", start: utc(2026, 12, 3, 18))
        uninvited = try world.session("Discharge: what next", start: utc(2027, 1, 7, 18))
        _ = try world.attendance(past.id, ["Alex Morgan,alex@example.org,yes", "Pat Quiet,pat@example.org,yes"], now: utc(2026, 11, 5, 21))
        _ = try world.attendance(past.id, ["Kim Lee,kim@example.org,yes"], status: .apologies, now: utc(2026, 11, 5, 21))
        try world.scheduler(TestClock(utc(2026, 11, 6, 10))).tick()
        // The daemon sent the thank-yous; then Pat left the list.
        try world.execute("UPDATE delivery SET state = 'sent'")
        try world.leave("pat@example.org", at: utc(2026, 11, 7, 9))
    }

    func changes(_ configure: (inout SessionChanges) -> Void) -> SessionChanges {
        var c = SessionChanges()
        configure(&c)
        return c
    }

    func edit(_ id: Int64, at: Date? = nil, _ configure: (inout SessionChanges) -> Void) throws -> SessionChangeResult {
        try db.editSession(id, changes: changes(configure), followUp: world.followUp, createdBy: "sam", domain: world.domain, now: at ?? editTime)
    }

    @Test("the thank-yous invited exactly the people who came or sent apologies")
    func invited() throws {
        let thanks = try world.onlyMailing(.thankYou)
        #expect(thanks.invitationSessionID == invitedTo.id)
        #expect(try db.sessionDetails(invitedTo.id).invited == 3, "Alex, Pat and Kim were sent the invitation")
        #expect(try db.sessionDetails(uninvited.id).invited == 0)
    }

    @Test("moving a session tells the people invited, once, with the sequence raised; someone who left is not told")
    func move() throws {
        let result = try edit(invitedTo.id) { $0.startsAt = utc(2026, 12, 10, 18) }
        #expect(result.materialChange)
        #expect(result.session.sequence == 1)
        #expect(result.session.startsAt == utc(2026, 12, 10, 18))
        #expect(result.session.endsAt == utc(2026, 12, 10, 20), "moving the start keeps the length")
        #expect(result.session.followUpAt == utc(2026, 12, 11, 10), "the thank-you moves with the session")
        let notice = try #require(result.notice)
        #expect(notice.added == 2)

        let changed = try world.onlyMailing(.sessionChanged)
        #expect(changed.id == notice.mailing.id)
        #expect(changed.sessionID == invitedTo.id && changed.invitationSessionID == invitedTo.id)
        #expect(changed.stream == .sessionInvitations)
        #expect(changed.subject.hasPrefix("New date:"))
        #expect(try world.recipients(changed) == ["alex@example.org", "kim@example.org"], "Pat left the list since the invitation")
        #expect(try world.session(invitedTo.id).sequence == 1)
    }

    @Test("a change that does not matter to people invited (the facilitator) sends nothing and keeps the sequence")
    func immaterial() throws {
        let result = try edit(invitedTo.id) { $0.facilitator = .some("Someone Else") }
        #expect(!result.materialChange)
        #expect(result.notice == nil)
        #expect(result.session.sequence == 0)
        #expect(result.session.facilitator == "Someone Else")
        #expect(try world.mailings(.sessionChanged).isEmpty)
    }

    @Test("with notify off a material change is saved but nobody is told")
    func quiet() throws {
        let result = try edit(invitedTo.id) {
            $0.venueName = .some("The Library")
            $0.notify = false
        }
        #expect(result.materialChange)
        #expect(result.notice == nil)
        #expect(result.session.sequence == 0)
        #expect(try world.session(invitedTo.id).venueName == "The Library")
        #expect(try world.mailings(.sessionChanged).isEmpty)
    }

    @Test("each told change has its own mailing and sequence number")
    func twoChanges() throws {
        _ = try edit(invitedTo.id) { $0.startsAt = utc(2026, 12, 10, 18) }
        let second = try edit(invitedTo.id, at: editTime.addingTimeInterval(3600)) { $0.venueName = .some("The Library") }
        #expect(second.session.sequence == 2)
        #expect(second.notice?.added == 2)
        let changes = try world.mailings(.sessionChanged)
        #expect(changes.count == 2)
        #expect(changes.last?.subject.hasPrefix("Change to:") == true)
    }

    @Test("changing a session nobody has been invited to raises no sequence and sends nothing")
    func nobodyInvited() throws {
        let result = try edit(uninvited.id) { $0.startsAt = utc(2027, 1, 14, 18) }
        #expect(result.materialChange && result.notice == nil && result.session.sequence == 0)
        #expect(try world.mailings(.sessionChanged).isEmpty)
    }

    @Test("an edit that would end the session before it starts is refused")
    func endBeforeStart() throws {
        #expect(throws: WorkflowError.self) { try edit(invitedTo.id) { $0.endsAt = utc(2026, 12, 3, 17) } }
        #expect(try world.session(invitedTo.id).endsAt == utc(2026, 12, 3, 20))
    }

    @Test("cancelling tells the people invited once, raises the sequence, and cannot be repeated")
    func cancel() throws {
        let result = try db.cancelSession(invitedTo.id, reason: "the venue is closed", createdBy: "sam", domain: world.domain, now: editTime)
        #expect(result.session.state == .cancelled)
        #expect(result.session.sequence == 1)
        #expect(result.notice?.added == 2)
        let cancelled = try world.onlyMailing(.sessionCancelled)
        #expect(cancelled.sessionID == invitedTo.id && cancelled.invitationSessionID == invitedTo.id)
        #expect(cancelled.bodyMarkdown == "the venue is closed")
        #expect(try world.recipients(cancelled) == ["alex@example.org", "kim@example.org"])

        let again = try db.cancelSession(invitedTo.id, reason: nil, createdBy: "sam", domain: world.domain, now: editTime.addingTimeInterval(60))
        #expect(again.notice == nil)
        #expect(again.session.sequence == 1)
        #expect(try world.mailings(.sessionCancelled).count == 1)
        #expect(try world.count("SELECT count(*) FROM delivery WHERE mailing_id = ?", [cancelled.id]) == 2)

        // A cancelled session is not edited back to life.
        #expect(throws: WorkflowError.self) { try edit(invitedTo.id) { $0.startsAt = utc(2026, 12, 17, 18) } }
    }

    @Test("cancelling a session nobody was invited to sends nothing")
    func cancelUninvited() throws {
        let result = try db.cancelSession(uninvited.id, reason: nil, createdBy: "sam", domain: world.domain, now: editTime)
        #expect(result.session.state == .cancelled && result.notice == nil && result.session.sequence == 0)
        #expect(try world.mailings(.sessionCancelled).isEmpty)
    }

    @Test("cancelling a session cancels its invitations and reminders not yet sent; those never invited get no cancellation")
    func cancelWaiting() throws {
        try world.member("ola@example.org", tags: ["member"])
        try world.member("uma@example.org", tags: ["member"])
        // Invitations queued to go out next week, and the reminder for the session that was invited to earlier.
        let invitations = try db.invite(session: uninvited.id, tags: ["member"], sendAfter: utc(2026, 11, 20, 9), createdBy: "sam",
                                        dryRun: false, domain: world.domain, zone: Zones.london, now: editTime)
        #expect(invitations.added == 2)
        _ = try db.queueSessionReminders(rule: world.config.reminderRule, now: utc(2027, 1, 5, 9), domain: world.domain)
        let reminder = try world.onlyMailing(.reminder)
        #expect(try world.recipients(reminder, states: [.queued]) == ["ola@example.org", "uma@example.org"])
        // One of them is already in a worker's hands when the session is cancelled.
        _ = try db.startDueMailings(now: utc(2027, 1, 5, 9), lateLimit: 86_400 * 60)
        let inFlight = try #require(try db.claimDue(limit: 1, now: utc(2027, 1, 5, 9)).first)

        let result = try db.cancelSession(uninvited.id, reason: nil, createdBy: "sam", domain: world.domain, now: utc(2027, 1, 5, 10))
        #expect(result.withdrawal.cancelled == 3 && result.withdrawal.inFlight == [inFlight.deliveryID])
        #expect(db.lastCheck(inFlight.deliveryID) == .stop("the session was cancelled"))
        #expect(try world.count("""
            SELECT count(*) FROM delivery WHERE state IN ('queued', 'deferred', 'held')
              AND mailing_id IN (SELECT id FROM mailing WHERE kind IN ('invitation', 'reminder'))
            """) == 0)
        #expect(try world.state(of: reminder) == .done, "a mailing left with nothing to send is finished")
        try db.record([DeliveryResult(claim: inFlight, outcome: .withdrawn(reason: "the session was cancelled", atRelay: true),
                                      finishedAt: utc(2027, 1, 5, 10))], policy: RecordingPolicy(world.config.delivery))
        #expect(try world.state(of: invitations.mailing) == .done)
        // Only the person whose message was in flight may have seen the invitation: they alone hear it is cancelled.
        let cancelled = try world.onlyMailing(.sessionCancelled)
        #expect(try world.recipients(cancelled) == [inFlight.recipient])
    }
}
