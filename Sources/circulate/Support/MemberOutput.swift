import CirculateCore
import Foundation

/// The JSON shape of a person in `member list`, `member show` and `member add/edit --json`: a stable contract.
struct MemberJSON: Encodable {
    struct ConsentJSON: Encodable {
        var action: String
        var stream: String
        var lawfulBasis: String?
        var source: String
        var wordingVersion: String?
        var wordingHash: String?
        var recordedBy: String
        var occurredAt: Date
    }

    var email: String
    var name: String
    var knownAs: String?
    var organisation: String?
    var status: String
    var lawfulBasis: String?
    var streams: [String]
    var roles: [String]
    var tags: [String]
    var createdAt: Date
    var updatedAt: Date
    var statusChangedAt: Date
    var consentHistory: [ConsentJSON]?

    init(_ member: Member, tags: [String], consent: [ConsentEvent]? = nil) {
        email = member.email
        name = member.name
        knownAs = member.knownAs
        organisation = member.organisation
        status = member.status.rawValue
        lawfulBasis = member.lawfulBasis?.rawValue
        streams = member.streams.enabled.map(\.rawValue)
        roles = Tag.roles.filter(tags.contains)
        self.tags = tags.filter { !Tag.roles.contains($0) }
        createdAt = member.createdAt
        updatedAt = member.updatedAt
        statusChangedAt = member.statusChangedAt
        consentHistory = consent?.map {
            ConsentJSON(action: $0.action.rawValue, stream: $0.stream?.rawValue ?? "all", lawfulBasis: $0.lawfulBasis?.rawValue,
                        source: $0.source, wordingVersion: $0.wordingVersion, wordingHash: $0.wordingHash, recordedBy: $0.recordedBy,
                        occurredAt: $0.occurredAt)
        }
    }

    init(_ profile: MemberProfile) {
        self.init(profile.member, tags: profile.tags, consent: profile.consent)
    }
}

/// Human-readable rendering of one person.
enum MemberText {
    /// The person and their consent history; every stored text is made printable (see `TextField.printable`).
    static func describe(_ profile: MemberProfile, zone: TimeZone) -> String {
        let m = profile.member
        func shown(_ text: String) -> String { TextField.printable(text) }
        var lines = [
            "\(m.name.isEmpty ? "(no name)" : shown(m.name)) <\(shown(m.email))>",
            "  known as:      \(m.knownAs.map(shown) ?? "- (greeted by their full name)")",
            "  organisation:  \(m.organisation.map(shown) ?? "-")",
            "  status:        \(m.status.rawValue) since \(Terminal.local(m.statusChangedAt, in: zone))",
            "  lawful basis:  \(m.lawfulBasis?.rawValue ?? "none (not mailed)")",
            "  streams:       \(m.streams.enabled.map(\.rawValue).joined(separator: ", ").nonEmpty ?? "none")",
            "  roles:         \(shown(profile.roles.joined(separator: ", ")).nonEmpty ?? "-")",
            "  tags:          \(shown(profile.freeTags.joined(separator: ", ")).nonEmpty ?? "-")",
            "  added:         \(Terminal.local(m.createdAt, in: zone)); last changed \(Terminal.local(m.updatedAt, in: zone))",
            "  consent history:",
        ]
        for e in profile.consent {
            let scope = e.stream?.rawValue ?? "all streams"
            var detail = "\(e.action.rawValue) (\(scope))"
            if let basis = e.lawfulBasis, e.action == .given { detail += ", \(basis.rawValue)" }
            if let wording = e.wordingVersion { detail += ", wording \(shown(wording))" }
            lines.append("    \(Terminal.local(e.occurredAt, in: zone))  \(detail) — \(shown(e.source)) (recorded by \(shown(e.recordedBy)))")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// nil when empty, for "-" fallbacks.
    var nonEmpty: String? { isEmpty ? nil : self }
}
