/// How a batch of delivery attempts ended, counted for the operator's metrics (never who they were for).
public struct DeliveryTally: Sendable, Equatable {
    /// Accepted by the relay.
    public var sent = 0
    /// Refused for now, or the connection failed; tried again later.
    public var deferred = 0
    /// The recipient's address does not work (counts toward `delivery.bounce_limit`).
    public var bounced = 0
    /// Refused for good for another reason, or could not be sent at all.
    public var failed = 0
    /// The connection broke after the content was sent: the relay may or may not have it.
    public var inDoubt = 0
    /// Stopped at the last check (the person left, the mailing was cancelled).
    public var withdrawn = 0
    /// Relay outages that paused delivery.
    public var relayPauses = 0

    /// An empty tally.
    public init() {}

    /// Counts one attempt's disposition.
    public mutating func count(_ disposition: Disposition) {
        switch disposition {
        case .sent: sent += 1
        case .deferred, .retrySoon: deferred += 1
        case .failed(.bounce, _): bounced += 1
        case .failed: failed += 1
        case .inDoubt: inDoubt += 1
        case .withdrawn: withdrawn += 1
        case .pause: break  // one outage is one pause, counted where the pause is recorded, not per message
        }
    }

    /// Whether nothing was counted.
    public var isEmpty: Bool { self == DeliveryTally() }
}
