import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one owner of circulate's SQLite database: opens it safely, migrates it, and exposes one method per
/// invariant-keeping transaction (see the `AppDatabase+*.swift` extensions).
public final class AppDatabase: Sendable {
    /// The connection pool (WAL mode: one writer, concurrent readers, across processes).
    let pool: DatabasePool
    /// The database file's path, for messages.
    public let path: String

    /// How long a write waits for another process (daemon or CLI) before reporting "busy".
    static let busyTimeout: TimeInterval = 10

    /// Opens the database at `path`, applying pending migrations. With `create: false` a missing file is an error
    /// that tells the user to run `circulate init`, so that a mistyped path never silently starts an empty list.
    /// With `create: true` a database is made only where there is no file: an existing file must already be an
    /// SQLite database (see `DatabaseFile.check`).
    public static func open(path: String, create: Bool) throws(StorageError) -> AppDatabase {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            try DatabaseFile.check(path)
        } else {
            guard create else {
                throw StorageError(kind: .notInitialised, "there is no database at \(path); run `circulate init` first (or check storage.database in the configuration)")
            }
            try DatabaseFile.create(path)
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration())
            // GRDB sets the writer to synchronous=NORMAL after our setup; consent, unsubscribe and erasure commits
            // must survive power loss, so the writer goes back to FULL here.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Migrations.migrator.migrate(pool)
            return AppDatabase(pool: pool, path: path)
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        } catch {
            throw StorageError(kind: .storage, "cannot open the database \(path): \(error)")
        }
    }

    private init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
    }

    static func configuration() -> GRDB.Configuration {
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout)
        config.label = "circulate"
        config.prepareDatabase { db in
            // Deleted content is overwritten, not left in free pages: erasure must really erase.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return config
    }

    /// The SQLite library version in use.
    public func sqliteVersion() throws(StorageError) -> String {
        try read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "unknown" }
    }

    /// A PRAGMA's value as the writer connection sees it (for checks and tests).
    public func writerPragma(_ name: String) throws(StorageError) -> String {
        try writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA \(name)") ?? "" }
    }

    // MARK: - Running work, with errors mapped

    /// Runs `body` in one write transaction; a thrown error rolls everything back.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
    }

    /// Runs `body` in a transaction that is rolled back at the end whatever happens (dry runs).
    func writeAndRollBack<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .rollback
                }
                guard let result else { throw StorageError(kind: .storage, "dry run produced no result") }
                return result
            }
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
    }

    /// Runs `body` in a read transaction; unlike `read`, errors other than the database's pass through unchanged
    /// (a lookup that finds nothing throws its own explanation).
    func fetch<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
    }

    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        do {
            return try pool.writeWithoutTransaction(body)
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(kind: .storage, "\(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        do {
            return try pool.read(body)
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(kind: .storage, "\(error)")
        }
    }
}

/// Checks and creation of the database file itself, before SQLite sees it.
enum DatabaseFile {
    /// The first 16 bytes of every SQLite 3 database file (https://sqlite.org/fileformat.html, section 1.3).
    static let header = Array("SQLite format 3\u{0}".utf8)

    /// Refuses a file SQLite would misread. SQLite takes a zero-length file for a new, empty database and would
    /// quietly start an empty list over it (a truncated copy, a failed restore); and a file that is something else
    /// (a CSV, a backup archive) must be named as such, not reported as "damaged". Nothing is written to either.
    static func check(_ path: String) throws(StorageError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw StorageError(kind: .storage, "cannot read the database \(path) (\(String(cString: strerror(errno)))); check the file's owner and permissions",
                               transient: false)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw StorageError(kind: .storage, "the database \(path) is not a regular file; check storage.database in the configuration",
                               transient: false)
        }
        guard status.st_size > 0 else {
            throw StorageError(kind: .storage, "the database \(path) is empty (0 bytes), so it holds no list, and circulate will not start a new one over it; "
                               + "restore it from a backup (if a first `circulate init` was interrupted, delete the empty file and run init again)",
                               transient: false)
        }
        var first = [UInt8](repeating: 0, count: header.count)
        let count = first.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count == header.count, first == header else {
            throw StorageError(kind: .storage, "the file \(path) is not an SQLite database (it does not begin with \"SQLite format 3\"), so circulate will not use it; "
                               + "check storage.database in the configuration, or restore the database from a backup",
                               transient: false)
        }
    }

    /// Creates the database file, and its folder (0700), before SQLite opens it: the file is 0600 from its first
    /// moment, and SQLite gives the -wal and -shm files it creates later the database file's mode. O_EXCL: a file
    /// that appeared meanwhile is never taken over.
    static func create(_ path: String) throws(StorageError) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StorageError(kind: .storage, "cannot create the folder \(folder) for the database; check permissions")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StorageError(kind: .storage, "cannot create the database \(path) (\(String(cString: strerror(errno)))); check the folder's permissions")
        }
        // open() narrows the mode by the umask; a umask that took the owner's own write bit would leave SQLite a
        // read-only file.
        _ = fchmod(fd, 0o600)
        close(fd)
    }
}
