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
