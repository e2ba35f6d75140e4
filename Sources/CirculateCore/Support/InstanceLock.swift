import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Only one `circulate serve` per database: a Linux open-file-description write lock on a lock file, held while the
/// daemon runs.
///
/// Two daemons on one queue would each claim and send the same batches; the CLI commands do not take this lock, since
/// SQLite's own locking already keeps their short transactions safe beside the daemon. A CLI command that wants to
/// know whether the daemon runs asks with `isHeld(path:)`, which never takes the lock: a question that took it, even
/// for a moment, could make a `serve` starting in that instant give up as "already running".
///
/// Why an open-file-description lock (`F_OFD_SETLK`): like flock(2), it belongs to the open file description, so the
/// kernel drops it when the last descriptor closes, which includes the process dying for any reason (kill -9, the
/// out-of-memory killer, a crash), and two descriptions conflict even inside one process. A stale lock therefore cannot
/// outlive its holder, and nothing has to guess whether a PID in a file still belongs to a circulate process. Unlike
/// flock(2) it can also be tested without being taken (`F_OFD_GETLK`), which is what the probe needs. Classic POSIX
/// record locks (`F_SETLK`) would not do: they belong to the process, so any close() of the file in the daemon, or a
/// probe in the same process, would silently drop them. The file itself stays behind, on purpose: deleting a lock file
/// races with a process that has just opened it.
public final class InstanceLock: @unchecked Sendable {
    /// The lock file ("<real database path>.lock" for the daemon).
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

    /// The lock file the daemon uses for the database at `databasePath`: "<real path of the database>.lock".
    ///
    /// Named from the real path because the lock protects the database file, not the name it was reached by: a second
    /// `serve` configured with a symlink to the database (or to its folder) must find the same lock file, or both would
    /// run on one queue. SQLite resolves symlinks the same way, so its -wal and -shm files sit beside the real file
    /// too. A database not created yet is named through its folder's real path; when even the folder is missing the
    /// path is kept as given, and taking the lock then fails with a message naming it.
    public static func lockPath(forDatabase databasePath: String) -> String {
        realPath(databasePath) + ".lock"
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

        var request = Self.wholeFile(F_WRLCK)
        var result: Int32
        repeat { result = fcntl(fd, Self.setLockCommand, &request) } while result != 0 && errno == EINTR
        guard result == 0 else {
            let code = errno
            // EAGAIN is what Linux returns for a conflict; EACCES is the other answer POSIX allows.
            let conflict = code == EAGAIN || code == EACCES
            let holder = conflict ? Self.readPID(fd) : nil
            close(fd)
            if conflict {
                throw InstanceLockError(.alreadyRunning(pid: holder), path: path)
            }
            throw InstanceLockError(.unusable(reason: Self.errorText(code)), path: path)
        }

        // The PID only makes the "already running" message useful; the lock itself is the fcntl lock, so failing
        // to write it (a full disk) is not a reason to refuse to start.
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
        // Unlock explicitly rather than rely on close(): a child that another thread is forking (Process, posix_spawn)
        // holds a copy of the descriptor until its exec closes it, and the lock belongs to the shared description, so
        // after close() alone it could outlive release() for that moment and refuse the next daemon.
        var request = Self.wholeFile(F_UNLCK)
        _ = fcntl(descriptor, Self.setLockCommand, &request)
        close(descriptor)
        descriptor = -1
    }

    /// Whether this value still holds the lock.
    public var isHeld: Bool {
        mutex.lock()
        defer { mutex.unlock() }
        return descriptor >= 0
    }

    /// Whether some process (this one included) holds the lock at `path`; never takes the lock, nor creates the file.
    ///
    /// A file that does not exist, or that cannot be opened or tested, reads as not held: an unusable lock file is no
    /// running daemon, and `acquire` reports the actual problem when `serve` starts.
    public static func isHeld(path: String) -> Bool {
        // Read-only is enough: F_OFD_GETLK only asks whether a write lock could be placed, and opening for reading
        // cannot create the file or change it. Close-on-exec, so a child started meanwhile does not inherit it.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        // Closing this descriptor is harmless to a holder in this process, unlike with process-owned POSIX locks.
        defer { close(fd) }
        var request = wholeFile(F_WRLCK)
        var result: Int32
        repeat { result = fcntl(fd, getLockCommand, &request) } while result != 0 && errno == EINTR
        // The kernel answers F_UNLCK when nothing would conflict; otherwise it describes the conflicting lock (with
        // l_pid -1 for open-file-description locks, so the PID, when wanted, comes from the file).
        return result == 0 && request.l_type != Int16(F_UNLCK)
    }

    #if os(Linux)
    // Glibc defines these only under _GNU_SOURCE, which Swift's Glibc module is not built with, so they are not
    // visible from Swift; the values are Linux's ABI (asm-generic/fcntl.h), the same on every architecture.
    private static let getLockCommand: Int32 = 36  // F_OFD_GETLK
    private static let setLockCommand: Int32 = 37  // F_OFD_SETLK (F_OFD_SETLKW, 38, would wait instead of failing)
    #else
    // Other systems have no open-file-description locks. An invalid command makes fcntl fail with EINVAL, so `serve`
    // refuses to start ("cannot lock ...") rather than run unprotected, and the probe answers "not running".
    private static let getLockCommand: Int32 = -1
    private static let setLockCommand: Int32 = -1
    #endif

    /// A request for the whole file, however long it grows (l_len 0); l_pid must be 0 for open-file-description locks.
    private static func wholeFile(_ type: Int32) -> flock {
        var request = flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0
        request.l_len = 0
        request.l_pid = 0
        return request
    }

    /// `path` with every symlink resolved; for a file that does not exist yet, its folder's real path and its name.
    /// (Also names the daemon's wake-up socket, which sits beside the lock file.)
    static func realPath(_ path: String) -> String {
        if let resolved = resolved(path) { return resolved }
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        guard let folder = resolved(url.deletingLastPathComponent().path) else { return path }
        return folder == "/" ? "/" + name : folder + "/" + name
    }

    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The PID the holder wrote, if the file holds one yet (the holder may be between locking and writing).
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
