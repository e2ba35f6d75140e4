import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: reports")
struct WorkflowReportTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }
    let distributedAt = utc(2026, 11, 10, 12)
    let fortnight: TimeInterval = 14 * 86_400
    let title = "Hospital discharge: what we learned"

    init() throws {
        world = try WorkflowWorld()
        try world.member("kay@example.org", name: "Kay Commissioner", tags: ["key-influencer"])
        try world.member("lee@example.org", name: "Lee Manager", basis: .legitimateInterest, tags: ["key-influencer"])
        try world.member("opal@example.org", name: "Opal Board", tags: ["board"])
        try world.leave("opal@example.org", stream: .reports)
        try world.member("mo@example.org", name: "Mo Member", tags: ["member"])
        try world.member("fay@example.org", name: "Fay Trustee", tags: ["board"])
    }

    func request(_ title: String? = nil, content: ReportRequest.Content = .link("https://example.org/reports/discharge.pdf"),
                 notice: Bool = false, limit: Int = 10_000_000) throws -> ReportRequest {
        try ReportRequest(title: title ?? self.title, topic: nil, content: content, audienceTags: ["key-influencer", "board"],
                          coverNote: "Thank you for your interest in discharge.", noticeToList: notice, sendAfter: distributedAt,
                          createdBy: "sam", attachmentLimit: limit)
    }

    func distribute(_ request: ReportRequest, again: Bool = false, at: Date? = nil) throws -> DistributionResult {
        try db.distributeReport(request, followUpAfter: fortnight, again: again, domain: world.domain, now: at ?? distributedAt)
    }

    func recipientsOf(_ report: Report) throws -> [String] {
        try db.pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT m.email FROM report_recipient r JOIN member m ON m.id = r.member_id WHERE r.report_id = ? ORDER BY m.email
                """, arguments: [report.id])
        }
    }

    func respond(_ email: String, report: String?, at: Date) throws -> ResponseResult {
        try db.markResponded(EmailAddress(email), report: report, note: nil, now: at)
    }

    @Test("a report goes, with a cover email, only to people in the audience who may receive reports")
    func distribution() throws {
        let result = try distribute(request(notice: true))
        #expect(try recipientsOf(result.report) == ["fay@example.org", "kay@example.org", "lee@example.org"])
        #expect(result.excluded == 1, "Opal stopped reports")
        #expect(result.covers.added == 3 && result.covers.total == 3)
        #expect(result.report.followUpAt == distributedAt.addingTimeInterval(fortnight))
        #expect(result.report.link == "https://example.org/reports/discharge.pdf" && result.report.filename == nil)

        let cover = try world.onlyMailing(.report)
        #expect(cover.reportID == result.report.id && cover.stream == .reports)
        #expect(cover.subject == title && cover.bodyMarkdown == "Thank you for your interest in discharge.")
        #expect(cover.sendAfter == distributedAt)
        #expect(try world.recipients(cover) == ["fay@example.org", "kay@example.org", "lee@example.org"])

        // The notice reaches members opted in to reports, but not the report's own recipients (nor Opal).
        let notice = try #require(result.notice)
        #expect(notice.mailing.kind == .reportNotice && notice.mailing.reportID == result.report.id)
        #expect(try world.recipients(notice.mailing) == ["mo@example.org"])
    }

    @Test("the same report again sends nothing (whatever its title's case, a week later); another report with its title is refused unless asked for")
    func again() throws {
        let first = try distribute(request())
        let repeated = try distribute(request(title.uppercased()), at: distributedAt.addingTimeInterval(7 * 86_400))
        #expect(repeated.repeated && repeated.report.id == first.report.id && repeated.covers.added == 0)
        let refused = #expect(throws: WorkflowError.self) {
            try distribute(request(content: .link("https://example.org/reports/discharge-v2.pdf")), at: distributedAt.addingTimeInterval(60))
        }
        #expect(refused?.description.contains("--again") == true)
        #expect(refused?.description.contains("report \(first.report.id)") == true)
        #expect(try db.reports().count == 1)
        #expect(try world.count("SELECT count(*) FROM delivery") == 3)
        // Someone who joined the audience since gets the cover with --newcomers; nobody else does.
        try world.member("nia@example.org", basis: .legitimateInterest, tags: ["board"])
        let newcomers = try db.distributeReport(request(), repeat: .newcomers, context: AppDatabase.testContext(),
                                                now: distributedAt.addingTimeInterval(8 * 86_400))
        #expect(newcomers.repeated && newcomers.covers.added == 1)
        #expect(try recipientsOf(first.report).contains("nia@example.org"))
        #expect(try world.count("SELECT count(*) FROM delivery") == 4)

        let second = try distribute(request(), again: true, at: distributedAt.addingTimeInterval(120))
        #expect(second.report.id != first.report.id)
        #expect(try world.mailings(.report).count == 2)
        #expect(try world.count("SELECT count(*) FROM delivery") == 8)
    }

    @Test("an audience nobody in which may receive reports is refused, and nothing is stored")
    func emptyAudience() throws {
        let nobodyThere = try ReportRequest(title: "For the board", topic: nil, content: .link("https://example.org/r"),
                                         audienceTags: ["core-group"], coverNote: nil, noticeToList: false,
                                         sendAfter: distributedAt, createdBy: "sam", attachmentLimit: 1000)
        #expect(throws: WorkflowError.self) { try distribute(nobodyThere) }
        #expect(try db.reports().isEmpty)
        #expect(try world.count("SELECT count(*) FROM mailing") == 0)
    }

    @Test("an attachment over the limit is refused with the way out; the notice to the list needs a link")
    func requestRules() throws {
        let big = #expect(throws: InvalidField.self) {
            try request(content: .file(name: "discharge.pdf", data: [UInt8](repeating: 0x25, count: 2_001), link: nil), limit: 2_000)
        }
        #expect(big?.description.contains("--link") == true)
        #expect(big?.description.contains("2 KB") == true)
        // At the limit is fine, and the file is kept with the report.
        let fits = try request(content: .file(name: "discharge.pdf", data: [UInt8](repeating: 0x25, count: 2_000), link: nil), limit: 2_000)
        let stored = try distribute(fits)
        #expect(stored.report.filename == "discharge.pdf" && stored.report.fileSize == 2_000)
        #expect(try db.reportFile(stored.report.id)?.data.count == 2_000)

        let noLink = #expect(throws: InvalidField.self) {
            try request("Another", content: .file(name: "a.pdf", data: [1, 2, 3], link: nil), notice: true)
        }
        #expect(noLink?.description.contains("--link") == true)
        #expect(throws: Never.self) {
            try request("Another", content: .file(name: "a.pdf", data: [1, 2, 3], link: "https://example.org/a.pdf"), notice: true)
        }
        #expect(throws: InvalidField.self) { try request("Another", content: .link("ftp://example.org/a.pdf")) }
        #expect(throws: InvalidField.self) { try request("Another", content: .file(name: "empty.pdf", data: [], link: nil)) }
    }

    @Test("the follow-up goes once, at its time, only to people who received the cover and have not responded")
    func followUp() throws {
        let report = try distribute(request()).report
        let cover = try world.onlyMailing(.report)
        #expect(try db.reportStatus(String(report.id)).count(.waiting) == 3)

        // Kay's and Lee's covers were delivered; Fay's bounced.
        try world.execute("UPDATE delivery SET state = 'sent' WHERE mailing_id = ? AND recipient IN ('kay@example.org', 'lee@example.org')", [cover.id])
        try world.execute("UPDATE delivery SET state = 'failed', failure = 'bounce' WHERE mailing_id = ? AND recipient = 'fay@example.org'", [cover.id])
        let responded = try respond("kay@example.org", report: nil, at: utc(2026, 11, 15, 9))
        #expect(responded.report.id == report.id && !responded.followUpCancelled)

        var status = try db.reportStatus(title)
        #expect(status.recipients.map(\.stage) == [.notDelivered, .responded, .received])  // Fay, Kay, Lee by name
        #expect(status.recipients.first { $0.email == "kay@example.org" }?.respondedAt == utc(2026, 11, 15, 9))

        let clock = TestClock(report.followUpAt.addingTimeInterval(-1))
        #expect(try world.scheduler(clock).tick().reportFollowUps.isEmpty)
        clock.now = report.followUpAt
        let tick = try world.scheduler(clock).tick()
        #expect(tick.reportFollowUps.count == 1)
        #expect(tick.reportFollowUps.first?.added == 1)
        let followUp = try world.onlyMailing(.reportFollowUp)
        #expect(followUp.reportID == report.id && followUp.sendAfter == report.followUpAt)
        #expect(try world.recipients(followUp) == ["lee@example.org"])

        status = try db.reportStatus(String(report.id))
        #expect(status.followUpMailing == followUp.id && status.coverMailing == cover.id)
        #expect(status.count(.followedUp) == 1 && status.count(.responded) == 1 && status.count(.notDelivered) == 1)
        #expect(status.recipients.first { $0.email == "lee@example.org" }?.stage == .followedUp)

        // Ticking again does not follow up twice.
        clock.now = report.followUpAt.addingTimeInterval(86_400)
        #expect(try world.scheduler(clock).tick().reportFollowUps.isEmpty)
        #expect(try world.mailings(.reportFollowUp).count == 1)
        #expect(try db.nextReportFollowUp() == nil)
    }

    @Test("a response after the follow-up was queued cancels it; someone not sent the report cannot respond to it")
    func respondLate() throws {
        let report = try distribute(request()).report
        try world.execute("UPDATE delivery SET state = 'sent'")
        try world.scheduler(TestClock(report.followUpAt)).tick()
        let followUp = try world.onlyMailing(.reportFollowUp)
        #expect(try world.recipients(followUp, states: [.queued]) == ["fay@example.org", "kay@example.org", "lee@example.org"])

        let late = try db.markResponded(EmailAddress("lee@example.org"), report: title, note: "Happy to meet in January",
                                        now: report.followUpAt.addingTimeInterval(3600))
        #expect(late.followUpCancelled)
        #expect(try world.deliveryState(followUp, "lee@example.org") == "cancelled")
        #expect(try world.deliveryState(followUp, "kay@example.org") == "queued")
        let lee = try #require(try db.reportStatus(title).recipients.first { $0.email == "lee@example.org" })
        #expect(lee.stage == .responded && lee.responseNote == "Happy to meet in January")
        #expect(lee.followUpState == .cancelled)

        // Responding again keeps the first time and cancels nothing more.
        let twice = try respond("lee@example.org", report: String(report.id), at: report.followUpAt.addingTimeInterval(7200))
        #expect(!twice.followUpCancelled)
        #expect(try db.reportStatus(title).recipients.first { $0.email == "lee@example.org" }?.respondedAt
                == report.followUpAt.addingTimeInterval(3600))

        let notSent = #expect(throws: WorkflowError.self) { try respond("mo@example.org", report: String(report.id), at: report.followUpAt) }
        #expect(notSent?.description.contains("not among the recipients") == true)
        #expect(throws: WorkflowError.self) { try respond("mo@example.org", report: nil, at: report.followUpAt) }
        #expect(throws: MemberError.self) { try respond("nobody@example.org", report: nil, at: report.followUpAt) }
        #expect(throws: WorkflowError.self) { try respond("kay@example.org", report: "No such report", at: report.followUpAt) }
        #expect(try world.count("SELECT count(*) FROM report_recipient WHERE responded_at IS NOT NULL") == 1)
    }

    @Test("everyone responded before the follow-up time: the follow-up leaves no unfinished work in the queue")
    func everyoneResponded() throws {
        let report = try distribute(request()).report
        try world.execute("UPDATE delivery SET state = 'sent'")
        for email in ["fay@example.org", "kay@example.org", "lee@example.org"] {
            _ = try respond(email, report: nil, at: utc(2026, 11, 12, 9))
        }
        let clock = TestClock(report.followUpAt)
        try world.scheduler(clock).tick()
        #expect(try world.count("SELECT count(*) FROM delivery d JOIN mailing g ON g.id = d.mailing_id WHERE g.kind = 'report-follow-up'") == 0)
        _ = try db.startDueMailings(now: clock.now, lateLimit: world.config.delivery.lateLimit)
        #expect(try db.mailings(activeOnly: true).filter { $0.kind == .reportFollowUp }.isEmpty)
    }
}
