import Foundation

/// How circulate writes header fields: RFC 5322 syntax and folding, RFC 2047 encoded-words for non-ASCII text, and
/// RFC 2231 parameters for non-ASCII filenames.
///
/// Encoded-words use the "B" encoding (base64) with UTF-8, never "Q". B has one rule everywhere, where Q allows a
/// different set of characters in a phrase than in unstructured text (RFC 2047 §5); its length is exactly four
/// characters per three bytes, so filling a word up to the 75-character limit without splitting a UTF-8 sequence is
/// simple arithmetic; and it is shorter than Q for the scripts that most need encoding (a CJK character is 4 characters
/// of B against 9 of Q). Readability does not suffer, because only the words that need it are encoded: "Monthly
/// update — Zoë" stays readable as "Monthly update =?UTF-8?B?4oCUIFpvw6s=?=".
public enum HeaderEncoding {
    /// Formats text as an RFC 5322 phrase, for callers building their own structured headers (e.g. the description in
    /// a List-Id): plain atoms when possible, a quoted string for ASCII with specials, encoded-words for the rest.
    public static func phrase(_ text: String) throws(CompositionError) -> String {
        try checkHeaderText(text, field: "phrase")
        // A line limit that never folds: the caller's header is folded as a whole when the message is composed.
        var writer = HeaderWriter(capacity: text.utf8.count * 2 + 16, lineLimit: .max / 2)
        writer.begin("phrase")
        try writer.appendPhrase(Array(text.utf8)[...].collapsingSpaces()[...], spaces: 0)
        return String(decoding: writer.bytes.dropFirst("phrase:".utf8.count), as: UTF8.self)
    }

    /// Rejects characters that must never reach a header: CR, LF and NUL (header injection) and the other characters
    /// `TextField` forbids (controls, TAB, line separators, bidirectional overrides). They are rejected, never
    /// stripped: stripping would silently send something other than what the caller asked for. Returns whether the
    /// text is all printable ASCII.
    @discardableResult
    static func checkHeaderText(_ text: String, field: String) throws(CompositionError) -> Bool {
        var text = text
        let (injection, printableASCII) = text.withUTF8 { bytes -> (UInt8?, Bool) in
            var printableASCII = true
            for byte in bytes where byte < 0x20 || byte > 0x7E {
                if byte == 0x0D || byte == 0x0A || byte == 0x00 { return (byte, false) }
                printableASCII = false
            }
            return (nil, printableASCII)
        }
        if let injection {
            throw CompositionError(field: field, problem: .headerInjection(Unicode.Scalar(injection)))
        }
        if printableASCII { return true }  // the common case needs no Unicode property lookups
        // ASCII was settled by the byte loop except for controls; only those and the rest need Unicode properties.
        for scalar in text.unicodeScalars where !(0x20...0x7E).contains(scalar.value) && TextField.isForbidden(scalar) {
            throw CompositionError(field: field, problem: .controlCharacter(scalar))
        }
        return false
    }

    /// RFC 5322 §3.2.3 atext: the characters an atom may contain.
    static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C,
            0x7D, 0x7E: true
        default: false
        }
    }

    /// RFC 2045 §5.1 token characters: printable ASCII except space and tspecials.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21...0x7E: !"()<>@,;:\\\"/[]?=".utf8.contains(byte)
        default: false
        }
    }

    /// RFC 2231 §7 attribute-char: a token character other than "*", "'" and "%", which that RFC gives meaning to.
    static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        isTokenCharacter(byte) && byte != 0x2A && byte != 0x27 && byte != 0x25
    }

    /// Whether text contains "=?", which a reader could take for the start of an encoded-word (RFC 2047 §2).
    static func containsEncodedWordOpener(_ bytes: ArraySlice<UInt8>) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if previous == 0x3D, byte == 0x3F { return true }
            previous = byte
        }
        return false
    }

    /// The number of bytes in the UTF-8 sequence that starts with `lead` (input comes from a Swift String, so valid).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0xC0: 1
        case 0xC0..<0xE0: 2
        case 0xE0..<0xF0: 3
        default: 4
        }
    }
}

extension ArraySlice<UInt8> {
    /// The slice without leading and trailing spaces (the only whitespace `checkHeaderText` lets through).
    func trimmingSpaces() -> ArraySlice<UInt8> {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == 0x20 { start += 1 }
        while end > start, self[end - 1] == 0x20 { end -= 1 }
        return self[start..<end]
    }

