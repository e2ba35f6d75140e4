import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the instance key comes from, and first-run setup (`circulate init`).
public enum InstanceSetup {
    /// What `init` found or made.
    public struct Report: Sendable, Codable, Equatable {
        /// The database file.
        public var database: String
        /// Whether the database was created now.
        public var databaseCreated: Bool
        /// The Maildir outbox folder.
        public var outbox: String
        /// Where the instance key comes from ("file var/instance.key", "environment variable X").
        public var instanceKey: String
        /// Whether a new key was generated now.
        public var instanceKeyCreated: Bool
        /// The configuration file in use, or nil for the built-in defaults.
        public var configuration: String?
    }

    /// Loads the instance key: from the configured environment variable if set, else from the key file.
    /// Returns nil if neither exists (the caller says "run circulate init").
    public static func loadKey(_ config: Configuration, environment: [String: String]) throws(SecretError) -> InstanceKey? {
        let secret = try Secret.load(environmentVariable: config.secrets.instanceKeyEnv, file: config.secrets.instanceKeyFile,
                                     environment: environment, what: "instance key")
        guard let secret else { return nil }
        do {
            return try InstanceKey(secret: secret)
        } catch {
            let from = config.secrets.instanceKeyEnv.flatMap { environment[$0] } != nil
                ? "environment variable \(config.secrets.instanceKeyEnv ?? "")" : "file \(config.secrets.instanceKeyFile)"
            throw SecretError("\(from): \(error.description)")
        }
    }

    /// Where the key in use comes from, in words ("environment variable X", "file var/instance.key").
    public static func keySource(_ config: Configuration, environment: [String: String]) -> String {
        if let name = config.secrets.instanceKeyEnv, let value = environment[name], !value.isEmpty { return "environment variable \(name)" }
        return "file \(config.secrets.instanceKeyFile)"
    }

    /// The key, or an error telling the user to run `circulate init`.
    public static func requireKey(_ config: Configuration, environment: [String: String]) throws(SecretError) -> InstanceKey {
        guard let key = try loadKey(config, environment: environment) else {
            throw SecretError("there is no instance key at \(config.secrets.instanceKeyFile); run `circulate init` to create one")
        }
        return key
    }

    /// Creates what a first run needs and keeps what exists: the database (migrated), the Maildir outbox, the key.
    /// A database is created only where there is no file; a file that is empty or not SQLite stops `init` before
    /// anything else is made. Never overwrites a key: the erasure hashes depend on it.
    public static func initialise(_ config: Configuration, environment: [String: String]) throws -> Report {
        let fm = FileManager.default
        let dbExisted = fm.fileExists(atPath: config.storage.database)
        let database = try AppDatabase.open(path: config.storage.database, create: true)

        for sub in ["", "/tmp", "/new", "/cur"] {
            let folder = config.outbox.maildir + sub
            do {
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StorageError(kind: .storage, "cannot create the outbox folder \(folder); check permissions")
            }
        }

        var keySource = "file \(config.secrets.instanceKeyFile)"
        var created = false
        if let name = config.secrets.instanceKeyEnv, let value = environment[name], !value.isEmpty {
            _ = try InstanceKey(secret: Secret(Array(value.utf8)))
            keySource = "environment variable \(name)"
        } else if fm.fileExists(atPath: config.secrets.instanceKeyFile) {
            _ = try requireKey(config, environment: environment)
        } else {
            // A database set up with a key must get that key back, never a new one: every erasure hash depends on it.
            if try database.keyFingerprint() != nil { throw MissingKey(path: config.secrets.instanceKeyFile) }
            try writeNewKey(to: config.secrets.instanceKeyFile)
            created = true
        }
        if let key = try loadKey(config, environment: environment) {
            _ = try database.checkKey(key, source: Self.keySource(config, environment: environment))
        }
        return Report(database: config.storage.database, databaseCreated: !dbExisted, outbox: config.outbox.maildir,
                      instanceKey: keySource, instanceKeyCreated: created, configuration: config.sourceFile)
    }

    /// Writes a fresh key with mode 0600, refusing to replace an existing file (O_EXCL).
    static func writeNewKey(to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw StorageError(kind: .storage, "cannot create the instance key file \(path) (\(String(cString: strerror(errno)))); check the folder's permissions")
        }
        defer { close(fd) }
        let text = InstanceKey.generateText() + "\n"
        let ok = text.utf8CString.withUnsafeBufferPointer { buffer in
            write(fd, buffer.baseAddress, buffer.count - 1) == buffer.count - 1
        }
        guard ok, fsync(fd) == 0 else {
            unlink(path)
            throw StorageError(kind: .storage, "cannot write the instance key file \(path); check free space")
        }
    }
}

/// There is no instance key, but the database was set up with one.
public struct MissingKey: Failure, Sendable {
    /// Where the key was looked for.
    public let path: String

    /// An error about the key missing at `path`.
    public init(path: String) {
        self.path = path
    }

    /// A configuration problem: exit 78.
    public var kind: FailureKind { .configuration }

    public var description: String {
        "there is no instance key at \(path), and this database was set up with one (its fingerprint is on record). "
            + "Restore that key (from the backup you keep with the database, or the credential that held it); a new key "
            + "would let people erased from the list be added again, so circulate does not make one"
    }
}
