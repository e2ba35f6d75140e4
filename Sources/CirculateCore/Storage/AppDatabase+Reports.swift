import Foundation
import GRDB

/// What `report distribute` did.
public struct DistributionResult: Sendable, Equatable {
    public var report: Report
    /// The personal cover emails.
    public var covers: QueueingResult
    /// The shorter notice to members opted in to reports, if asked for.
    public var notice: QueueingResult?
    /// People in the audience who may not receive reports (no lawful basis, unsubscribed, opted out).
    public var excluded: Int
}

extension AppDatabase {
    static let reportSelect = """
        SELECT id, title, topic_id, link, filename, length(file_data) AS file_size, audience, cover_note, distributed_at,
               follow_up_at, followed_up_at, created_by FROM report
        """

    /// Distributes a report: a personal cover email to each person in the audience who may receive reports, with
    /// the file attached or linked; optionally the shorter notice to the list. One transaction. The same title
    /// twice is refused unless `again`, so a repeated command cannot send everything twice.
    public func distributeReport(_ request: ReportRequest, followUpAfter: TimeInterval, again: Bool, domain: String,
                                 now: Date) throws -> DistributionResult {
        try write { db in
            var topicID: Int64?
            if let reference = request.topic {
                guard let topic = try Self.topic(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
                topicID = topic.id
            }
            if !again, let earlier = try Row.fetchOne(db, sql: "SELECT id, distributed_at FROM report WHERE lower(title) = lower(?)",
                                                      arguments: [request.title]) {
                let id: Int64 = earlier["id"]
                throw WorkflowError("a report called \"\(request.title)\" was already distributed (report \(id), \(MemberError.day(earlier["distributed_at"]))); see `circulate report status \(id)`. To distribute it again anyway, add --again")
            }
            let audience = Audience(stream: .reports, tags: request.audienceTags)
            let (eligibleSQL, eligibleArguments) = Self.audienceQuery(audience, select: "m.id")
            let eligible = try Int64.fetchAll(db, sql: eligibleSQL, arguments: eligibleArguments)
            let tagMarks = request.audienceTags.map { _ in "?" }.joined(separator: ", ")
            let everyone = try Int.fetchOne(db, sql: "SELECT count(DISTINCT member_id) FROM member_tag WHERE tag IN (\(tagMarks))",
                                            arguments: StatementArguments(request.audienceTags)) ?? 0
            guard !eligible.isEmpty else {
                throw WorkflowError("nobody with the roles/tags \(request.audienceTags.joined(separator: ", ")) may receive reports (\(everyone) people have those tags; they need a lawful basis and the reports stream on). Nothing was sent.")
            }
            var link: String?, filename: String?, data: [UInt8]?
            switch request.content {
            case .file(let name, let bytes, let l): (filename, data, link) = (name, bytes, l)
            case .link(let l): link = l
            }
            try db.execute(sql: """
                INSERT INTO report (title, topic_id, link, filename, file_data, audience, cover_note, distributed_at, follow_up_at, created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [request.title, topicID, link, filename, data.map { Data($0) }, audience.description,
                                 request.coverNote, now, max(now, request.sendAfter).addingTimeInterval(followUpAfter), request.createdBy])
            let reportID = db.lastInsertedRowID
            let insert = try db.cachedStatement(sql: "INSERT INTO report_recipient (report_id, member_id) VALUES (?, ?)")
            for member in eligible { try insert.execute(arguments: [reportID, member]) }
            let covers = try Self.enqueueWorkflow(db, WorkflowMailing(
                kind: .report, stream: .reports, audience: audience.description, subject: request.title,
                body: request.coverNote ?? "", sendAfter: request.sendAfter, key: "report:\(reportID)", createdBy: request.createdBy,
                sessionID: nil, invitationSessionID: nil, reportID: reportID),
                recipients: "SELECT member_id FROM report_recipient WHERE report_id = ?", arguments: [reportID], domain: domain, now: now)
            var notice: QueueingResult?
            if request.noticeToList {
                notice = try Self.enqueueWorkflow(db, WorkflowMailing(
                    kind: .reportNotice, stream: .reports, audience: "stream reports (not the report's own recipients)",
                    subject: "Now published: \(request.title)", body: "", sendAfter: request.sendAfter,
                    key: "report-notice:\(reportID)", createdBy: request.createdBy,
                    sessionID: nil, invitationSessionID: nil, reportID: reportID),
                    recipients: "SELECT id FROM member WHERE id NOT IN (SELECT member_id FROM report_recipient WHERE report_id = ?)",
                    arguments: [reportID], domain: domain, now: now)
            }
            return DistributionResult(report: try Self.report(db, id: reportID), covers: covers, notice: notice,
                                      excluded: max(0, everyone - eligible.count))
        }
    }

    /// Reports, newest first.
    public func reports() throws -> [Report] {
        try fetch { db in try Row.fetchAll(db, sql: "\(Self.reportSelect) ORDER BY id DESC").map(Report.init(row:)) }
    }

    /// Who received a report, who responded, who is due a follow-up.
    public func reportStatus(_ reference: String) throws -> ReportStatus {
        try fetch { db in
            let report = try Self.report(db, reference: reference)
            let mailings = try Row.fetchAll(db, sql: "SELECT id, kind FROM mailing WHERE report_id = ?", arguments: [report.id])
            func mailing(_ kind: Mailing.Kind) -> Int64? { mailings.first { $0["kind"] == kind.rawValue }?["id"] }
            let cover = mailing(.report), followUp = mailing(.reportFollowUp)
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.member_id, r.responded_at, r.response_note, m.email, m.name,
                       (SELECT state FROM delivery WHERE mailing_id = ? AND member_id = r.member_id) AS cover_state,
                       (SELECT state FROM delivery WHERE mailing_id = ? AND member_id = r.member_id) AS follow_up_state
                FROM report_recipient r JOIN member m ON m.id = r.member_id
                WHERE r.report_id = ? ORDER BY lower(m.name), m.email_key
                """, arguments: [cover, followUp, report.id])
            let recipients = rows.map { row -> ReportRecipientStatus in
                let coverState = (row["cover_state"] as String?).flatMap(Delivery.State.init(rawValue:))
                let followState = (row["follow_up_state"] as String?).flatMap(Delivery.State.init(rawValue:))
                let responded: Date? = row["responded_at"]
                let stage: ReportRecipientStatus.Stage
                if responded != nil { stage = .responded }
                else if let followState, followState != .cancelled, followState != .failed { stage = .followedUp }
                else {
                    switch coverState {
                    case .sent?: stage = .received
                    case .failed?, .cancelled?, nil: stage = .notDelivered
                    default: stage = .waiting
                    }
                }
                return ReportRecipientStatus(memberID: row["member_id"], email: row["email"], name: row["name"], stage: stage,
                                             respondedAt: responded, responseNote: row["response_note"],
                                             coverState: coverState, followUpState: followState)
            }
            return ReportStatus(report: report, recipients: recipients, coverMailing: cover, followUpMailing: followUp,
                                noticeMailing: mailing(.reportNotice))
        }
    }

    /// Records that a recipient responded (to `report`, or to the latest report they received without responding)
    /// and cancels their follow-up if it is still waiting, in one transaction.
    public func markResponded(_ address: EmailAddress, report reference: String?, note: String?, now: Date) throws -> (report: Report, followUpCancelled: Bool) {
        let cleanNote = try note.map { (n) throws(InvalidField) in try TextField.clean(n, field: "note", maxLength: 500) }
        return try write { db in
            guard let member = try Self.member(db, key: address.key), let memberID = member.id else {
                throw MemberError.unknown(address: address.description)
            }
            let report: Report
            if let reference {
                report = try Self.report(db, reference: reference)
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM report_recipient WHERE report_id = ? AND member_id = ?",
                                       arguments: [report.id, memberID]) == 1 else {
                    throw WorkflowError("\(address) was not among the recipients of report \(report.id) (\"\(report.title)\"); see `circulate report status \(report.id)`")
                }
            } else {
                guard let id = try Int64.fetchOne(db, sql: """
                    SELECT report_id FROM report_recipient WHERE member_id = ? AND responded_at IS NULL ORDER BY report_id DESC LIMIT 1
                    """, arguments: [memberID]) else {
                    throw WorkflowError("\(address) has no report awaiting a response; name one with --report (see `circulate report list`)")
                }
                report = try Self.report(db, id: id)
            }
            try db.execute(sql: """
                UPDATE report_recipient SET responded_at = coalesce(responded_at, ?), response_note = coalesce(?, response_note)
                WHERE report_id = ? AND member_id = ?
                """, arguments: [now, cleanNote, report.id, memberID])
            try db.execute(sql: """
                UPDATE delivery SET state = 'cancelled', reply = 'the recipient responded', updated_at = ?
                WHERE member_id = ? AND state IN ('queued', 'deferred')
                  AND mailing_id IN (SELECT id FROM mailing WHERE report_id = ? AND kind = 'report-follow-up')
                """, arguments: [now, memberID, report.id])
            return (report, db.changesCount > 0)
        }
    }

