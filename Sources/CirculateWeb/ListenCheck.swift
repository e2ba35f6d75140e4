import CirculateCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks before start-up that the web listeners can bind, so that a port already in use stops the daemon with a
/// message naming the setting rather than ending the running service group later.
public enum ListenCheck {
    /// Throws a configuration error naming `setting` when `address` cannot be bound now.
    public static func check(_ address: ListenAddress, setting: String) throws(ConfigurationError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw ConfigurationError(file: nil, "\(setting) = \"\(address)\": the host cannot be resolved (\(String(cString: gai_strerror(resolved))))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }  // no socket to test with; the server itself will say what is wrong
        defer { close(fd) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let reason = String(cString: strerror(errno))
            throw ConfigurationError(file: nil, "\(setting) = \"\(address)\" cannot be used: \(reason); stop what uses that port or choose another in [web]")
        }
    }
}
