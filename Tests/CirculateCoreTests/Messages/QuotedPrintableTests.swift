import Testing
@testable import CirculateCore

@Suite("Quoted-printable bodies")
struct QuotedPrintableTests {
    private func encoded(_ text: String, terminated: Bool = false) -> String {
        String(decoding: QuotedPrintable.encode(text, terminated: terminated), as: UTF8.self)
    }

    @Test("an equals sign is always encoded")
    func equalsSign() {
        #expect(encoded("=") == "=3D")
        #expect(encoded("a = b") == "a =3D b")
    }

    @Test("whitespace before a line break or at the end is encoded, elsewhere kept")
    func trailingWhitespace() {
        #expect(encoded("end  \nnext\t") == "end =20\r\nnext=09")
        #expect(encoded("a b") == "a b")
    }

    @Test("non-ASCII and control bytes become upper-case =XX")
    func nonASCII() {
        #expect(encoded("Zoë") == "Zo=C3=AB")
        #expect(encoded("\u{0}\u{7F}") == "=00=7F")
    }

    @Test("a 200-character line gets soft breaks after 75 characters")
    func longLine() {
        let x = { (count: Int) in String(repeating: "x", count: count) }
        #expect(encoded(x(200)) == x(75) + "=\r\n" + x(75) + "=\r\n" + x(50))
        #expect(encoded(x(76)) == x(76))  // the last character of a line may use column 76
        #expect(encoded(x(77)) == x(75) + "=\r\nxx")
    }

    @Test("an =XX triplet is never split by a soft break")
    func tripletsStayWhole() {
        let a = { (count: Int) in String(repeating: "a", count: count) }
        #expect(encoded(a(74) + "é") == a(74) + "=\r\n=C3=A9")
        #expect(encoded(a(72) + "é") == a(72) + "=C3=\r\n=A9")
    }

    @Test("a line starting with a dot or \"From \" is encoded, also after a soft break")
    func dotAndFromAtLineStart() {
        #expect(encoded(".hidden\n.") == "=2Ehidden\r\n=2E")
        #expect(encoded("From here\nFrom\nFromage\na.b") == "=46rom here\r\nFrom\r\nFromage\r\na.b")
        let a = String(repeating: "a", count: 75)
        #expect(encoded(a + ".b") == a + "=\r\n=2Eb")
        #expect(encoded(a + "From x") == a + "=\r\n=46rom x")
    }

    @Test("CR, LF and CRLF all become CRLF before encoding")
    func lineBreakNormalisation() {
        #expect(encoded("a\nb\rc\r\n.\n") == "a\r\nb\r\nc\r\n=2E\r\n")
        #expect(encoded("\r\r\n\n") == "\r\n\r\n\r\n")
    }

    @Test("a terminated body ends in CRLF without adding a character")
    func terminated() {
        #expect(encoded("Hello", terminated: true) == "Hello=\r\n")
        #expect(encoded("Hello\n", terminated: true) == "Hello\r\n")
        #expect(encoded("", terminated: true) == "")
        let x = String(repeating: "x", count: 76)
        #expect(encoded(x, terminated: true) == String(x.dropLast()) + "=\r\nx=\r\n")
    }

    @Test("random text decodes back exactly, within the line rules, as the plain rules would write it")
    func randomRoundTrip() {
        var generator = SplitMix64(state: 2047)
        let pieces = ["a", "Z", " ", "\t", "=", ".", "From ", "F", "\n", "\r", "\r\n", "é", "日", "😀", "\u{0}", "~"]
        for _ in 0..<400 {
            var text = ""
            for _ in 0..<Int.random(in: 0..<300, using: &generator) {
                text += Bool.random(using: &generator)
                    ? pieces.randomElement(using: &generator) ?? ""
                    : String(repeating: "w", count: Int.random(in: 0..<90, using: &generator))
            }
            let terminated = Bool.random(using: &generator)
            let output = QuotedPrintable.encode(text, terminated: terminated)
            #expect(output == ReferenceQuotedPrintable.encode(text, terminated: terminated))
            #expect(MessageReader.decodeQuotedPrintable(String(decoding: output, as: UTF8.self))
                == Array(MessageReader.crlf(text).utf8))
            #expect(MessageReader.hasOnlyCRLF(output))
            for line in MessageReader.lines(output) {
                #expect(line.count <= 76)
                #expect(line.first != UInt8(ascii: "."))
                #expect(!line.starts(with: "From ".utf8))
                #expect(line.last != UInt8(ascii: " ") && line.last != UInt8(ascii: "\t"))
            }
        }
    }
}

/// The encoding rules written as plainly as possible, one byte at a time, to check the composer's faster encoder.
private enum ReferenceQuotedPrintable {
    static func encode(_ text: String, terminated: Bool) -> [UInt8] {
        let input = Array(MessageReader.crlf(text).utf8)
        var lines: [[UInt8]] = [[]]  // encoded lines; soft breaks are added when a line is full
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            if input[index] == 0x0D {  // always followed by LF after normalisation
                output += lines.joined(separator: Array("=\r\n".utf8)) + [0x0D, 0x0A]
                lines = [[]]
                index += 2
                continue
            }
            let byte = input[index]
            let atEnd = index + 1 == input.count || input[index + 1] == 0x0D
            let atLineStart = lines[lines.count - 1].isEmpty
            let startsFrom = input[index...].starts(with: "From ".utf8)
            let literal =
                switch byte {
                case UInt8(ascii: "="): false
                case UInt8(ascii: " "), UInt8(ascii: "\t"): !atEnd
                case UInt8(ascii: "."): !atLineStart
                case UInt8(ascii: "F"): !(atLineStart && startsFrom)
                default: byte >= 0x21 && byte <= 0x7E
                }
            let token: [UInt8] = literal ? [byte] : Array("=\(hex(byte))".utf8)
            let limit = atEnd && !(terminated && index + 1 == input.count) ? 76 : 75
            if lines[lines.count - 1].count + token.count > limit {
                lines.append([])
                continue  // the byte now starts a line
            }
            lines[lines.count - 1] += token
            index += 1
        }
        output += lines.joined(separator: Array("=\r\n".utf8))
        if terminated, !(lines.last?.isEmpty ?? true) { output += Array("=\r\n".utf8) }
        return output
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
