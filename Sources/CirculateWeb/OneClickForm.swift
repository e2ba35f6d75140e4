import Foundation

/// Reads the body of an RFC 8058 one-click unsubscribe POST, which mailbox providers send as
/// `application/x-www-form-urlencoded` or `multipart/form-data` (the RFC's own example), and which must carry the pair
/// `List-Unsubscribe=One-Click`.
enum OneClickForm {
    /// Whether `body`, sent with `contentType`, contains `List-Unsubscribe=One-Click`.
    static func isOneClick(body: [UInt8], contentType: String?) -> Bool {
        let type = (contentType ?? "").lowercased()
        if type.hasPrefix("multipart/form-data") {
            guard let boundary = boundary(in: contentType ?? "") else { return false }
            return multipartFields(body, boundary: boundary).contains { $0.name == "List-Unsubscribe" && $0.value == "One-Click" }
        }
        // Form encoding, also when a client sends no Content-Type: the RFC's key/value pair in the usual form.
        return urlEncodedFields(body).contains { $0.name == "List-Unsubscribe" && $0.value == "One-Click" }
    }

    /// The name/value pairs of an `application/x-www-form-urlencoded` body.
    static func urlEncodedFields(_ body: [UInt8]) -> [(name: String, value: String)] {
        body.split(separator: UInt8(ascii: "&")).compactMap { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]) else { return nil }
            let value = parts.count > 1 ? percentDecoded(parts[1]) : ""
            return value.map { (name, $0) }
        }
    }

    /// The text fields of a `multipart/form-data` body: each part's `name` parameter and its content.
    static func multipartFields(_ body: [UInt8], boundary: String) -> [(name: String, value: String)] {
        let delimiter = Array("--\(boundary)".utf8)
        var fields: [(name: String, value: String)] = []
        var parts: [ArraySlice<UInt8>] = []
        var start: Int?
        var index = 0
        while index + delimiter.count <= body.count {
            if body[index..<index + delimiter.count].elementsEqual(delimiter), index == 0 || body[index - 1] == 0x0A {
                if let start { parts.append(body[start..<index]) }
                index += delimiter.count
                if body[index...].starts(with: [0x2D, 0x2D]) { break }  // the close delimiter
                start = index
                continue
            }
            index += 1
        }
        for var part in parts {
            part = part.drop { $0 == 0x0D || $0 == 0x0A || $0 == 0x20 || $0 == 0x09 }
            guard let split = firstBlankLine(part) else { continue }
            let headers = String(decoding: part[part.startIndex..<split.lowerBound], as: UTF8.self)
            var content = part[split.upperBound...]
            // The line break before the next delimiter belongs to the delimiter.
            if content.last == 0x0A { content = content.dropLast() }
            if content.last == 0x0D { content = content.dropLast() }
            guard let name = dispositionName(headers) else { continue }
            fields.append((name, String(decoding: content, as: UTF8.self)))
        }
        return fields
    }

    /// The `boundary` parameter of a multipart Content-Type, quoted or not.
    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 70 ? nil : value
        }
        return nil
    }

    private static func firstBlankLine(_ bytes: ArraySlice<UInt8>) -> Range<Int>? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index...].starts(with: [0x0D, 0x0A, 0x0D, 0x0A]) { return index..<index + 4 }
            if bytes[index...].starts(with: [0x0A, 0x0A]) { return index..<index + 2 }
            index += 1
        }
        return nil
    }

    private static func dispositionName(_ headers: String) -> String? {
        for line in headers.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where line.lowercased().hasPrefix("content-disposition:") {
            for parameter in line.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "name" else { continue }
                var value = pair[1].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value
            }
        }
        return nil
    }

    /// Decodes "+" and "%XX" (form encoding); nil for a broken escape or bytes that are not UTF-8.
    static func percentDecoded(_ bytes: some Collection<UInt8>) -> String? {
        var out: [UInt8] = []
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): out.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                out.append(high << 4 | low)
            default: out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
