import CirculateTestSupport
import Foundation
import Testing

@Suite("Delivery through the daemon to a real SMTP server")
struct DeliveryCommandTests {
    /// An initialised instance with members, configured for the server (STARTTLS required, AUTH, fast retries).
    func instance(_ server: SMTPServer, members: [String], password: String = "s3cret", extra: String = "") throws -> CLI {
        let cli = try CLI()
        _ = try cli.write("smtp-password", password + "\n")
        _ = try cli.write("circulate.toml", """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"
            [delivery]
            connections = 2
            retry_initial = "1s"
            retry_maximum = "2s"
            relay_pause = "1s"
            \(extra)
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        #expect(try cli.run("init").status == 0)
        var sheet = "Name,Email,Consent\n"
        for (i, email) in members.enumerated() { sheet += "Member \(i),\(email),yes\n" }
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "# Update\n\nOur next session is on **9 December**.\n")
        return cli
    }

    func send(_ cli: CLI, subject: String = "December update") throws {
        let r = try cli.run("send", "--subject", subject, "--body", cli.path("body.md"), "--stream", "monthly-update")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("4xx then success, 5xx at RCPT and at DATA, a disconnect before the final reply: each recorded, each delivered once at most")
    func faults() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret", faults: """
            [{"when": "rcpt", "match": "flaky@", "reply": "451 4.3.0 Try again later", "times": 2},
             {"when": "rcpt", "match": "gone@", "reply": "550 5.1.1 No such user"},
             {"when": "data", "match": "spam@", "reply": "554 5.7.1 Message rejected"},
             {"when": "data", "match": "drop@", "action": "disconnect", "times": 1}]
            """)
        let people = ["ok1@example.org", "ok2@example.org", "flaky@example.org", "gone@example.org", "spam@example.org", "drop@example.org"]
        let cli = try instance(server, members: people)
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        Thread.sleep(forTimeInterval: 1.5)  // the daemon is idle and polling when the CLI queues work
        try send(cli)
        // The idle daemon notices work queued by the CLI within a second or two.
        #expect(cli.waitFor(5) { !server.captured().isEmpty }, "the first message should go out within a few seconds (1 s poll)")
        let done = try cli.waitFor(30) {
            let c = try cli.queueCounts()
            return c["sent"] == 4 && c["failed"] == 2
        }
        #expect(done, "queue: \((try? cli.queueCounts()) ?? [:])")

        // What the server received: each of the four exactly once, over TLS, authenticated, addressed to them alone.
        let counts = server.countsByRecipient()
        #expect(counts == ["ok1@example.org": 1, "ok2@example.org": 1, "flaky@example.org": 1, "drop@example.org": 1])
        for message in server.captured() {
            #expect(message.meta["tls"] as? Bool == true)
            #expect(message.meta["auth_user"] as? String == "alice")
            #expect((message.meta["rcpt_tos"] as? [String])?.count == 1)
            #expect(message.meta["mail_from"] as? String == "cop@example.org")
        }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        check.arguments = [SMTPServer.fixtures + "/check_message.py"] + server.captured().map(\.path)
        check.standardOutput = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "check_message.py found violations")

        // What the queue says, with the relay's own words.
        let failed = try #require(try cli.run("queue", "list", "--json").json() as? [[String: Any]])
        let replies = Dictionary(uniqueKeysWithValues: failed.map { ($0["recipient"] as? String ?? "", $0["reply"] as? String ?? "") })
        #expect(replies["gone@example.org"]?.hasPrefix("550") == true)
        #expect(replies["spam@example.org"]?.hasPrefix("554") == true)
        let sent = try #require(try cli.run("queue", "list", "--state", "sent", "--json").json() as? [[String: Any]])
        let flaky = try #require(sent.first { $0["recipient"] as? String == "flaky@example.org" })
        #expect(flaky["attempts"] as? Int == 3)
        let dropped = try #require(sent.first { $0["recipient"] as? String == "drop@example.org" })
        #expect(dropped["in_doubt"] as? Bool == true, "the disconnect after the whole message left it in doubt; it was sent again")
        // The in-doubt resend kept its Message-ID.
        let dropMessage = try #require(server.captured().first { ($0.meta["rcpt_tos"] as? [String]) == ["drop@example.org"] })
        let text = String(decoding: FileManager.default.contents(atPath: dropMessage.path) ?? Data(), as: UTF8.self)
        #expect(text.contains("Message-ID: <\(dropped["message_id"] as? String ?? "?")>"))
    }

    @Test("a relay problem (wrong password) pauses delivery, says why, and counts against nobody")
    func authentication() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret")
        let cli = try instance(server, members: ["ok1@example.org", "ok2@example.org"], password: "wrong")
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        try send(cli)
        // Read while the pause is in force: it ends on its own after a while, and a slow machine must not see it end
        // between two reads.
        var status = CLI.Result(status: 0, stdout: "", stderr: "")
        let paused = try cli.waitFor(15) {
            status = try cli.run("queue", "status")
            return try cli.run("queue", "status", "--json").object()["paused"] as? Bool == true && status.stdout.contains("PAUSED")
        }
        #expect(paused, "\(status.stdout)")
        #expect(status.stdout.contains("smtp.username"), "the reason should say what to check: \(status.stdout)")
        #expect(!status.stdout.contains("wrong"), "the password must never be shown")
        let counts = try cli.queueCounts()
        #expect(counts["failed"] == 0 && counts["sent"] == 0)
        #expect(server.captured().isEmpty)
        let log = try String(contentsOfFile: cli.path("serve.log"), encoding: .utf8)
        #expect(!log.contains("wrong"), "the password must never be logged")
        #expect(!log.contains("ok1@example.org"), "recipients' addresses are not logged")
    }

    @Test("421 at the greeting pauses delivery, which resumes by itself")
    func serviceUnavailable() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret",
                                    faults: #"[{"when": "greeting", "reply": "421 4.3.2 Service not available", "times": 1}]"#)
        let cli = try instance(server, members: ["ok1@example.org", "ok2@example.org", "ok3@example.org"])
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        try send(cli)
        #expect(try cli.waitFor(20) { try cli.queueCounts()["sent"] == 3 }, "queue: \((try? cli.queueCounts()) ?? [:])")
        #expect(server.countsByRecipient().values.allSatisfy { $0 == 1 })
        #expect(server.events("greeting").contains { $0["code"] as? Int == 421 })
    }

    @Test("send-test says what happened, and refuses an unencrypted relay rather than sending AUTH in clear")
    func sendTest() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret",
                                    faults: #"[{"when": "rcpt", "match": "gone@", "reply": "550 5.1.1 No such user"}]"#)
        let cli = try instance(server, members: [])
        let ok = try cli.run("send-test", "sam@example.org", "--json")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ok.object()["outcome"] as? String == "accepted")
        #expect(server.countsByRecipient() == ["sam@example.org": 1])
        let refused = try cli.run("send-test", "gone@example.org")
        #expect(refused.status == 76)
        #expect(refused.stdout.contains("550"))

        let plain = try SMTPServer(starttls: "off", auth: "alice:s3cret")
        let cli2 = try instance(plain, members: [])
        let r = try cli2.run("send-test", "sam@example.org")
        #expect(r.status == 76)
        #expect(plain.events("auth").isEmpty, "no AUTH may be sent without TLS")
        #expect(plain.captured().isEmpty)
    }

    @Test("kill -9 during a send of 3,000: after a restart everyone has it, duplicates within the in-flight bound")
    func crash() throws {
        let server = try SMTPServer(starttls: "off", auth: nil)
        let cli = try CLI()
        _ = try cli.write("circulate.toml", """
            [list]
            address = "cop@example.org"
            [smtp]
            url = "smtp://127.0.0.1:\(server.port)"
            allow_plaintext = true
            [delivery]
            connections = 2
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        #expect(try cli.run("init").status == 0)
        let people = (0..<3000).map { "person\($0)@example.org" }
        var sheet = "Email,Consent\n"
        for email in people { sheet += "\(email),yes\n" }
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "Hello.\n")
        try send(cli)

        let first = try cli.start("serve", log: "serve1.log")
        #expect(cli.waitFor(30) { server.captured().count >= 600 })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let before = try cli.queueCounts()
        let inFlight = before["sending"] ?? 0
        #expect(inFlight <= 2 * 64, "claimed-but-unrecorded messages are bounded by the window")

        let second = try cli.start("serve", log: "serve2.log")
        defer { second.terminate(); second.waitUntilExit() }
        #expect(try cli.waitFor(180) { try cli.queueCounts()["sent"] == 3000 }, "queue: \((try? cli.queueCounts()) ?? [:])")
        let counts = server.countsByRecipient()
        #expect(Set(counts.keys) == Set(people), "everyone got the message")
        let duplicates = counts.values.reduce(0) { $0 + $1 - 1 }
        #expect(duplicates <= inFlight, "duplicates (\(duplicates)) within the messages in flight at the crash (\(inFlight))")
        let log = try String(contentsOfFile: cli.path("serve2.log"), encoding: .utf8)
        #expect(inFlight == 0 || log.contains("in flight when circulate last stopped"))
    }
}

@Suite("Queue commands: bad input")
struct QueueCommandInputTests {
    @Test("cancelling a mailing that does not exist is invalid input (65), not an unknown person (67)")
    func unknownMailing() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let r = try cli.run("queue", "cancel", "999")
        #expect(r.status == 65)
        #expect(r.stderr.contains("mailing \"999\" does not exist"))
    }
}
