import Foundation
import Synchronization
import Testing
@testable import CirculateCore

/// cmark-gfm's rendering of what coordinators write, and circulate's own rules on top: no raw HTML, only http, https
/// and mailto links, and a plain-text rendering that reads as text.
@Suite("Markdown: cmark-gfm renders coordinators' Markdown safely, as HTML and as readable text")
struct MarkdownDocumentTests {
    @Test("an autolinked address is a mailto link, and the paragraphs after it stay paragraphs with & and < escaped")
    func autolinkedAddress() {
        let document = MarkdownDocument("Write to <kim@example.org> or kim@example.org.\n\nFish & chips for a < b.\n\nThe end.")
        #expect(document.html == """
            <p>Write to <a href="mailto:kim@example.org">kim@example.org</a> or \
            <a href="mailto:kim@example.org">kim@example.org</a>.</p>
            <p>Fish &amp; chips for a &lt; b.</p>
            <p>The end.</p>
            """)
        #expect(document.text == "Write to kim@example.org or kim@example.org.\n\nFish & chips for a < b.\n\nThe end.")
    }

    @Test("tables, ~~strikethrough~~ and bare web addresses are GitHub Flavored; a single tilde stays a tilde")
    func githubExtensions() {
        let document = MarkdownDocument("""
            | Ward | Beds |
            |------|-----:|
            | Elm  | 12 |

            ~~Tuesday~~ Wednesday, with ~20 people. See www.example.org/cop or https://example.org/notes.
            """)
        #expect(document.html.contains("<table>\n<thead>\n<tr>\n<th>Ward</th>\n<th align=\"right\">Beds</th>"), "\(document.html)")
        #expect(document.html.contains("<td>Elm</td>\n<td align=\"right\">12</td>"), "\(document.html)")
        #expect(document.html.contains("<p><del>Tuesday</del> Wednesday, with ~20 people."), "\(document.html)")
        #expect(document.html.contains("<a href=\"http://www.example.org/cop\">www.example.org/cop</a>"), "\(document.html)")
        #expect(document.html.contains("<a href=\"https://example.org/notes\">https://example.org/notes</a>"), "\(document.html)")
        #expect(document.text == """
            Ward | Beds
            -----|-----
            Elm  | 12

            ~~Tuesday~~ Wednesday, with ~20 people. See www.example.org/cop or https://example.org/notes.
            """)
    }

    @Test("raw HTML is left out of both parts; the words between inline tags stay")
    func rawHTMLLeftOut() {
        let document = MarkdownDocument("""
            Come <b>soon</b><script>alert("x")</script> please.

            <div style="color:red">
            Hidden block words
            </div>

            <iframe src="https://example.org/frame"></iframe>

            After.
            """)
        #expect(document.html == "<p>Come soon please.</p>\n<p>After.</p>", "\(document.html)")
        #expect(document.text == "Come soon please.\n\nAfter.", "\(document.text)")
    }

    @Test("links and images work only with http, https and mailto; others keep their words and lose the link")
    func linkSchemes() {
        let document = MarkdownDocument("""
            [one](javascript:alert(1)) [two](JavaScript:alert(2)) [three](data:text/html;base64,PHNjcmlwdD4=) \
            [four](page.html) [five](file:///etc/passwd) ![six](data:image/png;base64,AAAA) \
            [seven](https://example.org/7) [eight](http://example.org/8) [nine](mailto:kim@example.org?subject=Hi) \
            ![ten](https://example.org/10.png)
            """)
        let html = document.html
        #expect(html == """
            <p>one two three four five six \
            <a href="https://example.org/7">seven</a> <a href="http://example.org/8">eight</a> \
            <a href="mailto:kim@example.org?subject=Hi">nine</a> <img src="https://example.org/10.png" alt="ten" /></p>
            """, "\(html)")
        #expect(document.text == """
            one two three four five six seven (https://example.org/7) eight (http://example.org/8) \
            nine (mailto:kim@example.org?subject=Hi) ten (https://example.org/10.png)
            """, "\(document.text)")
        for url in ["http://example.org", "HTTPS://example.org", "mailto:kim@example.org"] { #expect(MarkdownDocument.allows(url: url)) }
        for url in ["javascript:x", "data:image/png;base64,AA", "vbscript:x", "/relative", "#top", "", " javascript:x"] {
            #expect(!MarkdownDocument.allows(url: url), "\(url)")
        }
    }

    @Test("the text part reads as text: no emphasis markers, links as text (URL), headings underlined, lists and quotes kept")
    func plainText() {
        let document = MarkdownDocument("""
            # What we heard

            We met **twice** and *agreed* on __three__ _things_; read [the notes](https://example.org/notes).

            ## Next steps

            1. Ask the ward.
            2. Write to [Kim](mailto:kim@example.org).
               - a nested point
               - another, in `code`

            - loose one

            - loose two

            > Quoted words
            > over two lines.

                let x = a < b && c

            ***
            Line one\\
            line two
            """)
        #expect(document.text == """
            What we heard
            =============

            We met twice and agreed on three things; read the notes (https://example.org/notes).

            Next steps
            ----------

            1. Ask the ward.
            2. Write to Kim (kim@example.org).
               - a nested point
               - another, in code

            - loose one

            - loose two

            > Quoted words
            > over two lines.

                let x = a < b && c

            ----------

            Line one
            line two
            """, "\(document.text)")
    }

    @Test("many threads rendering at once get the same result (documents rendered one at a time, extensions registered once)")
    func concurrentRendering() {
        let source = "Mail <kim@example.org>.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ new"
        let expected = MarkdownDocument(source)
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4000) { _ in
            let document = MarkdownDocument(source)
            results.withLock { $0.append(document.html + "\u{0}" + document.text) }
        }
        let all = results.withLock { $0 }
        #expect(all.count == 4000)
        #expect(Set(all) == [expected.html + "\u{0}" + expected.text])
    }
}
