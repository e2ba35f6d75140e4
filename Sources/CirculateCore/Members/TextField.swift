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
            throw InvalidField(field: field, value: raw,
                               problem: "contains the control character \(scalarName(bad)); remove it (line breaks are not allowed)")
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

    /// A version of arbitrary text that is safe to print on one terminal line.
    public static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if isForbidden(scalar) { out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}" }
            else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// "CR (U+000D)" style names for the characters people most often paste by accident.
    static func scalarName(_ scalar: Unicode.Scalar) -> String {
        let hex = "U+" + String(format: "%04X", scalar.value)
        switch scalar.value {
        case 0x0D: return "CR (\(hex))"
        case 0x0A: return "LF (\(hex))"
        case 0x00: return "NUL (\(hex))"
        case 0x09: return "TAB (\(hex))"
        default: return hex
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
