import Foundation

/// What a person asks for on the join page, checked: nobody is added until they confirm from their mailbox.
public struct SignUpRequest: Sendable, Equatable {
    /// The address to confirm.
    public var address: EmailAddress
    /// Their name (required on the join page).
    public var name: String
    /// Their organisation, if they gave one.
    public var organisation: String?
    /// The streams they ticked (at least one).
    public var streams: StreamPreferences

    /// The longest name, organisation and address the join page takes.
    public static let maximumName = 200
    public static let maximumOrganisation = 200
    public static let maximumAddress = 254

    /// Checks the fields as typed; each error names the field and what to do.
    public init(email: String, name: String, organisation: String, streams: Set<MailStream>) throws(InvalidField) {
        let typed = TextField.trimmingSpaces(email)
        guard typed.count <= Self.maximumAddress else {
            throw InvalidField(field: "email address", value: String(email.prefix(40)) + "…",
                               problem: "is longer than \(Self.maximumAddress) characters; check it")
        }
        do {
            address = try EmailAddress(typed)
        } catch {
            throw InvalidField(field: "email address", value: typed, problem: "is not an email address (\(error)); check it for typing mistakes")
        }
        self.name = try TextField.clean(name, field: "name", maxLength: Self.maximumName)
        guard !self.name.isEmpty else { throw InvalidField(field: "name", value: name, problem: "is empty; please give your name") }
        let organisation = try TextField.clean(organisation, field: "organisation", maxLength: Self.maximumOrganisation)
        self.organisation = organisation.isEmpty ? nil : organisation
        guard !streams.isEmpty else {
            throw InvalidField(field: "what you want to receive", value: "", problem: "is empty; tick at least one box")
        }
        self.streams = StreamPreferences(streams)
    }
}

/// How many join-page posts and confirmation messages are allowed, per address and per client (the visitor's IP
/// address), within a window; the defaults stop a script from mailing strangers without getting in a person's way.
public struct SignUpLimits: Sendable, Equatable {
    /// Posts of the form from one client per hour.
    public var formsPerClient = 10
    /// Posts of the form naming one address per hour.
    public var formsPerAddress = 5
    /// Confirmation messages to one address per day.
    public var mailsPerAddress = 3
    /// Confirmation messages asked for by one client per day.
    public var mailsPerClient = 10
    /// A link in a confirmation message works this long; the pending sign-up is deleted then.
    public var validity: TimeInterval = 7 * 86_400

    /// The defaults.
    public init() {}
}

/// What the join page did with a request. The page shows the same words whatever it was; only the mail differs.
public enum SignUpOutcome: Sendable, Equatable {
    /// A confirmation link was queued (a new person, or one who left and may come back).
    case confirmationQueued(signUpID: Int64)
    /// The person is on the list already: they were told so, with a link to their choices.
    case alreadyMember
    /// The address was erased: no mail (only the coordinator may add it again, with `--rejoin`).
    case erased
    /// Too many confirmation messages to this address or from this client lately: none was sent.
    case mailLimited
    /// Too many posts of the form from this client or for this address: nothing was done; try later.
    case tooManyRequests
}

/// What confirming did.
public enum SignUpConfirmation: Sendable, Equatable {
    /// A new member, on the streams they chose.
    case joined(memberID: Int64)
    /// Someone who had left is back, with a fresh consent event.
    case rejoined(memberID: Int64)
    /// They were on the list already; nothing changed.
    case alreadyMember(memberID: Int64)
}
