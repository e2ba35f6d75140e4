import Foundation
import GRDB

/// How the instance key compares with the one the database was set up with.
public enum KeyCheck: Sendable, Equatable {
    /// It is the same key.
    case matches
    /// The database had no fingerprint yet (set up by an earlier release, or just created): this key's is recorded now.
    case adopted
}

/// The instance key in use is not the one this database was set up with.
public struct KeyMismatch: Failure, Sendable {
    /// Where the key in use came from ("file var/instance.key", "environment variable CIRCULATE_INSTANCE_KEY").
    public let source: String

    /// A configuration problem: exit 78.
    public var kind: FailureKind { .configuration }

    public var description: String {
        "the instance key (\(source)) does not match this database: it was set up with another key, and with this one "
            + "every person erased from it could be added again by a later import. Restore the key this database was set "
            + "up with (from the backup you keep with it, or the credential or environment variable that held it); "
            + "do not make a new one with `circulate init`"
    }
}

extension AppDatabase {
    /// The fingerprint of the key this database was set up with, if one is recorded.
    public func keyFingerprint() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'key_fingerprint'") }
    }

    /// Compares `key` with the key this database was set up with; records it if none is recorded yet.
    public func checkKey(_ key: InstanceKey, source: String) throws -> KeyCheck {
        if let recorded = try keyFingerprint() {
            guard recorded == key.fingerprint else { throw KeyMismatch(source: source) }
            return .matches
        }
        return try write { db in
            if let recorded = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'key_fingerprint'") {
                guard recorded == key.fingerprint else { throw KeyMismatch(source: source) }
                return .matches
            }
            try db.execute(sql: "INSERT INTO setting (name, value) VALUES ('key_fingerprint', ?)", arguments: [key.fingerprint])
            return .adopted
        }
    }
}
