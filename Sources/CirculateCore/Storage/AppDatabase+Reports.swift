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
    /// Whether this was the same distribution asked for again (nothing new was made; `covers.added` people were
    /// added with `newcomers`).
    public var repeated = false

    init(report: Report, covers: QueueingResult, notice: QueueingResult?, excluded: Int) {
        self.report = report
        self.covers = covers
        self.notice = notice
        self.excluded = excluded
    }
}

/// What `report responded` did.
public struct ResponseResult: Sendable, Equatable {
    public var report: Report
    /// The follow-up to them that was waiting (or in flight) and is now cancelled.
    public var withdrawal: Withdrawal
    /// Whether a follow-up was cancelled.
    public var followUpCancelled: Bool { withdrawal.cancelled + withdrawal.inFlight.count > 0 }
}

extension AppDatabase {
    /// Distributes a report in one transaction (see `ReportDistribution`): the same distribution asked for again
    /// sends nothing (or, with `.newcomers`, the cover to people who joined the audience since); another report with
    /// the same title is refused unless `.again`.
    public func distributeReport(_ request: ReportRequest, repeat mode: SendRepeat = .once, context: WorkflowContext,
                                 now: Date) throws -> DistributionResult {
        try write { db in try ReportDistribution(context: context).distribute(db, request, repeat: mode, now: now) }
    }

    /// Reports, newest first.
    public func reports() throws -> [Report] {
        try fetch { db in try Report.fetchAll(db, sql: "\(Report.select) ORDER BY id DESC") }
    }

    /// Who received a report, who responded, who is due a follow-up.
    public func reportStatus(_ reference: String) throws -> ReportStatus {
        try fetch { db in try Self.reportStatus(db, reference) }
    }

    static func reportStatus(_ db: Database, _ reference: String) throws -> ReportStatus {
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
        let recipients = try rows.map { row -> ReportRecipientStatus in
            let coverState = try row.decode(Delivery.State?.self, forColumn: "cover_state")
            let followState = try row.decode(Delivery.State?.self, forColumn: "follow_up_state")
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

    /// Records that a recipient responded (to `report`, or to the latest report they received without responding)
    /// and cancels their follow-up if it is still waiting, in one transaction.
    public func markResponded(_ address: EmailAddress, report reference: String?, note: String?, now: Date) throws -> ResponseResult {
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
                report = try Report.find(db, id: id)
            }
            try db.execute(sql: """
                UPDATE report_recipient SET responded_at = coalesce(responded_at, ?), response_note = coalesce(?, response_note)
                WHERE report_id = ? AND member_id = ?
                """, arguments: [now, cleanNote, report.id, memberID])
            let withdrawal = Withdrawal(try OutboundQueue.cancel(
                db, CancelSelector(member: memberID, report: report.id, kinds: [.reportFollowUp]), reason: "the recipient responded", now: now))
            return ResponseResult(report: report, withdrawal: withdrawal)
        }
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
        if let id = Int64(trimmed), let report = try Report.fetchOne(db, sql: "\(Report.select) WHERE id = ?", arguments: [id]) {
            return report
        }
        guard let report = try Report.fetchOne(db, sql: "\(Report.select) WHERE lower(title) = lower(?) ORDER BY id DESC LIMIT 1",
                                               arguments: [trimmed]) else { throw WorkflowError.noReport(reference) }
        return report
    }
}
