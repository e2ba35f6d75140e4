import Foundation
import Testing

@Suite("Text from a sheet or the database on the terminal")
struct TerminalTextTests {
    /// The raw control characters in `text` that a terminal would act on: C0 except the line feed that ends each
    /// line, DEL, and C1 (U+0080 to U+009F, e.g. U+009B, the one-byte escape sequence introducer).
    static func rawControls(_ text: String) -> [String] {
        text.unicodeScalars.filter { s in
            (s.value < 0x20 && s != "\n") || (0x7F...0x9F).contains(s.value) || [0x2028, 0x2029, 0x202E].contains(s.value)
        }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    @Test("an import row with CR, ESC and NUL: the report shows them as visible escapes, the rejection says what they are in words")
    func importRow() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let sheet = "Name,Email,Consent\r\n"
            + "\"Alex\rMorgan\u{1B}[2J\u{0}\",alex@example.org,yes\r\n"
            + "Kim Lee,\"kim@exam\rple.org\",yes\r\n"
            + "Sam Green,sam@example.org,\"y\u{1B}]0;pwned\u{7}\"\r\n"
        let file = try cli.write("sheet.csv", sheet)
        let r = try cli.run("member", "import", file)
        #expect(r.status == 65, "\(r.stdout) \(r.stderr)")
        #expect(Self.rawControls(r.stdout + r.stderr) == [], "\(r.stdout.debugDescription)")
        #expect(!(r.stdout + r.stderr).contains("\\u{"), "Swift's notation never reaches a coordinator: \(r.stdout)")
        #expect(r.stdout.contains("row 2: alex@example.org rejected — name \"Alex Morgan<ESC>[2J<NUL>\" contains an escape character (ESC, U+001B)"),
                "\(r.stdout)")
        #expect(r.stdout.contains("row 3: kim@exam<CR>ple.org rejected — it contains a line break (CR, U+000D)"), "\(r.stdout)")
        #expect(r.stdout.contains("row 4: sam@example.org rejected — Consent \"y<ESC>]0;pwned<BEL>\" is neither yes nor no"), "\(r.stdout)")
    }

    @Test("member list and show, session and report listings escape control characters that reached the database")
    func listings() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", "alex@example.org", "--name", "Alex Morgan", "--organisation", "Riverside",
                            "--role", "key-influencer", "--lawful-basis", "legitimate-interest", "--source", "council website").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2030-11-10 10:00", "--venue", "Riverside Centre").status == 0)
        #expect(try cli.run("report", "distribute", "--link", "https://example.org/r.pdf", "--title", "Findings", "--audience", "key-influencer").status == 0)
        // Text circulate itself would refuse, written behind its back (an older version, a hand edit, a restored copy).
        // The NUL comes last: SQLite's C strings end there when circulate reads the text back.
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            bad = "\\x1b[2J\\r\\u009b31m\\u202e\\x00"
            db.execute("UPDATE member SET name = name || ?, organisation = organisation || ?", (bad, bad))
            db.execute("UPDATE session SET title = title || ?, venue_name = venue_name || ?", (bad, bad))
            db.execute("UPDATE report SET title = title || ?", (bad,))
            db.commit()
            """
        let out = try CLI.python(script, [cli.path("var/circulate.sqlite")])
        #expect(out.isEmpty, "\(out)")
        for command in [["member", "list"], ["member", "show", "alex@example.org"], ["session", "list"], ["session", "show", "1"],
                        ["report", "list"], ["report", "status", "1"]] {
            let r = try cli.run(command)
            #expect(r.status == 0, "\(command): \(r.stderr)")
            #expect(Self.rawControls(r.stdout + r.stderr) == [], "\(command): \(r.stdout.debugDescription)")
            #expect(r.stdout.contains("<ESC>[2J<CR><U+009B>31m<RLO>"), "\(command): \(r.stdout)")
        }
    }
}
