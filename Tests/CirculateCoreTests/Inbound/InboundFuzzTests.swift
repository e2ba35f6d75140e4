import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import CirculateCore

/// A small, fast, seedable generator (SplitMix64), so that a failing case can be made again from its seed.
private struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated messages for the inbound reader: what hostile or broken mail can do to it.
private struct Mutator {
    var random: SeededGenerator

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func byte() -> UInt8 { UInt8.random(in: 0...255, using: &random) }

    /// The lines of a message, each with its line end.
    private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) + [0x0A] }
    }

    /// One mutation of `base`, and its name for the failure message.
    mutating func mutate(_ base: [UInt8]) -> (String, [UInt8]) {
        var bytes = base
        var pick = int(0..<11)
        // The large shapes cost the most to make and read: a third as often, so the whole run stays quick.
        if [4, 5, 8, 9].contains(pick), int(0..<3) != 0 { pick = 0 }
        switch pick {
        case 0:
            for _ in 0..<int(1..<40) where !bytes.isEmpty { bytes[int(0..<bytes.count)] ^= 1 << UInt8(int(0..<8)) }
            return ("bit flips", bytes)
        case 1:
            return ("truncated", Array(bytes.prefix(int(0..<(bytes.count + 1)))))
        case 2:
            var all = lines(bytes)
            let boundaries = all.indices.filter { all[$0].starts(with: [0x2D, 0x2D]) }
            if let pick = boundaries.randomElement(using: &random) { all.insert(all[pick], at: pick) }
            return ("duplicated boundary", all.flatMap { $0 })
        case 3:
            let all = lines(bytes)
            let kept = all.filter { !$0.starts(with: [0x2D, 0x2D]) || int(0..<2) == 0 }
            return ("removed boundaries", kept.flatMap { $0 })
        case 4:
            let long = Array("X-Long: ".utf8) + Array(repeating: UInt8(ascii: "a") + UInt8(int(0..<26)), count: int(20_000..<120_000)) + [0x0D, 0x0A]
            return ("huge header line", long + bytes)
        case 5:
            var folded = Array("Subject: unsubscribe".utf8)
            folded += Array(repeating: Array("\r\n x".utf8), count: int(1000..<5000)).flatMap { $0 }
            return ("huge folded header", folded + [0x0D, 0x0A] + bytes)
        case 6:
            for _ in 0..<int(1..<20) { bytes.insert(0, at: int(0..<(bytes.count + 1))) }
            return ("NUL bytes", bytes)
        case 7:
            var text = String(decoding: bytes, as: UTF8.self)
            let broken = ["Content-Transfer-Encoding: base64\r\n\r\n!!!*&^====", "=?utf-8?B?####?=", "=?x?Q?=ZZ=?=", "=\r\n=Z", "\u{FFFD}",
                          "Content-Type: multipart/mixed; boundary=\"\"", "Content-Type: multipart/report; report-type=feedback-report; boundary=\"x\""]
            for _ in 0..<int(1..<5) {
                let at = text.index(text.startIndex, offsetBy: int(0..<(text.count + 1)))
                text.insert(contentsOf: broken[int(0..<broken.count)], at: at)
            }
            var out = Array(text.utf8)
            for _ in 0..<int(0..<10) where !out.isEmpty { out[int(0..<out.count)] = 0xC0 | byte() }  // invalid UTF-8
            return ("broken encodings", out)
        case 8:
            return ("deep nesting", Self.nested(depth: int(10..<300), inner: bytes))
        case 9:
            var many = Array("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n".utf8)
            many += Array(repeating: Array("--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n".utf8), count: int(300..<1200)).flatMap { $0 }
            return ("many parts", many + bytes)
        default:
            // Splice two halves of the message at random points.
            let a = int(0..<(bytes.count + 1)), b = int(0..<(bytes.count + 1))
            return ("spliced", Array(bytes[..<a]) + Array(bytes[min(a, b)...]))
        }
    }

    /// `depth` multiparts (and attached messages) inside each other around `inner`.
    static func nested(depth: Int, inner: [UInt8]) -> [UInt8] {
        var head: [UInt8] = []
        var closings: [[UInt8]] = []
        for level in 0..<depth {
            if level % 3 == 2 {
                head += Array("Content-Type: message/rfc822\r\n\r\n".utf8)
            } else {
                head += Array("Content-Type: multipart/mixed; boundary=\"n\(level)\"\r\n\r\n--n\(level)\r\n".utf8)
                closings.append(Array("\r\n--n\(level)--\r\n".utf8))
            }
        }
        return head + inner + closings.reversed().flatMap { $0 }
    }

    mutating func randomBytes() -> [UInt8] { (0..<int(0..<4096)).map { _ in byte() } }
}

/// CPU seconds this thread has used: the cost of the work itself, whatever else the machine (or the suite, in
/// parallel) is doing, so that the time limits below catch a hang or a blow-up and not a busy machine.
private func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

