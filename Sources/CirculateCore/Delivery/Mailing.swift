import Foundation

/// One send to an audience; each recipient's message is a `Delivery`.
public struct Mailing: Sendable, Equatable {
    /// What kind of send it is.
    public enum Kind: String, Sendable, Codable {
        case announcement
        case test
    }

    /// A mailing's life: scheduled → sending → done; or held (too late, waiting for the coordinator), or cancelled.
    public enum State: String, Sendable, Codable, CaseIterable {
        case scheduled, sending, held, done, cancelled
    }

    public var id: Int64?
    public var kind: Kind
    /// The stream whose consent covers it; nil for operational mail (test messages).
    public var stream: MailStream?
    /// How the recipients were chosen, in words ("stream monthly-update; roles member, attendee").
    public var audience: String
    public var subject: String
    public var bodyMarkdown: String
    /// Not before this instant.
    public var sendAfter: Date
    public var state: State
    /// Why it is held, in words for the coordinator.
    public var heldReason: String?
    /// Identifies "the same send": queueing it again finds this row instead of making a second one.
    public var idempotencyKey: String
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// Who a mailing goes to: everyone who may receive `stream`, narrowed to people with any of `tags` if given.
public struct Audience: Sendable, Equatable {
    /// The stream whose consent is needed.
    public var stream: MailStream
    /// Roles/tags (any of them); empty means everyone on the stream.
    public var tags: [String]

    /// Creates an audience.
    public init(stream: MailStream, tags: [String] = []) {
        self.stream = stream
        self.tags = Array(Set(tags)).sorted()
    }

    /// In words, for listings.
    public var description: String {
        "stream \(stream.rawValue)" + (tags.isEmpty ? "" : "; roles/tags \(tags.joined(separator: ", "))")
    }
}
