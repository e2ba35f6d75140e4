import CirculateTestSupport
import Foundation
import Testing

/// Invitations, apologies, an unsubscribe, a move after the first reminder, across the October clock change, through
/// the real daemon and a real SMTP server on a shifted clock.
@Suite("Invitation scenario: invite, remind, move")
struct InvitationScenarioTests {
    @Test("one invitation each, one update each for the move, one reminder for the new time to those still expected")
    func inviteRemindMove() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret")
        let cli = try CLI()
        _ = try cli.write("smtp-password", "s3cret\n")
        _ = try cli.write("circulate.toml", """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [updates]
            schedule = "off"
            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        func ok(_ arguments: String...) throws -> CLI.Result {
            let r = try cli.run(arguments)
            #expect(r.status == 0, "circulate \(arguments.joined(separator: " ")): \(r.stderr)")
            return r
        }
        func daemon(from instant: String, until done: () throws -> Bool) throws {
            let run = try cli.runDaemon(from: instant, until: done)
            #expect(run.finished, "daemon from \(instant): \(run.log)")
        }
        func subjects() -> [String: [String]] {
            var bySubject: [String: [String]] = [:]
            for message in server.captured() {
                let text = String(decoding: FileManager.default.contents(atPath: message.path) ?? Data(), as: UTF8.self)
                let subject = text.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") }.map { String($0.dropFirst(9)) } ?? "?"
                bySubject[subject, default: []].append((message.meta["rcpt_tos"] as? [String])?.first ?? "?")
            }
            return bySubject.mapValues { $0.sorted() }
        }

        cli.at("2026-10-01T09:00:00Z")
        _ = try ok("init")
        _ = try ok("member", "import", try cli.write("members.csv", """
            Name,Email,Consent
            Ann Example,ann.example@example.org,yes
            Sian Example,sian@example.org,yes
            Chris Example,chris.example@example.org,yes
            Dana Example,dana.example@example.org,yes
            """), "--role", "member")
        _ = try ok("member", "add", "j.patel@example.org", "--name", "Councillor J. Patel", "--role", "key-influencer",
                   "--lawful-basis", "legitimate-interest", "--streams", "reports,session-invitations", "--source", "public register")
        // Wednesday 28 October, after the clocks go back on Sunday 25 October: 18:00 GMT is 18:00Z.
        _ = try ok("session", "add", "--title", "Hospital discharge", "--start", "2026-10-28 18:00", "--venue", "Riverside Centre")
        let dry = try ok("session", "invite", "1", "--role", "member", "--dry-run")
        #expect(dry.stdout.contains("4 people would be invited"), "\(dry.stdout)")
        #expect(try ok("session", "invite", "1", "--role", "member").stdout.contains("Invited 4"))
        #expect(try ok("session", "invite", "1", "--role", "member", "--role", "key-influencer").stdout.contains("Invited 1 person"))
        _ = try ok("session", "invite", "1", "--to", "priya@example.org", "--name", "Dr Priya Example", "--reason", "invited as presenter")
        try daemon(from: "2026-10-01T09:00:05Z") { server.capturedCount >= 6 }

        cli.at("2026-10-10T12:00:00Z")
        _ = try ok("session", "apologies", "1", "chris.example@example.org")
        _ = try ok("unsubscribe", "dana.example@example.org")
        _ = try ok("session", "rsvp", "1", "ann.example@example.org", "yes")
        // Not sure: still reminded, like anyone who has not sent apologies, but not counted as coming.
        _ = try ok("session", "rsvp", "1", "sian@example.org", "maybe")

        // The first reminder: Monday 26 October 09:00 GMT.
        try daemon(from: "2026-10-26T08:59:57Z") { server.capturedCount >= 6 + 4 }
        cli.at("2026-10-26T12:00:00Z")
        let moved = try ok("session", "edit", "1", "--start", "2026-10-29 18:00")
        #expect(moved.stdout.contains("Queued an update for the 5 people invited"), "\(moved.stdout)")
        try daemon(from: "2026-10-26T12:00:05Z") { server.capturedCount >= 10 + 5 }
        // The reminder for the new time: Tuesday 27 October 09:00; a restart just after sends nothing twice.
        try daemon(from: "2026-10-27T08:59:57Z") { server.capturedCount >= 15 + 4 }
        try daemon(from: "2026-10-27T09:01:00Z") { Thread.sleep(forTimeInterval: 3); return true }

        let got = subjects()
        let invited = ["ann.example@example.org", "chris.example@example.org", "dana.example@example.org", "j.patel@example.org",
                       "priya@example.org", "sian@example.org"]
        #expect(got["You are invited: Hospital discharge, Wednesday 28 October"] == invited, "\(got)")
        #expect(got["New date: Hospital discharge"] == ["ann.example@example.org", "chris.example@example.org", "j.patel@example.org",
                                                        "priya@example.org", "sian@example.org"], "everyone invited except Dana, who left: \(got)")
        let expected = ["ann.example@example.org", "j.patel@example.org", "priya@example.org", "sian@example.org"]
        #expect(got["Reminder: Hospital discharge"] == (expected + expected).sorted(), "one reminder before the move, one for the new time: \(got)")
        #expect(server.capturedCount == 19)

        // Every message parses; every calendar object has the properties clients need, for its one recipient.
        let paths = server.captured().map(\.path)
        let out = try CLI.python("""
            import sys, email
            from email import policy
            from icalendar import Calendar
            for path in sys.argv[1:]:
                msg = email.message_from_binary_file(open(path, 'rb'), policy=policy.default)
                to = msg['To'].addresses[0].addr_spec
                part = [p for p in msg.walk() if p.get_content_type() == 'text/calendar'][0]
                cal = Calendar.from_ical(part.get_payload(decode=True))
                e = [c for c in cal.walk() if c.name == 'VEVENT'][0]
                att = e.get('ATTENDEE')
                ok = (str(e['UID']) == 'session-1@example.org' and e['DTSTAMP'].to_ical().decode().endswith('Z')
                      and e['DTSTART'].params.get('TZID') == 'Europe/London' and len([c for c in cal.walk() if c.name == 'VTIMEZONE']) == 1
                      and not isinstance(att, list) and str(att) == 'mailto:' + to and str(e['ORGANIZER']) == 'mailto:cop@example.org')
                print(msg['Subject'].split(':')[0], int(e['SEQUENCE']), e['DTSTART'].to_ical().decode(), 'ok' if ok else 'BAD')
            """, paths)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 19 && lines.allSatisfy { $0.hasSuffix(" ok") }, "\(out)")
        #expect(lines.filter { $0.hasPrefix("You are invited 0 20261028T180000") }.count == 6, "\(out)")
        #expect(lines.filter { $0.hasPrefix("New date 1 20261029T180000") }.count == 5, "\(out)")
        #expect(lines.filter { $0.hasPrefix("Reminder 0 20261028T180000") }.count == 4, "\(out)")
        #expect(lines.filter { $0.hasPrefix("Reminder 1 20261029T180000") }.count == 4, "\(out)")
        let show = try ok("session", "show", "1", "--json").object()
        let counts = show["counts"] as? [String: Int] ?? [:]
        #expect(counts["coming"] == 1 && counts["maybe"] == 1 && counts["apologies"] == 1, "\(show)")
        // No reply yet: the key influencer, the guest, and Dana (who left; still counted as invited).
        #expect(counts["no_reply"] == 3 && counts["invited_total"] == 6, "\(show)")
        let text = try ok("session", "show", "1").stdout
        #expect(text.contains("Invited: 6 · coming: 1 · maybe: 1 · apologies: 1 · no reply: 3"), "\(text)")
    }

}
