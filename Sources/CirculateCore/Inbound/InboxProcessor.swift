import Foundation
import GRDB

/// Decides what one inbound message means for the list and does it, in one transaction with its record.
///
/// The record is written in the same commit as the action, before the message is moved: after a crash the record
/// says the message was dealt with, and the next poll only moves it. A message already on record with a final state
/// is never acted on again, whatever its UID (its Message-ID finds it after a UIDVALIDITY change).
public struct InboxProcessor: Sendable {
    let database: AppDatabase
    let key: InstanceKey
    /// `delivery.bounce_limit`: a bounce report counts exactly like a refusal at SMTP time.
    let bounceLimit: Int
    /// The community's time zone, for dates written in words ("replied by email on ...").
    let timeZone: TimeZone
    /// The domain of the sessions' calendar UIDs (`Configuration.domain`); nil: no calendar answer is matched.
    let calendarDomain: String?

    /// Creates a processor.
    public init(database: AppDatabase, key: InstanceKey, bounceLimit: Int, timeZone: TimeZone, calendarDomain: String? = nil) {
        self.database = database
        self.key = key
        self.bounceLimit = bounceLimit
        self.timeZone = timeZone
        self.calendarDomain = calendarDomain
    }

    /// What happened to a message, for the poller (which moves it) and the log.
    public struct Result: Sendable {
        /// The record as committed.
        public var record: InboundRecord
        /// Whether this call acted (false: it was already on record).
        public var actedNow: Bool
    }

    /// Handles the message at `place` from its raw bytes (never stored).
    public func handle(_ bytes: [UInt8], at place: InboundRecord.Place, now: Date) throws -> Result {
        let message = MIMEEntity(parsing: bytes)
        return try handle(message, at: place, now: now)
    }

    func handle(_ message: MIMEEntity, at place: InboundRecord.Place, now: Date) throws -> Result {
        let messageID = MIMEEntity.messageID(message.field("message-id"))
        let kind = InboundKind.of(message)
        return try database.write { db in
            let existing = try AppDatabase.inboundRecord(db, at: place, messageID: messageID, kinds: kind.recordedNames)
            if let existing, existing.state.isFinal {
                if existing.place != place, existing.staysInFolder, existing.folder == place.folder,
                   existing.uidValidity == place.uidValidity {
                    // A second copy of a message left in the folder: both stay there, so the copy needs a record of its
                    // own for the polls to skip it (moving the first record to it would leave the first to be read again).
                    let copy = try AppDatabase.saveInbound(db, existing: nil, place: place, messageID: messageID, kind: existing.kind,
                                                           state: existing.state, action: "a copy of a message already read; nothing done",
                                                           delivery: existing.deliveryID, member: existing.memberID, now: now)
                    return Result(record: copy, actedNow: false)
                }
                if existing.place != place {
                    // Found by Message-ID (a UIDVALIDITY change, a second copy, a message moved back): remember the
                    // new place so the poller moves this copy where the first went, and act on nothing.
                    try db.execute(sql: "UPDATE inbound_message SET uid_validity = ?, uid = ? WHERE id = ?",
                                   arguments: [place.uidValidity, place.uid, existing.id])
                    var moved = existing
                    (moved.uidValidity, moved.uid) = (place.uidValidity, place.uid)
                    return Result(record: moved, actedNow: false)
                }
                return Result(record: existing, actedNow: false)
            }
            let decision = try decide(db, kind, now: now)
            let record = try AppDatabase.saveInbound(db, existing: existing, place: place, messageID: messageID, kind: decision.kind ?? kind.name,
                                                     state: decision.state, action: decision.action, delivery: decision.delivery,
                                                     member: decision.member, now: now)
            return Result(record: record, actedNow: true)
        }
    }

    /// Records a message too large to read: a person looks at it.
    public func recordTooLarge(at place: InboundRecord.Place, size: Int, now: Date) throws -> Result {
        try database.write { db in
            let existing = try AppDatabase.inboundRecord(db, at: place, messageID: nil)
            if let existing, existing.state.isFinal { return Result(record: existing, actedNow: false) }
            let record = try AppDatabase.saveInbound(db, existing: existing, place: place, messageID: nil, kind: "too-large",
                                                     state: .forCoordinator,
                                                     action: "not read: \(size) bytes, more than inbox.maximum_message_size",
                                                     delivery: nil, member: nil, now: now)
            return Result(record: record, actedNow: true)
        }
    }

    /// What a message means, before it is recorded.
    struct Decision {
        /// The stored kind, when the database decided it (nil: the content's `InboundKind.name`).
        var kind: String? = nil
        var state: InboundRecord.State
        var action: String
        var delivery: Int64?
        var member: Int64?
    }

