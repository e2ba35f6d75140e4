import Foundation

/// One recipient's message within a mailing: its whole life is this row, in a few named states.
public struct Delivery: Sendable, Equatable, Codable {
    /// The states a message passes through, each defined once (the sets below are the only other place they are
    /// grouped; SQL is generated from them).
    ///
    /// ```
    /// queued ──claim──▶ sending ──▶ sent | failed | cancelled
    ///   ▲  │              │ temporary failure, in doubt
    ///   │  held ◀─late─┐  ▼
    ///   └── release ───┘ deferred ──claim──▶ sending …
    /// ```
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for its turn, or for its mailing's start time.
        case queued
        /// Its mailing is held (it was due too long ago, while the daemon was not running) until the coordinator
        /// releases or cancels it. Held messages are outside the claim index, so they cost nothing while they wait.
        case held
        /// Claimed by the daemon; the SMTP transaction is under way (or was, at a crash).
        case sending
        /// A temporary failure (or an unknown outcome); tried again at `nextAttemptAt`.
        case deferred
        /// The relay accepted it (or, after repeated unknown outcomes, it probably did: see `doubts`).
        case sent
        /// It will not be sent; `failure` says why (a bounce, a refused message, given up, not sendable).
        case failed
        /// Not sent: the recipient left, or the coordinator or a workflow cancelled it.
        case cancelled

        /// Waiting to be sent.
        public static let pending: Set<State> = [.queued, .deferred, .held]
        /// What the engine may claim (when due and its mailing is sending): exactly the `delivery_due` index.
        public static let claimable: Set<State> = [.queued, .deferred]
        /// Not finished: waiting, or in the hands of a worker.
        public static let live: Set<State> = pending.union([.sending])
        /// Finished, one way or the other.
        public static let final: Set<State> = [.sent, .failed, .cancelled]
        /// Reached the person, or still may: who "was sent" a mailing.
        public static let reaching: Set<State> = live.union([.sent])
    }

    /// Why a message ended in `failed`. Only `bounce` counts against the person (`delivery.bounce_limit`).
    public enum Failure: String, Sendable, Codable, CaseIterable {
        /// The recipient's address does not work (RFC 3463 5.1.x, 5.2.1): counts toward bounce_limit.
        case bounce
        /// The relay refused this message, not the address (too large, a policy or content rule, an address it
        /// cannot take without SMTPUTF8): not counted against the person.
        case rejected
        /// Temporary failures went on for longer than `delivery.give_up_after`.
        case gaveUp = "gave-up"
        /// circulate did not send it: it could not compose it, or the stored address cannot go in an envelope.
        case notSent = "not-sent"
    }

    public var id: Int64
    public var mailingID: Int64
    /// The person; nil for notes to the coordinator and test messages to someone not on the list.
    public var memberID: Int64?
    /// The address it was queued for.
    public var recipient: String
    /// Fixed when queued; the same on every attempt, so a resend is recognisably the same message.
    public var messageID: String
    public var state: State
    /// Attempts started (claims that were not given back).
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var replyCode: Int?
    /// The relay's last reply (addresses in it masked), or why circulate stopped the message.
    public var reply: String?
    /// How many times its fate was unknown (the connection broke after the final dot, or a crash while sending).
    public var doubts: Int
    public var failure: Failure?
    /// Set on a message being sent when its cancellation was asked for; the last check before the content sees it.
    public var cancelRequested: String?
    public var queuedAt: Date
    public var updatedAt: Date

    /// Whether the relay may hold two copies, or none: its fate was unknown at least once.
    public var inDoubt: Bool { doubts > 0 }
}

extension Sequence where Element: RawRepresentable, Element.RawValue == String {
    /// The values as an SQL list, e.g. "('deferred', 'queued')": state sets are written in Swift once and turned into
    /// SQL here, never spelled out by hand.
    var sqlList: String { "(" + map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ") + ")" }
}
