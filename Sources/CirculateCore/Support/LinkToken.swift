import Crypto
import Foundation

/// What a token in a message lets whoever holds it ask for: the one format of every link and mailto circulate puts
/// in mail (the web pages and the mailbox reader both read it).
///
/// Written form (version 2): `2<purpose><scope>-<id>-<mac>`, e.g. `2um-1234-` followed by 32 hex digits, where
/// purpose is one letter (`u` unsubscribe, `p` preferences, `j` confirming a sign-up, `b` a bounce address), scope one
/// letter (`a` every stream, `m` monthly update, `s` session invitations, `r` reports, `n` none), id the member's (or the
/// sign-up's, or the message's) number in decimal, and mac the first 128 bits of an HMAC-SHA256 of the other three
/// under a key derived from the instance key. Only lower-case letters, digits and "-": it survives a URL path, a
/// Subject header, an SMTP local part and a person copying it by hand. The MAC covers purpose and scope, so a token
/// made for one purpose or stream cannot be replayed as another.
///
/// Version 1 (`<member id>-<24 hex digits>`, the unsubscribe tokens sent before this format) is still read: it means
/// "unsubscribe this member", with no stream named.
public struct LinkToken: Sendable, Hashable {
    /// What the holder may ask for.
    public enum Purpose: Character, Sendable, CaseIterable {
        /// Leave the scope's stream (or everything).
        case unsubscribe = "u"
        /// See and change one's streams.
        case preferences = "p"
        /// Confirm a sign-up made on the join page (the id is the pending sign-up's).
        case confirmJoin = "j"
        /// Match a returned message to its delivery (the id is the delivery's).
        case bounce = "b"
    }

    /// Which streams a token is about.
    public enum Scope: Sendable, Hashable {
        /// Every stream.
        case all
        /// One stream.
        case stream(MailStream)
        /// No stream (a sign-up confirmation, a bounce address).
        case none

        fileprivate var letter: Character {
            switch self {
            case .all: "a"
            case .none: "n"
            case .stream(.monthlyUpdate): "m"
            case .stream(.sessionInvitations): "s"
            case .stream(.reports): "r"
            }
        }

        fileprivate init?(letter: UInt8) {
            switch letter {
            case UInt8(ascii: "a"): self = .all
            case UInt8(ascii: "n"): self = .none
            case UInt8(ascii: "m"): self = .stream(.monthlyUpdate)
            case UInt8(ascii: "s"): self = .stream(.sessionInvitations)
            case UInt8(ascii: "r"): self = .stream(.reports)
            default: return nil
            }
        }
    }

    /// The format version a token was written in (1 or 2); tokens are always written in the newest.
    public let version: Int
    /// What the holder may ask for.
    public let purpose: Purpose
    /// Which streams.
    public let scope: Scope
    /// The member's number (the sign-up's for `confirmJoin`, the message's for `bounce`).
    public let id: Int64

    /// A token to write; always in the current version.
    public init(_ purpose: Purpose, scope: Scope, id: Int64) {
        self.init(version: LinkToken.currentVersion, purpose: purpose, scope: scope, id: id)
    }

    private init(version: Int, purpose: Purpose, scope: Scope, id: Int64) {
        self.version = version
        self.purpose = purpose
        self.scope = scope
        self.id = id
    }

    /// The version `InstanceKey.write` uses.
    public static let currentVersion = 2
    /// Longer text is never a token (a cheap bound before any work on untrusted input).
    public static let maximumLength = 64

    /// The bytes the MAC covers: version, purpose, scope and id, unambiguously delimited.
    fileprivate var signedBytes: [UInt8] {
        Array("circulate link \(version)|\(purpose.rawValue)|\(scope.letter)|\(id)".utf8)
    }

    /// The written form before the MAC: "2um-1234-".
    fileprivate var prefix: String {
        "\(version)\(purpose.rawValue)\(scope.letter)-\(id)-"
    }

    /// Reads the parts of a version 2 token without checking its MAC; nil for anything not in the exact form
    /// (upper-case hex, leading zeros or a sign in the id, a missing or extra part).
    fileprivate static func parseVersion2(_ bytes: [UInt8]) -> (token: LinkToken, mac: ArraySlice<UInt8>)? {
        guard bytes.count >= 6, bytes[0] == UInt8(ascii: "2"), bytes[3] == UInt8(ascii: "-"),
            let purpose = Purpose(rawValue: Character(Unicode.Scalar(bytes[1]))), let scope = Scope(letter: bytes[2])
        else { return nil }
        let rest = bytes[4...]
        guard let dash = rest.firstIndex(of: UInt8(ascii: "-")), let id = canonicalNumber(rest[..<dash]) else { return nil }
        let mac = rest[(dash + 1)...]
        guard mac.count == macHexDigits, mac.allSatisfy(isLowerHex) else { return nil }
        return (LinkToken(version: 2, purpose: purpose, scope: scope, id: id), mac)
    }

    /// Reads a version 1 token ("<id>-<24 hex>") without checking its MAC.
    fileprivate static func parseVersion1(_ bytes: [UInt8]) -> (id: Int64, mac: ArraySlice<UInt8>)? {
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")), let id = canonicalNumber(bytes[..<dash]) else { return nil }
        let mac = bytes[(dash + 1)...]
        guard mac.count == 24, mac.allSatisfy(isLowerHex) else { return nil }
        return (id, mac)
    }

    /// Hex digits of the MAC in a version 2 token (128 bits).
    fileprivate static let macHexDigits = 32

    /// A positive decimal number without sign or leading zeros, within Int64.
    private static func canonicalNumber(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 19, digits.first != UInt8(ascii: "0"),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int64(String(decoding: digits, as: UTF8.self))
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    /// Compares two MACs in time that depends only on their length, so a MAC cannot be found byte by byte.
    fileprivate static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension InstanceKey {
    /// The written form of `token`, in the current version.
    public func write(_ token: LinkToken) -> String {
        token.prefix + Self.hexDigits(of: linkMAC(token.signedBytes).prefix(LinkToken.macHexDigits / 2))
    }

    /// The token `text` stands for, if this instance made it; nil for anything else (unknown, altered, made under
    /// another key, malformed or too long), all alike, so that a caller treats them the same way.
    public func read(_ text: some StringProtocol) -> LinkToken? {
        let bytes = Array(text.utf8)
        guard bytes.count <= LinkToken.maximumLength else { return nil }
        if let (token, mac) = LinkToken.parseVersion2(bytes) {
            let expected = Self.hexDigits(of: linkMAC(token.signedBytes).prefix(LinkToken.macHexDigits / 2)).utf8
            return LinkToken.constantTimeEqual(expected, mac) ? token : nil
        }
        if let (id, mac) = LinkToken.parseVersion1(bytes) {
            let expected = unsubscribeToken(memberID: id).utf8.drop { $0 != UInt8(ascii: "-") }.dropFirst()
            return LinkToken.constantTimeEqual(expected, mac) ? LinkToken.version1(memberID: id) : nil
        }
        return nil
    }

    private static func hexDigits(of bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension LinkToken {
    /// What a version 1 token meant: unsubscribe the member, no stream named (the link said "unsubscribe").
    fileprivate static func version1(memberID: Int64) -> LinkToken {
        LinkToken(version: 1, purpose: .unsubscribe, scope: .all, id: memberID)
    }
}
