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
            let database = AppDatabase(pool: pool, path: path)
            _ = try database.normaliseStoredAddresses()
            return database
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

    /// Caps the writer connection's page cache. The daemon's writes touch the queue's newest pages, which the
    /// operating system caches anyway; SQLite's default 2 MB per connection showed as memory growth while sending.
    public func limitWriterPageCache(kibibytes: Int) throws(StorageError) {
        try writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -\(max(64, kibibytes))") }
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

    /// `write` for work that runs many times a second (the delivery turn): the same IMMEDIATE transaction, begun
    /// and committed through cached statements. GRDB's `write` compiles BEGIN and COMMIT anew each time, about 60 µs
    /// a turn in the daemon's profile.
    func writeOften<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    let result = try body(db)
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                    return result
                } catch {
                    // SQLite may already have rolled back by itself (a full disk, an I/O error).
                    if db.isInsideTransaction { try? db.rollback() }
                    throw error
                }
            }
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
