import Foundation
import GRDB

/// Replies to a report: a reply naming a cover or follow-up circulate sent marks its recipient as responded, so no
/// follow-up goes; the message itself stays in the inbox, flagged, for the coordinator to read.
///
/// The reply need not come from the recipient's own address: a colleague or an assistant often answers for them,
/// and the Message-ID it names is random, known only to those the message reached. A forged reply can at most mark
/// one recipient as responded (and spare them a follow-up); the record says when the address differed.
extension InboxProcessor {
    /// Whether the message is a reply to a report cover or follow-up, i.e. whether the poller leaves it in the
    /// folder. Asked before it is handled, so that the flag is set before the record that makes later polls skip it.
    public func leavesInFolder(_ bytes: [UInt8]) throws -> Bool {
        guard case .reply(let reply) = InboundKind.of(MIMEEntity(parsing: bytes)) else { return false }
        return try database.read { db in try AppDatabase.reportMessage(db, answeredBy: reply.referencedIDs) != nil }
    }

    /// A reply: a response to the report it names, or (naming nothing of a report) one for the coordinator as before.
    func reply(_ db: Database, _ reply: InboundReply, now: Date) throws -> Decision {
        guard let answered = try AppDatabase.reportMessage(db, answeredBy: reply.referencedIDs) else {
            return Decision(state: .forCoordinator, action: "a reply to no report; for the coordinator", delivery: nil, member: nil)
        }
        let what = "\(answered.kind == .report ? "the cover" : "the follow-up") of report \(answered.reportID)"
        let kind = InboundRecord.reportReplyKind
        guard let member = answered.memberID else {
            return Decision(kind: kind, state: .forCoordinator, action: "a reply to \(what), whose recipient is no longer on the list",
                            delivery: answered.deliveryID, member: nil)
        }
        let sameAddress = reply.from.flatMap { try? EmailAddress($0).key } == (try? EmailAddress(answered.recipient).key)
        let sender = sameAddress ? "" : " from another address"
        let note = "replied by email on \(LocalTime.describe(now, in: timeZone))"
        switch try AppDatabase.recordEmailResponse(db, report: answered.reportID, member: member, note: note, now: now) {
        case .recorded(let followUps):
            let tail = followUps > 0 ? "; their follow-up is cancelled" : ""
            return Decision(kind: kind, state: .handled, action: "a reply to \(what)\(sender): marked responded\(tail)",
                            delivery: answered.deliveryID, member: member)
        case .alreadyResponded:
            return Decision(kind: kind, state: .handled, action: "a reply to \(what)\(sender): a response was on record already and is kept",
                            delivery: answered.deliveryID, member: member)
        case .notRecipient:
            return Decision(kind: kind, state: .forCoordinator, action: "a reply to \(what)\(sender), but not from among its recipients",
                            delivery: answered.deliveryID, member: member)
        }
    }
}
