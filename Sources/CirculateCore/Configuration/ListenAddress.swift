/// A host and TCP port to listen on, written "127.0.0.1:8080", "[::1]:8080" or "localhost:8080".
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// An IP address or host name, without brackets.
    public var host: String
    /// The TCP port (0 lets the system choose, for tests).
    public var port: Int

    /// A listen address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses "host:port"; nil when the text is not of that form or the port is out of range.
    public init?(parsing text: String) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        hostPart = hostPart.drop { $0 == " " }
        guard !hostPart.isEmpty, hostPart.utf8.allSatisfy({ SMTPRelayConfiguration.isHostByte($0) || $0 == UInt8(ascii: ":") }),
            !portPart.isEmpty, portPart.utf8.allSatisfy({ (0x30...0x39).contains($0) }), portPart.count <= 5,
            let port = Int(portPart), (0...65_535).contains(port)
        else { return nil }
        self.init(host: String(hostPart), port: port)
    }

    /// Whether only this machine can connect (loopback).
    public var isLoopback: Bool { SMTPRelayConfiguration.isLoopback(host) }

    /// "127.0.0.1:8080" or "[::1]:8080".
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
