import Foundation
import Testing

/// What the built binary needs from the machine it runs on, as the dynamic linker sees it.
@Suite("The binary carries cmark-gfm inside it")
struct LinkedLibrariesTests {
    @Test("cmark-gfm is linked from its static archives, so a machine that only runs circulate needs no cmark-gfm package")
    func cmarkIsStatic() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [CLI.binary]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let listing = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(listing)")
        // libcurl is there, so the listing is real; cmark-gfm is not, because its code is inside the binary.
        #expect(listing.contains("libcurl"), "\(listing)")
        #expect(!listing.contains("cmark"), "\(listing)")
        // And the binary really renders Markdown with it: a preview shows an autolinked address as a link.
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let body = try cli.write("news.md", "Write to <kim@example.org>.\n\nThen | this | & that.\n")
        let preview = try cli.run("preview", "announcement", "--file", body, "--subject", "News", "--eml", cli.path("news.eml"))
        #expect(preview.status == 0, "\(preview.stderr)")
        let html = try CLI.python("""
            import email, sys
            from email import policy
            message = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
            print(message.get_body(preferencelist=("html",)).get_content())
            """, [cli.path("news.eml")])
        #expect(html.contains("<p>Write to <a href=\"mailto:kim@example.org\">kim@example.org</a>.</p>\n<p>Then | this | &amp; that.</p>"),
                "\(html)")
    }
}
