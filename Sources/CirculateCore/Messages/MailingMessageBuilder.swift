import Foundation

/// Composes each recipient's message of a mailing: the templates and Markdown are rendered once per mailing, with
/// placeholders for what differs per person (name, unsubscribe link), so that one message costs little more than
/// its MIME encoding. Invitations add a calendar object made for the one recipient.
public final class MailingMessageBuilder: MessageBuilder, @unchecked Sendable {
    private let database: AppDatabase
    private let templates: MessageTemplates
    private let configuration: Configuration
    private let key: InstanceKey
    private let clock: @Sendable () -> Date
    /// `inbox.verp`: each message's envelope sender carries its delivery's bounce token.
    private let verp: Bool
    private let lock = NSLock()
    private var prepared: [Int64: (mailing: PreparedMailing, at: Date)] = [:]
    /// A prepared mailing is re-read after this long, so that a session moved or a report answered since shows in
    /// messages sent later (retries can come hours after the first attempt); older ones are dropped, so that a
    /// finished mailing (a report's attachment included) is not kept for the life of the daemon.
    private let freshness: TimeInterval = 60
    /// At most this many mailings are kept prepared at once (the queue rarely interleaves more).
    private let capacity = 8

    /// A builder for messages of mailings stored in `database`.
    public init(database: AppDatabase, templates: MessageTemplates, configuration: Configuration, key: InstanceKey,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.templates = templates
        self.configuration = configuration
        self.key = key
        self.clock = clock
        verp = configuration.inbox?.verp ?? false
    }

    /// Builds one recipient's message.
    public func build(_ claim: Claim) throws -> ComposedMessage {
        let now = clock()
        let mailing = try preparedMailing(claim.mailingID, now: now)
        var composed = try mailing.compose(to: try EmailAddress(claim.recipient), name: claim.recipientName, greeting: claim.greetingName,
                                           inRole: claim.inRole, memberID: claim.memberID,
                                           messageID: claim.messageID, boundarySeed: String(claim.deliveryID), date: now, key: key)
        if verp, let address = BounceAddress.make(base: composed.envelope.from, delivery: claim.deliveryID, key: key) {
            // One HMAC over a few bytes from the key's cached state: no database read on the sending path.
            composed.envelope.from = address
        }
        return composed
    }

    /// The message `mailing` (stored or not) would send to one person now, exactly as it would be sent.
    public func preview(_ mailing: Mailing, to address: EmailAddress, name: String, memberID: Int64?) throws -> MessagePreview {
        let now = clock()
        let context = try database.mailingContext(mailing, now: now)
        let ready = try PreparedMailing(context, templates: templates, configuration: configuration, now: now)
        let messageID = "preview.\(Int(now.timeIntervalSince1970))@\(configuration.domain)"
        let message = try ready.message(to: address, name: name, memberID: memberID, messageID: messageID, date: now, key: key)
        let composed = try ready.compose(to: address, name: name, memberID: memberID, messageID: messageID,
                                         boundarySeed: "preview", date: now, key: key)
        return MessagePreview(message: message, composed: composed)
    }

    private func preparedMailing(_ id: Int64, now: Date) throws -> PreparedMailing {
        lock.lock()
        if let ready = prepared[id], now.timeIntervalSince(ready.at) < freshness, now >= ready.at {
            lock.unlock()
            return ready.mailing
        }
        lock.unlock()
        guard let mailing = try database.mailing(id: id) else {
            throw CompositionError(field: "mailing \(id)", problem: .other("no longer exists"))
        }
        let ready = try PreparedMailing(try database.mailingContext(mailing, now: now), templates: templates,
                                        configuration: configuration, now: now)
        lock.lock()
        prepared = prepared.filter { now.timeIntervalSince($0.value.at) < freshness && now >= $0.value.at }
        while prepared.count >= capacity, let oldest = prepared.min(by: { $0.value.at < $1.value.at })?.key {
            prepared[oldest] = nil
        }
        prepared[id] = (ready, now)
        lock.unlock()
        return ready
    }

    /// Drops a finished mailing's prepared parts.
    public func forget(mailing id: Int64) {
        lock.lock()
        prepared[id] = nil
        lock.unlock()
    }

    /// How many mailings are kept prepared now (for tests).
    var preparedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return prepared.count
    }
}

/// A previewed message: its parts, and the exact bytes that would be sent.
public struct MessagePreview: Sendable {
    /// The message before MIME encoding (headers, text, HTML, attachments, calendar).
    public var message: OutgoingMessage
    /// The bytes and envelope.
    public var composed: ComposedMessage
}
