import CirculateTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon reading a real Dovecot mailbox after sending through the test relay.
@Suite("Inbound mail end to end: serve with [inbox], circulate inbox", .serialized)
struct InboxCommandTests {
    /// An instance sending through `relay`, reading `mailbox`, with `members`; the daemon polls every half second.
    private func instance(_ relay: SMTPServer, _ mailbox: DovecotServer, members: [String]) throws -> CLI {
        try CLI.inboxInstance(relay, mailbox, members: members)
    }

    /// The Message-ID (without brackets) and the unsubscribe token of the message the relay received for `address`.
    private func sent(_ relay: SMTPServer, to address: String) throws -> (messageID: String, token: String) {
        for (meta, path) in relay.captured() where (meta["rcpt_tos"] as? [String])?.contains(address) == true {
            let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\r\n ", with: " ")
            let id = try #require(text.range(of: #"(?m)^Message-ID: <([^>]+)>"#, options: .regularExpression))
            let messageID = String(text[id]).components(separatedBy: "<")[1].dropLast()
            let token = try #require(text.range(of: #"subject=unsubscribe%20[0-9a-z-]+"#, options: .regularExpression))
            return (String(messageID), String(text[token].dropFirst("subject=unsubscribe%20".count)))
        }
        throw CLIError("no message to \(address)")
    }

    private func fixture(_ name: String, messageID: String, recipient: String) throws -> String {
        try InboundFixture.text(name, messageID: messageID, recipient: recipient)
    }

    private func unsubscribeEmail(from: String, token: String) -> String {
        "From: <\(from)>\nTo: cop@example.org\nSubject: unsubscribe \(token)\nMessage-ID: <u-\(token.suffix(8))@example.org>\n\n\n"
    }