    /// Queues the one follow-up for every report whose time has come: to each recipient who received the cover
    /// email and has not responded.
    public func queueReportFollowUps(now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in
            let due = try Row.fetchAll(db, sql: "\(Self.reportSelect) WHERE followed_up_at IS NULL AND follow_up_at <= ? ORDER BY id",
                                       arguments: [now]).map(Report.init(row:))
            var results: [QueueingResult] = []
            for report in due {
                let result = try Self.enqueueWorkflow(db, WorkflowMailing(
                    kind: .reportFollowUp, stream: .reports, audience: "recipients of report \(report.id) who have not responded",
                    subject: "Following up: \(report.title)", body: "", sendAfter: report.followUpAt,
                    key: "report-follow-up:\(report.id)", createdBy: "circulate", sessionID: nil, invitationSessionID: nil,
                    reportID: report.id),
                    recipients: """
                        SELECT r.member_id FROM report_recipient r
                        JOIN mailing g ON g.report_id = r.report_id AND g.kind = 'report'
                        JOIN delivery d ON d.mailing_id = g.id AND d.member_id = r.member_id AND d.state = 'sent'
                        WHERE r.report_id = ? AND r.responded_at IS NULL
                        """,
                    arguments: [report.id], domain: domain, now: now)
                try db.execute(sql: "UPDATE report SET followed_up_at = ? WHERE id = ?", arguments: [now, report.id])
                results.append(result)
            }
            return results
        }
    }

    /// The earliest report follow-up still to queue.
    public func nextReportFollowUp() throws -> Date? {
        try fetch { db in try Date.fetchOne(db, sql: "SELECT min(follow_up_at) FROM report WHERE followed_up_at IS NULL") }
    }

    /// The report's file, if it was attached.
    public func reportFile(_ id: Int64) throws -> (name: String, data: [UInt8])? {
        try fetch { db in try Self.reportFile(db, id) }
    }

    static func reportFile(_ db: Database, _ id: Int64) throws -> (name: String, data: [UInt8])? {
        try Row.fetchOne(db, sql: "SELECT filename, file_data FROM report WHERE id = ? AND file_data IS NOT NULL", arguments: [id])
            .map { ($0["filename"], [UInt8]($0["file_data"] as Data)) }
    }

    static func report(_ db: Database, reference: String) throws -> Report {
        let trimmed = reference.trimmedSpaces
        if let id = Int64(trimmed), let row = try Row.fetchOne(db, sql: "\(reportSelect) WHERE id = ?", arguments: [id]) {
            return Report(row: row)
        }
        guard let row = try Row.fetchOne(db, sql: "\(reportSelect) WHERE lower(title) = lower(?) ORDER BY id DESC LIMIT 1",
                                         arguments: [trimmed]) else { throw WorkflowError.noReport(reference) }
        return Report(row: row)
    }

    static func report(_ db: Database, id: Int64) throws -> Report {
        guard let row = try Row.fetchOne(db, sql: "\(reportSelect) WHERE id = ?", arguments: [id]) else {
            throw WorkflowError.noReport(String(id))
        }
        return Report(row: row)
    }
}

extension Report {
    init(row: Row) {
        id = row["id"]
        title = row["title"]
        topicID = row["topic_id"]
        link = row["link"]
        filename = row["filename"]
        fileSize = row["file_size"]
        audience = row["audience"]
        coverNote = row["cover_note"]
        distributedAt = row["distributed_at"]
        followUpAt = row["follow_up_at"]
        followedUpAt = row["followed_up_at"]
        createdBy = row["created_by"]
    }
}
