/// Where composed messages go: an SMTP relay through libcurl, or the Maildir outbox.
///
/// A transport makes senders; each sender owns one connection (or one folder handle) and is used from exactly one
/// worker thread, which is why `MailSender` is not `Sendable`.
public protocol MailTransport: Sendable {
    /// A short description for logs and `queue status` ("smtp://relay.example.org:587", "Maildir var/outbox").
    var description: String { get }
    /// Opens a sender for one worker thread.
    func makeSender() throws -> any MailSender
}

/// Sends messages one at a time over one connection, reusing it between messages.
public protocol MailSender: AnyObject {
    /// Hands one message for one recipient to the relay. `lastCheck` runs as late as possible before the message
    /// content is handed over (for SMTP: when the relay has said 354 to DATA); if it returns false the transfer is
    /// abandoned and the outcome is `.withdrawn`.
    func send(_ envelope: Envelope, message: [UInt8], lastCheck: () -> Bool) -> SendOutcome
    /// Closes the connection (QUIT); the sender is not used again.
    func close()
}

/// The SMTP envelope of one message: one sender, one recipient.
public struct Envelope: Sendable, Equatable {
    /// MAIL FROM (the list's bounce address), ASCII with an A-label domain.
    public var from: String
    /// RCPT TO: the one recipient, with an A-label domain.
    public var to: String
    /// Whether the recipient's local part is non-ASCII, so the relay must support SMTPUTF8.
    public var needsSMTPUTF8: Bool

    /// Creates an envelope.
    public init(from: String, to: String, needsSMTPUTF8: Bool) {
        self.from = from
        self.to = to
        self.needsSMTPUTF8 = needsSMTPUTF8
    }
}

/// What happened to one message.
public enum SendOutcome: Sendable, Equatable {
    /// The relay accepted it (2xx to the final dot).
    case accepted(reply: String)
    /// The relay refused this recipient or this message: 4xx (temporary, retry later) or 5xx (permanent, a bounce),
    /// at RCPT or at the end of DATA.
    case refused(code: Int, reply: String, permanent: Bool)
    /// Something about the relay, not the recipient, went wrong (cannot connect, TLS, AUTH, 421, timeout before the
    /// message was sent): pause delivery and retry later without counting it against the recipient.
    case relayProblem(RelayProblem)
    /// The connection failed after the whole message was sent but before the relay replied to the final dot:
    /// the relay may or may not have accepted it.
    case inDoubt(detail: String)
    /// `lastCheck` said no (the recipient withdrew while the message was in flight); nothing was handed over.
    case withdrawn
}

/// A relay-wide problem, in words a coordinator can act on.
public struct RelayProblem: Sendable, Equatable, CustomStringConvertible {
    /// The broad cause, for deciding how long to pause.
    public enum Kind: String, Sendable, Equatable {
        case cannotConnect = "cannot-connect"
        case tls
        case authentication
        case unavailable          // 421 or a similar "try later" from the relay itself
        case timeout
        case protocolError = "protocol"
        case configuration        // e.g. the relay lacks SMTPUTF8 or STARTTLS that we require
    }

    /// The broad cause.
    public var kind: Kind
    /// The SMTP reply code, if there was one.
    public var code: Int?
    /// What is wrong and what to do, without secrets.
    public var description: String

    /// Creates a problem report.
    public init(kind: Kind, code: Int? = nil, description: String) {
        self.kind = kind
        self.code = code
        self.description = description
    }
}
