import Foundation
import Testing
@testable import CirculateCore

/// Coordinator-style Markdown rendered through the real message path (the builder that makes every message, the MIME
/// composer) and read back by independent parsers: Python's email package and a tag stack over its html.parser
/// (Tests/Fixtures/check_message.py).
@Suite("Markdown corpus: what coordinators write arrives whole and well-formed in both parts")
struct MarkdownCorpusTests {
    /// Everything a coordinator might put in an update or in session notes.
    static let corpus = """
        # December update for Riverside

        Questions? Write to <kim@example.org>, or to sam.example@example.org, or see https://example.org/cop and \
        www.example.org/diary. Our [full notes](https://example.org/cop/notes?month=12&year=2026) and \
        [the coordinator](mailto:morgan@example.org) are there too.

        A second paragraph after the autolinks, with a < b & c > d, "quotes" and 'apostrophes', and **bold**, \
        *italic*, __strong__, _emphasis_, ***both*** and `x < y && z`.

        ## What we agreed

        1. A named link worker on each ward.
        2. A check-in call the day after discharge:
           - by phone, or
           - by text message.
        3. ~~Monthly~~ Fortnightly reviews, with ~20 people.

        - Loose item one.

        - Loose item two, with a [link](http://example.org/two).

        > Siân Ó Ceallaigh-Żółć said: "Ünïcödé matters — 日本語のテキスト, emoji 🎉, and Ελληνικά."

        | Ward | Beds | Notes |
        |------|-----:|:-----:|
        | Elm | 12 | quiet & calm |
        | Oak <br> | 7 | a < b |

            for ward in wards { if beds < 10 && open { call(ward) } }

        ---

        ### Unsafe things that must not survive

        Click [here](javascript:alert(1)) or [there](data:text/html;base64,PHNjcmlwdD4=) or ![pixel](data:image/png;base64,AAAA).
        Inline <span onclick="steal()">kept words</span> and <script>stealCookies()</script> done.

        <div class="hidden">
        Hidden block words vanish
        </div>

        \(String(repeating: "A long line of words about hospital discharge and what helps people home. ", count: 25))\
        https://example.org/\(String(repeating: "very-long-path-segment/", count: 20))end
        """

    /// The parts of the corpus that are meant not to reach a reader: raw HTML and refused link targets.
    static let omitted = [
        "(javascript:alert(1))", "(data:text/html;base64,PHNjcmlwdD4=)", "(data:image/png;base64,AAAA)",
        "<span onclick=\"steal()\">", "</span>", "<script>stealCookies()</script>", "<br>",
        "<div class=\"hidden\">\nHidden block words vanish\n</div>",
    ]

    /// Words: runs of letters and digits, compared without case.
    static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
    }

    @Test("an update and a thank-you carrying the corpus: valid HTML, every word in both parts, nothing unsafe")
    func corpusThroughMessages() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        var config = CirculateCore.Configuration()
        config.community.name = "Riverside Community of Practice"
        config.list.address = "cop@example.org"
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil),
                                            configuration: config, key: testKey, clock: { testNow })
        let session = try db.addSession(NewSession(topic: nil, title: "Hospital discharge", startsAt: testNow - 86_400 * 2,
                                                   endsAt: testNow - 86_400 * 2 + 7_200, venueName: "Riverside Centre",
                                                   venueAddress: nil, onlineLink: nil, facilitator: nil, holdForNotes: false),
                                        followUp: config.followUpRule, now: testNow - 86_400 * 3)
        _ = try db.setNotes(session.id, markdown: Self.corpus, now: testNow)
        let mailings = [
            Mailing.draft(kind: .update, stream: .monthlyUpdate, subject: "December update", body: Self.corpus, now: testNow),
            Mailing.draft(kind: .thankYou, stream: .sessionInvitations, subject: "Thank you", body: "", now: testNow,
                          sessionID: session.id),
        ]
        var paths: [String] = []
        for (index, mailing) in mailings.enumerated() {
            let preview = try builder.preview(mailing, to: EmailAddress("ann@example.org"), name: "Ann Example", memberID: 1)
            let path = scratch.path("\(index).eml")
            try Data(preview.composed.bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }

        let checked = try SpamAssassinTests.runScript("check_message.py", paths)
        try #require(checked.results.count == paths.count, "\(checked.output)")
        var source = Self.corpus
        for piece in Self.omitted {
            #expect(source.contains(piece), "the corpus no longer holds \(piece)")
            source = source.replacingOccurrences(of: piece, with: " ")
        }
        // Ordered lists' numbers are markers (the HTML numbers its items itself), and a mailto link shows its address
        // in the text part without the scheme: Markdown syntax, not prose.
        source = source.replacing(#/(?m)^ *[0-9]+\. /#, with: "")
        let expected = Self.words(source).subtracting(["mailto"])
        for (mailing, result) in zip(mailings, checked.results) {
            let label = mailing.kind.rawValue
            #expect(result["ok"] as? Bool == true, "\(label): \(result["violations"] ?? "?")")
            let parts = result["parts"] as? [[String: Any]] ?? []
            let textPart = try #require(parts.first { $0["content_type"] as? String == "text/plain" })
            let htmlPart = try #require(parts.first { $0["content_type"] as? String == "text/html" })
            let text = try #require(textPart["text"] as? String)
            let html = try #require(htmlPart["text"] as? String)
            let htmlText = try #require(htmlPart["html_text"] as? String)
            let urls = try #require(htmlPart["html_urls"] as? [String])

            let missingFromText = expected.subtracting(Self.words(text))
            #expect(missingFromText.isEmpty, "\(label): words missing from the text part: \(missingFromText.sorted())")
            let missingFromHTML = expected.subtracting(Self.words(htmlText + " " + urls.joined(separator: " ")))
            #expect(missingFromHTML.isEmpty, "\(label): words missing from the HTML part: \(missingFromHTML.sorted())")

            for unsafe in ["javascript", "data:", "steal", "onclick", "<script", "<span", "Hidden block", "raw HTML"] {
                #expect(!html.contains(unsafe) && !text.contains(unsafe), "\(label): \(unsafe) reached the message")
            }
            #expect(urls.allSatisfy { MarkdownDocument.allows(url: $0) }, "\(label): \(urls)")
            #expect(urls.contains("mailto:kim@example.org") && urls.contains("mailto:sam.example@example.org"), "\(label): \(urls)")
            #expect(html.contains("<table>") && html.contains("<del>Monthly</del>") && html.contains("<ol>"), "\(label)")
            #expect(html.contains("<p>A second paragraph after the autolinks, with a &lt; b &amp; c &gt; d"),
                    "\(label): the paragraph after an autolink must be its own, escaped")
            // The text part is text, not Markdown: no emphasis markers, link syntax or table pipes rows of dashes.
            for markup in ["**", "__", "](", "<kim@", "# December", "|-----:", "| Elm |", "*italic*", "_emphasis_"] {
                #expect(!text.contains(markup), "\(label): the text part shows Markdown \(markup)")
            }
            #expect(text.contains("Our full notes (https://example.org/cop/notes?month=12&year=2026)"), "\(label)")
            #expect(text.contains("December update for Riverside\r\n============================="), "\(label)")
            #expect(text.contains("2. A check-in call the day after discharge:\r\n   - by phone, or\r\n"), "\(label)")
            #expect(text.contains("Ward | Beds | Notes\r\n-----|------|-------------\r\nElm  | 12   | quiet & calm"), "\(label)")
            #expect(text.contains("~~Monthly~~ Fortnightly reviews, with ~20 people."), "\(label)")
        }
    }
}
