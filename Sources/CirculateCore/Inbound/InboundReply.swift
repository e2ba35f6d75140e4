import Foundation

/// A reply, seen from its content alone: the Message-IDs it answers (In-Reply-To, then References from the newest
/// back) and the address it came from. Whether it answers something circulate sent is for `InboxProcessor` to find.
struct InboundReply: Sendable, Equatable {
    /// At most this many referenced Message-IDs are looked up: a long thread's oldest references name nothing of ours.
    static let maximumReferences = 20

    /// The referenced Message-IDs, without brackets, most direct first, without repeats.
    var referencedIDs: [String]
    /// The From address as written (never stored), if there is one.
    var from: String?

    /// Nil for a message that names no earlier message (a new message, not a reply).
    init?(_ message: MIMEEntity) {
        var ids: [String] = []
        let inReplyTo = Self.messageIDs(in: message.fields("in-reply-to").joined(separator: " "))
        let references = Self.messageIDs(in: message.fields("references").joined(separator: " ")).reversed()
        for id in inReplyTo + references where !ids.contains(id) && ids.count < Self.maximumReferences { ids.append(id) }
        guard !ids.isEmpty else { return nil }
        referencedIDs = ids
        from = Self.address(in: message.field("from"))
    }

    /// Every "<...>" in a field, without brackets (RFC 5322 §3.6.4: msg-ids separated by spaces or comments).
    static func messageIDs(in value: String) -> [String] {
        var ids: [String] = []
        var rest = value[...]
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let id = rest[rest.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            if !id.isEmpty, id.count <= 250, !id.contains(" ") { ids.append(id) }
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }

    /// The address of a From field: inside angle brackets, or the bare field.
    static func address(in value: String?) -> String? {
        guard let value else { return nil }
        if let open = value.lastIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            return String(value[value.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        let bare = value.trimmingCharacters(in: .whitespaces)
        return bare.isEmpty ? nil : bare
    }
}
