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
}
