import Foundation

/// The per-message bounce address (VERP): the list's envelope sender with a bounce token added to its local part,
/// `community+2bn-<delivery id>-<mac>@example.org`. A report sent back to it names its delivery even when it quotes
/// nothing of the original, and since the token is signed, a forged report can at most name a delivery whose token
/// its author has seen (the one addressed to them).
enum BounceAddress {
    /// Headers of a report that carry the address it was sent to (the returned message's envelope sender).
    static let recipientFields = ["to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-original-recipient"]

    /// The envelope sender for one delivery: `base`'s local part, "+", the token; nil when the local part would pass
    /// the 64 characters SMTP allows (RFC 5321 §4.5.3.1.1), so the caller keeps the plain address.
    static func make(base: String, delivery: Int64, key: InstanceKey) -> String? {
        guard let at = base.lastIndex(of: "@") else { return nil }
        let local = "\(base[..<at])+\(key.write(LinkToken(.bounce, scope: .none, id: delivery)))"
        guard local.utf8.count <= 64 else { return nil }
        return local + base[at...]
    }

    /// The delivery a bounce address names, if it carries a token this instance made for a bounce address; nil for
    /// anything else (no token, altered, another purpose).
    static func deliveryID(in address: String, key: InstanceKey) -> Int64? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        let local = address[..<at]
        guard let plus = local.lastIndex(of: "+") else { return nil }
        let text = local[local.index(after: plus)...].lowercased()  // some servers change the case of local parts
        guard let token = key.read(text), token.purpose == .bounce, token.scope == .none else { return nil }
        return token.id
    }

    /// The addresses a message was delivered to (its recipient headers) and the envelope senders of the originals it
    /// returns (their Return-Path): where a bounce token can be.
    static func candidates(in message: MIMEEntity) -> [String] {
        var values = recipientFields.flatMap { message.fields($0) }
        for part in message.all.prefix(50) where ["message/rfc822", "message/global", "text/rfc822-headers"].contains(part.contentType.value) {
            values += part.parts.first?.fields("return-path") ?? []
        }
        var found: [String] = []
        for value in values.prefix(50) {
            let words = value.split(whereSeparator: { $0.isWhitespace || "<>,;\":()".contains($0) })
            found += words.lazy.filter { $0.contains("@") && $0.utf8.count <= 254 }.prefix(20).map(String.init)
        }
        return Array(found.prefix(100))
    }
}
