/// The kinds of mail a person can opt in to or out of separately.
public enum MailStream: String, CaseIterable, Codable, Sendable {
    case monthlyUpdate = "monthly-update"
    case sessionInvitations = "session-invitations"
    case reports = "reports"

    /// Parses a stream name as typed, accepting a few natural spellings ("updates", "invitations").
    public init(parsing text: String) throws(InvalidField) {
        let t = Tag.slug(text)
        switch t {
        case "monthly-update", "monthly-updates", "update", "updates", "monthly": self = .monthlyUpdate
        case "session-invitations", "session-invitation", "invitations", "invitation", "sessions": self = .sessionInvitations
        case "reports", "report": self = .reports
        default:
            throw InvalidField(field: "stream", value: text,
                               problem: "is not a stream; use one of: \(MailStream.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// Which streams a person receives.
public struct StreamPreferences: Codable, Sendable, Hashable {
    /// Receives the monthly update.
    public var monthlyUpdate: Bool
    /// Receives invitations to sessions.
    public var sessionInvitations: Bool
    /// Receives final reports.
    public var reports: Bool

    /// Explicit preferences.
    public init(monthlyUpdate: Bool, sessionInvitations: Bool, reports: Bool) {
        self.monthlyUpdate = monthlyUpdate
        self.sessionInvitations = sessionInvitations
        self.reports = reports
    }

    /// Exactly the given streams.
    public init(_ streams: some Sequence<MailStream>) {
        let set = Set(streams)
        self.init(monthlyUpdate: set.contains(.monthlyUpdate), sessionInvitations: set.contains(.sessionInvitations),
                  reports: set.contains(.reports))
    }

    /// Every stream on.
    public static let all = StreamPreferences(MailStream.allCases)
    /// Every stream off.
    public static let none = StreamPreferences([])

    /// The defaults for a new person: everything for members who consented; reports only for people reached in
    /// their professional role under legitimate interest.
    public static func defaults(for basis: LawfulBasis) -> StreamPreferences {
        basis == .consent ? .all : StreamPreferences([.reports])
    }

    /// Whether a stream is on.
    public subscript(stream: MailStream) -> Bool {
        get {
            switch stream {
            case .monthlyUpdate: monthlyUpdate
            case .sessionInvitations: sessionInvitations
            case .reports: reports
            }
        }
        set {
            switch stream {
            case .monthlyUpdate: monthlyUpdate = newValue
            case .sessionInvitations: sessionInvitations = newValue
            case .reports: reports = newValue
            }
        }
    }

    /// The streams that are on, in a stable order.
    public var enabled: [MailStream] { MailStream.allCases.filter { self[$0] } }
    /// Whether no stream is on.
    public var isEmpty: Bool { enabled.isEmpty }
}
