import Foundation

/// One recipient's message within a mailing.
public struct Delivery: Sendable, Equatable {
    /// The states a message passes through, each defined once.
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for its turn (or its scheduled time).
        case queued
        /// Claimed by the daemon; the SMTP transaction is under way (or was, at a crash).
        case sending
        /// The relay accepted it.
        case sent
        /// A temporary failure; tried again at `nextAttemptAt`.
        case deferred
        /// A permanent failure (a bounce), or retries gave up.
        case failed
        /// Not sent: the recipient left, or the coordinator cancelled.
        case cancelled
    }

    public var id: Int64
    public var mailingID: Int64
    public var memberID: Int64?
    public var recipient: String
    public var messageID: String
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var replyCode: Int?
    public var reply: String?
    public var inDoubt: Bool
    public var queuedAt: Date
    public var updatedAt: Date
}
