import Foundation

/// Who the client of a request is, for rate limits: the TCP peer, or, when the peer is one of `web.trusted_proxies`,
/// the client the proxies name in `X-Forwarded-For`. Each proxy appends the address it received the request from, so
/// the list is read from the right and the first address that is not a trusted proxy is the client; anything to its
/// left was written by the client itself and may be forged.
enum ClientAddress {
    /// The client's IP address as text ("" when the peer is unknown).
    static func resolve(peer: String?, forwardedFor: [String], trustedProxies: [String]) -> String {
        guard let peer = peer.map(normalised) else { return "" }
        let trusted = Set(trustedProxies.map(normalised))
        guard trusted.contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
            .map { normalised($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !trusted.contains(hop) { return hop }
        return hops.first ?? peer
    }

    /// One spelling per address: IPv4-mapped IPv6 as IPv4, lower-case hex, no brackets or zone.
    static func normalised(_ text: some StringProtocol) -> String {
        var address = text.lowercased()
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") { address = String(address[address.index(after: address.startIndex)..<end]) }
        if let zone = address.firstIndex(of: "%") { address = String(address[..<zone]) }
        if address.hasPrefix("::ffff:"), address.contains(".") { address = String(address.dropFirst(7)) }
        return address
    }
}
