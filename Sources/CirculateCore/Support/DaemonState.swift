import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a running daemon tells the CLI without the CLI touching its lock: its process, and a problem it is riding
/// out (the database busy or failing). A small JSON file beside the database, replaced atomically, removed at a
/// clean stop; `queue status` reads it only while the daemon's lock is held.
public struct DaemonState: Codable, Sendable, Equatable {
    public var pid: Int32
    public var startedAt: Date
    /// What keeps the daemon from working, in words, if anything.
    public var problem: String?
    public var problemSince: Date?

    /// Creates a state.
    public init(pid: Int32, startedAt: Date, problem: String? = nil, problemSince: Date? = nil) {
        self.pid = pid
        self.startedAt = startedAt
        self.problem = problem
        self.problemSince = problemSince
    }

    /// The file for the database at `databasePath`.
    public static func path(forDatabase databasePath: String) -> String { databasePath + ".daemon" }

    /// Writes the state (mode 0600) so that a reader sees the old file or the new one, never half of one.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(self)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw StorageError(kind: .storage, "cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else { throw StorageError(kind: .storage, "cannot replace \(path)") }
    }

    /// The state in `path`, if there is a readable one.
    public static func read(path: String) -> DaemonState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DaemonState.self, from: data)
    }
}
