import Foundation

/// A theme the community works on over a series of sessions (usually one to five), closed with a report.
public struct Topic: Sendable, Equatable, Codable {
    /// Open while sessions are still held; closed when the work is written up.
    public enum State: String, Sendable, Codable, CaseIterable {
        case open, closed
    }

    public var id: Int64
    public var title: String
    public var description: String
    public var state: State
    public var createdAt: Date
    public var updatedAt: Date
    public var closedAt: Date?
}

/// A topic with its sessions and reports, for `topic show`.
public struct TopicDetails: Sendable, Equatable {
    public var topic: Topic
    /// Oldest first.
    public var sessions: [Session]
    /// Reports distributed for the topic, oldest first.
    public var reports: [Report]
}
