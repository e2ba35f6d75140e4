import CirculateTestSupport
import Foundation
import Testing

/// A whole topic series through the real daemon and a real SMTP server, on a shifted clock (CIRCULATE_NOW) so that
/// a month passes in a minute: members imported, a session held with attendance, the thank-you-and-invite with its
/// calendar, the monthly update at its slot, the topic closed with a report to key influencers, one follow-up to the
/// one who did not respond and none to the one who did, an unsubscribe in the middle honoured at once.
@Suite("Workflow scenario: a topic series through the daemon")
struct WorkflowScenarioTests {
    /// Every captured message read by the independent checker: (recipient, subject, checker result).
    func checked(_ server: SMTPServer) throws -> [(to: String, subject: String, result: [String: Any], path: String)] {
        let captured = server.captured()
        guard !captured.isEmpty else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [SMTPServer.fixtures + "/check_message.py"] + captured.map(\.path)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let results = String(decoding: data, as: UTF8.self).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        guard results.count == captured.count else { throw CLIError("check_message.py gave \(results.count) results for \(captured.count)") }
        return zip(captured, results).map { message, result in
            ((message.meta["rcpt_tos"] as? [String])?.first ?? "", result["subject"] as? String ?? "", result, message.path)
        }
    }

    @Test("members, a session, the thank-you with an invitation, the update at its slot, a report with one follow-up")
    func topicSeries() throws {
        let server = try SMTPServer(starttls: "required", auth: "alice:s3cret")
        let cli = try CLI()
        _ = try cli.write("smtp-password", "s3cret\n")
        _ = try cli.write("circulate.toml", """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [coordinator]
            name = "Morgan Ellis"
            email = "morgan.ellis@example.org"
            [updates]
            schedule = "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0"
            remind_days_before = 5
            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"
            [delivery]
            retry_initial = "1s"
            retry_maximum = "2s"
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

        // 1 November: the list, the topic and its two sessions.
        cli.at("2026-11-01T09:00:00Z")
        _ = try ok("init")
        _ = try ok("member", "import", try cli.write("members.csv", """
            Name,Email,Consent
            Ann Example,ann.example@example.org,yes
            Siân Ó Ceallaigh,sian@example.org,yes
            Chris Example,chris.example@example.org,yes
            Dana Example,dana.example@example.org,yes
            """), "--role", "member")
        for (email, name) in [("j.patel@example.org", "Councillor J. Patel"), ("r.singh@example.org", "R. Singh")] {
            _ = try ok("member", "add", email, "--name", name, "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                       "--source", "public register, in their professional role")
        }
        _ = try ok("topic", "add", "Hospital discharge")
        _ = try ok("session", "add", "--topic", "Hospital discharge", "--start", "2026-11-10 10:00", "--end", "2026-11-10 12:00",
                   "--venue", "Riverside Centre", "--address", "14 Mill Lane, Stoke-on-Trent")
        _ = try ok("session", "add", "--topic", "1", "--title", "After the first night", "--start", "2026-12-09 10:00",
                   "--length", "2h", "--venue", "Riverside Centre", "--address", "14 Mill Lane, Stoke-on-Trent",
                   "--online", "https://meet.example.org/riverside-december")

        // After the session: the sign-in sheet (a newcomer with consent, a visitor without), apologies, notes.
        cli.at("2026-11-10T13:00:00Z")
        let attendance = try ok("session", "attendance", "1", try cli.write("sheet.csv", """
            Name,Email,Consent
            Ann Example,ann.example@example.org,yes
            Siân Ó Ceallaigh,sian@example.org,yes
            Eli Newcomer,eli.newcomer@example.org,yes
            Pat Visitor,pat.visitor@example.org,no
            """), "--json").object()
        #expect(attendance["recorded"] as? Int == 3 && attendance["unlisted"] as? Int == 1, "\(attendance)")
        _ = try ok("session", "attendance", "1", try cli.write("apologies.csv", "Name,Email,Consent\nChris Example,chris.example@example.org,yes\n"),
                   "--apologies")
        _ = try ok("session", "notes", "1", try cli.write("notes.md", "We agreed on **a named link worker** on each ward.\n"))
        let shown = try ok("session", "show", "1", "--json").object()
        #expect((shown["counts"] as? [String: Int])?["attended"] == 3 && (shown["counts"] as? [String: Int])?["apologies"] == 1, "\(shown)")

        // The next morning at 10:00 the daemon thanks the three who came and the one who sent apologies.
        try daemon(from: "2026-11-11T09:59:55Z") { server.capturedCount >= 4 }
        // A restart around the same time sends nothing twice.
        try daemon(from: "2026-11-11T10:00:30Z") { Thread.sleep(forTimeInterval: 3); return true }
        var messages = try checked(server)
        let thanked = messages.filter { $0.subject == "Thank you for coming: Hospital discharge" }.map(\.to).sorted()
        #expect(thanked == ["ann.example@example.org", "eli.newcomer@example.org", "sian@example.org"])
        #expect(messages.filter { $0.subject == "Sorry we missed you: Hospital discharge" }.map(\.to) == ["chris.example@example.org"])
        #expect(messages.count == 4, "\(messages.map(\.subject))")
        for m in messages {
            #expect(m.result["structure"] as? String == "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)")
            let parts = m.result["parts"] as? [[String: Any]] ?? []
            let calendar = parts.first { $0["content_type"] as? String == "text/calendar" }
            #expect((calendar?["params"] as? [String: String])?["method"] == "REQUEST")
            let ics = calendar?["text"] as? String ?? ""
            #expect(ics.contains("ATTENDEE;") && ics.contains("mailto:\(m.to)") && ics.components(separatedBy: "ATTENDEE").count == 2,
                    "one attendee, the recipient: \(ics)")
            #expect(ics.contains("DTSTART;TZID=Europe/London:20261209T100000") && ics.contains("BEGIN:VTIMEZONE"))
            let text = parts.first { $0["content_type"] as? String == "text/plain" }?["text"] as? String ?? ""
            #expect(text.contains("a named link worker") && text.contains("Wednesday 9 December 2026, 10:00 to 12:00"), "\(text)")
        }
        let icsCheck = try CLI.python(icalendarCheck, messages.map(\.path))
        #expect(icsCheck == String(repeating: "ok\n", count: messages.count), "python3-icalendar: \(icsCheck)")

        // Dana leaves in the middle: nothing more reaches her.
        cli.at("2026-11-20T12:00:00Z")
        _ = try ok("unsubscribe", "dana.example@example.org")
        _ = try ok("update", "queue", try cli.write("update.md", "## December\n\nThank you for a busy November.\n"),
                   "--subject", "December news from the Riverside CoP")

        // 1 December 09:00 (the first Tuesday): the update goes to every active member still opted in.
        try daemon(from: "2026-12-01T08:59:56Z") { server.capturedCount >= 4 + 4 }
        messages = try checked(server)
        let updated = messages.filter { $0.subject == "December news from the Riverside CoP" }.map(\.to).sorted()
        #expect(updated == ["ann.example@example.org", "chris.example@example.org", "eli.newcomer@example.org", "sian@example.org"],
                "everyone opted in except Dana, who left")
        let key = messages.filter { $0.subject == "December news from the Riverside CoP" }.first?.result["parts"] as? [[String: Any]]
        let updateText = key?.first?["text"] as? String ?? ""
        #expect(updateText.contains("Our next session is on Wednesday 9 December 2026"), "the closing line: \(updateText)")

        // The topic closes with its report to the key influencers; one responds straight away.
        cli.at("2026-12-02T10:00:00Z")
        _ = try ok("topic", "close", "Hospital discharge")
        let pdf = cli.path("report.pdf")
        try Data("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".utf8).write(to: URL(fileURLWithPath: pdf))
        _ = try ok("report", "distribute", pdf, "--title", "Hospital discharge: five changes", "--topic", "Hospital discharge",
                   "--link", "https://example.org/reports/hospital-discharge.pdf")
        try daemon(from: "2026-12-02T10:00:05Z") { server.capturedCount >= 8 + 2 }
        _ = try ok("report", "responded", "j.patel@example.org", "--note", "meeting booked")

        // Fourteen days later the one who did not respond gets one follow-up; a restart sends nothing twice.
        try daemon(from: "2026-12-16T10:00:10Z") { server.capturedCount >= 10 + 1 }
        try daemon(from: "2026-12-16T10:01:00Z") { Thread.sleep(forTimeInterval: 3); return true }
        messages = try checked(server)
        let covers = messages.filter { $0.subject == "Hospital discharge: five changes" }
        #expect(covers.map(\.to).sorted() == ["j.patel@example.org", "r.singh@example.org"])
        for cover in covers {
            #expect(cover.result["structure"] as? String == "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)")
        }
        #expect(messages.filter { $0.subject == "Following up: Hospital discharge: five changes" }.map(\.to) == ["r.singh@example.org"])
        let status = try ok("report", "status", "1", "--json").object()
        #expect((status["counts"] as? [String: Int])?["responded"] == 1 && (status["counts"] as? [String: Int])?["followed-up"] == 1, "\(status)")

        // Every message: parsed cleanly, one recipient, and nothing ever to the person who left after she left.
        #expect(messages.count == 11, "\(messages.map { "\($0.to): \($0.subject)" })")
        for m in messages {
            #expect(m.result["ok"] as? Bool == true, "\(m.to) \(m.subject): \(m.result["violations"] ?? "")")
        }
        #expect(!messages.contains { $0.to == "dana.example@example.org" })
        #expect(!messages.contains { $0.to == "pat.visitor@example.org" })
    }

    /// Reads each message's text/calendar part with python3-icalendar and checks the properties calendar clients need.
    let icalendarCheck = """
        import sys, email
        from email import policy
        from icalendar import Calendar
        for path in sys.argv[1:]:
            msg = email.message_from_binary_file(open(path, 'rb'), policy=policy.default)
            part = [p for p in msg.walk() if p.get_content_type() == 'text/calendar'][0]
            cal = Calendar.from_ical(part.get_payload(decode=True))
            e = [c for c in cal.walk() if c.name == 'VEVENT'][0]
            ok = (str(cal['METHOD']) == 'REQUEST' and len([c for c in cal.walk() if c.name == 'VTIMEZONE']) == 1
                  and str(e['UID']) == 'session-2@example.org' and int(e['SEQUENCE']) == 0
                  and e['DTSTAMP'].to_ical().decode().endswith('Z') and e['DTSTART'].params.get('TZID') == 'Europe/London'
                  and str(e['ORGANIZER']) == 'mailto:cop@example.org' and not isinstance(e.get('ATTENDEE'), list))
            print('ok' if ok else 'bad ' + path)
        """

}
