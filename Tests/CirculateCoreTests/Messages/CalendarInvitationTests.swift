import Foundation
import Testing
@testable import CirculateCore

/// Calendar invitations sent the iMIP way (RFC 6047), checked by what independent readers see: Python's email parser
/// through Tests/Fixtures/check_message.py, python3-icalendar, and SpamAssassin.
@Suite("Calendar invitations in composed messages (iMIP)")
struct CalendarInvitationTests {
    /// A session as Ann's invitation would describe it; non-ASCII text so the UTF-8 path is exercised.
    static func object(_ method: CalendarMethod) throws -> [UInt8] {
        let london = TimeZone(identifier: "Europe/London") ?? .gmt
        let start = Date(timeIntervalSince1970: 1_796_119_200)  // Tue 1 Dec 2026 10:00 GMT
        var event = CalendarEvent(
            uid: "session-14@lists.example.org", sequence: method == .cancel ? 1 : 0, start: start,
            end: start.addingTimeInterval(2.5 * 3600), timeZone: london,
            summary: "Café session — what happens after the first night",
            description: "Tea, coffee and lunch are provided.\nZoë will share the notes from October.",
            location: "Riverside Centre, 14 Mill Lane", organizer: Sample.list, attendee: Sample.ann)
        if method == .cancel { event.status = .cancelled }
        return try ICalendar.object(event, method: method, stamp: Sample.date)
    }

    static let text = "Dear Ann,\n\nOur next session is on Tuesday 1 December at the Riverside Centre. The invitation "
        + "is attached; your calendar can add it for you.\n\nBest wishes,\nStoke CoP\n"
    static let html = "<p>Dear Ann,</p>\n<p>Our next session is on Tuesday 1 December at the Riverside Centre. The "
        + "invitation is attached; your calendar can add it for you.</p>\n<p>Best wishes,<br>Stoke CoP</p>\n"

    static func message(_ method: CalendarMethod, html: Bool, pdf: [UInt8]? = nil) throws -> OutgoingMessage {
        var message = Sample.message(
            subject: method == .cancel ? "Cancelled: session on 1 December" : "Invitation: session on 1 December",
            extraHeaders: Sample.listHeaders, text: text, html: html ? Self.html : nil,
            attachments: pdf.map { [Attachment(filename: "agenda.pdf", contentType: "application/pdf", data: $0)] }
                ?? [])
        message.calendar = CalendarInvitation(method: method, data: try object(method))
        return message
    }

