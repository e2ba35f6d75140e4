import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a command tells a running daemon that it queued or changed work: one tiny datagram on a Unix socket beside
/// the database ("<real path of the database>.wake"), which `serve` listens on.
///
/// The signal only saves time. A command sends without waiting and ignores every failure (no daemon, a socket left
/// by a daemon that was killed, a full buffer), because the daemon's poll finds the work anyway, a second later.
/// A datagram socket needs no connection and no protocol: the datagram's content is never read, only its arrival.
/// Why not GRDB's observation: it cannot see another process's commits.
public enum WakeSignal {
    /// The socket for the database at `databasePath`: "<real path of the database>.wake", beside the daemon's lock
    /// file, so that a command reaching the database through a symlink finds the daemon's socket too.
    public static func path(forDatabase databasePath: String) -> String {
        InstanceLock.realPath(databasePath) + ".wake"
    }

    /// Wakes the daemon listening at `path`, if there is one; never blocks, never fails, never says anything.
    public static func send(path: String) {
        guard var address = socketAddress(path) else { return }
        let fd = socket(AF_UNIX, socketType, 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var byte: UInt8 = 1
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Listens at `path` and calls `onWake` (on a queue of its own) each time commands have sent something; nil when
    /// it cannot, which the log says once: the daemon then relies on its poll.
    ///
    /// Call it only while holding the daemon's lock: a socket file already at `path` is taken to be left by a daemon
    /// that died, and replaced.
    public static func listen(path: String, logger: Logger, onWake: @escaping @Sendable () -> Void) -> Listener? {
        let fallback = "commands are noticed by the daemon's poll instead of at once"
        guard var address = socketAddress(path) else {
            logger.info("the wake-up socket's path \(path) is longer than a Unix socket allows (\(maximumPathLength) bytes); \(fallback)")
            return nil
        }
        var existing = stat()
        if lstat(path, &existing) == 0 {
            guard existing.st_mode & S_IFMT == S_IFSOCK else {
                logger.warning("\(path) is in the way of the wake-up socket and is not a socket, so it is left alone; \(fallback)")
                return nil
            }
            // Left by a daemon that was killed: we hold the lock, so no other daemon listens on it.
            unlink(path)
        }
        let fd = socket(AF_UNIX, socketType, 0)
        guard fd >= 0 else {
            logger.warning("cannot make the wake-up socket (\(errorText(errno))); \(fallback)")
            return nil
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // bind() creates the file with the umask's mode; only circulate's own user may wake the daemon.
        guard bound == 0, chmod(path, 0o600) == 0, lstat(path, &existing) == 0 else {
            logger.warning("cannot listen on the wake-up socket \(path) (\(errorText(errno))); \(fallback)")
            close(fd)
            return nil
        }
        return Listener(fd: fd, path: path, device: existing.st_dev, inode: existing.st_ino, onWake: onWake)
    }

    /// A daemon's open wake-up socket.
    public final class Listener: @unchecked Sendable {
        // Why @unchecked Sendable is sound: every stored property is a constant, and libdispatch lets a source be
        // cancelled from any thread (Linux's Dispatch module does not mark the protocol Sendable).
        private let source: any DispatchSourceRead
        private let path: String
        private let device: UInt64
        private let inode: UInt64

        fileprivate init(fd: Int32, path: String, device: dev_t, inode: ino_t, onWake: @escaping @Sendable () -> Void) {
            self.path = path
            self.device = UInt64(device)
            self.inode = UInt64(inode)
            source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "circulate-wake"))
            source.setEventHandler {
                // Several commands in a row make one wake-up: read everything waiting, then wake once.
                var buffer = [UInt8](repeating: 0, count: 16)
                while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) >= 0 {}
                onWake()
            }
            source.setCancelHandler { close(fd) }
            source.resume()
        }

        /// Stops listening and removes the socket file (unless something else has taken its place).
        public func stop() {
            source.cancel()
            var current = stat()
            if lstat(path, &current) == 0 && UInt64(current.st_dev) == device && UInt64(current.st_ino) == inode {
                unlink(path)
            }
        }
    }

    // MARK: - Addresses

    /// sun_path holds 108 bytes on Linux, the terminating NUL included.
    static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    #if os(Linux)
    private static let socketType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    #else
    private static let socketType = SOCK_DGRAM
    #endif

    /// The address for `path`, or nil when the path does not fit.
    private static func socketAddress(_ path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumPathLength, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return address
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
