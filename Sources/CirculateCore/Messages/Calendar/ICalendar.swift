import Foundation

/// Builds RFC 5545 calendar objects for session invitations (sent as RFC 6047 iMIP).
public enum ICalendar {
    /// The object for one event and one attendee: VCALENDAR with METHOD, a VTIMEZONE for the event's zone, one VEVENT.
    /// `stamp` is DTSTAMP (when the object was made). Text with control characters other than line breaks is refused.
    public static func object(_ event: CalendarEvent, method: CalendarMethod, stamp: Date) throws(CompositionError) -> [UInt8] {
        for (field, value) in [("summary", event.summary), ("location", event.location ?? ""), ("url", event.url ?? ""),
                               ("organizer name", event.organizer.displayName ?? ""),
                               ("attendee name", event.attendee.displayName ?? "")] {
            if let bad = value.unicodeScalars.first(where: TextField.isForbidden) {
                throw CompositionError(field: "calendar \(field)", problem: .controlCharacter(bad))
            }
        }
        if let bad = (event.description ?? "").unicodeScalars.first(where: { TextField.isForbidden($0) && $0 != "\r" && $0 != "\n" }) {
            throw CompositionError(field: "calendar description", problem: .controlCharacter(bad))
        }
        guard event.end > event.start else { throw CompositionError(field: "calendar event", problem: .other("ends before it starts")) }
        guard !event.uid.isEmpty, event.uid.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != "\u{7F}" }) else {
            throw CompositionError(field: "calendar UID", problem: .other("must be printable ASCII without spaces"))
        }

        var w = ICalendarWriter()
        w.line("BEGIN", "VCALENDAR")
        w.line("VERSION", "2.0")
        w.line("PRODID", "-//circulate//circulate \(Versions.circulate)//EN")
        w.line("CALSCALE", "GREGORIAN")
        w.line("METHOD", method.rawValue)
        TimeZoneDefinition(event.timeZone, covering: event.start, event.end).write(to: &w)
        w.line("BEGIN", "VEVENT")
        w.line("UID", event.uid)
        w.line("DTSTAMP", utc(stamp))
        w.line("SEQUENCE", String(max(0, event.sequence)))
        w.line("DTSTART", local(event.start, event.timeZone), parameters: [("TZID", event.timeZone.identifier)])
        w.line("DTEND", local(event.end, event.timeZone), parameters: [("TZID", event.timeZone.identifier)])
        w.text("SUMMARY", event.summary)
        if let description = event.description, !description.isEmpty { w.text("DESCRIPTION", description) }
        if let location = event.location, !location.isEmpty { w.text("LOCATION", location) }
        if let url = event.url, !url.isEmpty { w.line("URL", url) }
        w.line("ORGANIZER", mailto(event.organizer.address), parameters: cn(event.organizer))
        w.line("ATTENDEE", mailto(event.attendee.address), parameters: cn(event.attendee) + [
            ("CUTYPE", "INDIVIDUAL"), ("ROLE", "REQ-PARTICIPANT"), ("PARTSTAT", "NEEDS-ACTION"),
            ("RSVP", event.asksForAnswer && method == .request ? "TRUE" : "FALSE"),
        ])
        w.line("STATUS", method == .cancel ? CalendarEvent.Status.cancelled.rawValue : event.status.rawValue)
        w.line("TRANSP", "OPAQUE")
        w.line("END", "VEVENT")
        w.line("END", "VCALENDAR")
        return w.bytes
    }

    private static func cn(_ mailbox: Mailbox) -> [(String, String)] {
        guard let name = mailbox.displayName, !name.isEmpty else { return [] }
        return [("CN", ICalendarWriter.parameter(name))]
    }

    /// A mailto: URI with the A-label domain; a non-ASCII local part is percent-encoded (RFC 6068).
    static func mailto(_ address: EmailAddress) -> String {
        var local = ""
        for byte in address.localPart.utf8 {
            let safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || Array("!$'*+-._~".utf8).contains(byte)
            local += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return "mailto:\(local)@\(address.asciiDomain)"
    }

    /// 20261122T215500Z
    static func utc(_ date: Date) -> String { stamp(date, TimeZone(identifier: "UTC") ?? .gmt) + "Z" }

    /// 20261209T100000 (local time in `zone`, to go with TZID)
    static func local(_ date: Date, _ zone: TimeZone) -> String { stamp(date, zone) }

    static func stamp(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
