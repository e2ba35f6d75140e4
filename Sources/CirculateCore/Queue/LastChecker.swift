import Foundation
import GRDBSQLite

/// See `AppDatabase.makeLastChecker()`.
///
/// The check runs twice per message, so it is one prepared statement on a read-only SQLite connection of its own,
/// called through SQLite's C interface: no dispatch queue, statement cache lookup or row decoding per call (through
/// GRDB the two checks cost about a sixth of a message's CPU). Each SELECT is atomic by itself (an implicit read
/// transaction), so the answer is what was committed when the check ran.
public final class LastChecker: @unchecked Sendable {
    // Why @unchecked Sendable is sound: each worker thread makes and uses its own checker; the connection is opened
    // without SQLite's mutex precisely because only that thread uses it.
    private let connection: OpaquePointer
    private let statement: OpaquePointer

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
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close_v2(connection)
    }

    /// Whether the claimed message may still be handed over (see `OutboundQueue.lastCheck`, the same query).
    public func check(_ deliveryID: Int64) -> LastCheck {
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