    /// The words of the slice separated by single spaces.
    func collapsingSpaces() -> [UInt8] {
        var words: [UInt8] = []
        words.reserveCapacity(count)
        var pendingSpace = false
        for byte in self {
            if byte == 0x20 {
                pendingSpace = !words.isEmpty
            } else {
                if pendingSpace { words.append(0x20) }
                pendingSpace = false
                words.append(byte)
            }
        }
        return words
    }
}

/// Writes header fields into a message buffer, folding at whitespace (RFC 5322 §2.2.3).
///
/// Lines are kept to 78 characters where a line can be broken (RFC 5322 §2.1.1 "SHOULD"), and a field that cannot be
/// broken short enough is an error rather than a line over 998 octets (the "MUST"). A fold is a CRLF inserted before
/// existing whitespace, so unfolding gives back exactly the written value; it never happens before the first token of
/// a field, so no line is ever whitespace only (RFC 5322 §3.2.2).
struct HeaderWriter {
    /// RFC 5322 §2.1.1: the recommended line length.
    static let preferredLineLength = 78
    /// RFC 5322 §2.1.1: the hard limit, excluding CRLF.
    static let maximumLineLength = 998
    /// RFC 2047 §2: an encoded-word is at most 75 characters.
    static let maximumEncodedWordLength = 75
    private static let encodedWordOpen = Array("=?UTF-8?B?".utf8)
    private static let encodedWordClose = Array("?=".utf8)

    /// The message so far; the composer appends bodies to it directly.
    var bytes: [UInt8]
    private let lineLimit: Int
    private var column = 0
    private var fieldHasToken = false
    private var fieldName = ""

