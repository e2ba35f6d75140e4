import Foundation
import GRDB

extension AppDatabase {
    /// A report cover or follow-up that circulate sent, found by its Message-ID.
    struct ReportMessage: Sendable, Equatable {
        var deliveryID: Int64
        /// Nil once the recipient was erased.
        var memberID: Int64?
        var recipient: String
        var reportID: Int64
        var kind: Mailing.Kind
    }

    /// What recording a response by email did.
    enum EmailResponse: Sendable, Equatable {
        /// Marked responded now; `followUps` waiting or in-flight follow-ups were cancelled.
        case recorded(followUps: Int)
        /// A response was on record already (by `report responded` or an earlier reply): kept as it was.
        case alreadyResponded
        /// The member is not among the report's recipients (their row went with an erasure, say).
        case notRecipient
    }

    /// The first of `messageIDs` (most direct first) that is a report cover or follow-up circulate sent.
    static func reportMessage(_ db: Database, answeredBy messageIDs: [String]) throws -> ReportMessage? {
        let kinds = [Mailing.Kind.report, .reportFollowUp]
        for id in messageIDs {
            guard let row = try Row.fetchOne(db, sql: """
                SELECT d.id, d.member_id, d.recipient, g.report_id, g.kind FROM delivery d JOIN mailing g ON g.id = d.mailing_id
                WHERE d.message_id = ? AND g.report_id IS NOT NULL AND g.kind IN (?, ?)
                """, arguments: [id, kinds[0].rawValue, kinds[1].rawValue]),
                let kind = Mailing.Kind(rawValue: row["kind"]) else { continue }
            return ReportMessage(deliveryID: row["id"], memberID: row["member_id"], recipient: row["recipient"],
                                 reportID: row["report_id"], kind: kind)
        }
        return nil
    }

    /// Marks `member` as responded to `report` unless a response is already on record (which is kept, note and
    /// all), and cancels their follow-up in the same transaction; one already in flight is stopped by its last check.
    static func recordEmailResponse(_ db: Database, report: Int64, member: Int64, note: String, now: Date) throws -> EmailResponse {
        try db.execute(sql: """
            UPDATE report_recipient SET responded_at = ?, response_note = ?
            WHERE report_id = ? AND member_id = ? AND responded_at IS NULL
            """, arguments: [now, note, report, member])
        guard db.changesCount == 1 else {
            let known = try Bool.fetchOne(db, sql: "SELECT 1 FROM report_recipient WHERE report_id = ? AND member_id = ?",
                                          arguments: [report, member]) ?? false
            return known ? .alreadyResponded : .notRecipient
        }
        let withdrawal = Withdrawal(try OutboundQueue.cancel(
            db, CancelSelector(member: member, report: report, kinds: [.reportFollowUp]), reason: "the recipient replied by email", now: now))
        return .recorded(followUps: withdrawal.cancelled + withdrawal.inFlight.count)
    }

    /// The UIDs of the report replies left (flagged) in `folder` under this UIDVALIDITY: a poll skips them without
    /// fetching or counting them, so that however many wait there, new mail is read.
    public func reportRepliesLeft(in folder: String, uidValidity: Int64) throws -> Set<Int64> {
        try read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT uid FROM inbound_message WHERE folder = ? AND uid_validity = ? AND kind = ? AND state <> ?
                """, arguments: [folder, uidValidity, InboundRecord.reportReplyKind, InboundRecord.State.failing.rawValue]))
        }
    }
}
