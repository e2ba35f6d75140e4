import Testing
@testable import CirculateCore

@Suite("Slotted layouts: encoding line by line gives the bytes of filling and encoding the whole text")
struct SlottedTextTests {
    /// Text pieces that exercise quoted-printable's rules: line starts ("." and "From "), whitespace before a line
    /// break, long lines that need soft breaks, "=", non-ASCII, every kind of line break.
    static let fragments = [
        "Dear ", ",\n", "\n", "\r\n", "\r", ".", ".\n", "From ", "From the river\n", "Fro", "m ", "  \n", "\t", " ",
        "=", "é", "Żółć ", "🌊", "<p>", "</p>\n", "&amp;", String(repeating: "x", count: 74), String(repeating: "y ", count: 40),
        "https://example.org/u/2uk-AAAA", "plain words and more plain words ", "\n\n",
    ]
    static let values = [
        "", "Ann Example", "Siân Ó Ceallaigh-Żółć", "O'Brien & <Sons> \"Ltd\"", "line\nbreak", "ends with cr\r",
        "\nstarts with lf", ".dot", "From Ann", String(repeating: "z", count: 90), "trailing space ",
        "mailto:cop@example.org?subject=unsubscribe%202uk-AAAA",
    ]

    /// Up to 30 pieces: a slot's marker one time in `slotOneIn`, otherwise one of `fragments`.
    static func randomLayout(slotOneIn: Int, using random: inout SplitMix64) -> String {
        var rendered = ""
        for _ in 0..<Int.random(in: 0...30, using: &random) {
            if Int.random(in: 0..<slotOneIn, using: &random) == 0 {
                rendered += (Slot.allCases.randomElement(using: &random) ?? .footer).marker
            } else {
                rendered += fragments.randomElement(using: &random) ?? ""
            }
        }
        return rendered
    }

    /// `appendQuotedPrintable` after one byte already written (so that nothing depends on starting at the beginning).
    static func encoded(_ layout: SlottedText, _ values: [Slot: String], escape: Bool, terminated: Bool) -> [UInt8] {
        var out: [UInt8] = [0x41]
        layout.appendQuotedPrintable(values, escape: escape, into: &out, terminated: terminated)
        return out
    }

    /// A value from `values` for each slot, or none, at random.
    static func randomValues(using random: inout SplitMix64) -> [Slot: String] {
        var values: [Slot: String] = [:]
        for slot in Slot.allCases where Bool.random(using: &random) {
            values[slot] = Self.values.randomElement(using: &random)
        }
        return values
    }

    @Test("random layouts and values: the same bytes, terminated or not, escaped or not")
    func sameBytesAsWholeEncoding() {
        var random = SplitMix64(state: 20_261_203)
        for _ in 0..<3_000 {
            let rendered = Self.randomLayout(slotOneIn: 6, using: &random)
            let layout = SlottedText(rendered)
            let values = Self.randomValues(using: &random)
            for escape in [false, true] {
                for terminated in [false, true] {
                    var expected: [UInt8] = [0x41]
                    QuotedPrintable.encode(layout.fill(values, escape: escape), into: &expected, terminated: terminated)
                    let actual = Self.encoded(layout, values, escape: escape, terminated: terminated)
                    guard actual == expected else {
                        Issue.record("differs for \(rendered.debugDescription) with \(values), escape \(escape), terminated \(terminated)")
                        return
                    }
                }
            }
        }
    }

    @Test("a slot resolved ahead gives the bytes of filling it per message with the same value")
    func resolvedSlotSameBytes() {
        var random = SplitMix64(state: 20_261_204)
        for _ in 0..<2_000 {
            let rendered = Self.randomLayout(slotOneIn: 5, using: &random)
            let layout = SlottedText(rendered)
            let slot = Slot.allCases.randomElement(using: &random) ?? .footer
            let fixed = Self.values.randomElement(using: &random) ?? ""
            var values = Self.randomValues(using: &random)
            for escape in [false, true] {
                let resolved = layout.resolving(slot, with: fixed, escape: escape)
                var perMessage = values
                perMessage[slot] = fixed
                // The resolved layout ignores any value still given for the slot.
                values[slot] = "ignored"
                for terminated in [false, true] {
                    let expected = Self.encoded(layout, perMessage, escape: escape, terminated: terminated)
                    let actual = Self.encoded(resolved, values, escape: escape, terminated: terminated)
                    guard actual == expected, resolved.fill(values, escape: escape) == layout.fill(perMessage, escape: escape) else {
                        Issue.record("differs for \(rendered.debugDescription), \(slot) = \(fixed.debugDescription), escape \(escape)")
                        return
                    }
                }
                values[slot] = nil
            }
        }
    }

    @Test("a slot's value is escaped in HTML only, and a text without slots is all encoded ahead")
    func escapingAndLiteralCount() {
        let layout = SlottedText("<p>Dear \(Slot.greeting.marker),</p>\n<p>News.</p>\n")
        let values: [Slot: String] = [.greeting: "Ann & <Bo>"]
        #expect(layout.fill(values, escape: true) == "<p>Dear Ann &amp; &lt;Bo&gt;,</p>\n<p>News.</p>\n")
        #expect(layout.fill(values, escape: false) == "<p>Dear Ann & <Bo>,</p>\n<p>News.</p>\n")
        #expect(layout.literalCount == "<p>Dear ,</p>\n<p>News.</p>\n".utf8.count)
        var out: [UInt8] = []
        SlottedText("no slots here\nat all\n").appendQuotedPrintable([:], escape: false, into: &out, terminated: true)
        #expect(out == Array("no slots here\r\nat all\r\n".utf8))
    }

    @Test("HTML escaping: the five characters become references, everything else (non-ASCII too) is kept", arguments: [
        ("Ann Example", "Ann Example"),
        ("", ""),
        ("O'Brien & <Sons> \"Ltd\"", "O&#39;Brien &amp; &lt;Sons&gt; &quot;Ltd&quot;"),
        ("Siân Ó Ceallaigh-Żółć 🌊 & co", "Siân Ó Ceallaigh-Żółć 🌊 &amp; co"),
        ("&amp;", "&amp;amp;"),
        ("<<>>", "&lt;&lt;&gt;&gt;"),
    ])
    func escapesHTML(input: String, expected: String) {
        #expect(SlottedText.escapeHTML(input) == expected)
    }
}
