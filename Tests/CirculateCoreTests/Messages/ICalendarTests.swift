import Foundation
import Testing
@testable import CirculateCore

@Suite("iCalendar invitations (RFC 5545)")
struct ICalendarTests {
    static let london = TimeZone(identifier: "Europe/London") ?? .gmt

    static func at(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int = 0, zone: TimeZone = london) -> Date {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min)) ?? .distantPast
    }

    static func event(start: Date, hours: Double = 2, sequence: Int = 0, description: String? = nil) throws -> CalendarEvent {
        CalendarEvent(uid: "session-12@example.org", sequence: sequence, start: start, end: start.addingTimeInterval(hours * 3600),
                      timeZone: london, summary: "Hospital discharge: the first week at home",
                      description: description, location: "Riverside Community Centre, 1 Mill Lane, Stoke-on-Trent",
                      url: "https://meet.example.org/cop-december",
                      organizer: Mailbox(displayName: "Riverside CoP", address: try EmailAddress("cop@example.org")),
                      attendee: Mailbox(displayName: "Zoë Ångström, MSc", address: try EmailAddress("zoe@bücher.example")))
    }

    /// Parses with Debian's python3-icalendar and reports what a calendar client would compute, using the object's
    /// own VTIMEZONE to turn DTSTART into UTC (the parser alone would look the zone name up in its own database).
    static func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        let scratch = try Scratch()
        let file = scratch.path("invite.ics")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let out = try python("""
            import json, sys, datetime
            from icalendar import Calendar
            raw = open(sys.argv[1], 'rb').read()
            cal = Calendar.from_ical(raw)
            ev = [c for c in cal.walk() if c.name == 'VEVENT']
            tz = [c for c in cal.walk() if c.name == 'VTIMEZONE']
            e = ev[0]
            start = e.decoded('DTSTART').replace(tzinfo=None)
            # The observance in force: the latest DTSTART (local wall time) not after the event's local start.
            obs = sorted(((o.decoded('DTSTART').replace(tzinfo=None), o) for o in tz[0].subcomponents), key=lambda x: x[0])
            in_force = [o for (t, o) in obs if t <= start][-1]
            offset = in_force.decoded('TZOFFSETTO')
            attendees = e.get('ATTENDEE')
            attendees = attendees if isinstance(attendees, list) else [attendees]
            lines = raw.split(b'\\r\\n')
            print(json.dumps({
                'method': str(cal['METHOD']), 'version': str(cal['VERSION']), 'events': len(ev), 'timezones': len(tz),
                'tzid': str(tz[0]['TZID']), 'dtstart_tzid': e['DTSTART'].params.get('TZID'),
                'uid': str(e['UID']), 'sequence': int(e['SEQUENCE']), 'status': str(e['STATUS']),
                'dtstamp': e.decoded('DTSTAMP').strftime('%Y%m%dT%H%M%S%z'),
                'start_utc': (start - offset).strftime('%Y-%m-%dT%H:%M'),
                'summary': str(e['SUMMARY']), 'description': str(e.get('DESCRIPTION', '')), 'location': str(e['LOCATION']),
                'attendees': [str(a) for a in attendees], 'attendee_cn': str(attendees[0].params.get('CN')),
                'rsvp': attendees[0].params.get('RSVP'), 'organizer': str(e['ORGANIZER']),
                'max_line': max(len(l) for l in lines), 'bare_lf': b'\\n' in raw.replace(b'\\r\\n', b''),
                'continuation_splits_utf8': any(l.startswith(b' ') and len(l) > 1 and (l[1] & 0xC0) == 0x80 for l in lines),
                'ends_crlf': raw.endswith(b'\\r\\n'),
            }))
            """, arguments: [file])
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    }

    @Test("the required properties, one attendee (RSVP=FALSE), the organizer, as an independent parser reads them")
    func required() throws {
        let bytes = try ICalendar.object(try Self.event(start: Self.at(2026, 12, 9, 10)), method: .request,
                                         stamp: Date(timeIntervalSince1970: 1_795_000_000))
        let p = try Self.parse(bytes)
        #expect(p["method"] as? String == "REQUEST")
        #expect(p["version"] as? String == "2.0")
        #expect(p["events"] as? Int == 1 && p["timezones"] as? Int == 1)
        #expect(p["tzid"] as? String == "Europe/London" && p["dtstart_tzid"] as? String == "Europe/London")
        #expect(p["uid"] as? String == "session-12@example.org")
        #expect(p["sequence"] as? Int == 0)
        #expect(p["status"] as? String == "CONFIRMED")
        #expect((p["dtstamp"] as? String)?.hasSuffix("+0000") == true, "DTSTAMP is UTC")
        #expect(p["start_utc"] as? String == "2026-12-09T10:00")
        #expect(p["attendees"] as? [String] == ["mailto:zoe@xn--bcher-kva.example"])
        #expect(p["attendee_cn"] as? String == "Zoë Ångström, MSc")
        #expect(p["rsvp"] as? String == "FALSE")
        #expect(p["organizer"] as? String == "mailto:cop@example.org")
        #expect(p["bare_lf"] as? Bool == false && p["ends_crlf"] as? Bool == true)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("ATTENDEE;CN=\"Zoë Ångström, MSc\";"), "a CN with a comma is quoted")
    }

    @Test("times are right on both sides of the clock changes (the VTIMEZONE is the one in force)", arguments: [
        (2026, 3, 29, 18, "2026-03-29T17:00"),   // the day the clocks go forward: 18:00 BST = 17:00Z
        (2026, 3, 28, 18, "2026-03-28T18:00"),   // the day before: GMT
        (2026, 10, 25, 18, "2026-10-25T18:00"),  // the day the clocks go back: 18:00 GMT
        (2026, 10, 24, 18, "2026-10-24T17:00"),  // the day before: BST
        (2027, 7, 1, 9, "2027-07-01T08:00"),
        (2026, 3, 29, 0, "2026-03-29T00:00"),    // 00:00 on the change day is still GMT (BST starts at 01:00)
    ])
    func daylightSaving(y: Int, m: Int, d: Int, h: Int, utc: String) throws {
        let bytes = try ICalendar.object(try Self.event(start: Self.at(y, m, d, h)), method: .request, stamp: Date())
        #expect(try Self.parse(bytes)["start_utc"] as? String == utc)
    }

    @Test("the VTIMEZONE observances start when Europe/London's clocks really change (01:00 GMT in March, 02:00 BST in October)")
    func observanceStarts() throws {
        let text = String(decoding: try ICalendar.object(try Self.event(start: Self.at(2026, 12, 9, 10)), method: .request, stamp: Date()), as: UTF8.self)
        #expect(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100"))
        #expect(text.contains("BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000"))
    }

    @Test("TEXT is escaped and long lines fold at 75 octets without splitting a character; the parser gets it all back")
    func escapingAndFolding() throws {
        let description = "Bring: notes; questions, and ideas \\ thoughts.\nSecond line — 日本語のテキストと絵文字 👋🏽 " + String(repeating: "Zoë Ångström ", count: 20)
        let bytes = try ICalendar.object(try Self.event(start: Self.at(2026, 12, 9, 10), description: description), method: .request, stamp: Date())
        let p = try Self.parse(bytes)
        #expect(p["description"] as? String == description)
        #expect((p["max_line"] as? Int ?? 99) <= 75)
        #expect(p["continuation_splits_utf8"] as? Bool == false)
        #expect(p["location"] as? String == "Riverside Community Centre, 1 Mill Lane, Stoke-on-Trent")
        // Our own check too: every physical line is at most 75 octets and each is valid UTF-8 on its own.
        for line in String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 75)
        }
        for chunk in bytes.split(separator: 0x0A) { #expect(String(validating: chunk, as: UTF8.self) != nil) }
    }

    @Test("a cancellation keeps the UID, raises SEQUENCE, and says CANCEL/CANCELLED")
    func cancellation() throws {
        var event = try Self.event(start: Self.at(2026, 12, 9, 10), sequence: 2)
        event.status = .cancelled
        let p = try Self.parse(try ICalendar.object(event, method: .cancel, stamp: Date()))
        #expect(p["method"] as? String == "CANCEL")
        #expect(p["status"] as? String == "CANCELLED")
        #expect(p["uid"] as? String == "session-12@example.org")
        #expect(p["sequence"] as? Int == 2)
    }

    @Test("control characters in names and summaries are refused; an end before the start is refused")
    func refusals() throws {
        var event = try Self.event(start: Self.at(2026, 12, 9, 10))
        event.summary = "Session\r\nATTENDEE:mailto:x@example.org"
        #expect(throws: CompositionError.self) { try ICalendar.object(event, method: .request, stamp: Date()) }
        var backwards = try Self.event(start: Self.at(2026, 12, 9, 10))
        backwards.end = backwards.start.addingTimeInterval(-60)
        #expect(throws: CompositionError.self) { try ICalendar.object(backwards, method: .request, stamp: Date()) }
    }

    @Test("a zone without daylight saving gets one STANDARD observance")
    func fixedZone() throws {
        var event = try Self.event(start: Self.at(2026, 12, 9, 10, zone: TimeZone(identifier: "UTC") ?? .gmt))
        event.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        let text = String(decoding: try ICalendar.object(event, method: .publish, stamp: Date()), as: UTF8.self)
        #expect(text.components(separatedBy: "BEGIN:STANDARD").count == 2)
        #expect(!text.contains("BEGIN:DAYLIGHT"))
        #expect(try Self.parse(Array(text.utf8))["start_utc"] as? String == "2026-12-09T10:00")
    }
}
