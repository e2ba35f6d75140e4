import Foundation

/// Why mail waits, all of it at once, for `queue status`: its "next attempt" agrees with the pause, the rate limits
/// and each message's own schedule.
public struct QueueOutlook: Sendable {
    /// What waits for what.
    public enum Wait: String, Sendable {
        /// A message's own time: its mailing's start, or its retry.
        case schedule
        /// The relay pause.
        case pause
        /// The relay's rate limits.
        case rateLimit = "rate-limit"
    }

    public var summary: QueueSummary
    /// Messages by state for each mailing that has any, counted with the summary.
    public var countsByMailing: [Int64: [Delivery.State: Int]]
    /// The pause, if it is still in force.
    public var pause: RelayPause?
    /// When the rate windows let the next message go, if they are full now.
    public var rateLimitedUntil: Date?
    /// Mailings held (too late), waiting for `queue release` or `queue cancel`.
    public var held: [Mailing]
    /// When the next message will be tried, if any is waiting, and what it waits for.
    public var nextAttempt: (at: Date, waitingFor: Wait)?
}
