#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells systemd how the daemon is doing (`sd_notify(3)`): READY=1 once it serves, STOPPING=1 when it shuts down.
///
/// The protocol is one datagram of newline-separated `KEY=VALUE` lines sent to the AF_UNIX socket named by
/// `$NOTIFY_SOCKET`, so a few socket calls replace a dependency on libsystemd. Outside systemd (no `$NOTIFY_SOCKET`)
/// every call does nothing and returns false, so the daemon can call it unconditionally.
public struct SystemdNotifier: Sendable {
    /// The bytes of `sun_path`, ready to copy: a NUL-terminated file path, or a leading NUL and the name for a socket
    /// in the abstract namespace. Nil when there is nowhere to send to.
    private let socketAddress: [UInt8]?

    /// Reads `NOTIFY_SOCKET` from `environment` (pass `ProcessInfo.processInfo.environment`).
    public init(environment: [String: String]) {
        socketAddress = environment["NOTIFY_SOCKET"].flatMap(Self.socketAddress(for:))
    }

    /// Whether systemd asked for notifications (a usable `$NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { socketAddress != nil }

    /// Sends one notification, e.g. "READY=1" or "STATUS=delivering 3 of 120"; returns whether it was sent.
    ///
    /// Several assignments may go in one call, separated by newlines. Never throws: a daemon must not fail because
    /// its supervisor cannot be told something.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketAddress, !state.isEmpty else { return false }
        let fd = socket(AF_UNIX, Self.datagramType, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in path.copyBytes(from: socketAddress) }
        // An abstract name is exactly as long as the length says (no terminator), so the length must be exact;
        // for a file path the count includes the terminating NUL, as libsystemd sends it.
        let length = socklen_t(Self.pathOffset + socketAddress.count)

        let payload = Array(state.utf8)
        while true {
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { destination in
                    payload.withUnsafeBytes { bytes in
                        sendto(fd, bytes.baseAddress, bytes.count, Self.sendFlags, destination, length)
                    }
                }
            }
            if sent == payload.count { return true }
            if sent < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// Says the daemon has finished starting (the queue is open); `status` is shown by `systemctl status`.
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        notify(["READY=1", status.map { "STATUS=" + Self.oneLine($0) }].compactMap { $0 }.joined(separator: "\n"))
    }

    /// Says the daemon has begun shutting down, so systemd shows "deactivating" rather than a failure.
    @discardableResult
    public func stopping() -> Bool {
        notify("STOPPING=1")
    }

    /// Sets the one-line status `systemctl status circulate` shows, e.g. "delivering 3 of 120".
    @discardableResult
    public func status(_ text: String) -> Bool {
        notify("STATUS=" + Self.oneLine(text))
    }

    /// A line break would start a new assignment in the datagram, so a status keeps to one line.
    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// The `sun_path` bytes for a `$NOTIFY_SOCKET` value, or nil if systemd would not accept it either.
    static func socketAddress(for value: String) -> [UInt8]? {
        let bytes = Array(value.utf8)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        switch bytes.first {
        case UInt8(ascii: "/"):
            // A file path needs room for its terminating NUL, and must not contain one.
            guard bytes.count < capacity, !bytes.contains(0) else { return nil }
            return bytes + [0]
        case UInt8(ascii: "@"):
            // "@name" means the abstract namespace: the kernel reads a leading NUL in sun_path as "not a file".
            guard bytes.count > 1, bytes.count <= capacity else { return nil }
            return [0] + bytes.dropFirst()
        default:
            // Relative paths are refused by libsystemd too; newer systemd's "vsock:" addresses are not supported.
            return nil
        }
    }

    /// Where `sun_path` starts inside `sockaddr_un` (after the family, and on BSDs the length byte).
    private static let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)
        ?? MemoryLayout<sa_family_t>.size

    #if canImport(Glibc)
    // Close-on-exec so a child process never inherits the socket; no SIGPIPE if systemd has gone away.
    private static let datagramType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let datagramType = SOCK_DGRAM
    private static let sendFlags: Int32 = 0
    #endif
}