    init(capacity: Int, lineLimit: Int = HeaderWriter.preferredLineLength) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.lineLimit = lineLimit
    }

    /// Starts a field: writes "Name:".
    mutating func begin(_ name: String) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(0x3A)
        column = name.utf8.count + 1
        fieldHasToken = false
        fieldName = name
    }

    /// Ends the current field (or, called again, the header section).
    mutating func end() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        column = 0
    }

    /// Writes a whole field whose value is a fixed, short ASCII string.
    mutating func field(_ name: String, _ value: String) {
        begin(name)
        bytes.append(0x20)
        bytes.append(contentsOf: value.utf8)
        end()
    }

    /// Appends raw bytes that are not part of a header (body text, delimiters).
    mutating func appendRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends one unbreakable token after `spaces` spaces, folding before it if it would pass the line limit.
    mutating func appendToken<Token: Collection<UInt8>>(_ token: Token, spaces: Int) throws(CompositionError) {
        let width = spaces + token.count
        if column + width > lineLimit, fieldHasToken, spaces > 0 { fold() }
        guard column + width <= Self.maximumLineLength else {
            throw CompositionError(field: fieldName, problem: .tooLong)
        }
        for _ in 0..<spaces { bytes.append(0x20) }
        bytes.append(contentsOf: token)
        column += width
        fieldHasToken = true
    }

    /// Appends space-separated words, keeping the spaces between them (so unfolding restores the text exactly).
    mutating func appendWords(_ text: ArraySlice<UInt8>, spaces: Int) throws(CompositionError) {
        var index = text.startIndex
        var pendingSpaces = spaces
        while index < text.endIndex {
            if text[index] == 0x20 {
                pendingSpaces += 1
                index += 1
                continue
            }
            var end = index
            while end < text.endIndex, text[end] != 0x20 { end += 1 }
            try appendToken(text[index..<end], spaces: pendingSpaces)
            pendingSpaces = 0
            index = end
        }
    }

    /// Appends unstructured text (Subject): ASCII words as they are, runs of words that need it as encoded-words.
    mutating func appendUnstructured(_ text: ArraySlice<UInt8>, spaces: Int) throws(CompositionError) {
        try appendEncodingWhereNeeded(text, spaces: spaces) { word in
            // Long words are encoded too, because encoded-words can be split across lines and plain words cannot.
            word.count > Self.preferredLineLength - 1 || !word.allSatisfy { $0 < 0x80 }
                || HeaderEncoding.containsEncodedWordOpener(word)
        }
    }

    /// Appends a display name or other phrase (RFC 5322 §3.2.5): atoms, or one quoted string, or encoded-words.
    mutating func appendPhrase(_ text: ArraySlice<UInt8>, spaces: Int) throws(CompositionError) {
        let ascii = text.allSatisfy { $0 < 0x80 }
        if ascii, !HeaderEncoding.containsEncodedWordOpener(text) {
            if text.allSatisfy({ $0 == 0x20 || HeaderEncoding.isAtext($0) }) {
                try appendWords(text, spaces: spaces)
            } else {
                try appendWords(Self.quotedString(text)[...], spaces: spaces)
            }
            return
        }
        // RFC 2047 §5(3): encoded-words may stand for words of a phrase; never inside a quoted string, so words with
        // specials are encoded rather than quoted when the phrase needs encoded-words at all.
        try appendEncodingWhereNeeded(text, spaces: spaces) { word in
            word.count > Self.preferredLineLength - 1 || !word.allSatisfy(HeaderEncoding.isAtext)
                || HeaderEncoding.containsEncodedWordOpener(word)
        }
    }

    /// RFC 5322 §3.2.4 quoted-string: backslash before `"` and `\`; spaces stay, so the string can still be folded.
    static func quotedString(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var quoted: [UInt8] = [0x22]
        quoted.reserveCapacity(text.count + 4)
        for byte in text {
            if byte == 0x22 || byte == 0x5C { quoted.append(0x5C) }
            quoted.append(byte)
        }
        quoted.append(0x22)
        return quoted
    }

    /// Splits text at spaces; consecutive words for which `needsEncoding` holds become one run of encoded-words
    /// (spaces between them encoded too, as RFC 2047 §6.2 makes a decoder drop whitespace between adjacent
    /// encoded-words), the rest are written as they are.
    private mutating func appendEncodingWhereNeeded(
        _ text: ArraySlice<UInt8>, spaces: Int, needsEncoding: (ArraySlice<UInt8>) -> Bool
    ) throws(CompositionError) {
        var index = text.startIndex
        var pendingSpaces = spaces
        var run: (start: Int, end: Int, spaces: Int)?
        while index < text.endIndex {
            if text[index] == 0x20 {
                pendingSpaces += 1
                index += 1
                continue
            }
            var end = index
            while end < text.endIndex, text[end] != 0x20 { end += 1 }
            let word = text[index..<end]
            if needsEncoding(word) {
                if let open = run {
                    run = (open.start, end, open.spaces)
                } else {
                    run = (index, end, pendingSpaces)
                }
            } else {
                if let open = run {
                    try appendEncodedWords(text[open.start..<open.end], spaces: open.spaces)
                    run = nil
                }
                try appendToken(word, spaces: pendingSpaces)
            }
            pendingSpaces = 0
            index = end
        }
        if let open = run {
            try appendEncodedWords(text[open.start..<open.end], spaces: open.spaces)
        }
    }

    /// Appends UTF-8 text as "B" encoded-words, each at most 75 characters and sized to the room left on the line,
    /// split only between characters (RFC 2047 §5: "each encoded-word MUST represent an integral number of characters").
    mutating func appendEncodedWords(_ text: ArraySlice<UInt8>, spaces: Int) throws(CompositionError) {
        var start = text.startIndex
        var spaces = spaces
        while start < text.endIndex {
            let first = HeaderEncoding.sequenceLength(text[start])
            var capacity = Self.payloadCapacity(room: lineLimit - column - spaces)
            if capacity < first, fieldHasToken, spaces > 0 {
                fold()
                capacity = Self.payloadCapacity(room: lineLimit - spaces)
            }
            // At the start of a field there may be no room and no place to fold; a longer line is still legal.
            capacity = max(capacity, first)
            var end = start
            while end < text.endIndex {
                let length = HeaderEncoding.sequenceLength(text[end])
                if end - start + length > capacity { break }
                end += length
            }
            let width = spaces + Self.encodedWordOpen.count + MIMEBase64.encodedLength(end - start)
                + Self.encodedWordClose.count
            guard column + width <= Self.maximumLineLength else {
                throw CompositionError(field: fieldName, problem: .tooLong)
            }
            for _ in 0..<spaces { bytes.append(0x20) }
            bytes.append(contentsOf: Self.encodedWordOpen)
            text[start..<end].withUnsafeBufferPointer { MIMEBase64.append($0, into: &bytes) }
            bytes.append(contentsOf: Self.encodedWordClose)
            column += width
            fieldHasToken = true
            start = end
            spaces = 1
        }
    }

    /// How many bytes of text fit in an encoded-word of at most `room` characters: the fixed "=?UTF-8?B?" and "?="
    /// take 12, and base64 takes 4 characters per 3 bytes, so at most 45 bytes (60 characters, 72 in all).
    private static func payloadCapacity(room: Int) -> Int {
        let symbols = min(room, maximumEncodedWordLength) - encodedWordOpen.count - encodedWordClose.count
        return symbols < 4 ? 0 : symbols / 4 * 3
    }

    private mutating func fold() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        column = 0
    }
}

