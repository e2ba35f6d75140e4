import Foundation
import GRDB

extension InboxProcessor {
    /// A spam complaint unsubscribes the person from everything, but only when it names exactly one message circulate
    /// sent: by the bounce token of its envelope sender (VERP), else by its Message-ID, which is random and appears only
    /// in the recipient's copy. If the report also names the original recipient, that must be the message's recipient:
    /// a different address means the message went on to someone else (a forward), who is not our member to remove.
    /// A redacted recipient (RFC 6590) proves nothing either way, so only its absence lets the Message-ID decide alone.
    func complaint(_ db: Database, _ report: FeedbackReport, now: Date) throws -> Decision {
        guard report.isComplaint else {
            let type = report.feedbackType.isEmpty ? "untyped" : String(report.feedbackType.prefix(20).filter { $0.isLetter || $0 == "-" })
            return Decision(state: .forCoordinator, action: "a feedback report of type \(type), not a spam complaint; not acted on",
                            delivery: nil, member: nil)
        }
        let byToken = report.originalSenders.lazy.compactMap { BounceAddress.deliveryID(in: $0, key: self.key) }.first
        let row: Row?
        if let byToken {
            row = try Row.fetchOne(db, sql: "SELECT id, recipient, member_id FROM delivery WHERE id = ?", arguments: [byToken])
        } else if let messageID = report.originalMessageID {
            row = try Row.fetchOne(db, sql: "SELECT id, recipient, member_id FROM delivery WHERE message_id = ?", arguments: [messageID])
        } else {
            row = nil
        }
        guard let row else {
            let why = report.originalMessageID == nil && byToken == nil
                ? "its original was redacted beyond matching" : "it names no message circulate sent"
            return Decision(state: .forCoordinator, action: "a spam complaint that cannot be matched: \(why)", delivery: nil, member: nil)
        }
        let delivery: Int64 = row["id"]
        let recipient: String = row["recipient"]
        guard let memberID: Int64 = row["member_id"], let member = try Member.fetchOne(db, key: memberID) else {
            return Decision(state: .forCoordinator, action: "a spam complaint about message \(delivery), which went to no member",
                            delivery: delivery, member: nil)
        }
        if !report.originalRecipients.isEmpty, !report.originalRecipients.contains(where: { $0.lowercased() == recipient.lowercased() }) {
            return Decision(state: .forCoordinator,
                            action: "a spam complaint about message \(delivery) from another (or redacted) recipient; not acted on",
                            delivery: delivery, member: memberID)
        }
        let via = report.reportingDomain ?? "an unnamed reporter"
        let outcome = try AppDatabase.unsubscribe(db, member, stream: nil, source: "spam complaint via \(via)", recordedBy: "inbox", now: now)
        let action: String = switch outcome {
        case .unsubscribed, .streamStopped: "spam complaint via \(via) about message \(delivery): unsubscribed from everything"
        case .alreadyUnsubscribed: "spam complaint via \(via) about message \(delivery): already unsubscribed; nothing changed"
        }
        return Decision(state: .handled, action: action, delivery: delivery, member: memberID)
    }
}
