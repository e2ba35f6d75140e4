import Foundation
import GRDB

/// The one follow-up after a report (`reports.follow_up_after`): to each recipient whose cover email was delivered and
/// who has not responded, offering a meeting or a presentation. A response recorded later stops it, even if queued.
struct ReportFollowUps {
    let context: WorkflowContext

    /// Queues the follow-up of every report whose time has come.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        let due = try Report.fetchAll(db, sql: "\(Report.select) WHERE followed_up_at IS NULL AND follow_up_at <= ? ORDER BY id",
                                      arguments: [now])
        var results: [QueueingResult] = []
        for report in due {
            results.append(try OutboundQueue.enqueue(db, MailingPlan(
                kind: .reportFollowUp, stream: .reports, audience: "recipients of report \(report.id) who have not responded",
                subject: context.subject("report-follow-up", report: report.title), body: "", sendAfter: report.followUpAt,
                identity: .workflow("report-follow-up:\(report.id)"), createdBy: "circulate", reportID: report.id,
                recipients: .members(sql: """
                    SELECT r.member_id FROM report_recipient r
                    JOIN mailing g ON g.report_id = r.report_id AND g.kind = '\(Mailing.Kind.report.rawValue)'
                    JOIN delivery d ON d.mailing_id = g.id AND d.member_id = r.member_id AND d.state = '\(Delivery.State.sent.rawValue)'
                    WHERE r.report_id = ? AND r.responded_at IS NULL
                    """, arguments: [report.id])), domain: context.domain, now: now))
            try db.execute(sql: "UPDATE report SET followed_up_at = ? WHERE id = ?", arguments: [now, report.id])
        }
        return results
    }

    /// The earliest report follow-up still to queue.
    static func nextDue(_ db: Database) throws -> Date? {
        try Date.fetchOne(db, sql: "SELECT min(follow_up_at) FROM report WHERE followed_up_at IS NULL")
    }
}
