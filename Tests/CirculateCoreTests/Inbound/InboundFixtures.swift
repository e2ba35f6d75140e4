import Foundation
@testable import CirculateCore

/// The inbound message fixtures (Tests/Fixtures/inbound), with the returned message's Message-ID and recipient filled in.
enum InboundFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/inbound")

    /// The fixture's text with CR LF line ends, as it arrives over IMAP.
    static func text(_ name: String, messageID: String = "returned-1@example.org", recipient: String = "kim@example.org",
                     bounceTo: String = "community@example.org") throws -> String {
        let raw = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        return raw.replacingOccurrences(of: "{{REPORT_ID}}", with: reportID(name, messageID: messageID, recipient: recipient))
            .replacingOccurrences(of: "{{MESSAGE_ID}}", with: messageID).replacingOccurrences(of: "{{RECIPIENT}}", with: recipient)
            .replacingOccurrences(of: "{{BOUNCE_TO}}", with: bounceTo).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// The report's own Message-ID local part: one per fixture, returned message and recipient (see the README).
    static func reportID(_ name: String, messageID: String, recipient: String) -> String {
        // FNV-1a of the two: stable across runs, and no address in the report's Message-ID.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (messageID + " " + recipient).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\(name.split(separator: ".").first ?? "report").\(String(hash, radix: 16))"
    }

    static func bytes(_ name: String, messageID: String = "returned-1@example.org", recipient: String = "kim@example.org") throws -> [UInt8] {
        Array(try text(name, messageID: messageID, recipient: recipient).utf8)
    }

    /// An email to the unsubscribe mailto, as a mail client writes it.
    static func unsubscribeEmail(subject: String, from: String = "kim@example.org", messageID: String = "unsub-1@example.org") -> String {
        """
        From: Kim Example <\(from)>\r
        To: community@example.org\r
        Subject: \(subject)\r
        Message-ID: <\(messageID)>\r
        Date: Tue, 1 Dec 2026 11:00:00 +0000\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        \r

        """
    }
}
