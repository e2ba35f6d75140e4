/// One person's mailbox as it appears in a From, Reply-To or To header: an optional display name and an address.
public struct Mailbox: Sendable, Equatable {
    /// The name shown to people ("Stoke CoP Coordinator"); nil or blank shows the bare address.
    public var displayName: String?
    /// The address itself, already validated.
    public var address: EmailAddress

    /// Creates a mailbox.
    public init(displayName: String? = nil, address: EmailAddress) {
        self.displayName = displayName
        self.address = address
    }
}
