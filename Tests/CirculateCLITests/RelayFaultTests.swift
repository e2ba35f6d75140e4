import CirculateTestSupport
import Foundation
import Testing

/// The daemon against a relay that misbehaves, read through the relay's own transcript (aiosmtpd fixture).
@Suite("Relay faults through the daemon: doubts, bounces, outages, withdrawals")
struct RelayFaultTests {
    @Test("a connection lost after the final dot is retried on the schedule, resent once with the same Message-ID, then counted as probably delivered")
    func inDoubt() throws {
        let server = try SMTPServer(faults: #"[{"when": "data", "match": "drop@", "action": "disconnect", "times": 5}]"#)
        let cli = try CLI.relayInstance(server, members: ["ok@example.org", "drop@example.org"])
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        let settled = try cli.waitFor(20) {
            let drop = try cli.deliveries("sent").first { $0["recipient"] as? String == "drop@example.org" }
            return drop?["in_doubt"] as? Bool == true
        }
        #expect(settled, "drop@ should end as probably delivered: \(cli.deliveriesText)")
        Thread.sleep(forTimeInterval: 2.5)  // long enough for another retry (retry_maximum 2 s), were there one
        // The relay saw the whole message twice: the first try and one resend, a retry interval apart, never a third.
        let transactions = server.events("data").filter { ($0["rcpt_tos"] as? [String]) == ["drop@example.org"] }
        #expect(transactions.count == 2, "\(transactions)")
        if transactions.count == 2, let t0 = transactions[0]["t"] as? Double, let t1 = transactions[1]["t"] as? Double {
            #expect(t1 - t0 >= 0.9, "in doubt is not 'send again now': \(t1 - t0) s apart")
        }
        let status = try cli.run("queue", "status", "--json").object()
        #expect(status["probably_delivered"] as? Int == 1)
        #expect(try cli.run("queue", "status").stdout.contains("counted as probably delivered"))
        #expect(cli.log().contains("in doubt"))
        #expect(!cli.log().contains("drop@example.org"), "no address in the journal")
    }

    @Test("only the recipient's own permanent failures count as bounces; the journal says which, with numbers and no address")
    func bounceClasses() throws {
        let server = try SMTPServer(faults: """
            [{"when": "rcpt", "match": "big@", "reply": "552 5.3.4 Message too big for system"},
             {"when": "rcpt", "match": "policy@", "reply": "550 5.7.1 Relaying denied by policy"},
             {"when": "rcpt", "match": "gone@", "reply": "550 5.1.1 <gone@example.org>: Recipient address rejected"},
             {"when": "rcpt", "match": "full@", "reply": "552 5.2.2 Mailbox full", "times": 1}]
            """)
        let people = ["big@example.org", "policy@example.org", "gone@example.org", "full@example.org", "ok@example.org"]
        let cli = try CLI.relayInstance(server, members: people, extra: "bounce_limit = 1")
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        let done = try cli.waitFor(20) { let c = try cli.queueCounts(); return c["sent"] == 2 && c["failed"] == 3 }
        #expect(done, "\(cli.countsText)")
        let statuses = Dictionary(uniqueKeysWithValues: try cli.listed().map { ($0["email"] as? String ?? "", $0["status"] as? String ?? "") })
        #expect(statuses["gone@example.org"] == "bounced", "5.1.1 is the address: a bounce")
        #expect(statuses["big@example.org"] == "active" && statuses["policy@example.org"] == "active", "not their fault: \(statuses)")
        #expect(statuses["full@example.org"] == "active", "a full mailbox is temporary: \(statuses)")
        let failures = Dictionary(uniqueKeysWithValues: try cli.deliveries("failed").map { ($0["recipient"] as? String ?? "", $0["failure"] as? String ?? "") })
        #expect(failures == ["gone@example.org": "bounce", "big@example.org": "rejected", "policy@example.org": "rejected"])
        let gone = try #require(try cli.deliveries("failed").first { $0["recipient"] as? String == "gone@example.org" })
        #expect((gone["reply"] as? String)?.contains("gone@example.org") == false, "addresses in stored replies are masked")
        let log = cli.log()
        #expect(log.contains("bounced") && log.contains("is marked bounced"))
        #expect(log.contains("failed (rejected, not counted against the person)"))
        #expect(log.contains("deferred after attempt 1 (552 5.2.2 Mailbox full)"), "the deferral is in the journal")
        #expect(try cli.waitFor(10) { cli.log().contains("mailing 1 is finished: 2 sent, 3 failed, 0 cancelled") },
                "the end of a mailing is in the journal, with its numbers: \(cli.log())")
        #expect(log.range(of: #"mailing \d+, message \d+"#, options: .regularExpression) != nil)
        for person in people { #expect(!log.contains(person), "the journal names \(person)") }
    }

    @Test("a relay outage is one event: delivery pauses, backs off only while the relay stays away, and carries on soon after it is back")
    func outage() throws {
        // A relay that takes 50 ms per message, so that the outage below starts while the mailing is being sent.
        let server = try SMTPServer(starttls: "off", auth: nil, faults: #"[{"when": "data", "action": "delay", "seconds": 0.05}]"#)
        let people = (0..<60).map { "member\($0)@example.org" }
        let cli = try CLI.relayInstance(server, members: people, plain: true)
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        #expect(cli.waitFor(10) { server.capturedCount >= 5 })
        // The relay goes away for three seconds: open connections drop at the next MAIL, new ones get nothing.
        let before = server.events("connect").count
        try server.setFaults(#"[{"when": "greeting", "action": "disconnect"}, {"when": "mail", "action": "disconnect"}]"#)
        let outageStart = Date()
        // Seen paused during the outage (the pause of 1 s, then 2 s, ends and a probe runs in between: one look at a
        // fixed moment could fall on a probe).
        var pause: [String: Any] = [:]
        let paused = try cli.waitFor(3) { pause = try cli.run("queue", "status", "--json").object(); return pause["paused"] as? Bool == true }
        #expect(paused, "\(pause)")
        Thread.sleep(forTimeInterval: max(0, 3 - Date().timeIntervalSince(outageStart)))
        let attempts = server.events("connect").count - before
        #expect(attempts <= 5, "one probe per pause, not a burst of connections: \(attempts)")
        try server.setFaults("[]")
        let back = Date()
        let delivered = try cli.waitFor(12) { (try cli.queueCounts()["sent"] ?? 0) == 60 }
        #expect(delivered, "\(cli.countsText) after \(Date().timeIntervalSince(back)) s")
        #expect(Date().timeIntervalSince(back) < 10, "no long stall after a short outage")
        #expect(try cli.run("queue", "status", "--json").object()["paused"] as? Bool == false)
        #expect(try cli.queueCounts()["failed"] == 0, "an outage counts against nobody")
        #expect(cli.log().contains("delivery paused") && cli.log().contains("delivery resumed"))
    }

    @Test("a wrong password pauses delivery after one AUTH attempt; fixing the password file and `queue resume` send everything, without a restart")
    func passwordFixed() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret")
        let people = (0..<10).map { "member\($0)@example.org" }
        let cli = try CLI.relayInstance(server, members: people, password: "wrong", extra: "relay_pause = \"10m\"")
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        #expect(try cli.waitFor(10) { try cli.run("queue", "status", "--json").object()["paused"] as? Bool == true })
        Thread.sleep(forTimeInterval: 2)
        let failedLogins = server.events("auth").filter { $0["ok"] as? Bool == false }
        #expect(failedLogins.count == 1, "no burst of failed AUTH attempts: \(failedLogins.count)")
        let status = try cli.run("queue", "status")
        #expect(status.stdout.contains("PAUSED") && status.stdout.contains("queue resume"), "\(status.stdout)")
        #expect(try cli.queueCounts()["failed"] == 0)
        _ = try cli.write("smtp-password", "s3cret\n")
        let resume = try cli.run("queue", "resume")
        #expect(resume.status == 0 && resume.stdout.contains("pause is over"), "\(resume.stdout) \(resume.stderr)")
        #expect(try cli.waitFor(10) { try cli.queueCounts()["sent"] == 10 }, "\(cli.countsText)")
        #expect(server.events("auth").filter { $0["ok"] as? Bool == false }.count == 1)
        #expect(!cli.log().contains("wrong"), "the password is never logged")
    }

    @Test("after an unsubscribe returns, nothing more of that person reaches the relay: a transaction under way is stopped before its content")
    func withdrawalInFlight() throws {
        let server = try SMTPServer(faults: #"[{"when": "rcpt", "match": "victim@", "action": "delay", "seconds": 3}]"#)
        let cli = try CLI.relayInstance(server, members: ["victim@example.org"])
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        // The relay holds the RCPT for three seconds: the transaction is under way.
        #expect(cli.waitFor(10) { !server.events("mail").isEmpty })
        let unsubscribe = try cli.run("unsubscribe", "victim@example.org")
        let returned = Date().timeIntervalSince1970
        #expect(unsubscribe.status == 0, "\(unsubscribe.stderr)")
        #expect(unsubscribe.stderr.contains("stopped before their content was sent"), "\(unsubscribe.stderr)")
        Thread.sleep(forTimeInterval: 1)
        #expect(server.capturedCount == 0, "the message must not reach the relay")
        let later = server.events(about: "victim@example.org").filter { ($0["t"] as? Double ?? 0) > returned + 0.05 && ($0["event"] as? String) != "data" }
        #expect(later.isEmpty, "relay activity for the person after the command returned: \(later)")
        let row = try #require(try cli.deliveries().first)
        #expect(row["state"] as? String == "cancelled")
    }

    @Test("a wrong CA file pauses delivery; putting the right certificate in it and `queue resume` send everything, without a restart")
    func caFileFixed() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret")
        // A certificate authority that did not sign the relay's certificate: verification fails.
        let other = try SMTPServer(starttls: "required", auth: nil)
        let caFile = FileManager.default.temporaryDirectory.appendingPathComponent("relay-ca-\(UUID().uuidString).pem").path
        try FileManager.default.copyItem(atPath: other.caFile, toPath: caFile)
        defer { try? FileManager.default.removeItem(atPath: caFile) }
        let cli = try CLI.relayInstance(server, members: ["ann@example.org", "bo@example.org"], extra: "relay_pause = \"10m\"",
                                        caFile: caFile)
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.send().status == 0)
        #expect(try cli.waitFor(10) { try cli.run("queue", "status", "--json").object()["paused"] as? Bool == true })
        let reason = try cli.run("queue", "status", "--json").object()["pause_reason"] as? String ?? ""
        #expect(reason.contains("certificate"), "\(reason)")
        try FileManager.default.removeItem(atPath: caFile)
        try FileManager.default.copyItem(atPath: server.caFile, toPath: caFile)
        #expect(try cli.run("queue", "resume").status == 0)
        #expect(try cli.waitFor(10) { try cli.queueCounts()["sent"] == 2 }, "\(cli.countsText)")
    }
}
