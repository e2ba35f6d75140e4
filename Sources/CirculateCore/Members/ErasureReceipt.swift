import Foundation

/// What an erasure did; holds no personal data of the person erased, so it may be shown and kept.
public struct ErasureReceipt: Sendable, Equatable, Codable {
    /// A random reference to quote back to the person ("your request ER-…").
    public var reference: String
    /// When it happened.
    public var erasedAt: Date
    /// How many rows were deleted across all tables.
    public var rowsRemoved: Int
    /// Whether the write-ahead log was emptied, so no old copy of the data is left in the -wal file.
    public var logCleared: Bool
    /// Their messages removed from circulate's own Maildir outbox; nil when the outbox is kept elsewhere (not touched).
    public var outboxMessagesRemoved: Int?
    /// Whether their messages in the list's mailbox are still to be deleted (the address kept only for that, until done).
    public var mailboxPending = false
    /// Their messages deleted from the list's mailbox by the command itself; nil when it did not (or could not) do it.
    public var mailboxMessagesRemoved: Int?
    /// Their messages a daemon worker held at that moment (stopped at the last check; the command waits for them).
    public var withdrawal = Withdrawal()

    enum CodingKeys: String, CodingKey {
        case reference, erasedAt, rowsRemoved, logCleared, outboxMessagesRemoved, mailboxPending, mailboxMessagesRemoved
    }

    /// Creates a receipt.
    public init(reference: String, erasedAt: Date, rowsRemoved: Int, logCleared: Bool) {
        self.reference = reference
        self.erasedAt = erasedAt
        self.rowsRemoved = rowsRemoved
        self.logCleared = logCleared
    }
}
