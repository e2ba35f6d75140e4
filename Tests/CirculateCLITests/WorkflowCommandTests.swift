import CirculateTestSupport
import Foundation
import Testing

@Suite("Workflow commands: sessions, updates, reports, previews and templates")
struct WorkflowCommandTests {
    func instance() throws -> CLI {
        let cli = try CLI()
        cli.environment["CIRCULATE_NOW"] = "2026-11-01T09:00:00Z"
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "import", try cli.write("members.csv", """
            Name,Email,Consent
            Ann Example,ann.example@example.org,yes
            Siân Ó Ceallaigh,sian@example.org,yes
            """), "--role", "member").status == 0)
        return cli
    }

    @Test("bad input is refused with a clear message and the right exit code, changing nothing", arguments: [
        (["session", "add", "--start", "2026-03-29 01:30", "--title", "Night walk"], 65, "clocks go forward"),
        (["session", "add", "--start", "2026-12-09", "--title", "x"], 65, "2026-12-09"),
        (["session", "add", "--start", "2026-12-09 10:00", "--end", "2026-12-09 09:00", "--title", "x"], 65, "not after the start"),
        (["session", "add", "--start", "2026-12-09 10:00"], 65, "--title"),
        (["session", "add", "--start", "2026-12-09 10:00", "--title", "x", "--online", "meet.example.org/x"], 65, "https://"),
        (["session", "add", "--start", "2026-12-09 10:00", "--topic", "Nothing like it"], 65, "no topic"),
        (["session", "show", "99"], 65, "no session 99"),
        (["session", "edit", "99", "--venue", "Hall"], 65, "no session 99"),
        (["session", "attendance", "99", "/nonexistent.csv"], 66, "/nonexistent.csv"),
        (["update", "cancel", "7"], 65, "no monthly update 7"),
        (["report", "status", "3"], 65, "no report"),
        (["report", "distribute", "--title", "Findings"], 64, "--link"),
        (["preview", "newsletter"], 65, "not a message kind"),
    ])
    func badInput(arguments: [String], status: Int32, says: String) throws {
        let cli = try instance()
        let r = try cli.run(arguments)
        #expect(r.status == status, "\(arguments): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains(says), "\(arguments): \(r.stderr)")
        let sessions = try cli.run("session", "list", "--all", "--json")
        #expect((try sessions.json() as? [Any])?.isEmpty == true, "nothing may be added")
    }

    @Test("a report too big to attach is refused with the way out; the same report twice sends nothing; another with its title needs --again")
    func reportLimits() throws {
        let cli = try instance()
        _ = try cli.write("circulate.toml", "[reports]\nattachment_limit = \"1KB\"\naudience = \"member\"\n")
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        let big = cli.path("big.pdf")
        try Data(repeating: 0x25, count: 5000).write(to: URL(fileURLWithPath: big))
        var r = try cli.run("report", "distribute", big, "--title", "Findings")
        #expect(r.status == 65 && r.stderr.contains("--link"), "\(r.stderr)")
        r = try cli.run("report", "distribute", "--link", "https://example.org/findings.pdf", "--title", "Findings")
        #expect(r.status == 0, "\(r.stderr)")
        r = try cli.run("report", "distribute", "--link", "https://example.org/findings.pdf", "--title", "findings")
        #expect(r.status == 0 && r.stdout.contains("Already distributed") && r.stdout.contains("Nothing was sent"), "\(r.stdout) \(r.stderr)")
        r = try cli.run("report", "distribute", "--link", "https://example.org/findings-v2.pdf", "--title", "findings")
        #expect(r.status == 65 && r.stderr.contains("--again"), "\(r.stderr)")
        #expect(try cli.run("report", "list", "--json").json() as? [Any] != nil)
        #expect((try cli.run("report", "list", "--json").json() as? [Any])?.count == 1)
    }

    @Test("preview shows a thank-you for a named member, and --eml writes the exact message, which parses cleanly")
    func preview() throws {
        let cli = try instance()
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00", "--venue", "Riverside Centre").status == 0)
        #expect(try cli.run("session", "add", "--title", "After the first night", "--start", "2026-12-09 10:00", "--venue", "Riverside Centre").status == 0)
        let shown = try cli.run("preview", "thank-you", "--session", "1", "--member", "sian@example.org")
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("To: Siân Ó Ceallaigh <sian@example.org>"), "\(shown.stdout)")
        #expect(shown.stdout.contains("Calendar: invite.ics (METHOD:REQUEST"), "\(shown.stdout)")
        #expect(shown.stdout.contains("Dear Siân Ó Ceallaigh,") && shown.stdout.contains("Wednesday 9 December 2026, 10:00 to 12:00"), "\(shown.stdout)")
        let eml = cli.path("thank-you.eml")
        #expect(try cli.run("preview", "thank-you", "--session", "1", "--eml", eml).status == 0)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        check.arguments = [SMTPServer.fixtures + "/check_message.py", eml]
        let out = Pipe()
        check.standardOutput = out
        try check.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        check.waitUntilExit()
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect(result["structure"] as? String == "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)")
        // A preview queues nothing.
        #expect(try cli.queueCounts().values.reduce(0, +) == 0)
    }

    @Test("update queue takes the next free slot; list, show, preview and cancel; --slot must be a slot day")
    func updates() throws {
        let cli = try instance()  // 1 November 2026: the next first Tuesday is 3 November
        let file = try cli.write("news.md", "## November\n\nThank you all.\n")
        var r = try cli.run("update", "queue", file, "--subject", "November news", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.object()["slot_at"] as? String == "2026-11-03T09:00:00Z", "\(r.stdout)")
        r = try cli.run("update", "queue", file, "--subject", "December news", "--json")
        #expect(try r.object()["slot_at"] as? String == "2026-12-01T09:00:00Z", "the next free slot: \(r.stdout)")
        r = try cli.run("update", "queue", file, "--subject", "Wrong day", "--slot", "2026-12-02")
        #expect(r.status == 65 && r.stderr.contains("is not a slot day") && r.stderr.contains("first Tuesday"), "\(r.stderr)")
        r = try cli.run("update", "queue", file, "--subject", "Taken", "--slot", "2026-12-01")
        #expect(r.status == 65 && r.stderr.contains("already queued"), "\(r.stderr)")
        r = try cli.run("update", "list")
        #expect(r.status == 0 && r.stdout.contains("the first Tuesday of each month at 09:00") && r.stdout.contains("December news"), "\(r.stdout)")
        r = try cli.run("update", "show", "2")
        #expect(r.status == 0 && r.stdout.contains("Thank you all."), "\(r.stdout)")
        r = try cli.run("update", "preview", "1", "--member", "ann.example@example.org")
        #expect(r.status == 0 && r.stdout.contains("Subject: November news") && r.stdout.contains("Dear Ann Example,"), "\(r.stdout)")
        r = try cli.run("update", "cancel", "1")
        #expect(r.status == 0, "\(r.stderr)")
        r = try cli.run("update", "queue", file, "--subject", "November news, again", "--json")
        #expect(try r.object()["slot_at"] as? String == "2026-11-03T09:00:00Z", "a cancelled update frees its slot: \(r.stdout)")
    }

    @Test("a broken template stops serve at start-up, naming the file and the line")
    func brokenTemplate() throws {
        let cli = try instance()
        try FileManager.default.createDirectory(atPath: cli.path("templates"), withIntermediateDirectories: true)
        _ = try cli.write("templates/thank-you.txt.mustache", "{{% CONTENT_TYPE: TEXT}}\nThank you for coming.\n{{#session}}\n{{title}}\n")
        let r = try cli.run("serve")
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("templates/thank-you.txt.mustache") && r.stderr.contains("line"), "\(r.stderr)")
        #expect(r.stderr.contains("never closed"), "\(r.stderr)")
    }

    @Test("session edit tells the people invited; a quiet edit and a facilitator change do not")
    func editAndCancel() throws {
        let cli = try instance()
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00", "--venue", "Riverside Centre").status == 0)
        #expect(try cli.run("session", "add", "--title", "After the first night", "--start", "2026-12-09 10:00", "--venue", "Riverside Centre").status == 0)
        cli.environment["CIRCULATE_NOW"] = "2026-11-10T13:00:00Z"
        #expect(try cli.run("session", "attendance", "1", try cli.write("sheet.csv", "Name,Email,Consent\nAnn Example,ann.example@example.org,yes\n")).status == 0)
        // No daemon: nobody is invited yet, so a change tells nobody.
        var r = try cli.run("session", "edit", "2", "--venue", "Town Hall")
        #expect(r.status == 0 && r.stdout.contains("Nobody has been invited yet"), "\(r.stdout)")
        // The thank-you is queued by the scheduler; a short daemon run does it (Maildir outbox).
        cli.environment["CIRCULATE_NOW"] = "2026-11-11T10:00:05Z"
        let daemon = try cli.start("serve")
        #expect(cli.waitFor(15) { ((try? FileManager.default.contentsOfDirectory(atPath: cli.path("var/outbox/new"))) ?? []).count == 1 })
        daemon.terminate()
        daemon.waitUntilExit()
        r = try cli.run("session", "edit", "2", "--facilitator", "Dr Priya Example")
        #expect(r.status == 0 && !r.stdout.contains("Queued"), "\(r.stdout)")
        r = try cli.run("session", "edit", "2", "--start", "2026-12-10 10:00", "--quiet")
        #expect(r.status == 0 && r.stdout.contains("--quiet"), "\(r.stdout)")
        r = try cli.run("session", "edit", "2", "--start", "2026-12-11 10:00", "--json")
        #expect(try r.object()["sequence"] as? Int == 1, "\(r.stdout)")
        #expect(try cli.queueCounts()["queued"] == 1, "one update, to Ann")
        r = try cli.run("session", "cancel", "2", "--reason", "The hall is closed.")
        #expect(r.status == 0 && r.stdout.contains("Queued a cancellation for the 1 people invited"), "\(r.stdout)")
        r = try cli.run("session", "cancel", "2")
        #expect(r.status == 0 && r.stdout.contains("already cancelled"), "\(r.stdout)")
    }
}
