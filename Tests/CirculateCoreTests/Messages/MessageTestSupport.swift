import Foundation
@testable import CirculateCore

/// Small, deliberately naive readers for composed messages, so tests can assert on what a mail program would see.
/// They are written from the RFCs independently of the composer's code.
enum MessageReader {
    /// The message split at its first blank line.
    static func split(_ bytes: [UInt8]) -> (header: String, body: String) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let range = text.range(of: "\r\n\r\n") else { return (text, "") }
        return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
    }

    /// Header fields in order, each unfolded (RFC 5322 §2.2.3: remove every CRLF that precedes whitespace).
    static func fields(_ header: String) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for line in header.components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), let last = fields.indices.last {
                fields[last].value += line
            } else if let colon = line.firstIndex(of: ":") {
                let value = line[line.index(after: colon)...]
                fields.append((String(line[..<colon]), String(value.drop { $0 == " " })))
            }
        }
        return fields
    }

    /// The unfolded value of the only field called `name`; nil if there is none or more than one.
    static func field(_ name: String, in bytes: [UInt8]) -> String? {
        let matches = fields(split(bytes).header).filter { $0.name.lowercased() == name.lowercased() }
        return matches.count == 1 ? matches[0].value : nil
    }

    /// Decodes RFC 2047 encoded-words; whitespace between two adjacent encoded-words is dropped (§6.2).
    static func decodeEncodedWords(_ text: String) -> String {
        let pattern = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/
        var output = ""
        var rest = Substring(text)
        var previousWasEncoded = false
        while let match = rest.firstMatch(of: pattern) {
            let between = rest[..<match.range.lowerBound]
            if !(previousWasEncoded && between.allSatisfy(\.isWhitespace)) { output += between }
            let payload = String(match.output.3)
            let bytes: [UInt8]
            if match.output.2.uppercased() == "B" {
                bytes = Data(base64Encoded: payload).map(Array.init) ?? Array("<bad base64>".utf8)
            } else {
                bytes = decodeQuotedPrintable(payload.replacingOccurrences(of: "_", with: " "))
            }
            output += String(decoding: bytes, as: UTF8.self)
            rest = rest[match.range.upperBound...]
            previousWasEncoded = true
        }
        return output + rest
    }

    /// Decodes quoted-printable (RFC 2045 §6.7): "=XX" is a byte, "=" before CRLF is a soft line break.
    static func decodeQuotedPrintable(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "="), index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                index += 3
            } else if byte == UInt8(ascii: "="), index + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                output.append(value)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    /// One MIME entity: its header fields and its body, split into parts if it is a multipart.
    struct Entity {
        var fields: [(name: String, value: String)]
        var body: String
        var parts: [Entity]

        /// The unfolded value of a field, compared case-insensitively.
        func field(_ name: String) -> String? {
            fields.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// The media type, lower-cased, without parameters.
        var contentType: String {
            (field("Content-Type") ?? "text/plain").split(separator: ";")[0].trimmingCharacters(in: .whitespaces)
                .lowercased()
        }

        /// The body decoded according to Content-Transfer-Encoding.
        var decodedBody: [UInt8] {
            switch field("Content-Transfer-Encoding")?.lowercased() {
            case "quoted-printable": MessageReader.decodeQuotedPrintable(body)
            case "base64": Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: "")).map(Array.init) ?? []
            default: Array(body.utf8)
            }
        }

        /// The leaf parts in order.
        var leaves: [Entity] { parts.isEmpty ? [self] : parts.flatMap(\.leaves) }

        /// The tree of media types, e.g. "multipart/mixed(text/plain,application/pdf)".
        var structure: String {
            parts.isEmpty ? contentType : "\(contentType)(\(parts.map(\.structure).joined(separator: ",")))"
        }
    }

    /// Parses a message or body part; multipart bodies are split at their delimiters (RFC 2046 §5.1.1), with the CRLF
    /// before each delimiter belonging to the delimiter.
    static func entity(_ text: String) -> Entity {
        let (header, body): (String, String)
        // Careful: to String, "\r\n" is one Character, so byte offsets are taken on the UTF-8 view.
        if text.hasPrefix("\r\n") {
            (header, body) = ("", String(decoding: text.utf8.dropFirst(2), as: UTF8.self))
        } else if let range = text.range(of: "\r\n\r\n") {
            (header, body) = (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        } else {
            (header, body) = (text, "")
        }
        var entity = Entity(fields: fields(header), body: body, parts: [])
        guard entity.contentType.hasPrefix("multipart/"), let type = entity.field("Content-Type"),
            let match = type.firstMatch(of: /boundary="([^"]+)"/)
        else { return entity }
        let delimiter = "--" + match.output.1
        let framed = "\r\n" + body
        var pieces = framed.components(separatedBy: "\r\n" + delimiter)
        pieces.removeFirst()  // the (empty) preamble
        for piece in pieces where !piece.hasPrefix("--") {
            // Drop the CRLF that ends the delimiter line.
            entity.parts.append(self.entity(String(decoding: piece.utf8.dropFirst(2), as: UTF8.self)))
        }
        return entity
    }

    /// The message's lines without their CRLFs (the last, empty piece after the final CRLF is not a line).
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D, bytes[index + 1] == 0x0A {
                lines.append(bytes[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        return lines
    }

    /// Whether every CR is followed by LF and every LF preceded by CR.
    static func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0D, index + 1 >= bytes.count || bytes[index + 1] != 0x0A { return false }
            if byte == 0x0A, index == 0 || bytes[index - 1] != 0x0D { return false }
        }
        return true
    }

    /// Text with every CR, LF and CRLF written as CRLF.
    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }
}

/// Invented people and a fixed time for examples (example.org only, per the project's data hygiene rule).
enum Sample {
    static let date = Date(timeIntervalSince1970: 1_795_378_500)  // Sun, 22 Nov 2026 20:15:00 UTC

    static func address(_ text: String) -> EmailAddress {
        do { return try EmailAddress(text) } catch { fatalError("bad sample address \(text): \(error)") }
    }

    static let list = Mailbox(displayName: "Stoke CoP", address: address("cop@lists.example.org"))
    static let ann = Mailbox(displayName: "Ann Example", address: address("ann@example.org"))

    static let listHeaders: [OutgoingMessage.HeaderField] = [
        .init("List-Id", "Stoke Community of Practice <cop.lists.example.org>"),
        .init("List-Unsubscribe", "<https://lists.example.org/u/3f9a>, <mailto:leave+3f9a@lists.example.org>"),
        .init("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        .init("Auto-Submitted", "auto-generated"),
        .init("Precedence", "bulk"),
    ]

    static func message(
        from: Mailbox = list, replyTo: [Mailbox] = [], to: Mailbox = ann, subject: String = "Monthly update",
        extraHeaders: [OutgoingMessage.HeaderField] = [], text: String = "Hello Ann,\n",
        html: String? = nil, attachments: [Attachment] = []
    ) -> OutgoingMessage {
        OutgoingMessage(
            from: from, replyTo: replyTo, to: to, subject: subject, date: date,
            messageID: "20261122.abc123@lists.example.org", extraHeaders: extraHeaders, textBody: text,
            htmlBody: html, attachments: attachments)
    }
}

/// A small deterministic generator (SplitMix64), so "random" inputs are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
