import Foundation
import Testing

@Suite("circulate member import")
struct ImportCommandTests {
    func ready() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        return cli
    }

    func rows(_ report: [String: Any]) -> [[String: Any]] { report["rows"] as? [[String: Any]] ?? [] }
    func counts(_ report: [String: Any]) -> [String: Int] { report["counts"] as? [String: Int] ?? [:] }

    @Test("the sample sign-in sheet imports: BOM, CRLF, title row, quoted commas and line breaks, no-consent and no-email rows")
    func sample() throws {
        let cli = try ready()
        let r = try cli.run("member", "import", CLI.fixture("sign-in-sheet.csv"), "--role", "attendee",
                            "--source", "sign-in sheet, hospital discharge session 5 Nov 2026", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try r.object()
        #expect(report["committed"] as? Bool == true)
        #expect(counts(report) == ["added": 4, "updated": 0, "unchanged": 0, "skipped": 2, "rejected": 0])
        // Spreadsheet row numbers: the title is row 1, the header row 2; Priya's two-line cell is still one row.
        #expect(rows(report).map { $0["row"] as? Int } == [3, 4, 5, 6, 8, 9])
        #expect(report["ignored_columns"] as? [String] == ["Dietary needs"])

        let priya = try cli.run("member", "show", "priya.n@example.org", "--json").object()
        #expect(priya["organisation"] as? String == "Ward 7, City Hospital", "a line break in a cell becomes a space")
        #expect((rows(report)[2]["note"] as? String)?.contains("line breaks") == true)
        let zoe = try cli.run("member", "show", "zoe.angstrom@example.org", "--json").object()
        #expect(zoe["name"] as? String == "Zoë Ångström")
        #expect(zoe["roles"] as? [String] == ["attendee", "core-group"])
        #expect((zoe["consent_history"] as? [[String: Any]])?.first?["source"] as? String
                == "sign-in sheet, hospital discharge session 5 Nov 2026")
    }

    @Test("re-importing the same file changes nothing")
    func reimport() throws {
        let cli = try ready()
        let file = try cli.write("sheet.csv", "Name,Email,Consent\nAlex Morgan,alex@example.org,yes\nKim Lee,kim@example.org,yes\n")
        #expect(try cli.run("member", "import", file).status == 0)
        let before = try cli.run("export", "alex@example.org").stdout
        let again = try cli.run("member", "import", file, "--json").object()
        #expect(counts(again)["unchanged"] == 2)
        #expect(counts(again)["added"] == 0 && counts(again)["updated"] == 0)
        let after = try cli.run("export", "alex@example.org").stdout
        // Only the export's own timestamp may differ.
        func strip(_ s: String) -> String { s.split(separator: "\n").filter { !$0.contains("generated_at") }.joined() }
        #expect(strip(before) == strip(after))
    }

    @Test("a bad row rejects the whole file (exit 65, nothing imported) and names the row; --skip-invalid imports the rest")
    func rejected() throws {
        let cli = try ready()
        let file = try cli.write("bad.csv", "Name,Email,Consent\nAlex,alex@example.org,yes\nKim,kim@@example.org,yes\nSam,sam@example.org,maybe\n")
        let r = try cli.run("member", "import", file)
        #expect(r.status == 65)
        #expect(r.stdout.contains("row 3: kim@@example.org rejected — it has more than one @"))
        #expect(r.stdout.contains("row 4: sam@example.org rejected — Consent \"maybe\" is neither yes nor no"))
        #expect(r.stdout.contains("Nothing imported"))
        #expect(try cli.listed().isEmpty)

        let partial = try cli.run("member", "import", file, "--skip-invalid")
        #expect(partial.status == 0)
        #expect(try cli.listed().count == 1)
    }

    @Test("--dry-run reports and changes nothing")
    func dryRun() throws {
        let cli = try ready()
        let r = try cli.run("member", "import", CLI.fixture("sign-in-sheet.csv"), "--dry-run", "--json")
        #expect(r.status == 0)
        let report = try r.object()
        #expect(report["dry_run"] as? Bool == true && report["committed"] as? Bool == false)
        #expect(counts(report)["added"] == 4)
        #expect(try cli.listed().isEmpty)
    }

    @Test("an unsubscribed person stays unsubscribed on re-import unless --resubscribe; then fresh consent is recorded")
    func unsubscribedStays() throws {
        let cli = try ready()
        let file = try cli.write("sheet.csv", "Name,Email,Consent\nAlex Morgan,alex@example.org,yes\n")
        #expect(try cli.run("member", "import", file).status == 0)
        #expect(try cli.run("unsubscribe", "alex@example.org").status == 0)
        let again = try cli.run("member", "import", file, "--json").object()
        #expect((rows(again).first?["note"] as? String)?.contains("stays unsubscribed") == true)
        #expect(try cli.run("member", "show", "alex@example.org", "--json").object()["status"] as? String == "unsubscribed")

        let back = try cli.run("member", "import", file, "--resubscribe", "--source", "sign-in sheet, 3 Dec 2026", "--json").object()
        #expect(rows(back).first?["outcome"] as? String == "updated")
        let shown = try cli.run("member", "show", "alex@example.org", "--json").object()
        #expect(shown["status"] as? String == "active")
        let history = shown["consent_history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["action"] as? String } == ["given", "withdrawn", "given"])
        #expect(history.last?["source"] as? String == "sign-in sheet, 3 Dec 2026")
    }

    @Test("file problems: missing (66), no Email column (65), no Consent column (65, with the way out)")
    func fileProblems() throws {
        let cli = try ready()
        #expect(try cli.run("member", "import", cli.path("missing.csv")).status == 66)
        let noEmail = try cli.run("member", "import", try cli.write("a.csv", "Name,Phone\nAlex,0123\n"))
        #expect(noEmail.status == 65 && noEmail.stderr.contains("no Email column"))
        let noConsent = try cli.run("member", "import", try cli.write("b.csv", "Name,Email\nCllr Jones,cllr@example.org\n"))
        #expect(noConsent.status == 65 && noConsent.stderr.contains("--lawful-basis legitimate-interest"))
        #expect(try cli.run("member", "import", cli.path("b.csv"), "--lawful-basis", "legitimate-interest", "--role", "key-influencer").status == 0)
    }
}
