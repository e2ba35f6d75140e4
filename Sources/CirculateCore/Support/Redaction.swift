/// Keeps addresses out of what circulate stores or logs from a relay's replies: a relay may quote the recipient
/// ("550 5.1.1 <kim@example.org>: Recipient address rejected"), and an address in a log could not be erased.
public enum Redaction {
    /// What an address is replaced with.
    public static let mask = "[address]"

    /// `text` with every e-mail address in it replaced by `mask`.
    public static func maskingAddresses(in text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains("@") else { return text }
        var out = String.UnicodeScalarView()
        var index = 0
        var copied = 0
        while index < scalars.count {
            guard scalars[index] == "@" else {
                index += 1
                continue
            }
            var start = index
            while start > copied && isLocalPart(scalars[start - 1]) { start -= 1 }
            var end = index + 1
            while end < scalars.count && isDomain(scalars[end]) { end += 1 }
            // A domain does not end in a dot or a hyphen ("write to kim@example.org." keeps its full stop).
            while end > index + 1 && (scalars[end - 1] == "." || scalars[end - 1] == "-") { end -= 1 }
            if start < index && end > index + 1 {
                out.append(contentsOf: scalars[copied..<start])
                out.append(contentsOf: mask.unicodeScalars)
                copied = end
            }
            index = end
        }
        out.append(contentsOf: scalars[copied...])
        return String(out)
    }

    private static func isLocalPart(_ s: Unicode.Scalar) -> Bool {
        s.value > 0x7F || (s.properties.isAlphabetic || ("0"..."9").contains(s)) || "!#$%&'*+-/=?^_`{|}~.\"".unicodeScalars.contains(s)
    }

    private static func isDomain(_ s: Unicode.Scalar) -> Bool {
        s.value > 0x7F || s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "-" || s == "."
    }
}
