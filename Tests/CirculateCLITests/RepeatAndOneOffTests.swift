import CirculateTestSupport
import Foundation
import Testing

/// Commands run again the way coordinators run them (an hour later, a week later), test messages, and the relay's
/// rate limits as the relay counts them.
@Suite("Repeated commands, test messages and rate limits")
struct RepeatAndOneOffTests {
    func outboxInstance(members: [String]) throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        var sheet = "Name,Email,Consent,Tags\n"
        for (i, email) in members.enumerated() { sheet += "Member \(i),\(email),yes,key-influencer\n" }
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "# Update\n\nOur next session is on **9 December**.\n")
        return cli
    }

    func mailingCount(_ cli: CLI) throws -> Int {
        (try cli.run("queue", "status", "--json").object()["mailings"] as? [Any])?.count ?? -1
    }

    @Test("send run again an hour or a week later queues nobody and says so; --dry-run says the same; --newcomers and --again do what they say")
    func repeatedSend() throws {
        let cli = try outboxInstance(members: ["ann@example.org", "bo@example.org"])
        cli.at("2026-12-01T09:00:00Z")
        let first = try cli.send()
        #expect(first.status == 0 && first.stdout.contains("for 2 people"), "\(first.stdout)")
        cli.at("2026-12-01T10:00:00Z")
        let hour = try cli.send()
        #expect(hour.status == 0 && hour.stdout.contains("Already queued: mailing 1"), "\(hour.stdout) \(hour.stderr)")
        #expect(hour.stdout.contains("Nothing was queued"))
        #expect(try cli.queueCounts()["queued"] == 2, "nobody queued twice: \(cli.countsText)")
        // The daemon sends it; a week later the same command says it was sent.
        _ = try cli.runDaemon(from: "2026-12-01T10:05:00Z") { try cli.queueCounts()["sent"] == 2 }
        cli.at("2026-12-08T10:00:00Z")
        let week = try cli.send()
        #expect(week.status == 0 && week.stdout.contains("Already sent: mailing 1"), "\(week.stdout)")
        let dry = try cli.send("--dry-run")
        #expect(dry.status == 0 && dry.stdout.contains("Already sent") && dry.stdout.contains("Nothing would be sent"), "\(dry.stdout)")
        let json = try cli.send("--json").object()
        #expect(json["already_sent"] as? Bool == true && json["added"] as? Int == 0)
        #expect(try cli.queueCounts()["sent"] == 2 && cli.queueCounts()["queued"] == 0)
        // Someone joins: --newcomers reaches only them, on the same mailing; --again is a new mailing for everyone.
        #expect(try cli.run("member", "add", "cy@example.org", "--source", "joined at the December session").status == 0)
        let newcomersDry = try cli.send("--newcomers", "--dry-run")
        #expect(newcomersDry.stdout.contains("1 person who joined since"), "\(newcomersDry.stdout)")
        let newcomers = try cli.send("--newcomers")
        #expect(newcomers.status == 0 && newcomers.stdout.contains("1 person who joined since added"), "\(newcomers.stdout)")
        #expect(try cli.queueCounts()["queued"] == 1)
        let again = try cli.send("--again")
        #expect(again.status == 0 && again.stdout.contains("Queued mailing 2") && again.stdout.contains("for 3 people"), "\(again.stdout)")
        #expect(try cli.run("send", "--subject", "x", "--body", cli.path("body.md"), "--stream", "monthly-update", "--again", "--newcomers").status == 64)
    }

    @Test("report distribute and update queue run twice send nothing the second time and say so")
    func repeatedReportAndUpdate() throws {
        let cli = try outboxInstance(members: ["ann@example.org", "bo@example.org"])
        cli.at("2026-11-20T09:00:00Z")
        let report = ["report", "distribute", "--link", "https://example.org/findings.pdf", "--title", "Findings", "--audience", "key-influencer"]
        #expect(try cli.run(report).status == 0)
        cli.at("2026-11-21T09:00:00Z")
        let again = try cli.run(report)
        #expect(again.status == 0 && again.stdout.contains("Already distributed") && again.stdout.contains("Nothing was sent"), "\(again.stdout)")
        #expect((try cli.run("report", "list", "--json").json() as? [Any])?.count == 1)
        let update = ["update", "queue", cli.path("body.md"), "--subject", "News from the community"]
        let first = try cli.run(update)
        #expect(first.status == 0 && first.stdout.contains("Queued update 1"), "\(first.stdout)")
        cli.at("2026-11-21T10:00:00Z")
        let second = try cli.run(update)
        #expect(second.status == 0 && second.stdout.contains("Already queued: update 1"), "\(second.stdout)")
        #expect((try cli.run("update", "list", "--json").json() as? [Any])?.count == 1, "one update, not one per month")
    }

    @Test("send-test is a one-off: never left for the daemon, never a pause or a bounce, and recorded with the person on the list")
    func sendTestOneOff() throws {
        let server = try SMTPServer(faults: """
            [{"when": "rcpt", "match": "later@", "reply": "451 4.3.0 Try again later"},
             {"when": "rcpt", "match": "gone@", "reply": "550 5.1.1 No such user"}]
            """)
        let cli = try CLI.relayInstance(server, members: ["gone@example.org", "ok@example.org"], extra: "bounce_limit = 1")
        let deferred = try cli.run("send-test", "later@example.org")
        #expect(deferred.status == 76 && deferred.stdout.contains("451"), "\(deferred.stdout)")
        let bounced = try cli.run("send-test", "gone@example.org")
        #expect(bounced.status == 76)
        let sent = try cli.run("send-test", "ok@example.org")
        #expect(sent.status == 0, "\(sent.stdout)")
        // The daemon starts and never takes up the test that was refused for now.
        let daemon = try cli.start("serve")
        Thread.sleep(forTimeInterval: 3)
        daemon.terminate()
        daemon.waitUntilExit()
        #expect(server.events("rcpt").filter { ($0["arg"] as? String)?.contains("later@") == true }.count == 1)
        #expect(try cli.queueCounts()["queued"] == 0 && cli.queueCounts()["deferred"] == 0)
        // Not a bounce: the member stays active even with bounce_limit 1.
        let gone = try #require(try cli.listed().first { $0["email"] as? String == "gone@example.org" })
        #expect(gone["status"] as? String == "active")
        // Tied to the member: the subject access export lists it.
        let export = try cli.run("export", "ok@example.org")
        #expect(export.stdout.contains("circulate test message"), "\(export.stdout)")
        // A relay problem during a test pauses nothing.
        _ = try cli.write("smtp-password", "wrong\n")
        let refused = try cli.run("send-test", "ok@example.org")
        #expect(refused.status == 76 && refused.stdout.contains("relay-problem"), "\(refused.stdout)")
        #expect(try cli.run("queue", "status", "--json").object()["paused"] as? Bool == false)
    }

    @Test("rate limits as the relay counts them: never more than the limit in any minute, across a restart and with send-test, and queue status says when the window opens")
    func rateLimits() throws {
        let server = try SMTPServer()
        let people = ["a@example.org", "b@example.org", "c@example.org"]
        let cli = try CLI.relayInstance(server, members: people, extra: "per_minute = 2")
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        #expect(cli.waitFor(10) { server.capturedCount == 2 })
        // The window is full: send-test says when it could go, and sends nothing.
        let test = try cli.run("send-test", "tester@example.org")
        #expect(test.status == 75 && test.stderr.contains("rate limit") && test.stderr.contains("may go at"), "\(test.stderr)")
        let status = try cli.run("queue", "status", "--json").object()
        #expect(status["rate_limited_until"] != nil && status["next_attempt_waits_for"] as? String == "rate-limit", "\(status)")
        #expect(try cli.run("queue", "status").stdout.contains("Rate limit reached (2/minute)"))
        // A restart does not forget the window.
        daemon.terminate()
        daemon.waitUntilExit()
        daemon = try cli.start("serve", log: "serve-2.log")
        Thread.sleep(forTimeInterval: 3)
        #expect(server.capturedCount == 2, "the third must wait for the window, restart or not")
        #expect(cli.waitFor(70) { server.capturedCount == 3 })
        let starts = server.events("mail").compactMap { $0["t"] as? Double }.sorted()
        for (i, t) in starts.enumerated() {
            let inWindow = starts[i...].prefix { $0 < t + 60 }.count
            #expect(inWindow <= 2, "\(inWindow) transactions within 60 s of \(t)")
        }
    }
}
