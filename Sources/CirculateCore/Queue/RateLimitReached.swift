import Foundation

/// `send-test` found the relay's rate limit used up.
public struct RateLimitReached: Failure, Sendable {
    /// When one more message may go.
    public let nextSlot: Date
    public let windows: [RateWindow]

    /// Busy: trying again later works.
    public var kind: FailureKind { .busy }

    public var description: String {
        "the relay's rate limit (\(windows.map(\.summary).joined(separator: ", "))) is used up by messages already sent; "
            + "the next message may go at \(nextSlot.formatted(.iso8601)); run send-test again then"
    }
}
