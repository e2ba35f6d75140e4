import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What a backup file holds.
public struct BackupSummary: Sendable, Equatable, Codable {
    /// The file.
    public var path: String
    public var members: Int
    public var consentEvents: Int
    public var erasures: Int
    /// The fingerprint of the instance key it was made with, if recorded (a backup is useless with another key).
    public var keyFingerprint: String?
}

/// What `restore` did.
public struct RestoreReport: Sendable, Equatable, Codable {
    /// The backup as restored.
    public var restored: BackupSummary
    /// Where the database that was replaced now is (nil when there was none).
    public var setAside: String?
    /// Erasures in the journal that the backup did not know of, applied again now.
    public var erasuresApplied: Int
    /// People in the backup those erasures removed.
    public var peopleRemoved: Int
}

extension AppDatabase {
    /// Writes a consistent copy of the database to `path` while it is in use (`VACUUM INTO`: only live pages are
    /// copied, so nothing erased travels with it), mode 0600 from the moment it exists, and checks it.
    public func backup(to path: String) throws -> BackupSummary {
        // The file is made empty and private first: SQLite would otherwise create it with the process's umask.
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it already exists; choose a new name (a backup never replaces a file)" : String(cString: strerror(errno))
            throw StorageError(kind: errno == EEXIST ? .invalidInput : .storage, "cannot write the backup \(path): \(reason)")
        }
        Glibc.close(fd)
        do {
            try writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
            return try Self.inspect(backup: path)
        } catch {
            Glibc.unlink(path)
            throw error
        }
    }

    /// Opens a backup read-only and checks it: SQLite's `integrity_check`, circulate's tables, what it holds.
    public static func inspect(backup path: String) throws -> BackupSummary {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StorageError(kind: .unreadableInput, "the backup \(path) does not exist or cannot be read")
        }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        try? handle.close()
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw StorageError(kind: .invalidInput, "\(path) is not a circulate backup (not an SQLite database)")
        }
        var config = configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.read { db in
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else {
                    throw StorageError(kind: .invalidInput, "the backup \(path) is damaged (integrity_check: \(check.prefix(3).joined(separator: "; "))); use another backup")
                }
                guard try db.tableExists("member"), try db.tableExists("consent_event"), try db.tableExists("suppression") else {
                    throw StorageError(kind: .invalidInput, "\(path) is not a circulate backup (it has no member list)")
                }
                let fingerprint = try db.tableExists("setting")
                    ? try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'key_fingerprint'") : nil
                return BackupSummary(path: path, members: try Int.fetchOne(db, sql: "SELECT count(*) FROM member") ?? 0,
                                     consentEvents: try Int.fetchOne(db, sql: "SELECT count(*) FROM consent_event") ?? 0,
                                     erasures: try Int.fetchOne(db, sql: "SELECT count(*) FROM erasure") ?? 0,
                                     keyFingerprint: fingerprint)
            }
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
    }

    /// Restores a backup over the database at `databasePath` (the daemon must be stopped): checks the backup and that
    /// it was made with `key`, keeps the replaced database aside, copies the backup in, then applies again every
    /// erasure in `journal` (made after the backup was taken), so that a restore never brings back an erased person.
    public static func restore(backup path: String, over databasePath: String, key: InstanceKey, journal: ErasureJournal,
                               now: Date) throws -> RestoreReport {
        let summary = try inspect(backup: path)
        if let fingerprint = summary.keyFingerprint, fingerprint != key.fingerprint {
            throw KeyMismatch(source: "the backup \(path) was made with another instance key")
        }
        let fm = FileManager.default
        var setAside: String?
        if fm.fileExists(atPath: databasePath) {
            // Empty the live database's log into it first, so the file set aside is complete on its own.
            do {
                let current = try open(path: databasePath, create: false)
                _ = current.clearWriteAheadLog()
            }
            let stamp = fileStamp(now)
            let aside = "\(databasePath).before-restore-\(stamp)"
            guard Glibc.rename(databasePath, aside) == 0 else {
                throw StorageError(kind: .storage, "cannot set the current database aside as \(aside) (\(String(cString: strerror(errno)))); nothing was restored")
            }
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: databasePath + suffix) }
            setAside = aside
        }
        try copyPrivately(path, to: databasePath)
        let restored = try open(path: databasePath, create: false)
        let applied = try restored.applyJournal(journal, key: key, now: now)
        _ = restored.clearWriteAheadLog()
        return RestoreReport(restored: summary, setAside: setAside, erasuresApplied: applied.entries, peopleRemoved: applied.people)
    }

    /// Applies every erasure in the journal that this database does not know of yet: the people whose address hashes
    /// to one of an entry's hashes are erased under the entry's reference, and every hash is suppressed.
    func applyJournal(_ journal: ErasureJournal, key: InstanceKey, now: Date) throws -> (entries: Int, people: Int) {
        let entries = try journal.entries()
        guard !entries.isEmpty else { return (0, 0) }
        return try write { db in
            var applied = 0, people = 0
            let members = try Row.fetchAll(db, sql: "SELECT id, email FROM member").compactMap { row -> (Int64, Set<String>)? in
                guard let address = try? EmailAddress(row["email"] as String) else { return nil }
                return (row["id"], Set(key.suppressionHashes(for: address)))
            }
            for entry in entries {
                let known = try Int.fetchOne(db, sql: "SELECT count(*) FROM erasure WHERE reference = ?", arguments: [entry.reference]) ?? 0
                let hashes = Set(entry.hashes)
                let matching = members.filter { !$0.1.isDisjoint(with: hashes) }.map(\.0)
                for member in matching where try Int.fetchOne(db, sql: "SELECT count(*) FROM member WHERE id = ?", arguments: [member]) == 1 {
                    _ = try Self.eraseRecords(db, member: member, address: nil, hashes: entry.hashes, reference: entry.reference,
                                         erasedBy: "circulate restore (erasure journal)", now: entry.erasedAt)
                    people += 1
                }
                // A sign-up the backup still holds for an address erased since (a member or not).
                _ = try Self.forgetSignUps(db, hashes: entry.hashes)
                for hash in entry.hashes {
                    try db.execute(sql: "INSERT OR IGNORE INTO suppression (address_hash, reason, created_at) VALUES (?, 'erased', ?)",
                                   arguments: [hash, entry.erasedAt])
                }
                if known == 0 {
                    try db.execute(sql: "INSERT OR IGNORE INTO erasure (reference, erased_at, erased_by, rows_removed) VALUES (?, ?, ?, 0)",
                                   arguments: [entry.reference, entry.erasedAt, "circulate restore (erasure journal)"])
                    applied += 1
                }
            }
            return (applied, people)
        }
    }

    /// "20261203-090000" (UTC), for file names.
    public static func fileStamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }

    /// Copies a file to `destination` with mode 0600, through a temporary file renamed into place.
    private static func copyPrivately(_ source: String, to destination: String) throws {
        let temporary = destination + ".restoring"
        Glibc.unlink(temporary)
        guard let data = FileManager.default.contents(atPath: source) else {
            throw StorageError(kind: .unreadableInput, "cannot read the backup \(source)")
        }
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError(kind: .storage, "cannot write \(temporary) (\(String(cString: strerror(errno))))") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = Glibc.fsync(fd) == 0
        Glibc.close(fd)
        guard written == data.count, synced, Glibc.rename(temporary, destination) == 0 else {
            Glibc.unlink(temporary)
            throw StorageError(kind: .storage, "cannot put the backup in place at \(destination) (disk full?)")
        }
    }
}
