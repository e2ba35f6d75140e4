/// The UK GDPR Article 6 ground on which circulate may email a person.
public enum LawfulBasis: String, Codable, Sendable, CaseIterable {
    /// The person agreed (members, attendees who ticked the box on the sign-in sheet).
    case consent
    /// Legitimate interest: key influencers reached in their professional role.
    case legitimateInterest = "legitimate-interest"

    /// Parses "consent" / "legitimate-interest" (and "li", "legitimate interest").
    public init(parsing text: String) throws(InvalidField) {
        switch Tag.slug(text) {
        case "consent": self = .consent
        case "legitimate-interest", "li", "legitimate-interests": self = .legitimateInterest
        default:
            throw InvalidField(field: "lawful basis", value: text, problem: "is not a lawful basis; use consent or legitimate-interest")
        }
    }
}

/// Where a person stands on the list.
public enum MemberStatus: String, Codable, Sendable, CaseIterable {
    /// Receives the streams they opted in to.
    case active
    /// Left every stream; receives nothing.
    case unsubscribed
    /// Their address bounced permanently; receives nothing until corrected.
    case bounced
    /// Erased on request: nothing is held but a keyed hash of the address (never stored as a member row).
    case erasedSuppressed = "erased-suppressed"
}