extension HeaderWriter {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Writes "Date: Sun, 22 Nov 2026 20:15:00 +0000" (RFC 5322 §3.3), always in UTC.
    ///
    /// Computed by hand rather than with DateFormatter: the English day and month names are fixed by the RFC, so no
    /// locale may touch them (the reason DateFormatter would need en_US_POSIX), and the arithmetic is far faster.
    mutating func appendDateField(_ date: Date) throws(CompositionError) {
        let interval = date.timeIntervalSince1970
        // 1900-01-01 and 10000-01-01 UTC: RFC 5322 years are four digits, and Int(_:) would trap on NaN or infinity.
        guard interval.isFinite, interval >= -2_208_988_800, interval < 253_402_300_800 else {
            throw CompositionError(field: "Date", problem: .dateOutOfRange)
        }
        let total = Int(interval.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4, counting Sunday as 0)

        let civil = CivilDate(dayNumber: days)
        let (year, month, day) = (civil.year, civil.month, civil.day)

        begin("Date")
        bytes.append(0x20)
        bytes.append(contentsOf: Self.weekdays[weekday].utf8)
        bytes.append(contentsOf: ", ".utf8)
        appendDigits(day, count: 2)
        bytes.append(0x20)
        bytes.append(contentsOf: Self.months[month - 1].utf8)
        bytes.append(0x20)
        appendDigits(year, count: 4)
        bytes.append(0x20)
        appendDigits(secondOfDay / 3600, count: 2)
        bytes.append(0x3A)
        appendDigits(secondOfDay / 60 % 60, count: 2)
        bytes.append(0x3A)
        appendDigits(secondOfDay % 60, count: 2)
        bytes.append(contentsOf: " +0000".utf8)
        end()
    }

