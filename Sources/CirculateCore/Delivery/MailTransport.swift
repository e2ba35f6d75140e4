/// Where composed messages go: an SMTP relay through libcurl, or the Maildir outbox.
///
/// A transport makes senders; each sender owns one connection (or one folder handle) and is used from exactly one
/// worker thread, which is why `MailSender` is not `Sendable`.
public protocol MailTransport: Sendable {
    /// A short description for logs and `queue status` ("smtp://relay.example.org:587", "Maildir var/outbox").
    var description: String { get }
    /// Opens a sender for one worker thread.
    func makeSender() throws -> any MailSender
    /// Sets up what the transport's senders share, once, at start-up and before any worker thread exists; throws
    /// when that cannot be done (the daemon then stops at start rather than failing its first message).
    func prepare() throws
}

extension MailTransport {
    /// Nothing to set up by default.
    public func prepare() throws {}
}

/// Sends messages one at a time over one connection, reusing it between messages.
public protocol MailSender: AnyObject {
    /// Hands one message for one recipient to the relay. `lastCheck` runs as late as possible before the message
    /// content is handed over (for SMTP: when the relay has said 354 to DATA); unless it says `.go` the transfer is
    /// abandoned and the outcome is `.withdrawn` (or `.checkFailed` when the check itself could not be made).
    func send(_ envelope: Envelope, message: [UInt8], lastCheck: () -> LastCheck) -> SendOutcome
    /// Closes the connection (QUIT); the sender is not used again.
    func close()
}

/// The answer of the check made just before a message's content is handed over.
public enum LastCheck: Sendable, Equatable {
    /// Send it.
    case go
    /// Do not: the recipient withdrew, or the message was cancelled (the reason is for the coordinator).
    case stop(String)
    /// The check could not be made (the database was busy or failing): do not send now, try again later.
    case unknown(String)
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

/// What happened to one message, as the transport saw it. The queue decides what each outcome means for the
/// message, the person and the relay (`Disposition`).
public enum SendOutcome: Sendable, Equatable {
    /// The relay accepted it (2xx to the final dot).
    case accepted(reply: String)
    /// The relay answered MAIL FROM, RCPT TO, DATA or the final dot with a 4xx or 5xx reply.
    case refused(SMTPReply)
    /// Something about the relay or the connection, not the recipient, went wrong before the message could be
    /// handed over (cannot connect, TLS, AUTH, a timeout, a broken connection): nothing was delivered.
    case relayProblem(RelayProblem)
    /// The connection failed after the whole message was sent but before the relay replied to the final dot:
    /// the relay may or may not have accepted it.
    case inDoubt(detail: String)
    /// The last check said no (the recipient withdrew, or the message was cancelled); nothing was handed over.
    /// `atRelay` says whether an SMTP transaction had started (the relay saw MAIL FROM), for rate accounting.
    case withdrawn(reason: String, atRelay: Bool)
    /// circulate itself did not send it: it could not compose it, or the address cannot go in an envelope.
    case notSent(reason: String)
    /// The last check could not read the database; the message was not handed over and waits for a later try.
    case checkFailed(detail: String, atRelay: Bool)

    /// Whether the relay saw MAIL FROM for it: what a relay's rate limit counts.
    public var reachedRelay: Bool {
        switch self {
        case .accepted, .refused, .inDoubt: true
        case .relayProblem(let problem): problem.afterMailFrom
        case .withdrawn(_, let atRelay), .checkFailed(_, let atRelay): atRelay
        case .notSent: false
        }
    }
}

/// Where in the SMTP transaction a reply came.
public enum SMTPStage: String, Sendable, Equatable {
    /// The reply to MAIL FROM.
    case mail
    /// The reply to RCPT TO.
    case recipient
    /// The reply to the DATA command.
    case data
    /// The reply to the final dot, after the content.
    case endOfData = "end-of-data"
}

/// A relay's refusal: its reply code, the enhanced status code if it gave one (RFC 3463), the text, and when.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    /// The three-digit reply code.
    public var code: Int
    /// The whole reply line(s), as the relay sent them.
    public var text: String
    public var stage: SMTPStage

    /// Creates a reply.
    public init(code: Int, text: String, stage: SMTPStage) {
        self.code = code
        self.text = text
        self.stage = stage
    }

    /// The enhanced status code ("5.1.1") after the reply code, if the relay gave one.
    public var enhanced: EnhancedStatus? { EnhancedStatus(parsingReply: text, code: code) }

    /// The reply text.
    public var description: String { text.isEmpty ? String(code) : text }
}

/// An RFC 3463 enhanced status code: class.subject.detail, e.g. 5.1.1 (bad destination mailbox).
public struct EnhancedStatus: Sendable, Equatable, CustomStringConvertible {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    public var statusClass: Int
    /// 1 addressing, 2 mailbox, 3 mail system, 4 network and routing, 5 protocol, 6 content, 7 security or policy.
    public var subject: Int
    public var detail: Int

    /// Creates a code.
    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Finds the code that follows the reply code ("550 5.1.1 No such user"), on the last line of a multi-line
    /// reply; its class must agree with the reply code's first digit (RFC 3463 section 2).
    public init?(parsingReply text: String, code: Int) {
        var rest = Substring(text)
        if let lastLine = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last { rest = lastLine }
        rest = rest.drop { $0.isNumber }.drop { $0 == " " || $0 == "-" }
        let token = rest.prefix { !$0.isWhitespace }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let c = Int(parts[0]), let s = Int(parts[1]), let d = Int(parts[2]),
              [2, 4, 5].contains(c), parts[1].count <= 3, parts[2].count <= 3, c == code / 100 else { return nil }
        self.init(c, s, d)
    }

    /// "5.1.1".
    public var description: String { "\(statusClass).\(subject).\(detail)" }
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
        case policy               // the relay refuses the list's mail by policy (5.7.x to the sender or to many recipients)
    }

    /// The broad cause.
    public var kind: Kind
    /// The SMTP reply code, if there was one.
    public var code: Int?
    /// What is wrong and what to do, without secrets.
    public var description: String
    /// Whether the relay had already seen MAIL FROM (a 421 to RCPT, say): what its rate limit counts.
    public var afterMailFrom: Bool

    /// Creates a problem report.
    public init(kind: Kind, code: Int? = nil, description: String, afterMailFrom: Bool = false) {
        self.kind = kind
        self.code = code
        self.description = description
        self.afterMailFrom = afterMailFrom
    }
}
