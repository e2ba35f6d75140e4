import Foundation

/// What a transaction that stops mail for someone (an unsubscribe, an erasure, a cancellation) did to the queue.
public struct Withdrawal: Sendable, Equatable {
    /// Waiting messages cancelled.
    public var cancelled = 0
    /// Messages a daemon worker held at that moment; they are stopped at the last check before their content.
    public var inFlight: [Int64] = []
    /// Whether the person was erased (their messages in flight are deleted once let go of).
    public var erased = false

    /// Nothing cancelled.
    public init() {}

    init(_ result: CancelResult) {
        cancelled = result.cancelled
        inFlight = result.inFlight
    }

    /// Both together.
    mutating func add(_ other: CancelResult) {
        cancelled += other.cancelled
        inFlight += other.inFlight
    }
}

/// How the messages that were in flight at a withdrawal ended.
public struct WithdrawalOutcome: Sendable, Equatable {
    /// Stopped before their content was handed to the relay.
    public var stopped = 0
    /// The relay had already taken them when the withdrawal came (nothing could stop them).
    public var alreadySent = 0
    /// Still in a worker's hands after the wait (the relay is slow); the last check will stop them.
    public var stillSending = 0
}
