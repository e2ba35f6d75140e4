import Foundation

/// A person on the list, as stored: one row of the `member` table.
public struct Member: Codable, Sendable, Equatable {
    /// Row id; never reused, even after erasure.
    public var id: Int64?
    /// The address as shown to people.
    public var email: String
    /// The comparison key (see `EmailAddress.key`); unique.
    public var emailKey: String
    /// Display name; may be empty.
    public var name: String
    /// The name they go by, used in greetings instead of `name` ("Sam" for "Samantha Example").
    public var knownAs: String? = nil
    /// Organisation, if known.
    public var organisation: String?
    /// Active, unsubscribed or bounced.
    public var status: MemberStatus
    /// The ground currently relied on; nil once every consent is withdrawn.
    public var lawfulBasis: LawfulBasis?
    /// Receives the monthly update.
    public var monthlyUpdate: Bool
    /// Receives session invitations.
    public var sessionInvitations: Bool
    /// Receives reports.
    public var reports: Bool
    /// When first added.
    public var createdAt: Date
    /// When last changed.
    public var updatedAt: Date
    /// When `status` last changed.
    public var statusChangedAt: Date

    /// The streams as one value.
    public var streams: StreamPreferences {
        get { StreamPreferences(monthlyUpdate: monthlyUpdate, sessionInvitations: sessionInvitations, reports: reports) }
        set {
            monthlyUpdate = newValue.monthlyUpdate
            sessionInvitations = newValue.sessionInvitations
            reports = newValue.reports
        }
    }

    /// The address, parsed again from the stored form.
    public var address: EmailAddress? { try? EmailAddress(email) }

    /// Whether circulate may send this person mail of a stream right now.
    public func mayReceive(_ stream: MailStream) -> Bool {
        status == .active && lawfulBasis != nil && streams[stream]
    }
}

/// A person with everything attached: roles and tags, consent history.
public struct MemberProfile: Sendable, Equatable {
    /// The stored row.
    public var member: Member
    /// Roles and free tags, sorted.
    public var tags: [String]
    /// Consent history, oldest first.
    public var consent: [ConsentEvent]

    /// The known roles among the tags.
    public var roles: [String] { Tag.roles.filter(tags.contains) }
    /// The free tags (not roles).
    public var freeTags: [String] { tags.filter { !Tag.roles.contains($0) } }
}
