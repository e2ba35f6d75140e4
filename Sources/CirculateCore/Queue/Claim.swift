import Foundation

/// A message claimed for sending: everything a worker needs to build and send it.
public struct Claim: Sendable, Equatable {
    public var deliveryID: Int64
    public var mailingID: Int64
    public var memberID: Int64?
    public var kind: Mailing.Kind
    /// The recipient's address now (a member may have corrected it since queueing).
    public var recipient: String
    public var recipientName: String
    /// The name the recipient is known by, for the greeting ("" for their full name).
    public var greetingName: String = ""
    /// Whether the recipient is on the list in their professional role (legitimate interest) rather than by their own
    /// consent: their footer says so.
    public var inRole = false
    public var messageID: String
    /// This attempt's number (1 for the first).
    public var attempt: Int
    public var queuedAt: Date
    /// How many times its fate was unknown before this attempt.
    public var doubts: Int
}

/// The outcome of one claimed message, to record.
public struct DeliveryResult: Sendable, Equatable {
    public var claim: Claim
    public var outcome: SendOutcome
    /// When the SMTP transaction began (what a relay's rate limit counts), if it began.
    public var startedAt: Date?
    public var finishedAt: Date

    /// Creates a result.
    public init(claim: Claim, outcome: SendOutcome, startedAt: Date? = nil, finishedAt: Date) {
        self.claim = claim
        self.outcome = outcome
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// How outcomes become states: the policies the configuration sets, in one place.
public struct RecordingPolicy: Sendable, Equatable {
    public var retry: RetryPolicy
    public var inDoubt: Configuration.Delivery.InDoubtPolicy
    /// How many times a message in doubt is sent again before it is counted as probably delivered.
    public var inDoubtResends: Int
    public var bounceLimit: Int
    /// The first relay pause.
    public var relayPause: TimeInterval
    /// Whether transaction starts are logged for rate limits (only when limits are configured).
    public var rateAccounting: Bool

    /// The policies from the configuration.
    public init(_ delivery: Configuration.Delivery) {
        retry = RetryPolicy(delivery)
        inDoubt = delivery.inDoubt
        inDoubtResends = delivery.inDoubtResends
        bounceLimit = delivery.bounceLimit
        relayPause = delivery.relayPause
        rateAccounting = !delivery.rateLimits.isEmpty
    }
}

/// Something recording did that the journal reports (numbers only: never an address).
public enum QueueEvent: Sendable, Equatable {
    case deferred(mailing: Int64, delivery: Int64, attempt: Int, next: Date, reply: String)
    case failed(mailing: Int64, delivery: Int64, failure: Delivery.Failure, reason: String)
    /// A bounce counted toward `bounce_limit`: the person's `count`-th in a row.
    case bounced(mailing: Int64, delivery: Int64, member: Int64, count: Int, reply: String)
    case memberBounced(member: Int64, cancelled: Int)
    /// The fate was unknown; `resendAt` nil means it is now counted as probably delivered.
    case inDoubt(mailing: Int64, delivery: Int64, resendAt: Date?, detail: String)
    case withdrawn(mailing: Int64, delivery: Int64, reason: String)
    /// Delivery paused (or an outage went on and the pause doubled).
    case paused(RelayPause)
    /// The relay answered again after a pause that began at `since`.
    case resumed(since: Date)
    /// Messages earlier in a run of the same policy refusal, given back to be tried again.
    case reopened(deliveries: [Int64])
    /// A mailing's last message was recorded: nothing of it is left to send.
    case finished(mailing: Int64, sent: Int, failed: Int, cancelled: Int)
}
