import Foundation

/// How the daemon's reading of the list's mailbox is going, as `circulate inbox` shows it: a coordinator who sees
/// nothing handled must be able to tell "nothing came" from "the daemon cannot get in".
public struct MailboxStatus: Sendable, Equatable {
    /// When a poll last read the mailbox to the end (nil: never).
    public var lastReadAt: Date?
    /// Why the polls since `problemSince` failed (nil: the last poll worked).
    public var problem: String?
    /// When the polls started failing.
    public var problemSince: Date?

    /// A status with nothing known yet.
    public init(lastReadAt: Date? = nil, problem: String? = nil, problemSince: Date? = nil) {
        self.lastReadAt = lastReadAt
        self.problem = problem
        self.problemSince = problemSince
    }
}
