import Foundation

/// A person to add, with details already checked.
public struct NewMember: Sendable, Equatable {
    /// Their address.
    public var address: EmailAddress
    /// Display name (may be empty).
    public var name: String
    /// Organisation, if any.
    public var organisation: String?
    /// The name they go by, for greetings; nil for their full name.
    public var knownAs: String? = nil
    /// Roles and free tags.
    public var tags: [String]
    /// Streams; nil means the defaults for the lawful basis.
    public var streams: StreamPreferences?

    /// Checks the free-text fields.
    public init(address: EmailAddress, name: String, organisation: String?, knownAs: String? = nil, tags: [String] = [],
                streams: StreamPreferences? = nil) throws(InvalidField) {
        self.address = address
        self.name = try TextField.clean(name, field: "name")
        self.knownAs = try Self.knownAs(knownAs)
        let org = try organisation.map { (o) throws(InvalidField) in try TextField.clean(o, field: "organisation") }
        self.organisation = (org ?? "").isEmpty ? nil : org
        self.tags = tags
        self.streams = streams
    }
}

extension NewMember {
    /// A "known as" name checked like any name; empty means none.
    public static func knownAs(_ text: String?) throws(InvalidField) -> String? {
        guard let text else { return nil }
        let clean = try TextField.clean(text, field: "known as")
        return clean.isEmpty ? nil : clean
    }
}

/// Changes to one person, as `member edit` asks for them; each part is optional.
public struct MemberChanges: Sendable, Equatable {
    /// A corrected address.
    public var newAddress: EmailAddress?
    /// A new display name.
    public var name: String?
    /// A new organisation; `.some(nil)` clears it.
    public var organisation: String??
    /// A new "known as" name; `.some(nil)` clears it (greetings use the full name again).
    public var knownAs: String??
    /// Roles/tags to add.
    public var addTags: [String] = []
    /// Roles/tags to remove.
    public var removeTags: [String] = []
    /// Streams to turn on (recorded as consent given for that stream).
    public var enableStreams: [MailStream] = []
    /// Streams to turn off (recorded as consent withdrawn for that stream).
    public var disableStreams: [MailStream] = []
    /// Fresh consent that brings an unsubscribed or bounced person back.
    public var resubscribe: ConsentGrant?
    /// Source and recorder for stream changes (when there is no resubscription).
    public var source: String
    /// Who makes the change.
    public var recordedBy: String

    /// An empty set of changes by `recordedBy`.
    public init(source: String, recordedBy: String) {
        self.source = source
        self.recordedBy = recordedBy
    }

    /// Whether anything at all is asked for.
    public var isEmpty: Bool {
        newAddress == nil && name == nil && organisation == nil && knownAs == nil && addTags.isEmpty && removeTags.isEmpty
            && enableStreams.isEmpty && disableStreams.isEmpty && resubscribe == nil
    }
}

/// Which people `member list` shows.
public struct MemberFilter: Sendable, Equatable {
    /// Only this status.
    public var status: MemberStatus?
    /// Only people carrying every one of these roles/tags.
    public var tags: [String] = []
    /// Only people who may receive this stream now.
    public var stream: MailStream?
    /// Only people whose address, name or organisation contains this text (case-insensitive).
    public var search: String?

    /// Everyone.
    public init() {}
}

/// A person in a listing: the row and their tags.
public struct MemberListing: Sendable, Equatable {
    /// The stored row.
    public var member: Member
    /// Roles and free tags, sorted.
    public var tags: [String]
}

/// What a lookup by address found.
public enum MemberLookup: Sendable, Equatable {
    /// A person on the list.
    case found(MemberProfile)
    /// An erased address: nothing is held but its keyed hash.
    case erased(erasedAt: Date)
    /// Nobody.
    case unknown
}

/// What `unsubscribe` did.
public enum UnsubscribeOutcome: Sendable, Equatable {
    /// Every stream stopped; status is now unsubscribed.
    case unsubscribed
    /// One stream stopped; others continue.
    case streamStopped(MailStream, remaining: [MailStream])
    /// Nothing to do: already unsubscribed (from everything, or from that stream) since the given time.
    case alreadyUnsubscribed(since: Date)
}
