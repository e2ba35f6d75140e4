/// The per-recipient parts of a rendered layout.
enum Slot: Int, CaseIterable {
    case greeting, unsubscribeLink, footer

    /// A private-use character pair that neither Markdown nor Mustache escaping touches.
    var marker: String { "\u{E000}\(rawValue)\u{E001}" }
}

/// A rendered layout split at its slots, with its lines that hold no slot already quoted-printable encoded.
///
/// A mailing's body is the same for every recipient except a few lines (the greeting, the unsubscribe link, the
/// footer), so per message only those lines are filled and encoded; the rest is copied. Quoted-printable encodes each
/// line on its own (a line break resets the column), so encoding the text in pieces that each end with a line feed
/// gives exactly the bytes of encoding it whole, which `SlottedTextTests` and `WorkflowMessagesTests` check.
struct SlottedText: Sendable {
    private enum Piece: Sendable {
        case literal(String)
        case slot(Slot)
    }

    /// Consecutive lines of the text: encoded once when they hold no slot, else filled and encoded per message.
    private enum Segment: Sendable {
        case encoded([UInt8])
        case lines([Piece])
    }

    private let pieces: [Piece]
    private let segments: [Segment]
    /// The UTF-8 length of the text without its slots, for sizing buffers.
    let literalCount: Int

    init(_ rendered: String) {
        var pieces: [Piece] = []
        var rest = Substring(rendered)
        while let start = rest.range(of: "\u{E000}") {
            pieces.append(.literal(String(rest[..<start.lowerBound])))
            let afterStart = rest[start.upperBound...]
            guard let end = afterStart.firstIndex(of: "\u{E001}"), let n = Int(afterStart[..<end]), let slot = Slot(rawValue: n) else {
                rest = afterStart
                continue
            }
            pieces.append(.slot(slot))
            rest = afterStart[afterStart.index(after: end)...]
        }
        pieces.append(.literal(String(rest)))
        self.init(pieces: pieces)
    }

    private init(pieces: [Piece]) {
        self.pieces = pieces
        segments = Self.segments(of: pieces)
        literalCount = pieces.reduce(0) { count, piece in
            if case .literal(let text) = piece { return count + text.utf8.count }
            return count
        }
    }

    /// The same layout with `slot` filled in for good (HTML-escaped with `escape`), for a value that is the same for
    /// every recipient: the lines that held only that slot are then encoded once, here, rather than per message.
    func resolving(_ slot: Slot, with value: String, escape: Bool) -> SlottedText {
        let text = escape ? Self.escapeHTML(value) : value
        return SlottedText(pieces: pieces.map { piece in
            if case .slot(slot) = piece { return .literal(text) }
            return piece
        })
    }

    /// Splits the pieces after each line feed of the literal text; runs of lines without a slot are encoded now. The
    /// last line (after the last line feed) is always left for `appendQuotedPrintable`, whose `terminated` decides
    /// how it ends.
    private static func segments(of pieces: [Piece]) -> [Segment] {
        var segments: [Segment] = []
        var fixed = ""
        var line: [Piece] = []
        func endLine() {
            if line.contains(where: { if case .slot = $0 { true } else { false } }) {
                if !fixed.isEmpty {
                    segments.append(.encoded(QuotedPrintable.encode(fixed, terminated: false)))
                    fixed = ""
                }
                segments.append(.lines(line))
            } else {
                for case .literal(let text) in line { fixed += text }
            }
            line = []
        }
        for piece in pieces {
            guard case .literal(let text) = piece else {
                line.append(piece)
                continue
            }
            var rest = Substring(text)
            while let feed = rest.utf8.firstIndex(of: 0x0A) {
                let afterFeed = rest.utf8.index(after: feed)
                line.append(.literal(String(rest[..<afterFeed])))
                endLine()
                rest = rest[afterFeed...]
            }
            if !rest.isEmpty { line.append(.literal(String(rest))) }
        }
        if !fixed.isEmpty { segments.append(.encoded(QuotedPrintable.encode(fixed, terminated: false))) }
        if !line.isEmpty { segments.append(.lines(line)) }
        return segments
    }

    /// The text with each slot replaced by its value (HTML-escaped with `escape`); a missing value is empty.
    func fill(_ values: [Slot: String], escape: Bool) -> String {
        Self.fill(pieces[...], values, escape: escape)
    }

    /// Appends the quoted-printable encoding of `fill(values, escape:)` to `out`, byte for byte the same as
    /// `QuotedPrintable.encode(fill(values, escape:), into: &out, terminated:)`.
    func appendQuotedPrintable(_ values: [Slot: String], escape: Bool, into out: inout [UInt8], terminated: Bool) {
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .encoded(let bytes):
                out.append(contentsOf: bytes)
            case .lines(let linePieces):
                let last = index == segments.count - 1
                QuotedPrintable.encode(Self.fill(linePieces[...], values, escape: escape), into: &out,
                                       terminated: terminated && last)
            }
        }
    }

    private static func fill(_ pieces: ArraySlice<Piece>, _ values: [Slot: String], escape: Bool) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): out += text
            case .slot(let slot):
                let value = values[slot] ?? ""
                out += escape ? escapeHTML(value) : value
            }
        }
        return out
    }

    /// `&`, `<`, `>`, `"` and `'` as HTML character references.
    static func escapeHTML(_ text: String) -> String {
        // Runs for every slot value of every message: most have nothing to escape, and the rest are escaped byte by
        // byte (the five characters are ASCII, so UTF-8 sequences pass through untouched).
        let special: (UInt8) -> Bool = { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }
        guard text.utf8.contains(where: special) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x22: out.append(contentsOf: "&quot;".utf8)
            case 0x27: out.append(contentsOf: "&#39;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