    private func decide(_ db: Database, _ kind: InboundKind, now: Date) throws -> Decision {
        switch kind {
        case .deliveryReport(let report):
            return try deliveryReport(db, report, now: now)
        case .complaint(let report):
            return try complaint(db, report, now: now)
        case .unsubscribe(let text):
            return try unsubscribe(db, token: text, now: now)
        case .calendarReply(let reply):
            return try calendarReply(db, reply, now: now)
        case .autoReply:
            return Decision(state: .forCoordinator, action: "an automatic reply; never counted as an answer", delivery: nil, member: nil)
        case .reply(let reply):
            return try self.reply(db, reply, now: now)
        case .other:
            return Decision(state: .forCoordinator, action: "not a bounce report or an unsubscribe request", delivery: nil, member: nil)
        }
    }

    /// A bounce report acts only on the one message it names: by a verified bounce token in the address it was sent
    /// back to (VERP), or else by Message-ID, and then only if the report's recipient is that message's recipient. A
    /// forged report can at most count against the message whose token or (random) Message-ID its author saw.
    private func deliveryReport(_ db: Database, _ report: DeliveryReport, now: Date) throws -> Decision {
        // A verified bounce token (VERP) names the delivery by itself; without one, the returned Message-ID does.
        let byToken = report.bounceAddresses.lazy.compactMap { BounceAddress.deliveryID(in: $0, key: self.key) }.first
        let found: Row? = if let byToken {
            try Row.fetchOne(db, sql: "SELECT id, recipient, member_id FROM delivery WHERE id = ?", arguments: [byToken])
        } else if let returned = report.returnedMessageID {
            try Row.fetchOne(db, sql: "SELECT id, recipient, member_id FROM delivery WHERE message_id = ?", arguments: [returned])
        } else {
            nil
        }
        guard let row = found else {
            return Decision(state: .forCoordinator, action: "a delivery report about no message circulate sent", delivery: nil, member: nil)
        }
        let delivery: Int64 = row["id"]
        let member: Int64? = row["member_id"]
        // Under a token the report may name a forwarded-to address; the token already proved which delivery it is.
        guard let entry = report.recipients.first(where: { $0.names(row["recipient"]) }) ?? (byToken != nil ? report.recipients.first : nil) else {
            return Decision(state: .forCoordinator, action: "a delivery report naming message \(delivery) but not its recipient",
                            delivery: delivery, member: member)
        }
        switch entry.action {
        case "failed":
            guard let status = entry.status, let statusClass = status.first?.wholeNumberValue else {
                return Decision(state: .forCoordinator, action: "a failure report for message \(delivery) without a status code",
                                delivery: delivery, member: member)
            }
            // The reply code that goes with the status class (RFC 3463 §2), so the SMTP-time rules apply unchanged.
            let code = statusClass * 100 + 50
            let diagnostic = entry.diagnostic.map { " (\($0))" } ?? ""
            let reply = SMTPReply(code: code, text: "\(code) \(status)\(diagnostic)", stage: .recipient)
            switch try OutboundQueue.recordReturned(db, delivery: delivery, reply: reply, bounceLimit: bounceLimit, now: now) {
            case .bounced(_, let count, let marked):
                let tail = marked ? "; the member is now marked bounced" : ""
                return Decision(state: .handled, action: "bounce \(status) for message \(delivery): counted (\(count) in a row)\(tail)",
                                delivery: delivery, member: member)
            case .rejected:
                return Decision(state: .handled, action: "message \(delivery) refused (\(status)): failed, not counted against the member",
                                delivery: delivery, member: member)
            case .unchanged(let why):
                return Decision(state: .handled, action: "report \(status) for message \(delivery): \(why)", delivery: delivery, member: member)
            }
        case "delayed":
            return Decision(state: .handled, action: "delayed report for message \(delivery); nothing changed", delivery: delivery, member: member)
        default:
            return Decision(state: .handled, action: "\(entry.action.prefix(20)) report for message \(delivery); nothing changed",
                            delivery: delivery, member: member)
        }
    }

    /// Only a token this instance made unsubscribes: the From address proves nothing, so a request without a
    /// valid token is left for the coordinator, never acted on.
    private func unsubscribe(_ db: Database, token text: String?, now: Date) throws -> Decision {
        guard let text, let token = key.read(text), token.purpose == .unsubscribe,
              let member = try Member.fetchOne(db, key: token.id) else {
            return Decision(state: .forCoordinator, action: "an unsubscribe request without a valid token; not acted on", delivery: nil, member: nil)
        }
        let stream: MailStream? = if case .stream(let s) = token.scope { s } else { nil }
        let outcome = try AppDatabase.unsubscribe(db, member, stream: stream, source: "unsubscribe email", recordedBy: "inbox", now: now)
        let action: String = switch outcome {
        case .unsubscribed: "unsubscribed from everything by email"
        case .streamStopped(let left, _): "left \(left.rawValue) by email"
        case .alreadyUnsubscribed: "already unsubscribed; nothing changed"
        }
        return Decision(state: .handled, action: action, delivery: nil, member: token.id)
    }
}
