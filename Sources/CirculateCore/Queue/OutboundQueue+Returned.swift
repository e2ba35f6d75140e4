import Foundation
import GRDB

/// What a bounce report found in the mailbox did to the message it names.
enum ReturnedOutcome: Sendable, Equatable {
    /// A permanent failure of the recipient's address: counted toward `delivery.bounce_limit`, as at SMTP time.
    case bounced(member: Int64?, count: Int, memberBounced: Bool)
    /// A permanent failure of this message only (a policy, its size): the message failed, the person is not blamed.
    case rejected
    /// Nothing changed: a delay, a temporary failure, or a message no longer counted as sent.
    case unchanged(String)
}

extension OutboundQueue {
    /// A report that a message the relay accepted did not arrive: the message becomes failed and, for the
    /// recipient's own permanent failure, counts against them exactly as a refusal at RCPT time would. Only a
    /// message counted as sent can come back, so a second report for the same message changes nothing.
    static func recordReturned(_ db: Database, delivery: Int64, reply: SMTPReply, bounceLimit: Int,
                               now: Date) throws -> ReturnedOutcome {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT d.state, d.member_id, g.kind FROM delivery d JOIN mailing g ON g.id = d.mailing_id WHERE d.id = ?
            """, arguments: [delivery]) else { return .unchanged("the message is no longer on record") }
        guard row["state"] == Delivery.State.sent.rawValue else {
            return .unchanged("the message is \(row["state"] as String), not sent; nothing changed")
        }
        let disposition = ReplyClassification.classify(reply)
        guard case .failed(let failure, let reason) = disposition, failure == .bounce || failure == .rejected else {
            return .unchanged("a temporary failure; nothing changed")
        }
        try db.execute(sql: """
            UPDATE delivery SET state = '\(Delivery.State.failed.rawValue)', failure = ?, reply_code = ?, reply = ?, updated_at = ?
            WHERE id = ?
            """, arguments: [failure.rawValue, reply.code, Redaction.maskingAddresses(in: String(("bounce report: " + reason).prefix(500))),
                             now, delivery])
        guard failure == .bounce else { return .rejected }
        let member: Int64? = row["member_id"]
        guard let member, row["kind"] != Mailing.Kind.test.rawValue else { return .bounced(member: member, count: 0, memberBounced: false) }
        let count = try BounceCounter.countReturned(db, member: member, delivery: delivery, limit: bounceLimit)
        var marked = false
        if count >= bounceLimit, try BounceCounter.markBounced(db, member: member, now: now) {
            _ = try cancel(db, .member(member), reason: "the recipient's address bounced", now: now)
            marked = true
        }
        return .bounced(member: member, count: count, memberBounced: marked)
    }
}
