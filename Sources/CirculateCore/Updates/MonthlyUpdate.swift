import Foundation

/// The coordinator's content for one slot of the monthly update.
public struct MonthlyUpdate: Sendable, Equatable, Codable {
    /// Queued for its slot; sent (handed to the queue at the slot); or cancelled.
    public enum State: String, Sendable, Codable, CaseIterable {
        case queued, sent, cancelled
    }

    public var id: Int64
    /// The slot it goes out at.
    public var slotAt: Date
    public var subject: String
    public var bodyMarkdown: String
    public var state: State
    /// The mailing made at the slot.
    public var mailingID: Int64?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}
