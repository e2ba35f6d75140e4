import GRDB

/// A storage problem in words a coordinator or operator can act on; raw SQLite text never reaches the user alone.
public struct StorageError: Failure, Sendable {
    /// Busy, storage or not initialised.
    public let kind: FailureKind
    /// What happened and what to do.
    public let description: String
    /// Whether trying again later may work (busy, disk full, I/O): the daemon backs off and retries. Otherwise the
    /// database refused something circulate should never ask (a broken invariant: a bug).
    public let isTransient: Bool

    /// Creates an error.
    public init(kind: FailureKind, _ description: String, transient: Bool = true) {
        self.kind = kind
        self.description = description
        isTransient = transient
    }

    /// Classifies an SQLite error raised while working on the database at `path`.
    static func from(_ error: DatabaseError, path: String) -> StorageError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StorageError(kind: .busy, "the database \(path) is busy with another circulate process; try again in a moment")
        case .SQLITE_FULL:
            return StorageError(kind: .storage, "the disk holding \(path) is full; free some space and try again (nothing was changed)")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN:
            return StorageError(kind: .storage, "the database \(path) cannot be opened for writing; check the file and folder permissions")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StorageError(kind: .storage, "the database \(path) is damaged or is not a circulate database; restore it from a backup")
        case .SQLITE_IOERR, .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_INTERRUPT:
            return StorageError(kind: .storage, "the database \(path) could not be read or written (\(error.message ?? "SQLite code \(error.resultCode.rawValue)")); nothing was changed; check the disk")
        default:
            // A constraint or SQL error: circulate asked for something its own schema forbids.
            return StorageError(kind: .storage, "the database \(path) refused a change (\(error.message ?? "SQLite code \(error.resultCode.rawValue)")); nothing was changed; this is a bug in circulate, please report it",
                                transient: false)
        }
    }
}
