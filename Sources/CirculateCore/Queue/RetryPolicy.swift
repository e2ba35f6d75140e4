import Foundation

/// When to try a temporarily failed message again: double the wait each time, clamp it to a minimum and a
/// maximum, and give up once the message has been queued for the lifetime (as Postfix does).
public struct RetryPolicy: Sendable, Equatable {
    /// The wait after the first failure.
    public var initial: TimeInterval
    /// The longest wait.
    public var maximum: TimeInterval
    /// How long after queueing to keep trying.
    public var lifetime: TimeInterval

    /// Creates a policy.
    public init(initial: TimeInterval, maximum: TimeInterval, lifetime: TimeInterval) {
        self.initial = initial
        self.maximum = maximum
        self.lifetime = lifetime
    }

    /// The policy from the configuration.
    public init(_ delivery: Configuration.Delivery) {
        self.init(initial: delivery.retryInitial, maximum: delivery.retryMaximum, lifetime: delivery.giveUpAfter)
    }

    /// The next attempt after `attempts` failures, or nil when it is time to give up.
    public func nextAttempt(after attempts: Int, queuedAt: Date, now: Date) -> Date? {
        let exponent = Double(max(attempts - 1, 0))
        let wait = min(maximum, max(initial, initial * pow(2, min(exponent, 40))))
        let next = now.addingTimeInterval(wait)
        return next.timeIntervalSince(queuedAt) > lifetime ? nil : next
    }
}
