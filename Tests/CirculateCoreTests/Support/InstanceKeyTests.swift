@testable import CirculateCore
import Crypto
import Foundation
import Testing

@Suite("The instance key's unsubscribe tokens")
struct InstanceKeyTokenTests {
    static let bytes = Array(repeating: UInt8(7), count: 32)

    /// The token as the first releases made it: an HMAC computed from scratch for each member.
    static func reference(_ memberID: Int64) -> String {
        let subKey = Array(HMAC<SHA256>.authenticationCode(for: Data("circulate unsubscribe v1".utf8), using: SymmetricKey(data: bytes)))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("member:\(memberID)".utf8), using: SymmetricKey(data: subKey))
        return "\(memberID)-" + mac.map { String(format: "%02x", $0) }.joined().prefix(24)
    }

    @Test("tokens made from the prepared key are the ones already in people's inboxes, on many threads at once")
    func sameTokens() async throws {
        let key = try InstanceKey(bytes: Self.bytes)
        #expect(key.unsubscribeToken(memberID: 42) == Self.reference(42))
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var bad = 0
                    for id in Int64(worker * 500)..<Int64(worker * 500 + 500) where key.unsubscribeToken(memberID: id) != Self.reference(id) {
                        bad += 1
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        #expect(key.memberID(fromUnsubscribeToken: Self.reference(1234)) == 1234)
        #expect(key.memberID(fromUnsubscribeToken: "1234-000000000000000000000000") == nil)
    }
}

@Suite("HMAC-SHA256 with a prepared key")
struct PreparedMACTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("RFC 4231's test cases: short key, key shorter than the block, key longer than the block")
    func rfc4231() {
        // Test case 1: key 20 x 0x0b, "Hi There".
        #expect(Self.hex(PreparedMAC(key: Array(repeating: 0x0B, count: 20)).authenticationCode(for: Array("Hi There".utf8)))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        // Test case 2: key "Jefe".
        #expect(Self.hex(PreparedMAC(key: Array("Jefe".utf8)).authenticationCode(for: Array("what do ya want for nothing?".utf8)))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Test case 6: a 131-byte key, hashed first.
        #expect(Self.hex(PreparedMAC(key: Array(repeating: 0xAA, count: 131))
            .authenticationCode(for: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("the same MAC as swift-crypto's HMAC for random keys (0 to 130 bytes) and messages (0 to 300), reused from many threads")
    func matchesLibrary() async {
        var random = SplitMix64(state: 20261204)  // the same inputs on every run
        var cases: [(key: [UInt8], messages: [[UInt8]])] = []
        for _ in 0..<200 {
            let key = (0..<Int.random(in: 0...130, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let messages = (0..<20).map { _ in
                (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            cases.append((key, messages))
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for (key, messages) in cases {
                let prepared = PreparedMAC(key: key)
                for _ in 0..<2 {
                    group.addTask {
                        messages.filter { message in
                            prepared.authenticationCode(for: message)
                                != Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                        }.count
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
