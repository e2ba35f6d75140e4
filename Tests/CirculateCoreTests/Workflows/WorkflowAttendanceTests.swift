import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: attendance")
struct WorkflowAttendanceTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    /// Thursday 5 November 2026, 18:00-20:00 GMT.
    let session: Session
    /// That evening, after the session.
    let evening = utc(2026, 11, 5, 21)

    let sheet = [
        "Alex Morgan,alex@example.org,yes",
        "Sam Patel,sam@example.org,no",
        "Jo Bloggs,,yes",
        "Uma Left,uma@example.org,yes",
    ]

    init() throws {
        world = try WorkflowWorld()
        try world.member("uma@example.org", name: "Uma Left", tags: ["member"])
        try world.leave("uma@example.org")
        session = try world.session(start: utc(2026, 11, 5, 18))
    }

    func memberEmails() throws -> [String] {
        try db.pool.read { try String.fetchAll($0, sql: "SELECT email FROM member ORDER BY email") }
    }

    @Test("a sign-in sheet adds consenting people, records who attended and counts the rest without storing them")
    func signInSheet() throws {
        let report = try world.attendance(session.id, sheet, now: evening)
        #expect(report.sheet.committed)
        #expect(report.recorded == 2 && report.newlyRecorded == 2)
        #expect(report.unlisted == 2, "Sam (no consent) and Jo (no address) are counted, not stored")
        #expect(report.notMailable == 1, "Uma stays unsubscribed")
        #expect(try memberEmails() == ["alex@example.org", "uma@example.org"])
        #expect(try world.participation(session.id) == ["alex@example.org:attended", "uma@example.org:attended"])

        guard case .found(let alex) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else {
            Issue.record("Alex was not added")
            return
        }
        #expect(alex.member.lawfulBasis == .consent && alex.member.status == .active)
        #expect(alex.tags == ["attendee"])
        #expect(alex.consent.count == 1 && alex.consent.first?.wordingVersion == "2026-01")
        guard case .found(let uma) = try db.lookup(EmailAddress("uma@example.org"), key: testKey) else {
            Issue.record("Uma is missing")
            return
        }
        #expect(uma.member.status == .unsubscribed, "a sheet does not resubscribe anyone")
        #expect(uma.tags == ["attendee", "member"])

        let stored = try world.session(session.id)
        #expect(stored.unlistedAttendees == 2)
        #expect(stored.attendanceChangedAt == evening)
    }

    @Test("importing the same sheet again changes nothing")
    func reimport() throws {
        _ = try world.attendance(session.id, sheet, now: evening)
        let rows = "SELECT (SELECT count(*) FROM member) * 1000 + (SELECT count(*) FROM consent_event) * 100 + (SELECT count(*) FROM participation) * 10 + (SELECT count(*) FROM member_tag)"
        let before = try world.count(rows)
        let recordedAt = try world.count("SELECT count(*) FROM participation WHERE recorded_at = ?", [evening])

        let again = try world.attendance(session.id, sheet, now: evening.addingTimeInterval(86_400))
        #expect(again.sheet.committed)
        #expect(again.newlyRecorded == 0)
        #expect(again.recorded == 2 && again.unlisted == 2 && again.notMailable == 1)
        #expect(try world.count(rows) == before)
        #expect(recordedAt == 2)
        #expect(try world.count("SELECT count(*) FROM participation WHERE recorded_at = ?", [evening]) == 2)
        let stored = try world.session(session.id)
        #expect(stored.unlistedAttendees == 2, "the count is replaced, not added to")
        #expect(stored.attendanceChangedAt == evening)
    }

    @Test("apologies never downgrade someone who attended; attending upgrades apologies")
    func apologies() throws {
        _ = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes"], now: evening)
        let sorry = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes", "Kim Lee,kim@example.org,yes"],
                                         status: .apologies, now: evening.addingTimeInterval(60))
        #expect(sorry.sheet.committed)
        #expect(sorry.newlyRecorded == 1, "only Kim is new")
        #expect(try world.participation(session.id) == ["alex@example.org:attended", "kim@example.org:apologies"])
        guard case .found(let kim) = try db.lookup(EmailAddress("kim@example.org"), key: testKey) else {
            Issue.record("Kim was not added")
            return
        }
        #expect(kim.tags.isEmpty, "sending apologies does not make someone an attendee")
        #expect(try world.session(session.id).unlistedAttendees == 0, "an apologies list leaves the sign-in count alone")

        // Kim came after all (signed the sheet late).
        let late = try world.attendance(session.id, ["Kim Lee,kim@example.org,yes"], now: evening.addingTimeInterval(120))
        #expect(late.newlyRecorded == 1)
        #expect(try world.participation(session.id) == ["alex@example.org:attended", "kim@example.org:attended"])
        #expect(try world.session(session.id).attendanceChangedAt == evening.addingTimeInterval(120))
    }

    @Test("attendance records only attended or apologies")
    func otherStatuses() throws {
        #expect(throws: WorkflowError.self) { try world.attendance(session.id, sheet, status: .invited, now: evening) }
        #expect(try world.count("SELECT count(*) FROM participation") == 0)
    }

    @Test("a rejected row rolls back everything: no people, no attendance")
    func rejectedRow() throws {
        let report = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes", "Bad Row,not-an-address,yes"], now: evening)
        #expect(!report.sheet.committed)
        #expect(report.sheet.count(.rejected) == 1)
        #expect(try memberEmails() == ["uma@example.org"])
        #expect(try world.count("SELECT count(*) FROM participation") == 0)
        #expect(try world.session(session.id).attendanceChangedAt == nil)
    }

    @Test("a cancelled session, a session still to come and an unknown session take no attendance, and nobody is imported")
    func refused() throws {
        let called = try world.session("Called off", start: utc(2026, 11, 4, 18))
        _ = try db.cancelSession(called.id, reason: "venue flooded", createdBy: "sam", domain: world.domain, now: utc(2026, 11, 1, 9))
        let cancelled = #expect(throws: WorkflowError.self) { try world.attendance(called.id, sheet, now: evening) }
        #expect(cancelled?.description.contains("cancelled") == true)

        let future = try world.session("Next month", start: utc(2026, 12, 3, 18))
        let early = #expect(throws: WorkflowError.self) { try world.attendance(future.id, sheet, now: evening) }
        #expect(early?.description.contains("has not happened yet") == true)

        #expect(throws: WorkflowError.self) { try world.attendance(9999, sheet, now: evening) }

        #expect(try memberEmails() == ["uma@example.org"])
        #expect(try world.count("SELECT count(*) FROM participation") == 0)
    }

    @Test("sign-in on the day itself is accepted, before the session's end")
    func sameDay() throws {
        // The coordinator imports the sheet during the session's break.
        let report = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes"], now: utc(2026, 11, 5, 19))
        #expect(report.sheet.committed && report.recorded == 1)
    }
}
