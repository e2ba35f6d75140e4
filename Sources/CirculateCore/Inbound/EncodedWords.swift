import Foundation

/// RFC 2047 encoded words in a header (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`), decoded for reading a subject.
enum EncodedWords {
    /// The text with each encoded word decoded (UTF-8 or Latin-1 alike); anything malformed stays as it was.
    static func decode(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var out = ""
        var rest = Substring(text)
        var previousWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            let pieces = after.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("="), let decoded = decodeWord(encoding: pieces[1], text: pieces[2]) else {
                out += before + "=?"
                rest = after
                previousWasWord = false
                continue
            }
            // White space between two encoded words is not part of the text (RFC 2047 §6.2).
            if !(previousWasWord && before.allSatisfy(\.isWhitespace)) { out += before }
            out += decoded
            rest = pieces[3].dropFirst()
            previousWasWord = true
        }
        return out + rest
    }

    private static func decodeWord(encoding: Substring, text: Substring) -> String? {
        switch encoding.lowercased() {
        case "b":
            return MIMEEntity.string(MIMEEntity.decode(Array(text.utf8)[...], encoding: "base64")[...])
        case "q":
            let bytes = Array(text.utf8).map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }
            return MIMEEntity.string(MIMEEntity.decode(bytes[...], encoding: "quoted-printable")[...])
        default:
            return nil
        }
    }
}