    /// Writes each message to a file in `scratch`; returns the paths.
    static func write(_ messages: [OutgoingMessage], in scratch: Scratch) throws -> [String] {
        try messages.enumerated().map { index, message in
            let path = scratch.path("\(index).eml")
            let bytes = try MessageComposer.compose(message, boundarySeed: "inv\(index)")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    /// The SHA-256 of `bytes` in hex, computed by Python's hashlib (the checker reports its digests the same way).
    static func sha256(_ bytes: [UInt8], in scratch: Scratch) throws -> String {
        let path = scratch.path("digest-\(UUID().uuidString)")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try python("import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
                          arguments: [path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Structure, as an independent parser reads it

    @Test("the invitation is a text/calendar alternative plus an application/ics attachment, both the exact object",
          .enabled(if: CheckerScript.python != nil),
          arguments: [
              (CalendarMethod.request, false, false,
               "multipart/mixed(multipart/alternative(text/plain,text/calendar),application/ics)"),
              (.request, true, false,
               "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"),
              (.request, true, true,
               "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics,"
                   + "application/pdf)"),
              (.cancel, false, false,
               "multipart/mixed(multipart/alternative(text/plain,text/calendar),application/ics)"),
          ])
    func structure(method: CalendarMethod, html: Bool, pdf: Bool, expected: String) throws {
        let scratch = try Scratch()
        var generator = SplitMix64(state: 6047)
        let report = (0..<3_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let message = try Self.message(method, html: html, pdf: pdf ? report : nil)
        let ics = try Self.object(method)
        let (status, output) = try CheckerScript.run(try Self.write([message], in: scratch))
        let result = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                                  "checker said: \(output)")
        #expect(status == 0, "checker said: \(output)")
        #expect(result["ok"] as? Bool == true && (result["violations"] as? [String]) == [],
                "\(result["violations"] ?? "")")
        #expect(result["structure"] as? String == expected)

        let parts = try #require(result["parts"] as? [[String: Any]])
        let calendars = parts.filter { $0["content_type"] as? String == "text/calendar" }
        let files = parts.filter { $0["content_type"] as? String == "application/ics" }
        try #require(calendars.count == 1 && files.count == 1)
        let calendar = calendars[0], file = files[0]
        let icsDigest = try Self.sha256(ics, in: scratch)

        #expect(calendar["params"] as? [String: String] == ["charset": "utf-8", "method": method.rawValue])
        #expect(calendar["transfer_encoding"] as? String == "base64")
        #expect(calendar["disposition"] is NSNull, "the iMIP part is content, not a file")
        #expect(calendar["size"] as? Int == ics.count && calendar["sha256"] as? String == icsDigest)
        #expect(calendar["text"] as? String == String(decoding: ics, as: UTF8.self))

        #expect(file["params"] as? [String: String] == ["name": "invite.ics"])
        #expect(file["transfer_encoding"] as? String == "base64")
        #expect(file["disposition"] as? String == "attachment" && file["filename"] as? String == "invite.ics")
        #expect(file["size"] as? Int == ics.count && file["sha256"] as? String == icsDigest)

        #expect(parts[0]["text"] as? String == MessageReader.crlf(Self.text))
        if html { #expect(parts[1]["text"] as? String == MessageReader.crlf(Self.html)) }
        if pdf {
            // The other attachments follow the .ics, in order, untouched.
            #expect(parts.last?["content_type"] as? String == "application/pdf")
            #expect(parts.last?["filename"] as? String == "agenda.pdf")
            let reportDigest = try Self.sha256(report, in: scratch)
            #expect(parts.last?["sha256"] as? String == reportDigest)
        }
    }

    @Test("the exact layout: headers of the calendar part and the attachment, the two boundaries, nothing else")
    func exactBytes() throws {
        let ics = Array("BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n".utf8)
        var message = Sample.message(text: "See you there.\n")
        message.calendar = CalendarInvitation(method: .publish, data: ics, filename: "session.ics")
        let body = MessageReader.split(try MessageComposer.compose(message, boundarySeed: "t")).body
        let base64 = Data(ics).base64EncodedString()
        #expect(base64.count <= 76)
        #expect(body == [
            "--=_circulate_t_mixed",
            "Content-Type: multipart/alternative; boundary=\"=_circulate_t_alt\"",
            "",
            "--=_circulate_t_alt",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "See you there.",
            "",
            "--=_circulate_t_alt",
            "Content-Type: text/calendar; charset=utf-8; method=PUBLISH",
            "Content-Transfer-Encoding: base64",
            "",
            base64,
            "--=_circulate_t_alt--",
            "--=_circulate_t_mixed",
            "Content-Type: application/ics; name=\"session.ics\"",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=\"session.ics\"",
            "",
            base64,
            "--=_circulate_t_mixed--",
            "",
        ].joined(separator: "\r\n"))
    }

    // MARK: What a calendar program reads

    @Test("the text/calendar part parses with python3-icalendar, and its METHOD is the Content-Type's method",
          arguments: [CalendarMethod.request, .cancel, .publish])
    func calendarPartParses(method: CalendarMethod) throws {
        let scratch = try Scratch()
        let paths = try Self.write([try Self.message(method, html: true)], in: scratch)
        // Found and decoded by Python's email package, not by our reader, then handed to the iCalendar parser.
        let out = try python("""
            import email, email.policy, json, sys
            from icalendar import Calendar
            message = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
            def read(part):
                cal = Calendar.from_ical(part.get_payload(decode=True))
                events = [c for c in cal.walk() if c.name == 'VEVENT']
                return {'method': str(cal['METHOD']), 'param': part.get_param('method'), 'events': len(events),
                        'uid': str(events[0]['UID']), 'summary': str(events[0]['SUMMARY']),
                        'status': str(events[0]['STATUS']), 'attendee': str(events[0]['ATTENDEE'])}
            parts = [p for p in message.walk() if p.get_content_type() in ('text/calendar', 'application/ics')]
            print(json.dumps([[p.get_content_type(), read(p)] for p in parts]))
            """, arguments: paths)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[Any]],
                                  "python said: \(out)")
        try #require(parsed.count == 2)
        #expect(parsed.map { $0.first as? String } == ["text/calendar", "application/ics"])
        let calendar = try #require(parsed[0].last as? [String: Any])
        #expect(calendar["method"] as? String == method.rawValue)
        #expect(calendar["param"] as? String == method.rawValue, "the Content-Type method matches the object's METHOD")
        #expect(calendar["events"] as? Int == 1)
        #expect(calendar["uid"] as? String == "session-14@lists.example.org")
        #expect(calendar["summary"] as? String == "Café session — what happens after the first night")
        #expect(calendar["status"] as? String == (method == .cancel ? "CANCELLED" : "CONFIRMED"))
        #expect(calendar["attendee"] as? String == "mailto:ann@example.org")
        let file = try #require(parsed[1].last as? [String: Any])
        #expect(file["method"] as? String == method.rawValue && file["uid"] as? String == calendar["uid"] as? String)
    }

    // MARK: Refusals

    @Test("an object whose METHOD is not the one it is sent as is refused, naming both")
    func mismatchedMethod() throws {
        var message = Sample.message()
        message.calendar = CalendarInvitation(method: .request, data: try Self.object(.publish))
        let expected = CompositionError(field: "calendar invitation",
                                        problem: .calendarMethodMismatch(declared: .request, found: .publish))
        #expect(throws: expected) { try MessageComposer.compose(message, boundarySeed: "t") }
        #expect(expected.description == "calendar invitation says METHOD:PUBLISH but is sent as method=REQUEST; the "
            + "two must match (RFC 6047 §2.4), so make the object with the invitation's method")
    }

