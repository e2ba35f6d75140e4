import Testing
@testable import CirculateCore

@Suite("Names and other free text")
struct TextFieldTests {
    @Test("any Unicode is kept; surrounding spaces are trimmed")
    func unicode() throws {
        #expect(try TextField.clean("  Zoë Ångström-Nakamura 中村  ", field: "name") == "Zoë Ångström-Nakamura 中村")
        #expect(try TextField.clean("Siobhán Ó Briain 👋", field: "name") == "Siobhán Ó Briain 👋")
    }

    @Test("control characters are refused, naming the field and the character in words", arguments: [
        ("Jo\r\nBcc: x@example.org", "a line break (CR, U+000D)"), ("Jo\nSmith", "a line break (LF, U+000A)"),
        ("Jo\u{0}", "a null character (NUL, U+0000)"), ("Jo\tSmith", "a tab (TAB, U+0009)"),
        ("Jo\u{1B}[2J", "an escape character (ESC, U+001B)"), ("Jo\u{2028}Smith", "a line separator (U+2028)"),
        ("Jo\u{202E}htimS", "a text-direction control (RLO, U+202E)"), ("Jo\u{85}", "a line break (NEL, U+0085)"),
        ("Jo\u{7}", "a control character (BEL, U+0007)"), ("Jo\u{9B}31m", "a control character (U+009B)"),
    ])
    func control(input: String, named: String) {
        do {
            _ = try TextField.clean(input, field: "name")
            Issue.record("accepted \(input.debugDescription)")
        } catch {
            #expect(error.field == "name")
            #expect(error.description.contains("contains \(named)"), "\(error.description)")
            #expect(!error.description.unicodeScalars.contains(where: TextField.isForbidden), "\(error.description.debugDescription)")
            #expect(!error.description.contains("\\u{"), "never Swift's notation: \(error.description)")
        }
    }

    @Test("printable shows every control character as a visible escape, and keeps everything else", arguments: [
        ("Alex\rMorgan\u{1B}[2J\u{0}", "Alex<CR>Morgan<ESC>[2J<NUL>"),
        ("a\nb\tc\u{7F}d\u{85}e", "a<LF>b<TAB>c<DEL>d<NEL>e"),
        ("\u{9B}31m\u{7}", "<U+009B>31m<BEL>"),
        ("evil\u{202E}fdp.exe\u{2066}\u{2028}", "evil<RLO>fdp.exe<LRI><U+2028>"),
        ("Zoë Ångström 中村 👋 <alex@example.org>", "Zoë Ångström 中村 👋 <alex@example.org>"),
    ])
    func printable(input: String, shown: String) {
        #expect(TextField.printable(input) == shown)
    }

    @Test("printable keeping line breaks, for a coordinator's own multi-line text")
    func printableLines() {
        #expect(TextField.printable("Line one\r\nLine two\n\tindented\u{1B}[2J", keepingLineBreaks: true)
                == "Line one\r\nLine two\n\tindented<ESC>[2J")
        #expect(TextField.printable("a\rb", keepingLineBreaks: true) == "a<CR>b", "a lone CR moves the cursor back")
    }

    @Test("roles accept natural spellings; unknown roles list the allowed ones")
    func roles() throws {
        #expect(try Tag.role("Key influencers") == "key-influencer")
        #expect(try Tag.role("Core Group") == "core-group")
        #expect(throws: InvalidField.self) { try Tag.role("chair") }
        #expect(try Tag.parseList("Attendee; Board, north staffs") == ["attendee", "board", "north-staffs"])
        #expect(throws: InvalidField.self) { try Tag.tag("a/b") }
    }

    @Test("consent needs a source, and a wording version when the basis is consent")
    func grants() throws {
        #expect(throws: InvalidField.self) { try ConsentGrant(lawfulBasis: .consent, source: " ", wordingVersion: "1", recordedBy: "sam") }
        #expect(throws: InvalidField.self) { try ConsentGrant(lawfulBasis: .consent, source: "form", wordingVersion: nil, recordedBy: "sam") }
        let li = try ConsentGrant(lawfulBasis: .legitimateInterest, source: "board list", wordingVersion: nil, recordedBy: "sam")
        #expect(li.wordingVersion == nil)
    }
}
