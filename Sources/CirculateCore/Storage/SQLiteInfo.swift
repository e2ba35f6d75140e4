import GRDB
import GRDBSQLite

/// Facts about the SQLite library itself, available without opening a database.
public enum SQLiteInfo {
    /// The linked SQLite version, e.g. "3.40.1".
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