    @Test("an object with no METHOD, two, or one circulate does not know is refused",
          arguments: [
              "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\r\nX-METHOD:REQUEST\r\nEND:VCALENDAR\r\n",
          ])
    func missingMethod(object: String) {
        var message = Sample.message()
        message.calendar = CalendarInvitation(method: .request, data: Array(object.utf8))
        #expect(throws: CompositionError(field: "calendar invitation",
                                         problem: .calendarMethodMismatch(declared: .request, found: nil))) {
            try MessageComposer.compose(message, boundarySeed: "t")
        }
    }

    @Test("METHOD is read as a calendar program reads it: unfolded, any case, after parameters, bare LF tolerated",
          arguments: [
              "BEGIN:VCALENDAR\r\nMETH\r\n OD:REQ\r\n\tUEST\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\r\nmethod:request\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\r\nMETHOD;X-NOTE=\"a:b\":REQUEST\r\nEND:VCALENDAR\r\n",
              "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n",
          ])
    func methodSpellings(object: String) throws {
        var message = Sample.message()
        message.calendar = CalendarInvitation(method: .request, data: Array(object.utf8))
        let entity = MessageReader.entity(String(decoding: try MessageComposer.compose(message, boundarySeed: "t"),
                                                 as: UTF8.self))
        #expect(entity.leaves.map(\.decodedBody).filter { $0 == Array(object.utf8) }.count == 2)
    }

    @Test("an empty object, one that is not UTF-8, and an unusable filename are refused")
    func otherRefusals() {
        var message = Sample.message()
        message.calendar = CalendarInvitation(method: .request, data: [])
        #expect(throws: CompositionError(field: "calendar invitation", problem: .empty)) {
            try MessageComposer.compose(message, boundarySeed: "t")
        }
        let latin1 = Array("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Caf".utf8) + [0xE9]  // "Café" in Latin-1
        message.calendar = CalendarInvitation(method: .request, data: latin1)
        #expect(throws: CompositionError(field: "calendar invitation", problem: .invalidUTF8)) {
            try MessageComposer.compose(message, boundarySeed: "t")
        }
        message.calendar = CalendarInvitation(method: .request, data: Array("METHOD:REQUEST\r\n".utf8),
                                              filename: "../invite.ics")
        #expect(throws: CompositionError(field: "calendar invitation filename", problem: .pathSeparator)) {
            try MessageComposer.compose(message, boundarySeed: "t")
        }
    }

    // MARK: Spam filters

    @Test("an invitation is ham in SpamAssassin, with no header or MIME rule firing",
          arguments: [false, true])
    func spamAssassin(html: Bool) throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"),
                     "SpamAssassin is not installed; run scripts/deps test")
        let scratch = try Scratch()
        let paths = try Self.write([try Self.message(.request, html: html), try Self.message(.cancel, html: html)],
                                   in: scratch)
        let spam = try SpamAssassinTests.runScript("spam_check.py", paths)
        #expect(spam.results.count == paths.count, "spam_check.py said: \(spam.output)")
        for result in spam.results {
            let rules = (result["rules"] as? [[String: Any]] ?? [])
                .map { "\($0["name"] ?? "?")=\($0["score"] ?? "?")" }.joined(separator: " ")
            #expect(result["is_spam"] as? Bool == false, "score \(result["score"] ?? "?"): \(rules)")
            #expect(result["header_or_mime_rules"] as? [String] == [], "all rules: \(rules)")
            #expect(result["unknown_rules"] as? [String] == [], "all rules: \(rules)")
        }
        #expect(spam.status == 0, "spam_check.py said: \(spam.output)")
    }
}
