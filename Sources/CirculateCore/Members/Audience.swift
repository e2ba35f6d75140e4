import Foundation

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
