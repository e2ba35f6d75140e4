import Foundation

/// Rules for free text that people type and that may later reach a message header: names, organisations, sources.
public enum TextField {
    /// Whether a scalar must never be stored: C0/C1 controls (CR, LF, NUL, TAB...), line and paragraph separators,
    /// and bidirectional overrides that could disguise text.
    public static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let category = scalar.properties.generalCategory
        if category == .control || category == .lineSeparator || category == .paragraphSeparator { return true }
        return (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// Trims surrounding spaces and checks a field; returns the clean value or throws naming the field.
    public static func clean(_ raw: String, field: String, maxLength: Int = 200) throws(InvalidField) -> String {
        if let bad = raw.unicodeScalars.first(where: isForbidden) {
            throw InvalidField(field: field, value: raw, problem: "contains \(describe(bad)); remove it")
        }
        let trimmed = trimmingSpaces(raw)
        guard trimmed.count <= maxLength else {
            throw InvalidField(field: field, value: raw, problem: "is longer than \(maxLength) characters")
        }
        return trimmed
    }

    /// Removes leading and trailing spaces (Unicode whitespace other than line breaks), without Foundation's
    /// NSString bridge, which dominated the import profile.
    public static func trimmingSpaces(_ text: String) -> String {
        let scalars = text.unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool { s == " " || (s.value > 0x7F && s.properties.isWhitespace && !isForbidden(s)) || s == "\t" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return text }
        return String(scalars[first...last])
    }

    /// Text from a sheet, the database, a relay or a file, made safe to print: every character `isForbidden`
    /// names (controls such as CR and ESC that a terminal would act on, line separators, text-direction overrides)
    /// becomes a visible escape such as "<CR>", "<ESC>" or "<U+2028>"; everything else is kept. Every place circulate
    /// prints text it did not write itself goes through here. `keepingLineBreaks` keeps LF, CRLF and TAB, for a
    /// coordinator's own multi-line text (notes, an update); a lone CR is still shown, as it moves the cursor back.
    public static func printable(_ text: String, keepingLineBreaks: Bool = false) -> String {
        // Nearly all text is printable ASCII, which has nothing to escape: listings call this for every cell, so the
        // bytes are checked in place (iterating the UTF-8 view byte by byte cost as much as the escaping).
        let printableASCII = text.utf8.withContiguousStorageIfAvailable { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
        if printableASCII == true { return text }
        var out = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            let kept = keepingLineBreaks && (scalar == "\n" || scalar == "\t"
                || (scalar == "\r" && index + 1 < scalars.count && scalars[index + 1] == "\n"))
            if kept || !isForbidden(scalar) {
                out.append(scalar)
            } else {
                out.append(contentsOf: "<\(names(scalar).short ?? hex(scalar))>".unicodeScalars)
            }
        }
        return String(out)
    }

    /// A character in words, for messages: "a line break (CR, U+000D)", "an escape character (ESC, U+001B)".
    public static func describe(_ scalar: Unicode.Scalar) -> String {
        let (short, words) = names(scalar)
        return "\(words) (\(short.map { "\($0), " } ?? "")\(hex(scalar)))"
    }

    /// "U+000D".
    static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The usual abbreviation (if any) and a few words for the characters people paste by accident.
    private static func names(_ scalar: Unicode.Scalar) -> (short: String?, words: String) {
        switch scalar.value {
        case 0x00: ("NUL", "a null character")
        case 0x07: ("BEL", "a control character")
        case 0x08: ("BS", "a control character")
        case 0x09: ("TAB", "a tab")
        case 0x0A: ("LF", "a line break")
        case 0x0B: ("VT", "a vertical tab")
        case 0x0C: ("FF", "a page break")
        case 0x0D: ("CR", "a line break")
        case 0x1B: ("ESC", "an escape character")
        case 0x7F: ("DEL", "a delete character")
        case 0x85: ("NEL", "a line break")
        case 0x2028: (nil, "a line separator")
        case 0x2029: (nil, "a paragraph separator")
        case 0x202A: ("LRE", "a text-direction control")
        case 0x202B: ("RLE", "a text-direction control")
        case 0x202C: ("PDF", "a text-direction control")
        case 0x202D: ("LRO", "a text-direction control")
        case 0x202E: ("RLO", "a text-direction control")
        case 0x2066: ("LRI", "a text-direction control")
        case 0x2067: ("RLI", "a text-direction control")
        case 0x2068: ("FSI", "a text-direction control")
        case 0x2069: ("PDI", "a text-direction control")
        default: (nil, scalar.properties.generalCategory == .control ? "a control character" : "the character")
        }
    }
}

/// A field whose value breaks one of the text rules.
public struct InvalidField: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's name as the user knows it ("name", "organisation").
    public let field: String
    /// The offending value.
    public let value: String
    /// What is wrong and what to do.
    public let problem: String

    /// Creates an error.
    public init(field: String, value: String, problem: String) {
        self.field = field
        self.value = value
        self.problem = problem
    }

    /// A sentence naming the field and the problem.
    public var description: String { "\(field) \"\(TextField.printable(value))\" \(problem)" }
}

extension String {
    /// This text without leading and trailing spaces (see `TextField.trimmingSpaces`).
    var trimmedSpaces: String { TextField.trimmingSpaces(self) }
}