@Suite("Inbound messages: random and mutated mail never crashes, hangs or acts beyond what it proves")
struct InboundFuzzTests {
    /// Members, deliveries and consent events as they stand: what fuzzing may change only for the person the intact
    /// fixtures name.
    private func snapshot(_ db: AppDatabase) throws -> (members: [Int64: String], deliveries: [Int64: String], consents: [Int64: Int]) {
        try db.pool.read { db in
            let members = try Row.fetchAll(db, sql: "SELECT * FROM member")
            let deliveries = try Row.fetchAll(db, sql: "SELECT id, state, failure FROM delivery")
            let consents = try Row.fetchAll(db, sql: "SELECT member_id, count(*) AS n FROM consent_event GROUP BY member_id")
            return (Dictionary(uniqueKeysWithValues: members.map { ($0["id"], "\($0)") }),
                    Dictionary(uniqueKeysWithValues: deliveries.map { ($0["id"], "\($0)") }),
                    Dictionary(uniqueKeysWithValues: consents.map { ($0["member_id"], $0["n"]) }))
        }
    }

    @Test("thousands of random and mutated messages: no crash, no hang, and only the person the intact messages name is changed")
    func fuzz() throws {
        let seed = ProcessInfo.processInfo.environment["CIRCULATE_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let w = try InboundWorld()
        let target = w.sent[0]
        let targetMember = try #require(target.memberID)
        // The intact messages: every fixture about the target's message, an unsubscribe email with their token, and a
        // bounce to their message's bounce address.
        var corpus: [[UInt8]] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: InboundFixtures.folder.path).filter { $0.hasSuffix(".eml") }.sorted()
        for name in names {
            corpus.append(try InboundFixtures.bytes(name, messageID: target.messageID, recipient: target.recipient))
        }
        let token = testKey.write(LinkToken(.unsubscribe, scope: .all, id: targetMember))
        corpus.append(Array(InboundFixtures.unsubscribeEmail(subject: "unsubscribe \(token)").utf8))
        let bounceTo = try #require(BounceAddress.make(base: "cop@example.org", delivery: target.deliveryID, key: testKey))
        corpus.append(Array(try InboundFixtures.text("gmail-bounce.eml", messageID: "none@example.org", recipient: target.recipient, bounceTo: bounceTo).utf8))
        let before = try snapshot(w.world.db)

        var mutator = Mutator(random: SeededGenerator(seed: seed))
        let started = threadCPUSeconds()
        var slowest = (0.0, "")
        var byShape: [String: Double] = [:]
        var uid: Int64 = 0
        for index in 0..<3000 {
            let (shape, bytes): (String, [UInt8]) = index % 5 == 0 ? ("random bytes", mutator.randomBytes())
                : mutator.mutate(corpus[mutator.int(0..<corpus.count)])
            let caseStart = threadCPUSeconds()
            let message = MIMEEntity(parsing: bytes)
            _ = message.all.count
            _ = InboundKind.of(message)
            // Every sixth case (random bytes among them) goes all the way through the processor and the database.
            if index % 6 == 5 {
                uid += 1
                let result = try w.processor.handle(bytes, at: w.place(uid), now: testNow.addingTimeInterval(600))
                #expect(result.record.memberID == nil || result.record.memberID == targetMember || result.record.state == .forCoordinator,
                        "seed \(seed), case \(index) (\(shape)): acted for member \(result.record.memberID ?? -1)")
            }
            let took = threadCPUSeconds() - caseStart
            byShape[shape, default: 0] += took
            if took > slowest.0 { slowest = (took, "case \(index) (\(shape), \(bytes.count) bytes)") }
        }
        let total = threadCPUSeconds() - started
        #expect(slowest.0 < 2, "seed \(seed): \(slowest.1) took \(slowest.0) s")
        #expect(total < 20, "seed \(seed): 3000 cases took \(total) CPU seconds: \(byShape)")

        // Only the target's member row, delivery and consent events may differ.
        let after = try snapshot(w.world.db)
        for (id, row) in before.members where id != targetMember {
            #expect(after.members[id] == row, "seed \(seed): member \(id) changed: \(row) → \(after.members[id] ?? "gone")")
        }
        for (id, row) in before.deliveries where id != target.deliveryID {
            #expect(after.deliveries[id] == row, "seed \(seed): delivery \(id) changed")
        }
        for (id, count) in after.consents where id != targetMember {
            #expect(before.consents[id] == count, "seed \(seed): consent events of member \(id) changed")
        }
        #expect(after.deliveries.count == before.deliveries.count, "seed \(seed)")
    }

    @Test("a message nested far deeper than the reader goes is read to its bound, fast, without exhausting the stack")
    func deepNesting() {
        let deep = Mutator.nested(depth: 20_000, inner: Array("Subject: x\r\n\r\nhello\r\n".utf8))
        let start = threadCPUSeconds()
        let message = MIMEEntity(parsing: deep)
        #expect(message.all.count <= MIMEEntity.maximumDepth + 1)
        #expect(InboundKind.of(message) == .other)
        #expect(threadCPUSeconds() - start < 5)
    }
}
