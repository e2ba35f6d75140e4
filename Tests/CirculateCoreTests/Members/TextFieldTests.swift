import Testing
@testable import CirculateCore

@Suite("Names and other free text")
struct TextFieldTests {
    @Test("any Unicode is kept; surrounding spaces are trimmed")
    func unicode() throws {
        #expect(try TextField.clean("  Zoë Ångström-Nakamura 中村  ", field: "name") == "Zoë Ångström-Nakamura 中村")
        #expect(try TextField.clean("Siobhán Ó Briain 👋", field: "name") == "Siobhán Ó Briain 👋")
    }

    @Test("control characters are refused, naming the field and the character", arguments: [
        ("Jo\r\nBcc: x@example.org", "CR (U+000D)"), ("Jo\nSmith", "LF (U+000A)"), ("Jo\u{0}", "NUL (U+0000)"),
        ("Jo\tSmith", "TAB (U+0009)"), ("Jo\u{2028}Smith", "U+2028"), ("Jo\u{202E}htimS", "U+202E"), ("Jo\u{85}", "U+0085"),
    ])
    func control(input: String, named: String) {
        do {
            _ = try TextField.clean(input, field: "name")
            Issue.record("accepted \(input.debugDescription)")
        } catch {
            #expect(error.field == "name")
            #expect(error.description.contains(named))
            #expect(!error.description.contains("\r") && !error.description.contains("\n"))
        }
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
