import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
