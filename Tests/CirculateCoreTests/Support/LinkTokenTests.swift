@testable import CirculateCore
import Crypto
import Foundation
import Testing

@Suite("Link tokens: one format for every link and mailto")
struct LinkTokenTests {
    static let bytes = Array(repeating: UInt8(7), count: 32)

    /// The written form computed from the format's description alone, not through `InstanceKey`.
    static func reference(purpose: String, scope: String, id: Int64, keyBytes: [UInt8] = bytes) -> String {
        let subKey = Array(HMAC<SHA256>.authenticationCode(for: Data("circulate link tokens v2".utf8), using: SymmetricKey(data: keyBytes)))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("circulate link 2|\(purpose)|\(scope)|\(id)".utf8), using: SymmetricKey(data: subKey))
        return "2\(purpose)\(scope)-\(id)-" + mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    static let allScopes: [(LinkToken.Scope, String)] = [
        (.all, "a"), (.none, "n"), (.stream(.monthlyUpdate), "m"), (.stream(.sessionInvitations), "s"), (.stream(.reports), "r"),
    ]

    @Test("every purpose and scope is written as the format says and read back as itself")
    func roundTrip() throws {
        let key = try InstanceKey(bytes: Self.bytes)
        for purpose in LinkToken.Purpose.allCases {
            for (scope, letter) in Self.allScopes {
                for id: Int64 in [1, 42, 9_999_999, Int64.max] {
                    let token = LinkToken(purpose, scope: scope, id: id)
                    let written = key.write(token)
                    #expect(written == Self.reference(purpose: String(purpose.rawValue), scope: letter, id: id))
                    #expect(written.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D })
                    #expect(written.utf8.count <= LinkToken.maximumLength)
                    let read = try #require(key.read(written))
                    #expect(read == token)
                    #expect(read.version == 2)
                }
            }
        }
    }

    @Test("a token changed in any one character, or made for another purpose, stream or member, is refused")
    func tamperingRefused() throws {
        let key = try InstanceKey(bytes: Self.bytes)
        let written = Array(key.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: 1234)).utf8)
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz-".utf8)
        var accepted = 0
        for index in written.indices {
            for replacement in alphabet where replacement != written[index] {
                var changed = written
                changed[index] = replacement
                if let token = key.read(String(decoding: changed, as: UTF8.self)) {
                    accepted += 1
                    Issue.record("accepted \(String(decoding: changed, as: UTF8.self)) as \(token)")
                }
            }
        }
        #expect(accepted == 0)
        // The MAC of one token moved onto another's parts: a preferences link cannot unsubscribe, a monthly-update
        // link cannot leave everything, one member's cannot act on another.
        let mac = String(decoding: written.suffix(32), as: UTF8.self)
        for forged in ["2pm-1234-\(mac)", "2ua-1234-\(mac)", "2um-1235-\(mac)", "2jm-1234-\(mac)"] {
            #expect(key.read(forged) == nil, "\(forged)")
        }
    }

    @Test("tokens made under another instance's key, malformed or oversized text are all refused alike")
    func foreignAndMalformed() throws {
        let key = try InstanceKey(bytes: Self.bytes)
        let other = Self.reference(purpose: "u", scope: "a", id: 7, keyBytes: Array(repeating: 9, count: 32))
        let good = key.write(LinkToken(.unsubscribe, scope: .all, id: 7))
        let cases = [
            other, "", "2", "2ua", "2ua-7", "2ua-7-", "2ua--\(good.suffix(32))", "2ua-07-\(good.suffix(32))",
            "2ua-+7-\(good.suffix(32))", "2ua-7-\(good.suffix(32).uppercased())", "2ua-7-\(good.suffix(31))",
            good + "0", good + "\n", " " + good, "3ua-7-\(good.suffix(32))", "2xa-7-\(good.suffix(32))",
            "2uz-7-\(good.suffix(32))", "2ua-99999999999999999999-\(good.suffix(32))", String(repeating: "1", count: 10_000),
            "2ua-7-\(good.suffix(32))-extra",
        ]
        for text in cases {
            #expect(key.read(text) == nil, "\(text.prefix(80))")
        }
        #expect(key.read(good) == LinkToken(.unsubscribe, scope: .all, id: 7))
    }

    @Test("the unsubscribe tokens already in people's inboxes (version 1) still read, as 'unsubscribe this member'")
    func version1StillRead() throws {
        let key = try InstanceKey(bytes: Self.bytes)
        let old = InstanceKeyTokenTests.reference(1234)
        let read = try #require(key.read(old))
        #expect(read.version == 1)
        #expect(read.purpose == .unsubscribe)
        #expect(read.scope == .all)
        #expect(read.id == 1234)
        #expect(key.read("1234-000000000000000000000000") == nil)
        #expect(key.read("1235" + old.dropFirst(4)) == nil)
        // Made under another key: refused.
        let otherKey = try InstanceKey(bytes: Array(repeating: 9, count: 32))
        #expect(otherKey.read(old) == nil)
    }
}
