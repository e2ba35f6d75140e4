import Foundation

/// One entry of a person's consent history; the history is append-only.
public struct ConsentEvent: Codable, Sendable, Equatable {
    /// Whether consent was given or withdrawn.
    public enum Action: String, Codable, Sendable {
        case given, withdrawn
    }

    /// Row id.
    public var id: Int64?
    /// The person it belongs to.
    public var memberID: Int64
    /// Given or withdrawn.
    public var action: Action
    /// The stream it covers; nil means every stream.
    public var stream: MailStream?
    /// The ground relied on (for a withdrawal: the one withdrawn, if known).
    public var lawfulBasis: LawfulBasis?
    /// Where and how: "sign-in sheet, hospital discharge session 5 Nov 2026".
    public var source: String
    /// The version of the consent wording the person agreed to.
    public var wordingVersion: String?
    /// SHA-256 of the wording file agreed to, when the consent was given on the join page.
    public var wordingHash: String? = nil
    /// Who recorded it (the coordinator's name or login).
    public var recordedBy: String
    /// When it happened.
    public var occurredAt: Date

    /// A new, unsaved event.
    public init(id: Int64? = nil, memberID: Int64, action: Action, stream: MailStream?, lawfulBasis: LawfulBasis?,
                source: String, wordingVersion: String?, recordedBy: String, occurredAt: Date) {
        self.id = id
        self.memberID = memberID
        self.action = action
        self.stream = stream
        self.lawfulBasis = lawfulBasis
        self.source = source
        self.wordingVersion = wordingVersion
        self.recordedBy = recordedBy
        self.occurredAt = occurredAt
    }
}

/// What a coordinator records when a person gives consent or is added under legitimate interest.
public struct ConsentGrant: Sendable, Equatable {
    /// The ground relied on.
    public var lawfulBasis: LawfulBasis
    /// Where and how the person agreed (required: an unexplained consent is no record at all).
    public var source: String
    /// The wording version agreed to (required for consent).
    public var wordingVersion: String?
    /// Who records it.
    public var recordedBy: String

    /// Checks the fields and builds a grant.
    public init(lawfulBasis: LawfulBasis, source: String, wordingVersion: String?, recordedBy: String) throws(InvalidField) {
        self.lawfulBasis = lawfulBasis
        self.source = try TextField.clean(source, field: "source", maxLength: 500)
        guard !self.source.isEmpty else {
            throw InvalidField(field: "source", value: source,
                               problem: "is empty; say where and when the person agreed, e.g. \"sign-in sheet, 5 Nov 2026 session\"")
        }
        let wording = try wordingVersion.map { (v) throws(InvalidField) in try TextField.clean(v, field: "wording version", maxLength: 100) }
        if lawfulBasis == .consent && (wording ?? "").isEmpty {
            throw InvalidField(field: "wording version", value: wordingVersion ?? "",
                               problem: "is missing; consent must name the wording version the person agreed to")
        }
        self.wordingVersion = (wording ?? "").isEmpty ? nil : wording
        self.recordedBy = try TextField.clean(recordedBy, field: "recorded by", maxLength: 100)
    }
}
