import Foundation

/// One part of an inbound message (or the whole message): its header fields and body, and for a multipart or an
/// attached message, the parts inside.
///
/// A tolerant reader for mail nobody vouches for: it never throws and never traps. Malformed structure is read as far
/// as it makes sense (a missing boundary ends the part, a broken encoding yields what decodes); depth and the number
/// of parts are bounded so that a hostile message costs little.
struct MIMEEntity: Sendable {
    /// Header fields in order: lower-cased name, unfolded value (bytes outside ASCII read as UTF-8, or Latin-1).
    let fields: [(name: String, value: String)]
    /// The body as it came, before any transfer decoding.
    let body: ArraySlice<UInt8>
    /// The parts of a multipart, or the one attached message of a message/rfc822 (or its headers alone, for
    /// text/rfc822-headers).
    let parts: [MIMEEntity]

    /// Nesting deeper than this is read as an opaque body.
    static let maximumDepth = 8
    /// At most this many parts are read in all; the rest are ignored.
    static let maximumParts = 200

    /// Parses a message.
    init(parsing bytes: [UInt8]) {
        var budget = Self.maximumParts
        self.init(bytes[...], depth: 0, budget: &budget)
    }

    private init(_ bytes: ArraySlice<UInt8>, depth: Int, budget: inout Int, headersOnly: Bool = false) {
        let (fields, bodyStart) = Self.readFields(bytes)
        self.fields = fields
        body = headersOnly ? bytes[bytes.endIndex...] : bytes[bodyStart...]
        guard depth < Self.maximumDepth, budget > 0, !headersOnly else {
            parts = []
            return
        }
        let type = Self.contentType(fields)
        if type.value.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], !boundary.isEmpty {
            var found: [MIMEEntity] = []
            for slice in Self.split(bytes[bodyStart...], boundary: Array(boundary.utf8)) {
                guard budget > 0 else { break }
                budget -= 1
                found.append(MIMEEntity(slice, depth: depth + 1, budget: &budget))
            }
            parts = found
        } else if type.value == "message/rfc822" || type.value == "message/global" || type.value == "text/rfc822-headers" {
            budget -= 1
            let inner = Self.decode(bytes[bodyStart...], encoding: Self.field("content-transfer-encoding", in: fields))
            parts = [MIMEEntity(inner[...], depth: depth + 1, budget: &budget, headersOnly: type.value == "text/rfc822-headers")]
        } else {
            parts = []
        }
    }

    // MARK: - Reading

    /// The first field with this (lower-case) name.
    func field(_ name: String) -> String? { Self.field(name, in: fields) }

    /// Every field with this name.
    func fields(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// The media type, lower-cased ("text/plain" when absent), and its parameters (names lower-cased).
    var contentType: (value: String, parameters: [String: String]) { Self.contentType(fields) }

    /// The body with its transfer encoding undone.
    var decodedBody: [UInt8] { Self.decode(body, encoding: field("content-transfer-encoding")) }

    /// The decoded body as text (UTF-8, else Latin-1).
    var text: String { Self.string(decodedBody[...]) }

    /// This entity and every one inside it, depth first.
    var all: [MIMEEntity] { [self] + parts.flatMap(\.all) }

    /// The Message-ID without angle brackets, if the field has one.
    static func messageID(_ value: String?) -> String? {
        guard let value else { return nil }
        guard let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") else {
            let bare = value.trimmingCharacters(in: .whitespaces)
            return bare.isEmpty || bare.contains(" ") ? nil : bare
        }
        let id = value[value.index(after: open)..<close]
        return id.isEmpty || id.count > 250 ? nil : String(id)
    }

    // MARK: - Building blocks

    static func field(_ name: String, in fields: [(name: String, value: String)]) -> String? {
        fields.first { $0.name == name }?.value
    }

    static func contentType(_ fields: [(name: String, value: String)]) -> (value: String, parameters: [String: String]) {
        guard let raw = field("content-type", in: fields) else { return ("text/plain", [:]) }
        let pieces = splitParameters(raw)
        let value = (pieces.first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var v = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"") }
            if parameters[name] == nil { parameters[name] = v }
        }
        return (value.isEmpty ? "text/plain" : value, parameters)
    }

    /// Splits "type; a=b; c=\"d;e\"" at the semicolons outside quotes.
    private static func splitParameters(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\" && quoted { current.append(c); escaped = true; continue }
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted { pieces.append(current); current = ""; continue }
            current.append(c)
        }
        pieces.append(current)
        return pieces
    }

    /// Reads header fields up to the first empty line; returns them and where the body starts.
    private static func readFields(_ bytes: ArraySlice<UInt8>) -> ([(name: String, value: String)], Int) {
        var fields: [(name: String, value: String)] = []
        var index = bytes.startIndex
        var current: [UInt8] = []
        func flush() {
            defer { current.removeAll(keepingCapacity: true) }
            guard let colon = current.firstIndex(of: UInt8(ascii: ":")), colon > 0, fields.count < 500 else { return }
            let name = string(current[..<colon]).trimmingCharacters(in: .whitespaces).lowercased()
            let value = string(current[(colon + 1)...]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" ") else { return }
            fields.append((name, String(value.prefix(10_000))))
        }
        while index < bytes.endIndex {
            var lineEnd = index
            while lineEnd < bytes.endIndex, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var contentEnd = lineEnd
            if contentEnd > index, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let next = min(lineEnd + 1, bytes.endIndex)
            if contentEnd == index {
                flush()
                return (fields, next)  // the empty line: the body follows
            }
            let first = bytes[index]
            if first == 0x20 || first == 0x09 {
                if current.count < 20_000 { current.append(0x20); current.append(contentsOf: bytes[index..<contentEnd].drop { $0 == 0x20 || $0 == 0x09 }) }
            } else {
                flush()
                current.append(contentsOf: bytes[index..<contentEnd].prefix(20_000))
            }
            index = next
        }
        flush()
        return (fields, bytes.endIndex)
    }

    /// The parts between "--boundary" lines, up to "--boundary--" (or the end, for a message cut short).
    private static func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--".utf8) + boundary
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var index = body.startIndex
        while index < body.endIndex {
            var lineEnd = index
            while lineEnd < body.endIndex, body[lineEnd] != 0x0A { lineEnd += 1 }
            let line = body[index..<lineEnd]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let closing = rest.starts(with: Array("--".utf8))
                let trailing = closing ? rest.dropFirst(2) : rest
                if trailing.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    if let start = partStart {
                        // The CR LF before the delimiter belongs to the delimiter (RFC 2046 §5.1.1).
                        var end = index
                        if end > start, body[end - 1] == 0x0A { end -= 1 }
                        if end > start, body[end - 1] == 0x0D { end -= 1 }
                        parts.append(body[start..<end])
                    }
                    if closing { return parts }
                    partStart = min(lineEnd + 1, body.endIndex)
                }
            }
            index = lineEnd + 1
        }
        if let start = partStart, start < body.endIndex { parts.append(body[start..<body.endIndex]) }
        return parts
    }

    /// Undoes base64 or quoted-printable; anything else is returned as it is.
    static func decode(_ body: ArraySlice<UInt8>, encoding: String?) -> [UInt8] {
        switch encoding?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "base64":
            let clean = body.filter { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
            }
            var padded = clean
            while padded.count % 4 != 0 { padded.append(UInt8(ascii: "=")) }
            return Data(base64Encoded: Data(padded)).map(Array.init) ?? []
        case "quoted-printable":
            var out: [UInt8] = []
            out.reserveCapacity(body.count)
            var index = body.startIndex
            while index < body.endIndex {
                let byte = body[index]
                if byte == UInt8(ascii: "="), index + 1 < body.endIndex {
                    if body[index + 1] == 0x0A { index += 2; continue }
                    if body[index + 1] == 0x0D, index + 2 < body.endIndex, body[index + 2] == 0x0A { index += 3; continue }
                    if index + 2 < body.endIndex, let high = hexValue(body[index + 1]), let low = hexValue(body[index + 2]) {
                        out.append(high << 4 | low)
                        index += 3
                        continue
                    }
                }
                out.append(byte)
                index += 1
            }
            return out
        default:
            return Array(body)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// UTF-8 if the bytes are valid UTF-8, else Latin-1 (every byte a character), so no input is ever refused.
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
