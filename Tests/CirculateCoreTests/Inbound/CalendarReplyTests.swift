import Foundation
import Testing
@testable import CirculateCore

/// Reading calendar answers (iMIP REPLY) in the shapes Gmail, Outlook / Microsoft 365 and Apple Calendar send, checked
/// against Debian's python3-icalendar reading the same fixtures.
@Suite("Inbound: calendar answers (iMIP) read from a message")
struct CalendarReplyTests {
    /// What python3-icalendar (and Python's email parser) read in a fixture: METHOD, UID, ATTENDEE, PARTSTAT, From.
    static func independent(_ fixture: String) throws -> [String] {
        let path = InboundFixtures.folder.appendingPathComponent(fixture).path
        let out = try python("""
            import sys, email, email.policy
            from icalendar import Calendar
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
            part = [p for p in m.walk() if p.get_content_type() == 'text/calendar'][0]
            cal = Calendar.from_ical(part.get_payload(decode=True))
            e = [c for c in cal.walk() if c.name == 'VEVENT'][0]
            a = e['ATTENDEE']
            print(str(cal['METHOD']), str(e['UID']), str(a).split(':', 1)[1], a.params.get('PARTSTAT'), int(e['SEQUENCE']),
                  m['From'].addresses[0].addr_spec)
            """, arguments: [path])
        return out.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: " ")
    }

    @Test("each client's answer is read as python3-icalendar reads it", arguments: [
        ("gmail-calendar-reply.eml", "ACCEPTED"), ("outlook-calendar-reply.eml", "DECLINED"), ("apple-calendar-reply.eml", "TENTATIVE"),
    ])
    func clients(fixture: String, partstat: String) throws {
        let message = MIMEEntity(parsing: try InboundFixtures.bytes(fixture))
        let reply = try #require(CalendarReply(message))
        let python = try Self.independent(fixture)
        #expect(python.count == 6, "python3-icalendar: \(python)")
        #expect([reply.method, reply.uid ?? "-", reply.attendees.first?.address ?? "-", reply.attendees.first?.partstat ?? "-",
                 reply.sequence.map(String.init) ?? "-", reply.sender ?? "-"] == python)
        #expect(reply.attendees.count == 1)
        #expect(reply.attendees.first?.partstat == partstat)
        guard case .calendarReply = InboundKind.of(message) else {
            Issue.record("\(fixture) is not classified as a calendar answer")
            return
        }
    }

    /// A message whose only calendar object is an .ics attachment, with the text given.
    static func icsOnly(_ ics: String, type: String = "application/ics; name=\"invite.ics\"", from: String = "Kim Example <kim@example.org>") -> [UInt8] {
        Array("""
            From: \(from)\r
            To: cop@example.org\r
            Subject: Accepted: Hospital discharge\r
            Message-ID: <ics-only-1@example.org>\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain\r
            \r
            Kim has accepted.\r
            --b1\r
            Content-Type: \(type)\r
            Content-Disposition: attachment; filename="invite.ics"\r
            \r
            \(ics.replacingOccurrences(of: "\n", with: "\r\n"))\r
            --b1--\r

            """.utf8)
    }

    static let accepted = """
        BEGIN:VCALENDAR
        VERSION:2.0
        METHOD:reply
        BEGIN:VEVENT
        UID:session-4@example.org
        ATTENDEE;CN="Kim; Example: MSc";PARTSTAT=accepted:Mailto:kim%2Bcop@example.org
        END:VEVENT
        END:VCALENDAR
        """

    @Test("an .ics attachment alone is read; quoted parameters keep their ';' and ':'; mailto: in any case, percent-decoded")
    func icsAttachment() throws {
        for type in ["application/ics; name=\"invite.ics\"", "application/octet-stream; name=\"invite.ics\""] {
            let reply = try #require(CalendarReply(MIMEEntity(parsing: Self.icsOnly(Self.accepted, type: type))), "\(type)")
            #expect(reply.method == "REPLY")
            #expect(reply.uid == "session-4@example.org")
            #expect(reply.attendees == [CalendarReply.Attendee(address: "kim+cop@example.org", partstat: "ACCEPTED")])
        }
        let property = try #require(CalendarReply.property(#"ATTENDEE;CN="Kim; Example: MSc";PARTSTAT=ACCEPTED:mailto:kim@example.org"#))
        #expect(property.parameters["CN"] == "Kim; Example: MSc")
        #expect(property.value == "mailto:kim@example.org")
    }

    @Test("folded lines are unfolded, CR LF or LF, a fold even inside a parameter's name")
    func folding() throws {
        let lines = CalendarReply.unfolded("BEGIN:VCALENDAR\r\nATTENDEE;PART\r\n STAT=DECLINED:mailto:kim@exa\n\tmple.org\r\nEND:VCALENDAR\r\n")
        #expect(lines == ["BEGIN:VCALENDAR", "ATTENDEE;PARTSTAT=DECLINED:mailto:kim@example.org", "END:VCALENDAR"])
    }

    @Test("an invitation forwarded to the list (REQUEST) is not an answer; an answer inside an attached message is not this sender's")
    func notAnswers() throws {
        let request = Self.accepted.replacingOccurrences(of: "METHOD:reply", with: "METHOD:REQUEST")
        #expect(CalendarReply(MIMEEntity(parsing: Self.icsOnly(request))) == nil)
        let inner = String(decoding: Self.icsOnly(Self.accepted), as: UTF8.self)
        let forwarded = Array("""
            From: Sam Example <sam@example.org>\r
            Subject: Fwd: Accepted\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="outer"\r
            \r
            --outer\r
            Content-Type: text/plain\r
            \r
            See below.\r
            --outer\r
            Content-Type: message/rfc822\r
            \r
            \(inner)\r
            --outer--\r

            """.utf8)
        #expect(CalendarReply(MIMEEntity(parsing: forwarded)) == nil)
        #expect(CalendarReply(icalendar: "METHOD:REPLY\nUID:x\n") == nil, "no VCALENDAR")
    }

    @Test("an automatic reply carrying a calendar answer is an automatic reply, never an answer")
    func autoReplyFirst() throws {
        var bytes = Self.icsOnly(Self.accepted)
        bytes.insert(contentsOf: Array("Auto-Submitted: auto-replied\r\n".utf8), at: 0)
        #expect(InboundKind.of(MIMEEntity(parsing: bytes)) == .autoReply)
    }

    @Test("the From address: display names with '<', '@' or ',' in quotes, comments, encoded words; none for several")
    func sender() {
        #expect(CalendarReply.senderAddress("Kim Example <kim@example.org>") == "kim@example.org")
        #expect(CalendarReply.senderAddress("\"Example, Kim <boss@example.org>\" <kim@example.org>") == "kim@example.org")
        #expect(CalendarReply.senderAddress("kim@example.org (Kim Example)") == "kim@example.org")
        #expect(CalendarReply.senderAddress("=?UTF-8?Q?Kim_=C3=85ngstr=C3=B6m?= <kim@example.org>") == "kim@example.org")
        #expect(CalendarReply.senderAddress("kim@example.org, lee@example.org") == nil)
        #expect(CalendarReply.senderAddress("Kim <kim@example.org>, KIM@example.org") == "kim@example.org")
        #expect(CalendarReply.senderAddress("undisclosed-recipients:;") == nil)
        #expect(CalendarReply.senderAddress(nil) == nil)
    }

    @Test("several events with different UIDs give no UID; every attendee is kept")
    func severalEvents() throws {
        let two = """
            BEGIN:VCALENDAR
            METHOD:REPLY
            BEGIN:VEVENT
            UID:session-4@example.org
            ATTENDEE;PARTSTAT=ACCEPTED:mailto:kim@example.org
            END:VEVENT
            BEGIN:VEVENT
            UID:session-5@example.org
            ATTENDEE;PARTSTAT=ACCEPTED:mailto:kim@example.org
            ATTENDEE;PARTSTAT=DECLINED:mailto:lee@example.org
            END:VEVENT
            END:VCALENDAR
            """
        let reply = try #require(CalendarReply(icalendar: two))
        #expect(reply.uid == nil)
        #expect(reply.attendees.count == 3)
    }
}