    private mutating func appendDigits(_ value: Int, count: Int) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        while divisor > 0 {
            bytes.append(0x30 + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}

extension HeaderWriter {
    /// Writes a mailbox (RFC 5322 §3.4): `Name <address>` or the bare address.
    ///
    /// Runs of spaces in the display name are written as one, since RFC 5322 §3.2.2 gives them the meaning of one
    /// between words of a phrase; a blank display name is left out.
    ///
    /// The address is never encoded (RFC 2047 §5 forbids encoded-words in an addr-spec): it is the envelope form, with
    /// the domain as A-labels. A non-ASCII local part is written as raw UTF-8, which RFC 6532 allows in a message that
    /// is sent with SMTPUTF8 (see `MessageComposer.requiresSMTPUTF8`).
    mutating func appendMailbox(_ mailbox: Mailbox, displayNameField: String, comma: Bool = false) throws(CompositionError) {
        // A list's separating comma goes on the address token, so a fold never comes between them.
        let separator: [UInt8] = comma ? [0x2C] : []
        if let name = mailbox.displayName {
            try HeaderEncoding.checkHeaderText(name, field: displayNameField)
            let words = Array(name.utf8)[...].collapsingSpaces()
            if !words.isEmpty {
                try appendPhrase(words[...], spaces: 1)
                var angle: [UInt8] = [0x3C]
                angle.append(contentsOf: mailbox.address.envelope.utf8)
                angle.append(0x3E)
                try appendToken(angle + separator, spaces: 1)
                return
            }
        }
        try appendToken(Array(mailbox.address.envelope.utf8) + separator, spaces: 1)
    }

    /// Writes an address list (RFC 5322 §3.4 address-list): the mailboxes separated by commas, folded between them
    /// or inside a long encoded name as needed.
    mutating func appendMailboxList(_ mailboxes: [Mailbox], displayNameField: String) throws(CompositionError) {
        for (index, mailbox) in mailboxes.enumerated() {
            try appendMailbox(mailbox, displayNameField: displayNameField, comma: index < mailboxes.count - 1)
        }
    }

    /// Writes a Content-Type or Content-Disposition parameter from the caller: a bare token, or a quoted string.
    mutating func appendParameter(_ name: String, _ value: String, last: Bool, field: String) throws(CompositionError) {
        try HeaderEncoding.checkHeaderText(value, field: field)
        let nameBytes = Array(name.utf8)
        let valueBytes = Array(value.utf8)
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(HeaderEncoding.isAttributeCharacter),
            valueBytes.allSatisfy({ $0 < 0x80 })
        else { throw CompositionError(field: field, problem: .invalidParameter) }
        var token = nameBytes
        token.append(0x3D)
        if !valueBytes.isEmpty, valueBytes.allSatisfy(HeaderEncoding.isTokenCharacter) {
            token.append(contentsOf: valueBytes)
        } else {
            token.append(contentsOf: Self.quotedString(valueBytes[...]))
        }
        if !last { token.append(0x3B) }
        try appendToken(token, spaces: 1)
    }

    /// Writes a filename parameter: `filename="ascii"` and, for a non-ASCII name, RFC 2231 `filename*=utf-8''...`.
    ///
    /// The plain parameter comes first, as RFC 6266 Appendix D advises for parsers that take the first one; parsers
    /// that know RFC 2231 prefer the starred one, which carries the exact name. The ASCII fallback drops accents
    /// ("Übersicht" → "Ubersicht") and replaces what remains outside ASCII with "_".
    mutating func appendFilename(_ parameter: String, _ filename: String, withExtended: Bool) throws(CompositionError) {
        var plain = Array(parameter.utf8)
        plain.append(0x3D)
        plain.append(contentsOf: Self.quotedString(Array(Self.asciiFallback(filename).utf8)[...]))
        let utf8 = Array(filename.utf8)
        let extended = withExtended && !utf8.allSatisfy { $0 < 0x80 }
        if extended { plain.append(0x3B) }
        try appendToken(plain, spaces: 1)
        guard extended else { return }

        // RFC 2231 §4: charset'language'percent-encoded-octets; §3 continuations (name*0*, name*1*, ...) keep each
        // line within the limit. Segments break only between characters, so each one also decodes on its own.
        var encoded: [UInt8] = []
        var characterEnds: [Int] = []
        var index = 0
        while index < utf8.count {
            let end = index + HeaderEncoding.sequenceLength(utf8[index])
            for byte in utf8[index..<min(end, utf8.count)] {
                if HeaderEncoding.isAttributeCharacter(byte) {
                    encoded.append(byte)
                } else {
                    encoded.append(0x25)
                    encoded.append(Self.hexDigit(byte >> 4))
                    encoded.append(Self.hexDigit(byte & 0x0F))
                }
            }
            characterEnds.append(encoded.count)
            index = end
        }
        let single = Array("\(parameter)*=utf-8''".utf8) + encoded
        if 1 + single.count <= lineLimit {
            try appendToken(single, spaces: 1)
            return
        }
        var segment = 0
        var start = 0
        var boundary = 0
        while start < encoded.count {
            var token = Array("\(parameter)*\(segment)*=".utf8)
            if segment == 0 { token.append(contentsOf: "utf-8''".utf8) }
            let room = max(lineLimit - 1 - token.count - 1, 1)  // one space before, one ";" after
            var end = start
            while boundary < characterEnds.count, characterEnds[boundary] - start <= room || end == start {
                end = characterEnds[boundary]
                boundary += 1
            }
            token.append(contentsOf: encoded[start..<end])
            if end < encoded.count { token.append(0x3B) }
            try appendToken(token, spaces: 1)
            start = end
            segment += 1
        }
    }

    /// An ASCII stand-in for a filename, for mail programs that do not read RFC 2231.
    static func asciiFallback(_ filename: String) -> String {
        if filename.utf8.allSatisfy({ $0 < 0x80 }) { return filename }
        var fallback = String.UnicodeScalarView()
        for scalar in filename.decomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.isASCII {
                fallback.append(scalar)
            } else if scalar.properties.generalCategory != .nonspacingMark {
                fallback.append("_")
            }
        }
        return String(fallback)
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x37 + nibble
    }
}
