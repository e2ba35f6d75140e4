import Crypto
import Foundation

/// The instance's 32-byte secret: it keys the erasure hashes and the tokens in messages' links (`LinkToken`).
///
/// Each use derives its own sub-key, so that a value made for one purpose can never be replayed as another.
public struct InstanceKey: Sendable {
    // Raw bytes rather than SymmetricKey, which is not Sendable; a SymmetricKey is cheap to rebuild per use.
    private let suppressionKey: [UInt8]
    private let unsubscribeKey: [UInt8]
    /// The unsubscribe MAC with its key already set up: the daemon makes a token for every message it sends.
    private let unsubscribeMAC: PreparedMAC
    /// The MAC of `LinkToken`s (version 2 on), under its own derived key.
    private let linkTokenMAC: PreparedMAC
    /// An HMAC of a fixed label under the key: it identifies the key (stored in the database, compared at every start)
    /// and reveals nothing of it.
    public let fingerprint: String

    /// The number of random bytes a key holds.
    public static let byteCount = 32

    /// Wraps raw key bytes; at least 32 are required.
    public init(bytes: [UInt8]) throws(SecretError) {
        guard bytes.count >= Self.byteCount else {
            throw SecretError("the instance key is too short (\(bytes.count) bytes; 32 are needed)")
        }
        suppressionKey = Self.subKey(bytes, purpose: "circulate suppression v1")
        unsubscribeKey = Self.subKey(bytes, purpose: "circulate unsubscribe v1")
        unsubscribeMAC = PreparedMAC(key: unsubscribeKey)
        linkTokenMAC = PreparedMAC(key: Self.subKey(bytes, purpose: "circulate link tokens v2"))
        fingerprint = Self.hex(Self.subKey(bytes, purpose: "circulate key fingerprint v1"))
    }

    /// Reads a key written as 64 hex digits (what `circulate init` writes) or as base64.
    public init(secret: Secret) throws(SecretError) {
        let text = String(decoding: secret.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = Self.hexBytes(text) {
            try self.init(bytes: bytes)
        } else if let data = Data(base64Encoded: text), data.count >= Self.byteCount {
            try self.init(bytes: Array(data))
        } else {
            throw SecretError("the instance key is not 64 hex digits or base64 of 32 bytes; "
                + "make a new one with `openssl rand -hex 32` only if no member was ever erased with the old one")
        }
    }

    /// 32 fresh random bytes from the system's secure generator, as the hex text stored in the key file.
    public static func generateText() -> String {
        let key = SymmetricKey(size: .bits256)
        return key.withUnsafeBytes { raw in hex(raw) }
    }

    /// The keyed hash kept after an erasure: it lets circulate recognise the address again without holding it.
    public func suppressionHash(for address: EmailAddress) -> String {
        hash(address.key)
    }

    /// Every hash an erasure of this address may have left: the NFC form's, and the form as typed (erasures made before
    /// addresses were normalised hashed the address as it was typed then; those cannot be recomputed).
    public func suppressionHashes(for address: EmailAddress) -> [String] {
        [hash(address.key)] + (address.typedKey.map { [hash($0)] } ?? [])
    }

    private func hash(_ key: String) -> String {
        Self.hex(HMAC<SHA256>.authenticationCode(for: Data(key.utf8), using: SymmetricKey(data: suppressionKey)))
    }

    /// A member's unsubscribe token, "<member id>-<MAC>": it names the member without their address, and only
    /// this instance can make or check one.
    public func unsubscribeToken(memberID: Int64) -> String {
        let mac = unsubscribeMAC.authenticationCode(for: Array("member:\(memberID)".utf8))
        return "\(memberID)-" + String(Self.hex(mac).prefix(24))
    }

    /// The full HMAC-SHA256 of `bytes` under the link-token key (link tokens, and values bound to one such as the web
    /// forms' guard; callers prefix their own label so that no value can stand for another).
    public func linkMAC(_ bytes: [UInt8]) -> [UInt8] {
        linkTokenMAC.authenticationCode(for: bytes)
    }

    /// Whether a token was made by `unsubscribeToken` for that member.
    public func memberID(fromUnsubscribeToken token: String) -> Int64? {
        guard let dash = token.firstIndex(of: "-"), let id = Int64(token[..<dash]) else { return nil }
        let expected = Array(unsubscribeToken(memberID: id).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return nil }
        // Constant-time comparison, so the MAC cannot be guessed byte by byte.
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0 ? id : nil
    }

    private static func subKey(_ key: [UInt8], purpose: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: SymmetricKey(data: key)))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let hi = iterator.next() {
            guard let lo = iterator.next(), let h = nibble(hi), let l = nibble(lo) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// HMAC-SHA256 (RFC 2104) with its key already absorbed into the inner and outer hash states, shared by every thread
/// that makes a token: each MAC then costs the hashing of the message and two finalisations.
///
/// swift-crypto's `HMAC<SHA256>` computes the same value, but through generic code that is not specialised for the
/// caller, so every call looks up type metadata and walks the message and the result through protocol witnesses: about
/// 10 µs a token, the largest single cost of composing a message in the daemon's profile. Here the library's SHA256 is
/// used through its non-generic entry points. `InstanceKeyTests` compares the two on random keys and messages.
///
/// Why @unchecked Sendable is sound: swift-crypto's hash states are copy-on-write; each MAC works on its own copies and
/// the prepared states are never updated.
struct PreparedMAC: @unchecked Sendable {
    private let inner: SHA256
    private let outer: SHA256

    /// Absorbs `key` (hashed first if longer than a block, as RFC 2104 says) into the two states.
    init(key: [UInt8]) {
        let blockSize = SHA256.blockByteCount
        var block = key.count > blockSize ? SHA256.hash(data: key).withUnsafeBytes { Array($0) } : key
        block += Array(repeating: 0, count: blockSize - block.count)
        var inner = SHA256()
        var outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5C }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// The 32-byte HMAC of `message`.
    func authenticationCode(for message: [UInt8]) -> [UInt8] {
        var inner = self.inner
        message.withUnsafeBytes { inner.update(bufferPointer: $0) }
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { Array($0) }
    }
}
