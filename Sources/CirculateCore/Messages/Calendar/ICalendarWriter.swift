import Foundation

/// Writes RFC 5545 content lines: TEXT escaping (§3.3.11), parameter quoting (§3.2), and folding at 75 octets (§3.1)
/// that never splits a UTF-8 character, with CRLF line ends.
struct ICalendarWriter {
    private(set) var bytes: [UInt8] = []

    /// A property with parameters (name, value already quoted as needed) and a value written as is.
    mutating func line(_ name: String, _ value: String, parameters: [(String, String)] = []) {
        var text = name
        for (key, parameterValue) in parameters { text += ";\(key)=\(parameterValue)" }
        text += ":" + value
        fold(Array(text.utf8))
    }

    /// A property whose value is TEXT, escaped.
    mutating func text(_ name: String, _ value: String, parameters: [(String, String)] = []) {
        line(name, Self.escape(value), parameters: parameters)
    }

    /// RFC 5545 §3.3.11: backslash, semicolon and comma are escaped; any line break becomes "\n".
    static func escape(_ value: String) -> String {
        var out = ""
        var previousWasCR = false
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\r": out += "\\n"
            case "\n": if !previousWasCR { out += "\\n" }
            default: out.unicodeScalars.append(scalar)
            }
            previousWasCR = scalar == "\r"
        }
        return out
    }

    /// RFC 5545 §3.2: a parameter value with ":", ";" or "," is quoted; DQUOTE cannot appear inside, so it becomes "'".
    static func parameter(_ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\"", with: "'")
        return clean.contains(where: { $0 == ":" || $0 == ";" || $0 == "," }) ? "\"\(clean)\"" : clean
    }

    /// Lines of at most 75 octets; continuation lines start with one space, and a cut never falls inside a UTF-8
    /// sequence (a continuation byte is 10xxxxxx).
    private mutating func fold(_ line: [UInt8]) {
        var start = 0
        var limit = 75
        while line.count - start > limit {
            var cut = start + limit
            while cut > start && (line[cut] & 0xC0) == 0x80 { cut -= 1 }
            bytes += line[start..<cut]
            bytes += [0x0D, 0x0A, 0x20]
            start = cut
            limit = 74  // the leading space counts towards the 75
        }
        bytes += line[start...]
        bytes += [0x0D, 0x0A]
    }

    /// The text, for callers that need a String.
    var string: String { String(decoding: bytes, as: UTF8.self) }
}
