import CirculateTestSupport
import Foundation
import Testing

/// One person through every workflow, then erased: nothing of them is left in anything circulate keeps.
@Suite("Erasure reaches everything circulate keeps")
struct ErasureEverywhereTests {
    /// The person: an accented local part and an internationalised domain (NFC as typed).
    static let address = "zoë.brontë@bücher.example"
    static let name = "Zoë Brontë-Ångström"

    /// Every form the address or the name could take in a file.
    static var forms: [String] {
        let local = "zoë.brontë"
        let variants = [address, address.uppercased(), "\(local)@xn--bcher-kva.example", "\(local)@XN--BCHER-KVA.EXAMPLE"]
        return (variants + [name]).flatMap { [$0.precomposedStringWithCanonicalMapping, $0.decomposedStringWithCanonicalMapping] }
    }

    static func files(_ cli: CLI) -> [String] {
        var paths = ["var/circulate.sqlite", "var/circulate.sqlite-wal", "var/circulate.sqlite-shm"].map { cli.path($0) }
        for sub in ["new", "cur", "tmp"] {
            let dir = cli.path("var/outbox/\(sub)")
            paths += ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }
        }
        paths += ((try? FileManager.default.contentsOfDirectory(atPath: cli.directory.path)) ?? []).filter { $0.hasSuffix(".log") }.map { cli.path($0) }
        return paths.filter { FileManager.default.fileExists(atPath: $0) }
    }

    @Test("imported, invited (deferred with a reply quoting the address), attended, thanked, sent a report and its follow-up, a test, a bounce, the outbox; exported; then erased from every file")
    func everything() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret", faults: """
            [{"when": "rcpt", "match": "xn--bcher-kva", "reply": "451 4.2.0 <zoë.brontë@xn--bcher-kva.example> greylisted, try again", "times": 1}]
            """)
        let cli = try CLI()
        _ = try cli.write("smtp-password", "s3cret\n")
        let relayConfig = """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [delivery]
            retry_initial = "1s"
            retry_maximum = "2s"
            bounce_limit = 3
            [reports]
            follow_up_after = "14d"
            """
        _ = try cli.write("circulate.toml", relayConfig + """

            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"
            smtputf8 = true
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        func ok(_ arguments: String...) throws -> CLI.Result {
            let r = try cli.run(arguments)
            #expect(r.status == 0, "circulate \(arguments.joined(separator: " ")): \(r.stdout) \(r.stderr)")
            return r
        }
        func sent(_ kind: String) throws -> Bool {
            let export = try cli.run("export", Self.address).object()
            return (export["messages"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == kind && $0["state"] as? String == "sent" }
        }

        cli.at("2026-11-02T09:00:00Z")
        _ = try ok("init")
        let sheet = try cli.write("members.csv", "Name,Email,Consent,Tags\n\(Self.name),\(Self.address),yes,member;key-influencer\nAnn Other,ann@example.org,yes,member\n")
        _ = try ok("member", "import", sheet, "--source", "sign-in sheet, October session")
        _ = try ok("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 18:00", "--venue", "Community Hall")
        _ = try ok("session", "invite", "1", "--role", "member")
        #expect(try cli.runDaemon(from: "2026-11-02T09:01:00Z") { try sent("invitation") }.finished, "the invitation, after one greylisting")

        cli.at("2026-11-10T21:00:00Z")
        _ = try ok("session", "attendance", "1", try cli.write("came.csv", "Name,Email,Consent\n\(Self.name),\(Self.address),yes\n"))
        #expect(try cli.runDaemon(from: "2026-11-11T10:00:00Z") { try sent("thank-you") }.finished, "the thank-you")

        cli.at("2026-11-12T09:00:00Z")
        _ = try ok("report", "distribute", "--link", "https://example.org/discharge.pdf", "--title", "Hospital discharge: what we learned",
                   "--audience", "key-influencer")
        #expect(try cli.runDaemon(from: "2026-11-12T09:01:00Z") { try sent("report") }.finished, "the report")
        #expect(try cli.runDaemon(from: "2026-11-26T09:05:00Z") { try sent("report-follow-up") }.finished, "the follow-up")

        cli.at("2026-11-27T09:00:00Z")
        _ = try ok("send-test", Self.address)
        // A bounce whose reply quotes the address.
        try server.setFaults(#"[{"when": "rcpt", "match": "xn--bcher-kva", "reply": "550 5.1.1 <zoë.brontë@xn--bcher-kva.example>: no such user"}]"#)
        _ = try cli.write("news.md", "News for **everyone**.\n")
        _ = try ok("send", "--subject", "November news", "--body", cli.path("news.md"), "--stream", "monthly-update")
        #expect(try cli.runDaemon(from: "2026-11-27T09:05:00Z") {
            let export = try cli.run("export", Self.address).object()
            return (export["messages"] as? [[String: Any]] ?? []).contains { $0["failure"] as? String == "bounce" }
        }.finished, "the bounce")

        // And a message still in circulate's own outbox.
        _ = try cli.write("circulate.toml", relayConfig)
        cli.at("2026-11-27T09:09:00Z")
        _ = try ok("send", "--subject", "December news", "--body", cli.path("news.md"), "--stream", "monthly-update")
        #expect(try cli.runDaemon(from: "2026-11-27T09:10:00Z") { try cli.queueCounts()["queued"] == 0 && cli.queueCounts()["sending"] == 0 }.finished)
        let outbox = try FileManager.default.contentsOfDirectory(atPath: cli.path("var/outbox/new"))
        #expect(outbox.count == 2, "one each for the two people: \(outbox)")

        // The subject access export shows every part of it.
        let export = try cli.run("export", Self.address).object()
        let person = try #require(export["person"] as? [String: Any])
        // The bounce is listed with its message; the count in a row started again when the next message was delivered.
        #expect(person["name"] as? String == Self.name && person["bounces_in_a_row"] as? Int == 0)
        #expect((export["messages"] as? [[String: Any]] ?? []).filter { $0["failure"] as? String == "bounce" }.count == 1)
        #expect((export["consent_history"] as? [Any])?.isEmpty == false)
        let sessions = try #require(export["sessions"] as? [[String: Any]])
        #expect(sessions.map { $0["status"] as? String } == ["attended"], "\(sessions)")
        let reports = try #require(export["reports"] as? [[String: Any]])
        #expect(reports.count == 1)
        let kinds = Set((export["messages"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String })
        #expect(kinds == ["invitation", "thank-you", "report", "report-follow-up", "test", "announcement"], "\(kinds)")
        let replies = (export["messages"] as? [[String: Any]] ?? []).compactMap { $0["reply"] as? String }.joined(separator: "\n")
        #expect(replies.contains("[address]") && !replies.contains("bcher"), "stored replies keep no address: \(replies)")

        // Erased.
        cli.at("2026-12-02T09:00:00Z")
        let erase = try ok("erase", Self.address, "--json")
        let receipt = try erase.object()
        #expect(receipt["outbox_messages_removed"] as? Int == 1, "\(receipt)")
        #expect(receipt["log_cleared"] as? Bool == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("var/outbox/new")).count == 1)
        for path in Self.files(cli) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for form in Self.forms {
                #expect(bytes.range(of: Data(form.utf8)) == nil, "\(form) is still in \(path)")
            }
        }
        // Erasing again finishes nothing but says so, and does not fail.
        let again = try cli.run("erase", Self.address)
        #expect(again.status == 0 && again.stdout.contains("already erased"), "\(again.stdout) \(again.stderr)")
        // A later sheet cannot bring them back, in either normal form.
        for form in [Self.address.precomposedStringWithCanonicalMapping, Self.address.decomposedStringWithCanonicalMapping] {
            let later = try cli.run("member", "import", try cli.write("later.csv", "Name,Email,Consent\nZ,\(form),yes\n"), "--source", "a later sheet")
            #expect(later.stdout.contains("erased at the person's request"), "\(later.stdout)")
        }
    }

    @Test("a log another process kept from being cleared is cleared by the daemon at its next quiet moment, and erase run again does not fail")
    func logCleanup() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", "kim.example@example.org", "--name", "Kim Example", "--source", "sign-up form").status == 0)
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        // Another process reads the database and keeps its read open, so the log cannot be emptied for now.
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        reader.arguments = ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN"); c.execute("SELECT count(*) FROM member").fetchall()
            open(sys.argv[2], "w").close()
            time.sleep(12)
            """, cli.path("var/circulate.sqlite"), cli.path("reader.ready")]
        try reader.run()
        defer { if reader.isRunning { reader.terminate() } }
        #expect(cli.waitFor(5) { FileManager.default.fileExists(atPath: cli.path("reader.ready")) })
        let erase = try cli.run("erase", "kim.example@example.org")
        #expect(erase.status == 0, "\(erase.stderr)")
        #expect(erase.stderr.contains("var/circulate.sqlite-wal"), "the warning names the log file: \(erase.stderr)")
        reader.waitUntilExit()
        #expect(cli.waitFor(10) { cli.log().contains("write-ahead log left by an earlier erasure is now cleared") }, "\(cli.log())")
        // Run again: it does not fail, and says the log is clear.
        let again = try cli.run("erase", "kim.example@example.org")
        #expect(again.status == 0 && again.stdout.contains("already erased") && again.stdout.contains("write-ahead log is clear"),
                "\(again.stdout) \(again.stderr)")
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: cli.path("var/circulate.sqlite-wal")))) ?? Data()
        for form in ["kim.example@example.org", "Kim Example"] {
            #expect(wal.range(of: Data(form.utf8)) == nil, "\(form) is still in the log")
        }
        #expect(cli.databaseBytes().firstRange(of: Array("kim.example@example.org".utf8)) == nil)
    }
}
