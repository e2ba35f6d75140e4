import Foundation
import GRDBSQLite

/// See `AppDatabase.makeLastChecker()`.
///
/// The check runs twice per message, so it is one prepared statement on a read-only SQLite connection of its own,
/// called through SQLite's C interface: no dispatch queue, statement cache lookup or row decoding per call (through
/// GRDB the two checks cost about a sixth of a message's CPU). Each SELECT is atomic by itself (an implicit read
/// transaction), so the answer is what was committed when the check ran.
///
/// The second check of a message (before its content) is made without a query when nothing at all was committed to
/// the database since the first one began: SQLite changes the header of the write-ahead log's index (the `-shm`
/// file) with every commit of every process (its iChange counter, frame count, salts and checksum; the layout is
/// part of SQLite's documented file format, which every version sharing a database must read alike), so an unchanged
/// header means the first answer still holds. Any commit, related or not, means a full check.
public final class LastChecker: @unchecked Sendable {
    // Why @unchecked Sendable is sound: each worker thread makes and uses its own checker; the connection is opened
    // without SQLite's mutex precisely because only that thread uses it.
    private let connection: OpaquePointer
    private let statement: OpaquePointer
    /// The write-ahead log's index, read-only, for `LogHeader`; -1 when it cannot be read (every check then queries).
    private let logIndex: Int32
    /// Checks answered by a query (the rest were answered by an unchanged log header), for tests.
    private(set) var queries = 0

    /// Opens `path` read-only; throws `StorageError` if the database cannot be opened or the check cannot be prepared.
    init(path: String, busyTimeout: TimeInterval) throws {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &opened, flags, nil) == SQLITE_OK, let connection = opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw StorageError(kind: .storage, "the database cannot be opened for the last checks (\(reason))")
        }
        sqlite3_busy_timeout(connection, Int32(busyTimeout * 1_000))
        // A check reads a few pages (the message, its mailing and person, their indexes): a small page cache per worker
        // is enough, and the default 2 MB each would grow the daemon by that much per connection.
        var prepared: OpaquePointer?
        guard sqlite3_exec(connection, "PRAGMA cache_size = -256", nil, nil, nil) == SQLITE_OK,
              sqlite3_prepare_v3(connection, OutboundQueue.lastCheckSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil) == SQLITE_OK,
              let statement = prepared else {
            let reason = String(cString: sqlite3_errmsg(connection))
            sqlite3_close_v2(connection)
            throw StorageError(kind: .storage, "the last check cannot be prepared (\(reason))")
        }
        self.connection = connection
        self.statement = statement
        // The connection is open, so SQLite has made the index (and keeps it while any connection is open). Its name
        // is the one SQLite uses for the database (symbolic links resolved), not `path`, so that a stray file next to
        // a link can never stand in for it.
        logIndex = sqlite3_db_filename(connection, "main").map { open(String(cString: $0) + "-shm", O_RDONLY | O_CLOEXEC) } ?? -1
    }

    deinit {
        if logIndex >= 0 { close(logIndex) }
        sqlite3_finalize(statement)
        sqlite3_close_v2(connection)
    }

    /// The write-ahead log index's header as every commit leaves it: 48 bytes, of which SQLite keeps two copies and
    /// writes the second first, so that a reader who finds them equal has read a whole one.
    public struct LogHeader: Equatable, Sendable {
        fileprivate let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        public static func == (a: LogHeader, b: LogHeader) -> Bool { a.words == b.words }
    }

    /// The header now, or nil when it cannot be read whole (being written, no index, or not initialised yet).
    private func logHeader() -> LogHeader? {
        guard logIndex >= 0 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let read = withUnsafeMutableBytes(of: &words) { pread(logIndex, $0.baseAddress, 96, 0) }
        guard read == 96 else { return nil }
        let first = (words.0, words.1, words.2, words.3, words.4, words.5)
        let second = (words.6, words.7, words.8, words.9, words.10, words.11)
        // isInit, the byte at offset 12, is zero until SQLite has built the index.
        let isInit = withUnsafeBytes(of: first) { $0[12] }
        guard first == second, isInit != 0 else { return nil }
        return LogHeader(words: first)
    }

    /// The first check of a message: always a query. When it says go, `header` is the log header from before the
    /// query began (nil otherwise), for `check(_:unlessUnchangedSince:)`.
    public func check(_ deliveryID: Int64, noting header: inout LogHeader?) -> LastCheck {
        let before = logHeader()
        let answer = check(deliveryID)
        header = answer == .go ? before : nil
        return answer
    }

    /// A later check of the same message: go without a query when the log header is still `header` (nothing was
    /// committed since the first check began, which said go), else a full check.
    public func check(_ deliveryID: Int64, unlessUnchangedSince header: LogHeader?) -> LastCheck {
        if let header, let now = logHeader(), now == header { return .go }
        return check(deliveryID)
    }

    /// Whether the claimed message may still be handed over (see `OutboundQueue.lastCheck`, the same query).
    public func check(_ deliveryID: Int64) -> LastCheck {
        queries += 1
        defer {
            sqlite3_reset(statement)
        }
        sqlite3_bind_int64(statement, 1, deliveryID)
        switch sqlite3_step(statement) {
        case SQLITE_ROW:
            let length = Int(sqlite3_column_bytes(statement, 0))
            guard length > 0, let text = sqlite3_column_text(statement, 0) else { return OutboundQueue.lastCheck(refusal: "") }
            return OutboundQueue.lastCheck(refusal: String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self))
        case SQLITE_DONE:
            return OutboundQueue.lastCheck(refusal: nil)
        case let code:
            return .unknown("the database could not be read for the last check (SQLite error \(code): \(String(cString: sqlite3_errmsg(connection))))")
        }
    }
}
