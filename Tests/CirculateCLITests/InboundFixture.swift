import Foundation

/// The inbound message fixtures (Tests/Fixtures/inbound) with their placeholders filled in, for the end-to-end tests:
/// the returned message's Message-ID and recipient, the address the report went back to, and the report's own
/// Message-ID, one per fixture, returned message and recipient (the fixtures' README says why).
enum InboundFixture {
    static func text(_ name: String, messageID: String, recipient: String, bounceTo: String = "cop@example.org") throws -> String {
        // FNV-1a of the two: stable across runs, and no address in the report's Message-ID.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (messageID + " " + recipient).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let reportID = "\(name.split(separator: ".").first ?? "report").\(String(hash, radix: 16))"
        return try String(contentsOf: CLI.root.appendingPathComponent("Tests/Fixtures/inbound/\(name)"), encoding: .utf8)
            .replacingOccurrences(of: "{{REPORT_ID}}", with: reportID)
            .replacingOccurrences(of: "{{MESSAGE_ID}}", with: messageID).replacingOccurrences(of: "{{RECIPIENT}}", with: recipient)
            .replacingOccurrences(of: "{{BOUNCE_TO}}", with: bounceTo)
    }
}
