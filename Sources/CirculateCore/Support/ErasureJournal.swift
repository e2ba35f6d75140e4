import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An append-only record of erasures kept outside the database: keyed hashes and receipt references only, nothing
/// about the person. It is written and synced before an erasure commits, so that restoring a backup made before the
/// erasure can apply it again: a restore must never bring back someone who asked to be forgotten.
public struct ErasureJournal: Sendable {
    /// One erasure.
    public struct Entry: Codable, Sendable, Equatable {
        public var reference: String
        public var erasedAt: Date
        /// The keyed hashes of the address (see `InstanceKey.suppressionHashes`).
        public var hashes: [String]
    }

    /// The journal file.
    public let path: String

    /// A journal at `path` (created when the first erasure is written).
    public init(path: String) {
        self.path = path
    }

    /// Appends an entry and syncs it to disk before returning.
    public func append(_ entry: Entry) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var line = try encoder.encode(entry)
        line.append(0x0A)
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let existed = FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StorageError(kind: .storage, "cannot open the erasure journal \(path) (\(String(cString: strerror(errno)))); check storage.erasure_journal and the folder's permissions; nothing was erased")
        }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw StorageError(kind: .storage, "cannot write the erasure journal \(path) (disk full?); nothing was erased")
        }
        if !existed {
            // A new file's name must reach the disk too, or a power cut could lose the whole journal.
            let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY)
            if dir >= 0 { _ = fsync(dir); close(dir) }
        }
    }

    /// Every entry, oldest first; a line that cannot be read (a torn last write) is skipped.
    public func entries() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(Entry.self, from: Data($0)) }
    }
}