    @Test("a bounce report and an unsubscribe email are acted on once, a question waits for the coordinator, and a restart changes nothing")
    func endToEnd() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = ["kim@example.org", "lee@example.org", "sam@example.org"]
        let cli = try instance(relay, mailbox, members: people)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 3 }, "\(cli.countsText) \(cli.log())")

        let kim = try sent(relay, to: "kim@example.org")
        let lee = try sent(relay, to: "lee@example.org")
        try mailbox.deliver(try fixture("m365-bounce.eml", messageID: kim.messageID, recipient: "kim@example.org"))
        try mailbox.deliver(unsubscribeEmail(from: "lee@example.org", token: lee.token), from: "lee@example.org")
        try mailbox.deliver(try fixture("question.eml", messageID: kim.messageID, recipient: "sam@example.org"), from: "sam@example.org")
        let moved = cli.waitFor(20) {
            mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 2 && mailbox.count(in: "circulate-for-coordinator") == 1
        }
        #expect(moved, "\(cli.log())\n\(mailbox.log.suffix(2000))")

        // In the database: kim's message failed as a bounce and counts once; lee left the monthly update by email.
        #expect(try cli.sql("SELECT d.state, d.failure, m.hard_bounces FROM delivery d JOIN member m ON m.id = d.member_id WHERE m.email = 'kim@example.org'")
                == "failed|bounce|1")
        #expect(try cli.sql("SELECT e.source FROM consent_event e JOIN member m ON m.id = e.member_id WHERE m.email = 'lee@example.org' AND e.action = 'withdrawn'")
                == "unsubscribe email")
        #expect(try cli.sql("SELECT state FROM delivery d JOIN member m ON m.id = d.member_id WHERE m.email = 'sam@example.org'") == "sent")

        // What the coordinator sees.
        let shown = try cli.run("inbox", "--json")
        #expect(shown.status == 0, "\(shown.stderr)")
        let output = try shown.object()
        let handled = try #require(output["handled"] as? [[String: Any]])
        let awaiting = try #require(output["awaiting_person"] as? [[String: Any]])
        #expect(Set(handled.compactMap { $0["kind"] as? String }) == ["delivery-report", "unsubscribe"])
        #expect(handled.contains { $0["member"] as? String == "kim@example.org" && ($0["action"] as? String ?? "").contains("bounce 5.1.10") })
        #expect(handled.contains { $0["member"] as? String == "lee@example.org" })
        #expect(awaiting.count == 1)
        #expect(awaiting.first?["kind"] as? String == "other")
        let text = try cli.run("inbox")
        #expect(text.stdout.contains("Waiting for you") && text.stdout.contains("Handled"), "\(text.stdout)")
        // No message content, and never the IMAP password, in the log or the database.
        #expect(!cli.log().contains(mailbox.password))
        #expect(try cli.sql("SELECT count(*) FROM inbound_message WHERE action LIKE '%slides%' OR action LIKE '%@%'") == "0")

        // A restart reads the same folders and does nothing again.
        daemon.terminate()
        daemon.waitUntilExit()
        daemon = try cli.start("serve", log: "serve-2.log")
        Thread.sleep(forTimeInterval: 2)
        #expect(try cli.sql("SELECT hard_bounces FROM member WHERE email = 'kim@example.org'") == "1")
        #expect(try cli.sql("SELECT count(*) FROM consent_event WHERE source = 'unsubscribe email'") == "1")
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "3")
    }

    @Test("kill -9 in the middle of a poll: after a restart every report has counted exactly once and every message is moved")
    func killedMidPoll() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = (1...30).map { "person\($0)@example.org" }
        let cli = try instance(relay, mailbox, members: people)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(60) { try cli.queueCounts()["sent"] == 30 }, "\(cli.countsText)")
        // Stop the daemon while the reports go in, so that one poll finds all thirty.
        daemon.terminate()
        daemon.waitUntilExit()
        for person in people {
            try mailbox.deliver(try fixture("postfix-bounce.eml", messageID: try sent(relay, to: person).messageID, recipient: person))
        }
        // Killed while its poll is under way, then started again.
        let movedBeforeKill: Int
        (daemon, movedBeforeKill) = try cli.killMidPollAndRestart(mailbox)
        #expect(mailbox.count(in: "circulate-processed") == 30, "moved before the kill: \(movedBeforeKill)")
        #expect(try cli.sql("SELECT count(*) FROM member WHERE hard_bounces = 1") == "30")
        #expect(try cli.sql("SELECT count(*) FROM delivery WHERE state = 'failed' AND failure = 'bounce'") == "30")
        #expect(try cli.sql("SELECT count(*), count(DISTINCT delivery_id) FROM inbound_message WHERE state = 'handled'") == "30|30")
    }

    @Test("a mailbox outage that ends: circulate inbox says the daemon cannot get in and since when, the log says it once, and when the server is back the waiting report is handled once and the words clear")
    func outageThatEnds() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let cli = try instance(relay, mailbox, members: ["kim@example.org"])
        let before = try cli.run("inbox")
        #expect(before.stdout.contains("has not read the mailbox yet"), "\(before.stdout)")
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        _ = try cli.send()
        #expect(try cli.waitFor(30) { try cli.queueCounts()["sent"] == 1 }, "\(cli.countsText)")
        #expect(cli.waitFor(10) { ((try? cli.run("inbox", "--json").object())?["last_read_at"] as? String) != nil })
        #expect(try cli.run("inbox").stdout.contains("last read the mailbox at"))

        mailbox.stop()
        // (A poll under way when the server stops may fail otherwise first; then every poll finds the port closed.)
        #expect(cli.waitFor(10) { (try? cli.run("inbox").stdout.contains("cannot connect to the mailbox")) == true }, "\(cli.log())")
        let during = try cli.run("inbox")
        #expect(during.stdout.contains("cannot read the mailbox since") && during.stdout.contains("nothing is lost"), "\(during.stdout)")
        let json = try cli.run("inbox", "--json").object()
        #expect(json["problem"] is String && json["problem_since"] is String)
        // Several more polls fail (one every half second); the log says so once for each problem, not once a poll.
        func logged() -> Int { cli.log().components(separatedBy: "cannot read the mailbox").count - 1 }
        let loggedBefore = logged()
        Thread.sleep(forTimeInterval: 2)
        #expect(loggedBefore >= 1 && loggedBefore <= 2 && logged() == loggedBefore, "\(cli.log())")

        // The server comes back with a bounce report waiting.
        try mailbox.start()
        let kim = try sent(relay, to: "kim@example.org")
        try mailbox.deliver(try fixture("postfix-bounce.eml", messageID: kim.messageID, recipient: "kim@example.org"))
        #expect(cli.waitFor(20) { mailbox.count(in: "circulate-processed") == 1 }, "\(cli.log())")
        #expect(cli.waitFor(10) { (try? cli.run("inbox").stdout.contains("last read the mailbox at")) == true })
        let after = try cli.run("inbox", "--json").object()
        #expect(after["problem"] == nil && after["problem_since"] == nil, "\(after)")
        #expect(cli.log().contains("the mailbox can be read again"))
        #expect(try cli.sql("SELECT hard_bounces FROM member WHERE email = 'kim@example.org'") == "1")

        // A restart an hour later: still counted once, and the status is the new daemon's own.
        daemon.terminate()
        daemon.waitUntilExit()
        cli.environment["CIRCULATE_NOW"] = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3_600))
        daemon = try cli.start("serve", log: "serve-2.log")
        Thread.sleep(forTimeInterval: 2)
        #expect(try cli.sql("SELECT hard_bounces FROM member WHERE email = 'kim@example.org'") == "1")
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "1")
    }

    @Test("a reply to a report's cover marks that person responded: the follow-up goes only to the other; the reply stays in INBOX, flagged, and never holds up new mail")
    func replyToReport() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        // One message a poll: a reply left in INBOX that later polls still counted would hold up everything behind it.
        let cli = try CLI.inboxInstance(relay, mailbox, members: [], inbox: "messages_per_poll = 1", extra: """
            [coordinator]
            name = "Morgan Ellis"
            email = "morgan.ellis@example.org"
            """)
        for email in ["kay@example.org", "lee@example.org"] {
            let added = try cli.run("member", "add", email, "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                                    "--source", "public register of commissioners")
            #expect(added.status == 0, "\(added.stderr)")
        }
        cli.at("2026-11-02T09:00:00Z")
        let distributed = try cli.run("report", "distribute", "--link", "https://example.org/discharge.pdf", "--title", "Hospital discharge",
                                      "--audience", "key-influencer")
        #expect(distributed.status == 0, "\(distributed.stderr)")
        func captured(_ address: String) -> Int { relay.captured().filter { ($0.0["rcpt_tos"] as? [String])?.contains(address) == true }.count }

        cli.at("2026-11-02T09:01:00Z")
        var daemon = try cli.start("serve", log: "serve-1.log")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(cli.waitFor(30) { captured("kay@example.org") == 1 && captured("lee@example.org") == 1 }, "\(cli.log("serve-1.log"))")
        let cover = try sent(relay, to: "kay@example.org")
        // The cover asks replies to go to the coordinator and to the list's mailbox, which circulate reads.
        let coverText = try String(contentsOfFile: try #require(relay.captured().first { ($0.0["rcpt_tos"] as? [String])?.contains("kay@example.org") == true }?.1),
                                   encoding: .utf8).replacingOccurrences(of: "\r\n ", with: " ")
        #expect(coverText.contains("\r\nReply-To: Morgan Ellis <morgan.ellis@example.org>, Riverside Community of Practice <cop@example.org>\r\n"),
                "\(coverText.prefix(1500))")

        try mailbox.deliver("""
            From: Kay <kay@example.org>\r\nTo: cop@example.org\r\nSubject: Re: Hospital discharge\r\nMessage-ID: <kay-answer@example.org>\r
            In-Reply-To: <\(cover.messageID)>\r\nReferences: <\(cover.messageID)>\r\n\r\nYes, let us meet in December.\r\n
            """, from: "kay@example.org")
        #expect(try cli.waitFor(20) { try cli.sql("SELECT count(*) FROM report_recipient WHERE responded_at IS NOT NULL") == "1" },
                "\(cli.log("serve-1.log"))\n\(mailbox.log.suffix(2000))")
        #expect(cli.waitFor(10) { mailbox.flags(in: "INBOX") == ["F"] }, "\(mailbox.flags(in: "INBOX"))")
        let status = try cli.run("report", "status", "1").stdout
        #expect(status.contains("replied by email on Monday 2 November 2026, 09:0"), "\(status)")
        let respondedAt = try cli.sql("SELECT responded_at FROM report_recipient WHERE responded_at IS NOT NULL")

        // An hour later, after a restart: the reply is neither read again nor counted; a new message is dealt with.
        daemon.terminate()
        daemon.waitUntilExit()
        try mailbox.deliver(try fixture("question.eml", messageID: "unrelated@example.net", recipient: "lee@example.org"), from: "lee@example.org")
        cli.at("2026-11-02T10:01:00Z")
        daemon = try cli.start("serve", log: "serve-2.log")
        #expect(cli.waitFor(20) { mailbox.count(in: "circulate-for-coordinator") == 1 }, "\(cli.log("serve-2.log"))")
        Thread.sleep(forTimeInterval: 2)
        #expect(mailbox.count(in: "INBOX") == 1 && mailbox.flags(in: "INBOX") == ["F"])
        #expect(try cli.sql("SELECT kind, state FROM inbound_message ORDER BY id") == "report-reply|handled\nother|for-coordinator")
        #expect(try cli.sql("SELECT responded_at FROM report_recipient WHERE responded_at IS NOT NULL") == respondedAt)
        let secondLog = cli.log("serve-2.log")
        #expect(secondLog.contains("inbox: 0 handled, 1 left for the coordinator, 0 replies to a report left flagged"), "\(secondLog)")
        #expect(!secondLog.contains("report-reply") && !secondLog.contains("1 replies to a report") && !secondLog.contains("already on record"),
                "the reply was read again: \(secondLog)")

        // Two weeks on, the follow-up goes to Lee only.
        daemon.terminate()
        daemon.waitUntilExit()
        cli.at("2026-11-16T09:05:00Z")
        daemon = try cli.start("serve", log: "serve-3.log")
        #expect(cli.waitFor(30) { captured("lee@example.org") == 2 }, "\(cli.log("serve-3.log"))")
        Thread.sleep(forTimeInterval: 1)
        #expect(captured("kay@example.org") == 1, "Kay replied and must get no follow-up")
        let after = try cli.run("report", "status", "1", "--json").object()
        let rows = after["recipients"] as? [[String: Any]] ?? []
        #expect(rows.first { $0["email"] as? String == "kay@example.org" }?["stage"] as? String == "responded", "\(after)")
        #expect(rows.first { $0["email"] as? String == "lee@example.org" }?["stage"] as? String == "followed-up", "\(after)")
        #expect(mailbox.count(in: "INBOX") == 1)
    }

    @Test("kill -9 while replies to a report are read: after a restart each person is marked once, every reply is in INBOX, flagged")
    func killedWhileReadingReplies() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = (1...12).map { "commissioner\($0)@example.org" }
        let cli = try instance(relay, mailbox, members: [])
        for email in people {
            #expect(try cli.run("member", "add", email, "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                                "--source", "public register").status == 0)
        }
        #expect(try cli.run("report", "distribute", "--link", "https://example.org/discharge.pdf", "--title", "Hospital discharge",
                            "--audience", "key-influencer").status == 0)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(try cli.waitFor(60) { try cli.queueCounts()["sent"] == 12 }, "\(cli.countsText)")
        daemon.terminate()
        daemon.waitUntilExit()
        for (n, person) in people.enumerated() {
            try mailbox.deliver("From: <\(person)>\r\nSubject: Re: Hospital discharge\r\nMessage-ID: <answer-\(n)@example.net>\r\nIn-Reply-To: <\(try sent(relay, to: person).messageID)>\r\n\r\nThank you.\r\n",
                                from: person)
        }
        daemon = try cli.start("serve", log: "serve-killed.log")
        #expect(try cli.waitFor(20) { try cli.sql("SELECT count(*) FROM inbound_message") != "0" }, "\(cli.log("serve-killed.log"))")
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        let before = try cli.sql("SELECT count(*) FROM inbound_message")
        daemon = try cli.start("serve", log: "serve-after.log")
        #expect(try cli.waitFor(30) { try cli.sql("SELECT count(*) FROM inbound_message") == "12" }, "\(cli.log("serve-after.log"))")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try cli.sql("SELECT count(*), count(DISTINCT member_id) FROM inbound_message WHERE kind = 'report-reply' AND state = 'handled'") == "12|12",
                "recorded before the kill: \(before)")
        #expect(try cli.sql("SELECT count(*) FROM report_recipient WHERE response_note LIKE 'replied by email on %'") == "12")
        #expect(mailbox.count(in: "INBOX") == 12 && mailbox.flags(in: "INBOX").filter { $0.contains("F") }.count == 12,
                "\(mailbox.flags(in: "INBOX"))")
        #expect(mailbox.count(in: "circulate-processed") == 0 && mailbox.count(in: "circulate-for-coordinator") == 0)
    }
}
