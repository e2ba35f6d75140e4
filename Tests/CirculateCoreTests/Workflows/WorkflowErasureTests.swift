import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: erasure and subject access")
struct WorkflowErasureTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    let session: Session
    let report: Report

    init() throws {
        world = try WorkflowWorld()
        try world.member("alex@example.org", name: "Alex Morgan", tags: ["key-influencer"])
        try world.member("bea@example.org", name: "Bea Keeps", tags: ["key-influencer"])
        session = try world.session("Hospital discharge", start: utc(2026, 11, 5, 18))
        _ = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes", "Bea Keeps,bea@example.org,yes"], now: utc(2026, 11, 5, 21))
        try world.scheduler(TestClock(utc(2026, 11, 6, 10))).tick()
        let request = try ReportRequest(title: "Discharge report", topic: nil, content: .link("https://example.org/discharge"),
                                        audienceTags: ["key-influencer"], coverNote: nil, noticeToList: false,
                                        sendAfter: utc(2026, 11, 10, 12), createdBy: "sam", attachmentLimit: 1000)
        report = try world.db.distributeReport(request, followUpAfter: 14 * 86_400, again: false, domain: world.domain,
                                               now: utc(2026, 11, 10, 12)).report
        _ = try world.db.markResponded(EmailAddress("alex@example.org"), report: nil, note: "Will share with the board",
                                       now: utc(2026, 11, 11, 9))
    }

    func rows(_ table: String, _ email: String) throws -> Int {
        try world.count("SELECT count(*) FROM \(table) WHERE member_id = (SELECT id FROM member WHERE email = ?)", [email])
    }

    @Test("a subject access export lists the sessions a person was recorded at and the reports sent to them")
    func export() throws {
        let export = try db.export(EmailAddress("alex@example.org"), key: testKey, controller: "Riverside CoP", now: utc(2026, 11, 12, 9))
        #expect(export.sessions.count == 1)
        #expect(export.sessions.first?.session == "Hospital discharge")
        #expect(export.sessions.first?.status == "attended")
        #expect(export.sessions.first?.startsAt == utc(2026, 11, 5, 18))
        #expect(export.reports.count == 1)
        #expect(export.reports.first?.report == "Discharge report")
        #expect(export.reports.first?.respondedAt == utc(2026, 11, 11, 9))
        #expect(export.reports.first?.responseNote == "Will share with the board")
        #expect(export.messages.map(\.subject).sorted() == ["Discharge report", "Thank you for coming: Hospital discharge"])
    }

    @Test("erasing a person removes their attendance and report records with everything else, and leaves others alone")
    func erase() throws {
        let tables = ["delivery", "participation", "report_recipient", "consent_event", "member_tag"]
        let held = try tables.map { try rows($0, "alex@example.org") }
        #expect(held == [2, 1, 1, 1, 2], "thank-you and cover; one session; one report; one consent; two tags")
        let others = try tables.map { try rows($0, "bea@example.org") }

        let receipt = try db.erase(EmailAddress("alex@example.org"), key: testKey, erasedBy: "sam", now: utc(2026, 11, 12, 9))
        #expect(receipt.rowsRemoved == held.reduce(1, +), "every row above plus the member")
        #expect(try world.count("SELECT count(*) FROM participation") == 1)
        #expect(try world.count("SELECT count(*) FROM report_recipient") == 1)
        #expect(try world.participation(session.id) == ["bea@example.org:attended"])
        #expect(try tables.map { try rows($0, "bea@example.org") } == others)
        #expect(try db.reportStatus(String(report.id)).recipients.map(\.email) == ["bea@example.org"])
        #expect(try db.sessionDetails(session.id).people.map(\.email) == ["bea@example.org"])
    }
}
