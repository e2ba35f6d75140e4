import CirculateCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a file the coordinator asked for (a preview), which holds personal data: 0600 from its first byte.
enum OutputFile {
    /// Writes `bytes` to `path`, creating it 0600, or replacing the contents of an existing file after narrowing its
    /// mode to 0600 first (an older file may have been 0644). A symbolic link at `path` is refused, so that the
    /// message never lands in whatever file the link points to.
    static func write(_ bytes: [UInt8], to path: String, what: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link; give the path of a file" : String(cString: strerror(errno))
            throw StorageError(kind: .unreadableInput, "cannot write the \(what) \(path) (\(reason)); check the folder exists and is writable")
        }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw StorageError(kind: .unreadableInput, "cannot make the \(what) \(path) private (mode 0600); check who owns it")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { writeSome(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw StorageError(kind: .unreadableInput, "cannot write the \(what) \(path) (\(String(cString: strerror(errno)))); check free space")
            }
            written += n
        }
    }
}

/// write(2), out of reach of `OutputFile.write`'s own name.
private func writeSome(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
