import CirculateTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Calendar answers through the real daemon: invitations sent through the test relay with RSVP=TRUE, answers dropped
/// into a real Dovecot mailbox, read by `serve`, checked with `session show`, `circulate inbox` and the database.
@Suite("Calendar answers end to end: invite, answer by calendar, serve records it once", .serialized)
struct CalendarAnswerCommandTests {
    private static let fixtures = CLI.root.appendingPathComponent("Tests/Fixtures/inbound")

    private func fixture(_ name: String) throws -> String {
        try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    /// Each invitation's ATTENDEE and its RSVP parameter, as python3-icalendar reads them.
    private func rsvp(_ paths: [String]) throws -> [String] {
        try CLI.python("""
            import sys, email
            from email import policy
            from icalendar import Calendar
            for path in sys.argv[1:]:
                msg = email.message_from_binary_file(open(path, 'rb'), policy=policy.default)
                part = [p for p in msg.walk() if p.get_content_type() == 'text/calendar'][0]
                e = [c for c in Calendar.from_ical(part.get_payload(decode=True)).walk() if c.name == 'VEVENT'][0]
                print(str(e['ATTENDEE']), e['ATTENDEE'].params.get('RSVP'), str(e['ORGANIZER']))
            """, paths).split(separator: "\n").map(String.init).sorted()
    }

    /// Session 1, a month ahead (local time, Europe/London), with `people` (kim and lee unless given) invited as
    /// members; anyone else on the list is not invited.
    private func invited(_ cli: CLI, _ people: [String] = ["kim@example.org", "lee@example.org"]) throws {
        let start = Date().addingTimeInterval(30 * 86_400)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = TimeZone(identifier: "Europe/London")
        formatter.dateFormat = "yyyy-MM-dd 18:00"
        let added = try cli.run("session", "add", "--title", "Hospital discharge", "--start", formatter.string(from: start))
        #expect(added.status == 0, "\(added.stderr)")
        let sheet = "Name,Email,Consent\n" + people.map { "Someone,\($0),yes\n" }.joined()
        let roles = try cli.run("member", "import", try cli.write("roles.csv", sheet), "--role", "member")
        #expect(roles.status == 0, "\(roles.stderr)")
        let invite = try cli.run("session", "invite", "1", "--role", "member")
        #expect(invite.stdout.contains("Invited \(people.count)"), "\(invite.stdout) \(invite.stderr)")
    }

    @Test("an ACCEPTED answer from the invited member records yes; forged ones wait for the coordinator; nothing twice after a restart")
    func answerByCalendar() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let cli = try CLI.inboxInstance(relay, mailbox, members: ["kim@example.org", "lee@example.org", "sam@example.org"])
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        try invited(cli)
        #expect(cli.waitFor(30) { relay.capturedCount >= 2 }, "\(cli.log())")
        // With [inbox] the invitations ask for an answer, which goes to the organizer: the list's address.
        #expect(try rsvp(relay.captured().map(\.path)) == ["mailto:kim@example.org TRUE mailto:cop@example.org",
                                                          "mailto:lee@example.org TRUE mailto:cop@example.org"])

        let accepted = try fixture("gmail-calendar-reply.eml")
        try mailbox.deliver(accepted, from: "kim@example.org")
        // Forged: Kim's "no" sent by Lee; and Sam, not invited, answering for himself.
        let forgedFrom = try fixture("outlook-calendar-reply.eml").replacingOccurrences(of: "From: Kim Example <kim@example.org>",
                                                                                       with: "From: Lee Example <lee@example.org>")
        try mailbox.deliver(forgedFrom, from: "lee@example.org")
        let notInvited = try fixture("apple-calendar-reply.eml").replacingOccurrences(of: "kim@example.org", with: "sam@example.org")
            .replacingOccurrences(of: "Kim Example", with: "Sam Example")
        try mailbox.deliver(notInvited, from: "sam@example.org")
        let moved = cli.waitFor(20) {
            mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 1 && mailbox.count(in: "circulate-for-coordinator") == 2
        }
        #expect(moved, "\(cli.log())")

        let show = try cli.run("session", "show", "1", "--json").object()
        let counts = show["counts"] as? [String: Int] ?? [:]
        #expect(counts["coming"] == 1 && counts["no_reply"] == 1 && counts["apologies"] == 0, "\(show)")
        #expect(try cli.sql("SELECT m.email, p.status FROM participation p JOIN member m ON m.id = p.member_id ORDER BY m.email")
                == "kim@example.org|accepted\nlee@example.org|invited")
        let recordedAt = try cli.sql("SELECT recorded_at FROM participation p JOIN member m ON m.id = p.member_id WHERE m.email = 'kim@example.org'")

        let shown = try cli.run("inbox", "--json")
        #expect(shown.status == 0, "\(shown.stderr)")
        let output = try shown.object()
        let handled = try #require(output["handled"] as? [[String: Any]])
        let awaiting = try #require(output["awaiting_person"] as? [[String: Any]])
        #expect(handled.count == 1)
        #expect(handled.first?["kind"] as? String == "calendar-reply")
        #expect(handled.first?["member"] as? String == "kim@example.org")
        #expect(handled.first?["action"] as? String == "calendar reply for session 1: recorded as coming")
        let reasons = awaiting.compactMap { $0["action"] as? String }.sorted()
        #expect(reasons.count == 2 && reasons[0].contains("from someone not invited") && reasons[1].contains("sent from another address"),
                "\(reasons)")
        #expect(Set(awaiting.compactMap { $0["kind"] as? String }) == ["calendar-reply"])

        // After a restart, the same answer delivered again (as a mail system may) changes nothing.
        daemon.terminate()
        daemon.waitUntilExit()
        try mailbox.deliver(accepted, from: "kim@example.org")
        daemon = try cli.start("serve", log: "serve-2.log")
        #expect(cli.waitFor(20) { mailbox.count(in: "INBOX") == 0 && mailbox.count(in: "circulate-processed") == 2 }, "\(cli.log("serve-2.log"))")
        // Known by its Message-ID: still three records, the first answer's now at the copy's place.
        #expect(try cli.sql("SELECT count(*) FROM inbound_message") == "3")
        #expect(try cli.sql("SELECT count(*) FROM inbound_message WHERE kind = 'calendar-reply' AND state = 'handled'") == "1")
        #expect(try cli.sql("SELECT recorded_at FROM participation p JOIN member m ON m.id = p.member_id WHERE m.email = 'kim@example.org'")
                == recordedAt)
        #expect(try cli.sql("SELECT count(*) FROM participation WHERE status <> 'invited'") == "1")
    }

    @Test("without [inbox] invitations offer no answer buttons (RSVP=FALSE): nobody would read the answers")
    func noInboxNoButtons() throws {
        let relay = try SMTPServer()
        let cli = try CLI.relayInstance(relay, members: ["kim@example.org", "lee@example.org"])
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        try invited(cli)
        #expect(cli.waitFor(30) { relay.capturedCount >= 2 }, "\(cli.log())")
        #expect(try rsvp(relay.captured().map(\.path)) == ["mailto:kim@example.org FALSE mailto:cop@example.org",
                                                          "mailto:lee@example.org FALSE mailto:cop@example.org"])
    }

    /// A calendar program's answer for session 1 at example.org, as plain 7-bit text/calendar.
    private func answer(from person: String, _ partstat: String, messageID: String) -> String {
        """
        From: <\(person)>\r
        To: cop@example.org\r
        Subject: Answer: Hospital discharge\r
        Message-ID: <\(messageID)>\r
        MIME-Version: 1.0\r
        Content-Type: text/calendar; charset=utf-8; method=REPLY\r
        \r
        BEGIN:VCALENDAR\r
        VERSION:2.0\r
        METHOD:REPLY\r
        BEGIN:VEVENT\r
        UID:session-1@example.org\r
        SEQUENCE:0\r
        ATTENDEE;PARTSTAT=\(partstat):mailto:\(person)\r
        END:VEVENT\r
        END:VCALENDAR\r

        """
    }

    @Test("kill -9 in the middle of a poll of answers: after a restart each answer is recorded once, the later one wins")
    func killedMidPoll() throws {
        let relay = try SMTPServer()
        let mailbox = try DovecotServer()
        let people = (1...16).map { "person\($0)@example.org" }
        let cli = try CLI.inboxInstance(relay, mailbox, members: people)
        var daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        try invited(cli, people)
        #expect(cli.waitFor(60) { relay.capturedCount >= 16 }, "\(cli.log())")
        // Stop the daemon while the answers go in, so that one poll finds them all.
        daemon.terminate()
        daemon.waitUntilExit()
        for (i, person) in people.enumerated() {
            try mailbox.deliver(answer(from: person, i % 2 == 0 ? "ACCEPTED" : "DECLINED", messageID: "a\(i)@example.org"), from: person)
        }
        // person1 changes their mind; person2's answer arrives twice.
        try mailbox.deliver(answer(from: people[0], "DECLINED", messageID: "a-changed@example.org"), from: people[0])
        try mailbox.deliver(answer(from: people[1], "DECLINED", messageID: "a1@example.org"), from: people[1])
        // Killed while its poll is under way, then started again.
        let movedBeforeKill: Int
        (daemon, movedBeforeKill) = try cli.killMidPollAndRestart(mailbox)
        #expect(mailbox.count(in: "circulate-processed") == 18, "moved before the kill: \(movedBeforeKill)")
        // 18 messages, 17 records: person2's second copy is known by its Message-ID and only moved.
        #expect(try cli.sql("SELECT count(*), count(DISTINCT uid) FROM inbound_message WHERE state = 'handled'") == "17|17")
        // person1: yes, then no; odd-numbered people yes, the others no.
        let expected = people.enumerated().map { i, person in "\(person)|\(i % 2 == 0 && i != 0 ? "accepted" : "apologies")" }.sorted()
        #expect(try cli.sql("SELECT m.email, p.status FROM participation p JOIN member m ON m.id = p.member_id ORDER BY m.email")
                == expected.joined(separator: "\n"))
        #expect(try cli.sql("SELECT count(*) FROM inbound_message WHERE message_id = 'a1@example.org'") == "1")
    }
}
