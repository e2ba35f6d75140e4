import Foundation

/// Delivery paused because of the relay itself (cannot connect, TLS, a wrong password, 421): one pause per outage,
/// backing off while the relay stays in trouble, ended by the first message the relay answers sensibly.
public struct RelayPause: Sendable, Equatable, Codable {
    /// The latest problem, in words a coordinator can act on.
    public var reason: String
    /// When this outage began.
    public var since: Date
    /// No new connection before this instant.
    public var until: Date
    /// How many tries in this outage failed (the first problem, then each try after a pause ended).
    public var failures: Int

    /// Creates a pause.
    public init(reason: String, since: Date, until: Date, failures: Int) {
        self.reason = reason
        self.since = since
        self.until = until
        self.failures = failures
    }

    /// The longest pause.
    public static let longest: TimeInterval = 30 * 60

    /// How long to pause after the n-th failed try of an outage: `initial`, doubling, at most 30 minutes.
    public static func backoff(initial: TimeInterval, failures: Int) -> TimeInterval {
        min(max(longest, initial), initial * pow(2, Double(min(max(failures, 1) - 1, 20))))
    }

    /// The pause after `problem` at `now`. While a pause lasts, more problems (other messages that were already in
    /// flight when it began) are the same outage and change nothing but the reason; a problem soon after a pause
    /// ended (the first try after it) doubles the pause; a problem long after is a new outage.
    public static func after(_ problem: RelayProblem, at now: Date, current: RelayPause?, initial: TimeInterval) -> RelayPause {
        if var same = current, now < same.until {
            same.reason = problem.description
            return same
        }
        if let previous = current, now.timeIntervalSince(previous.until) <= max(600, backoff(initial: initial, failures: previous.failures)) {
            let failures = previous.failures + 1
            return RelayPause(reason: problem.description, since: previous.since,
                              until: now.addingTimeInterval(backoff(initial: initial, failures: failures)), failures: failures)
        }
        return RelayPause(reason: problem.description, since: now, until: now.addingTimeInterval(backoff(initial: initial, failures: 1)),
                          failures: 1)
    }
}

/// What to do with a message whose fate was unknown once more (`delivery.in_doubt`, `delivery.in_doubt_resends`).
public enum InDoubtDecision: Sendable, Equatable {
    /// Send it again (same Message-ID) on its retry schedule.
    case resend
    /// Count it as probably delivered: not sent again, counted as sent, listed as in doubt.
    case probablyDelivered

    /// The decision after the message's `doubts`-th unknown outcome.
    public static func after(doubts: Int, policy: Configuration.Delivery.InDoubtPolicy, resends: Int) -> InDoubtDecision {
        policy == .resend && doubts <= resends ? .resend : .probablyDelivered
    }
}
