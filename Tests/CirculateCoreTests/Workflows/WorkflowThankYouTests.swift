import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: thank-you scheduling")
struct WorkflowThankYouTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    /// Thursday 5 November 2026, 18:00-20:00 GMT: its thank-you is due Friday 6 November, 10:00 GMT.
    let session: Session
    /// The next session still going ahead (3 December); a cancelled one (19 November) comes before it.
    let next: Session
    let later: Session
    let followUpAt = utc(2026, 11, 6, 10)

    init() throws {
        world = try WorkflowWorld()
        try world.member("uma@example.org", name: "Uma Left")
        try world.leave("uma@example.org", at: utc(2026, 10, 1, 9))
        try world.member("pat@example.org", name: "Pat Quiet")
        try world.leave("pat@example.org", stream: .sessionInvitations, at: utc(2026, 10, 1, 9))
        try world.member("bo@example.org", name: "Bo Bounced")
        try world.execute("UPDATE member SET status = 'bounced' WHERE email = 'bo@example.org'")
        session = try world.session(start: utc(2026, 11, 5, 18))
        let called = try world.session("Called off", start: utc(2026, 11, 19, 18))
        _ = try world.db.cancelSession(called.id, reason: nil, createdBy: "sam", domain: world.domain, now: utc(2026, 10, 2, 9))
        next = try world.session("Discharge: the housing side", start: utc(2026, 12, 3, 18))
        later = try world.session("Discharge: what next", start: utc(2027, 1, 7, 18))
        _ = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes", "Uma Left,uma@example.org,yes",
                                              "Pat Quiet,pat@example.org,yes", "Bo Bounced,bo@example.org,yes"], now: utc(2026, 11, 5, 21))
        _ = try world.attendance(session.id, ["Kim Lee,kim@example.org,yes"], status: .apologies, now: utc(2026, 11, 5, 21, 5))
    }

    @Test("nothing before the follow-up time; at it, a thank-you to those who came and a sorry-we-missed-you to those who sent apologies")
    func thankYou() throws {
        let clock = TestClock(followUpAt.addingTimeInterval(-1))
        let scheduler = world.scheduler(clock)
        #expect(try scheduler.tick().sessionFollowUps.isEmpty)
        #expect(try world.mailings(.thankYou).isEmpty && world.mailings(.missedYou).isEmpty)
        #expect(try db.nextSessionFollowUp() == followUpAt)

        clock.now = followUpAt
        let report = try scheduler.tick()
        #expect(report.sessionFollowUps.map(\.mailing.kind) == [.thankYou, .missedYou])
        #expect(report.sessionFollowUps.map(\.added) == [1, 1])

        let thanks = try world.onlyMailing(.thankYou)
        #expect(thanks.sessionID == session.id)
        #expect(thanks.invitationSessionID == next.id, "the invitation is to the next session going ahead")
        #expect(thanks.stream == .sessionInvitations)
        #expect(thanks.sendAfter == followUpAt)
        #expect(try world.recipients(thanks) == ["alex@example.org"], "Uma left, Pat stopped session mail, Bo's address bounced")

        let missed = try world.onlyMailing(.missedYou)
        #expect(missed.sessionID == session.id && missed.invitationSessionID == next.id)
        #expect(try world.recipients(missed) == ["kim@example.org"])

        let stored = try world.session(session.id)
        #expect(stored.followedUpAt == followUpAt)
        // The next thing to do is the following session's thank-you.
        #expect(try db.nextSessionFollowUp() == utc(2026, 12, 4, 10))
    }

    @Test("ticking again, or after a restart, adds nobody: each person is thanked once")
    func once() throws {
        let clock = TestClock(followUpAt)
        try world.scheduler(clock).tick()
        let deliveries = try world.count("SELECT count(*) FROM delivery")
        let mailings = try world.count("SELECT count(*) FROM mailing WHERE kind IN ('thank-you', 'missed-you')")
        #expect(deliveries >= 2 && mailings == 2)

        clock.now = followUpAt.addingTimeInterval(60)
        #expect(try world.scheduler(clock).tick().sessionFollowUps.isEmpty)
        let restarted = world.scheduler(clock)
        clock.now = followUpAt.addingTimeInterval(3600)
        #expect(try restarted.tick().sessionFollowUps.isEmpty)
        #expect(try restarted.tick().sessionFollowUps.isEmpty)
        #expect(try world.count("SELECT count(*) FROM delivery") == deliveries)
        #expect(try world.count("SELECT count(*) FROM mailing WHERE kind IN ('thank-you', 'missed-you')") == mailings)
    }

    @Test("attendance recorded after the thank-you went reaches only the people added, on the same mailing")
    func lateAttendance() throws {
        let clock = TestClock(followUpAt)
        try world.scheduler(clock).tick()
        let thanks = try world.onlyMailing(.thankYou)
        // The daemon sent it and finished the mailing.
        try world.execute("UPDATE delivery SET state = 'sent' WHERE mailing_id = ?", [thanks.id])
        try world.execute("UPDATE mailing SET state = 'done' WHERE id = ?", [thanks.id])

        let afternoon = utc(2026, 11, 6, 15)
        let late = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes", "Noor Late,noor@example.org,yes"], now: afternoon)
        #expect(late.newlyRecorded == 1)

        clock.now = afternoon.addingTimeInterval(60)
        let report = try world.scheduler(clock).tick()
        #expect(report.sessionFollowUps.count == 1)
        #expect(report.sessionFollowUps.first?.added == 1)
        #expect(report.sessionFollowUps.first?.mailing.id == thanks.id)
        #expect(try world.mailings(.thankYou).count == 1)
        #expect(try world.recipients(thanks) == ["alex@example.org", "noor@example.org"])
        #expect(try world.deliveryState(thanks, "alex@example.org") == "sent", "Alex is not thanked twice")
        #expect(try world.deliveryState(thanks, "noor@example.org") == "queued")
        #expect(try world.state(of: thanks) == .sending, "a finished mailing has work again")
        #expect(try world.onlyMailing(.thankYou).invitationSessionID == next.id)
        #expect(try world.recipients(world.onlyMailing(.missedYou)) == ["kim@example.org"])

        // And once more: nothing new.
        clock.now = afternoon.addingTimeInterval(120)
        #expect(try world.scheduler(clock).tick().sessionFollowUps.isEmpty)
    }

    @Test("attendance recorded days after the thank-you time sends the thank-you then, rather than holding it as overdue")
    func attendanceRecordedLate() throws {
        let fresh = try WorkflowWorld()
        try fresh.member("alex@example.org", name: "Alex Morgan")
        let held = try fresh.session(start: utc(2026, 11, 5, 10))
        let twoDaysLate = held.followUpAt.addingTimeInterval(2 * 86_400)
        _ = try fresh.attendance(held.id, ["Alex Morgan,alex@example.org,yes"], now: twoDaysLate)
        let clock = TestClock(twoDaysLate.addingTimeInterval(30))
        try fresh.scheduler(clock).tick()
        let thanks = try fresh.onlyMailing(.thankYou)
        #expect(thanks.sendAfter == twoDaysLate)
        #expect(try fresh.db.startDueMailings(now: clock.now, lateLimit: 12 * 3600).isEmpty, "not held as late")
        #expect(try fresh.state(of: thanks) == .sending)
    }

    @Test("a sheet recorded with a clock reading from just before the scheduler queued the thank-you still reaches its new people")
    func attendanceRacingTheScheduler() throws {
        // The scheduler queues the thank-you at 10:00:05 on its clock; the command, which read 10:00:00 before that,
        // commits afterwards. Its people must not be lost between the two.
        let clock = TestClock(followUpAt.addingTimeInterval(5))
        try world.scheduler(clock).tick()
        let thanks = try world.onlyMailing(.thankYou)
        _ = try world.attendance(session.id, ["Noor Late,noor@example.org,yes"], now: followUpAt)
        clock.now = followUpAt.addingTimeInterval(30)
        let report = try world.scheduler(clock).tick()
        #expect(report.sessionFollowUps.first?.added == 1)
        #expect(try world.recipients(thanks).contains("noor@example.org"))
    }

    @Test("a session held for its notes is thanked only once the notes are added, and the late thank-you is not held as overdue")
    func holdForNotes() throws {
        let held = try world.session("Held for notes", start: utc(2026, 11, 12, 18), hold: true)
        #expect(held.followUpAt == utc(2026, 11, 13, 10))
        _ = try world.attendance(held.id, ["Alex Morgan,alex@example.org,yes"], now: utc(2026, 11, 12, 21))

        let clock = TestClock(utc(2026, 11, 14, 10))
        try world.scheduler(clock).tick()
        let waiting = try world.mailings(.thankYou).filter { $0.sessionID == held.id }
        #expect(waiting.isEmpty)
        #expect(try world.session(held.id).followUpWaitingFor?.contains("notes") == true)
        #expect(try db.nextSessionFollowUp() == utc(2026, 12, 4, 10), "a held session is not due")

        // The notes arrive three days after the thank-you time.
        let notesAt = utc(2026, 11, 16, 9)
        _ = try db.setNotes(held.id, markdown: "We heard from three wards about discharge to no fixed abode.", now: notesAt)
        clock.now = notesAt.addingTimeInterval(60)
        let report = try world.scheduler(clock).tick()
        let thanks = try #require(report.sessionFollowUps.first { $0.mailing.sessionID == held.id && $0.mailing.kind == .thankYou })
        #expect(thanks.added == 1)
        #expect(try world.recipients(thanks.mailing) == ["alex@example.org"])

        // Waiting for the notes is not the daemon being off: the thank-you goes now rather than being held as late.
        let heldAsLate = try db.startDueMailings(now: clock.now, lateLimit: world.config.delivery.lateLimit)
        #expect(!heldAsLate.contains { $0.id == thanks.mailing.id })
        #expect(try world.state(of: thanks.mailing) == .sending)
    }

    @Test("a session cancelled after the sheet was recorded gets no thank-you")
    func cancelled() throws {
        _ = try db.cancelSession(session.id, reason: nil, createdBy: "sam", domain: world.domain, now: utc(2026, 11, 5, 22))
        let clock = TestClock(followUpAt.addingTimeInterval(3600))
        #expect(try world.scheduler(clock).tick().sessionFollowUps.isEmpty)
        #expect(try world.mailings(.thankYou).isEmpty && world.mailings(.missedYou).isEmpty)
        #expect(try db.nextSessionFollowUp() == utc(2026, 12, 4, 10))
    }

    @Test("a follow-up with nobody to send to does not linger in the queue as unfinished work")
    func nobodyToThank() throws {
        // Nobody sent apologies for the December session; only Alex came.
        _ = try world.attendance(next.id, ["Alex Morgan,alex@example.org,yes"], now: utc(2026, 12, 3, 21))
        let clock = TestClock(utc(2026, 12, 4, 10))
        try world.scheduler(clock).tick()
        _ = try db.startDueMailings(now: clock.now, lateLimit: world.config.delivery.lateLimit)
        let active = try db.mailings(activeOnly: true).filter { $0.sessionID == next.id }
        #expect(active.map(\.kind) == [.thankYou], "an empty sorry-we-missed-you is not left 'sending' for ever")
        let missed = try #require(world.mailings(.missedYou).first { $0.sessionID == next.id })
        #expect(missed.state == .done)
        #expect(try world.recipients(missed).isEmpty)

        // Kim's apologies are recorded late: the finished mailing takes her and has work again.
        _ = try world.attendance(next.id, ["Kim Lee,kim@example.org,yes"], status: .apologies, now: utc(2026, 12, 4, 12))
        clock.now = utc(2026, 12, 4, 12, 1)
        let report = try world.scheduler(clock).tick()
        #expect(report.sessionFollowUps.map(\.mailing.id) == [missed.id])
        #expect(try world.recipients(missed) == ["kim@example.org"])
        #expect(try world.state(of: missed) == .sending)
    }
}
