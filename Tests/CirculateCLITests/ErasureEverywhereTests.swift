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

    @Test("inbound: a bounce report, an unsubscribe email and a message for the coordinator, in the database and a real Dovecot, are exported; after erase during a mailbox outage and the daemon's next poll, no byte of the address is left in the database, its log or the mailbox's files, and erasing again finds nothing")
    func inbound() throws {
        // An internationalised domain, so that both of its forms must be searched for in the mailbox.
        let address = "zoe.bronte@bücher.example", ascii = "zoe.bronte@xn--bcher-kva.example"
        let forms = [address, address.uppercased(), ascii, ascii.uppercased()]
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        func inbox(port: Int) -> String {
            """
            [inbox]
            url = "imaps://127.0.0.1:\(port)/INBOX"
            username = "\(mailbox.username)"
            password_file = "imap-password"
            ca_file = "\(mailbox.caFile)"
            """
        }
        let cli = try CLI.relayInstance(relay, members: [address, "ann@example.org"], extra: inbox(port: mailbox.imapsPort))
        let config = try String(contentsOfFile: cli.path("circulate.toml"), encoding: .utf8)
        _ = try cli.write("imap-password", mailbox.password + "\n")
        cli.environment["CIRCULATE_POLL_INTERVAL"] = "0.5"
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 2 }, "\(cli.countsText) \(cli.log())")
        let captured = try #require(relay.captured().first { ($0.meta["rcpt_tos"] as? [String])?.contains(ascii) == true })
        let text = try String(contentsOfFile: captured.path, encoding: .utf8).replacingOccurrences(of: "\r\n ", with: " ")
        let idRange = try #require(text.range(of: #"(?m)^Message-ID: <[^>]+>"#, options: .regularExpression))
        let messageID = String(text[idRange].drop { $0 != "<" }.dropFirst().dropLast())
        let tokenRange = try #require(text.range(of: #"subject=unsubscribe%20[0-9a-z-]+"#, options: .regularExpression))
        let token = String(text[tokenRange].dropFirst("subject=unsubscribe%20".count))

        // Their bounce (the address in the report's body, in ASCII form), their unsubscribe email (From in Unicode),
        // and a question of theirs for the coordinator.
        let bounce = try InboundFixture.text("postfix-bounce.eml", messageID: messageID, recipient: ascii)
        try mailbox.deliver(bounce)
        try mailbox.deliver("From: Zoe <\(address)>\nTo: cop@example.org\nSubject: unsubscribe \(token)\nMessage-ID: <u-zoe@example.org>\n"
                            + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\n", from: ascii)
        try mailbox.deliver("From: Zoe <\(ascii)>\nTo: cop@example.org\nSubject: Slides?\nMessage-ID: <q-zoe@example.org>\n\nCould you send the slides?\n",
                            from: ascii)
        // And someone else's question, which stays.
        try mailbox.deliver("From: Ann <ann@example.org>\nTo: cop@example.org\nSubject: Venue?\nMessage-ID: <q-ann@example.org>\n\nWhere is it?\n",
                            from: "ann@example.org")
        #expect(cli.waitFor(20) {
            mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 2 && mailbox.count(in: "circulate-for-coordinator") == 2
        }, "INBOX \(mailbox.count(in: "INBOX")), processed \(mailbox.count(in: "circulate-processed")), for the coordinator \(mailbox.count(in: "circulate-for-coordinator")): \(cli.log())")
        let actions = try cli.sql("SELECT kind, action FROM inbound_message ORDER BY id")
        #expect(try cli.sql("SELECT kind, state FROM inbound_message ORDER BY id") == "delivery-report|handled\nunsubscribe|handled\nother|for-coordinator\nother|for-coordinator",
                "the bounce, reported for the domain's xn-- form, matched the message: \(actions)")

        // The export lists the records linked to them through their message (the bounce) and as the member (the email).
        let inbound = try #require(try cli.run("export", address).object()["inbound"] as? [[String: Any]])
        #expect(Set(inbound.compactMap { $0["kind"] as? String }) == ["delivery-report", "unsubscribe"], "\(inbound)")
        #expect(inbound.contains { $0["about_message_id"] as? String == messageID })

        // Erased while the mailbox is away: the database part is done, the mailbox part waits, and the output says so.
        daemon.terminate()
        daemon.waitUntilExit()
        _ = try cli.write("circulate.toml", config.replacingOccurrences(of: ":\(mailbox.imapsPort)/", with: ":1/"))
        let erase = try cli.run("erase", address, "--json")
        #expect(erase.status == 0, "\(erase.stderr)")
        let receipt = try erase.object()
        #expect(receipt["mailbox_pending"] as? Bool == true && receipt["mailbox_messages_removed"] == nil, "\(receipt)")
        #expect(erase.stderr.contains("mailbox_erasure") && erase.stderr.contains("next look at the mailbox"), "\(erase.stderr)")
        #expect(try cli.sql("SELECT count(*) FROM mailbox_erasure") == "1")
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "2", "only the questions, which name nobody, are left on record")

        // The outage ends; the daemon, restarted, deletes their messages at its next poll, then the row.
        _ = try cli.write("circulate.toml", config)
        daemon = try cli.start("serve", log: "serve-2.log")
        #expect(cli.waitFor(20) {
            mailbox.count(in: "circulate-processed") == 0 && mailbox.count(in: "circulate-for-coordinator") == 1
                && (try? cli.sql("SELECT count(*) FROM mailbox_erasure")) == "0"
        }, "\(cli.log("serve-2.log"))\n\(mailbox.log.suffix(1500))")
        daemon.terminate()
        daemon.waitUntilExit()

        // Erasing again looks in the mailbox again and finds nothing.
        let again = try cli.run("erase", address)
        #expect(again.status == 0 && again.stdout.contains("already erased") && again.stdout.contains("0 message(s) of theirs deleted"),
                "\(again.stdout) \(again.stderr)")

        // The database and every message file of the mailbox (each folder's new, cur and tmp). Dovecot's own index
        // cache (dovecot.index.cache) may keep header fields of expunged messages until it purges the cache: the mail
        // server's file, out of circulate's reach, and the README says so.
        var paths = ["var/circulate.sqlite", "var/circulate.sqlite-wal", "var/circulate.sqlite-shm"].map { cli.path($0) }
        if let walk = FileManager.default.enumerator(atPath: mailbox.maildir) {
            for case let name as String in walk where ["new", "cur", "tmp"].contains(URL(fileURLWithPath: name).deletingLastPathComponent().lastPathComponent) {
                paths.append(mailbox.maildir + "/" + name)
            }
        }
        var checked: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            if bytes.range(of: Data("ann@example.org".utf8)) != nil || path.hasSuffix(".sqlite") { checked.append(path) }
            for form in forms {
                #expect(bytes.range(of: Data(form.utf8)) == nil, "\(form) is still in \(path)")
                #expect(bytes.range(of: Data(form.lowercased().utf8)) == nil, "\(form) is still in \(path)")
            }
        }
        #expect(checked.count == 2, "the database and Ann's question, which stays, were read: \(checked)")
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
