import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Only one `circulate serve` per database: an exclusive `flock(2)` on a lock file, held while the daemon runs.
///
/// Two daemons on one queue would each claim and send the same batches; the CLI commands do not take this lock, since
/// SQLite's own locking already keeps their short transactions safe beside the daemon.
///
/// Why flock: the kernel drops the lock when the last descriptor of the open file description closes, which includes
/// the process dying for any reason (kill -9, out-of-memory killer, a crash). A stale lock therefore cannot outlive
/// its holder, and nothing has to guess whether a PID in a file still belongs to a circulate process. The file itself
/// stays behind, on purpose: deleting a lock file races with a process that has just opened it.
public final class InstanceLock: @unchecked Sendable {
    /// The lock file ("<database path>.lock" for the daemon).
    public let path: String

    // Why @unchecked Sendable is sound: the one mutable field, the descriptor, is only read or changed under `mutex`.
    // Sendable lets a lifecycle Service (which must be Sendable) hold the lock for as long as it runs.
    private let mutex = NSLock()
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// The lock file the daemon uses for the database at `databasePath`.
    public static func lockPath(forDatabase databasePath: String) -> String {
        databasePath + ".lock"
    }

    /// Takes the lock at `path` (creating the file, mode 0600) or fails at once if another process holds it.
    ///
    /// Locks are per open file description, so a second `acquire` in the same process also fails while the first
    /// lock is held.
    public static func acquire(path: String) throws(InstanceLockError) -> InstanceLock {
        // Close-on-exec: a child the daemon started must not inherit the descriptor and keep the lock after the
        // daemon itself has died.
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw InstanceLockError(.unusable(reason: Self.errorText(errno)), path: path)
        }

        var result: Int32
        repeat { result = flock(fd, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        guard result == 0 else {
            let code = errno
            let holder = code == EWOULDBLOCK ? Self.readPID(fd) : nil
            close(fd)
            if code == EWOULDBLOCK {
                throw InstanceLockError(.alreadyRunning(pid: holder), path: path)
            }
            throw InstanceLockError(.unusable(reason: Self.errorText(code)), path: path)
        }

        // The PID only makes the "already running" message useful; the lock itself is the flock, so failing to
        // write it (a full disk) is not a reason to refuse to start.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return InstanceLock(path: path, descriptor: fd)
    }

    /// Lets another daemon start; calling it again does nothing. Also happens when the lock is deinitialised.
    public func release() {
        mutex.lock()
        defer { mutex.unlock() }
        guard descriptor >= 0 else { return }
        // Clear the PID first, so the file never names a process that no longer holds the lock after a clean stop.
        _ = ftruncate(descriptor, 0)
        // Closing the only descriptor drops the flock; an explicit LOCK_UN would add nothing.
        close(descriptor)
        descriptor = -1
    }

    /// Whether this value still holds the lock.
    public var isHeld: Bool {
        mutex.lock()
        defer { mutex.unlock() }
        return descriptor >= 0
    }

    /// The PID the holder wrote, if the file holds one yet (the holder may be between flock and write).
    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text).flatMap { $0 > 0 ? $0 : nil }
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Why the instance lock could not be taken.
public struct InstanceLockError: Failure, Sendable, Equatable {
    /// What went wrong.
    public enum Reason: Sendable, Equatable {
        /// Another process holds the lock; `pid` is the one it wrote, when it has written one.
        case alreadyRunning(pid: Int32?)
        /// The lock file cannot be created, opened or locked (permissions, a read-only or unsupported filesystem).
        case unusable(reason: String)
    }

    /// What went wrong.
    public let reason: Reason
    /// The lock file.
    public let path: String

    /// Creates an error about the lock file at `path`.
    public init(_ reason: Reason, path: String) {
        self.reason = reason
        self.path = path
    }

    /// Busy when another daemon runs (stopping it helps); a storage problem when the file itself is unusable.
    public var kind: FailureKind {
        switch reason {
        case .alreadyRunning: .busy
        case .unusable: .storage
        }
    }

    /// What happened and what to do, naming the database rather than the lock file where it can.
    public var description: String {
        switch reason {
        case .alreadyRunning(let pid):
            let holder = pid.map { "another circulate serve (pid \($0))" } ?? "another circulate serve"
            return "\(holder) is already running on \(database); stop it first (systemctl stop circulate)"
        case .unusable(let reason):
            return "cannot lock \(path) to make sure only one circulate serve runs on \(database) (\(reason)); "
                + "check that the folder exists and that it and the file belong to the user circulate serve runs as"
        }
    }

    private var database: String {
        path.hasSuffix(".lock") ? String(path.dropLast(".lock".count)) : path
    }
}
