import Crypto
import Foundation
import GRDB

/// A topic's report to the people who can act on it (`report distribute`): a personal cover email from the
/// coordinator to each person in the audience who may receive reports, with the file attached or linked, and
/// optionally a shorter "now published" notice to members opted in to reports.
///
/// The same distribution asked for again (same title, audience, file or link and cover note) is recognised and sends
/// nothing, unless `newcomers` (only people who joined the audience since) or `again` (a new distribution).
struct ReportDistribution {
    let context: WorkflowContext

    /// Distributes a report; see the type's summary.
    func distribute(_ db: Database, _ request: ReportRequest, repeat mode: SendRepeat, now: Date) throws -> DistributionResult {
        let key = Self.requestKey(request)
        let audience = Audience(stream: .reports, tags: request.audienceTags)
        let (eligibleSQL, eligibleArguments) = Announcements.audienceQuery(audience, kind: .report, select: "m.id")
        let everyone = try Int.fetchOne(db, sql: "SELECT count(DISTINCT member_id) FROM member_tag WHERE tag IN (\(request.audienceTags.map { _ in "?" }.joined(separator: ", ")))",
                                        arguments: StatementArguments(request.audienceTags)) ?? 0
        if mode != .again, let earlier = try Report.fetchOne(db, sql: "\(Report.select) WHERE request_key = ? ORDER BY id DESC LIMIT 1",
                                                              arguments: [key]) {
            return try repeated(db, earlier, audience: audience, eligibleSQL: eligibleSQL, arguments: eligibleArguments,
                                everyone: everyone, newcomers: mode == .newcomers, now: now)
        }
        if mode != .again, let earlier = try Report.fetchOne(db, sql: "\(Report.select) WHERE lower(title) = lower(?) ORDER BY id DESC LIMIT 1",
                                                              arguments: [request.title]) {
            throw WorkflowError("a different report called \"\(request.title)\" was already distributed (report \(earlier.id), \(MemberError.day(earlier.distributedAt))); see `circulate report status \(earlier.id)`. To distribute this one too, add --again")
        }
        var topicID: Int64?
        if let reference = request.topic {
            guard let topic = try Topic.find(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
            topicID = topic.id
        }
        let eligible = try Int64.fetchAll(db, sql: eligibleSQL, arguments: eligibleArguments)
        guard !eligible.isEmpty else {
            throw WorkflowError("nobody with the roles/tags \(request.audienceTags.joined(separator: ", ")) may receive reports (\(everyone) people have those tags; they need a lawful basis and the reports stream on). Nothing was sent.")
        }
        var link: String?, filename: String?, data: [UInt8]?
        switch request.content {
        case .file(let name, let bytes, let l): (filename, data, link) = (name, bytes, l)
        case .link(let l): link = l
        }
        try db.execute(sql: """
            INSERT INTO report (title, topic_id, link, filename, file_data, audience, cover_note, distributed_at, follow_up_at,
                                created_by, request_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [request.title, topicID, link, filename, data.map { Data($0) }, audience.description, request.coverNote, now,
                             max(now, request.sendAfter).addingTimeInterval(context.configuration.reports.followUpAfter),
                             request.createdBy, key])
        let report = try Report.find(db, id: db.lastInsertedRowID)
        let covers = try sendCovers(db, report, to: eligible, sendAfter: request.sendAfter, createdBy: request.createdBy, now: now)
        var notice: QueueingResult?
        if request.noticeToList {
            notice = try OutboundQueue.enqueue(db, MailingPlan(
                kind: .reportNotice, stream: .reports, audience: "stream reports (not the report's own recipients)",
                subject: context.subject("report-notice", report: request.title), body: "", sendAfter: request.sendAfter,
                identity: .workflow("report-notice:\(report.id)"), createdBy: request.createdBy, reportID: report.id,
                recipients: .members(sql: "SELECT id FROM member WHERE id NOT IN (SELECT member_id FROM report_recipient WHERE report_id = ?)",
                                     arguments: [report.id])), domain: context.domain, now: now)
        }
        return DistributionResult(report: report, covers: covers, notice: notice, excluded: max(0, everyone - eligible.count))
    }

    /// The same distribution again: nothing, or with `newcomers` the cover to people who joined the audience since.
    private func repeated(_ db: Database, _ report: Report, audience: Audience, eligibleSQL: String, arguments: StatementArguments,
                          everyone: Int, newcomers: Bool, now: Date) throws -> DistributionResult {
        var eligible: [Int64] = []
        if newcomers {
            eligible = try Int64.fetchAll(db, sql: """
                SELECT id FROM (\(eligibleSQL)) WHERE id NOT IN (SELECT member_id FROM report_recipient WHERE report_id = ?)
                """, arguments: arguments + [report.id])
        }
        let covers: QueueingResult
        if eligible.isEmpty, let mailing = try OutboundQueue.existing(db, .workflow("report:\(report.id)")) {
            covers = QueueingResult(mailing: mailing, added: 0, total: try OutboundQueue.recipientCount(db, mailing.id ?? -1), existed: true)
        } else {
            covers = try sendCovers(db, report, to: eligible, sendAfter: now, createdBy: report.createdBy, now: now)
        }
        var result = DistributionResult(report: report, covers: covers, notice: nil, excluded: 0)
        result.repeated = true
        return result
    }

    /// Records the recipients and queues their cover emails (the report's one cover mailing: nobody twice).
    private func sendCovers(_ db: Database, _ report: Report, to members: [Int64], sendAfter: Date, createdBy: String,
                            now: Date) throws -> QueueingResult {
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO report_recipient (report_id, member_id) VALUES (?, ?)")
        for member in members { try insert.execute(arguments: [report.id, member]) }
        return try OutboundQueue.enqueue(db, MailingPlan(
            kind: .report, stream: .reports, audience: report.audience, subject: report.title, body: report.coverNote ?? "",
            sendAfter: sendAfter, identity: .workflow("report:\(report.id)"), createdBy: createdBy, reportID: report.id,
            recipients: .members(sql: "SELECT member_id FROM report_recipient WHERE report_id = ?", arguments: [report.id])),
            domain: context.domain, now: now)
    }

    /// What makes two distributions the same: the title (in any case), the audience, the file or link, the cover note.
    static func requestKey(_ request: ReportRequest) -> String {
        var content: String
        switch request.content {
        case .file(let name, let data, let link): content = "file:\(name):\(SHA256.hash(data: data).hexString):\(link ?? "")"
        case .link(let link): content = "link:\(link)"
        }
        content += request.noticeToList ? ":notice" : ""
        let parts = ["report", request.title.lowercased(), request.audienceTags.sorted().joined(separator: ","), content, request.coverNote ?? ""]
        return SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).hexString
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
