/// A calendar object sent the iMIP way: a text/calendar alternative the mail program acts on, plus the same file as an
/// .ics attachment for programs that only offer attachments.
///
/// RFC 6047 §2.4 requires the part's `method` parameter to equal the object's METHOD property; the composer checks
/// that, so build `data` with the same method (`ICalendar.object(event, method: method, stamp:)`).
public struct CalendarInvitation: Sendable, Equatable {
    /// The iTIP method, written as the text/calendar part's `method` parameter.
    public var method: CalendarMethod
    /// The iCalendar object, as `ICalendar.object` returns it: UTF-8, CRLF lines.
    public var data: [UInt8]
    /// The attachment's name as the recipient sees it; any Unicode, no path separators.
    public var filename: String

    /// Creates an invitation.
    public init(method: CalendarMethod, data: [UInt8], filename: String = "invite.ics") {
        self.method = method
        self.data = data
        self.filename = filename
    }
}

extension CalendarInvitation {
    /// The values of every METHOD property in the object, read from its unfolded content lines (RFC 5545 §3.1: a line
    /// starting with a space or tab continues the one before; names are case-insensitive).
    var objectMethods: [String] {
        var methods: [String] = []
        var logical: [UInt8] = []
        // Splitting at LF and dropping a trailing CR also reads objects whose lines end in a bare LF.
        for var physical in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if physical.last == 0x0D { physical = physical.dropLast() }
            if let first = physical.first, first == 0x20 || first == 0x09 {
                logical.append(contentsOf: physical.dropFirst())
                continue
            }
            if let value = Self.methodValue(logical) { methods.append(value) }
            logical = Array(physical)
        }
        if let value = Self.methodValue(logical) { methods.append(value) }
        return methods
    }

    /// The value of a METHOD content line, or nil for any other line: name, optional ";" parameters, ":" value, where
    /// a quoted parameter value may itself contain ":".
    private static func methodValue(_ line: [UInt8]) -> String? {
        guard let nameEnd = line.firstIndex(where: { $0 == 0x3A || $0 == 0x3B }),
            String(decoding: line[..<nameEnd], as: UTF8.self).uppercased() == "METHOD"
        else { return nil }
        var quoted = false
        for index in line[nameEnd...].indices {
            if line[index] == 0x22 { quoted.toggle() }
            if line[index] == 0x3A, !quoted {
                return String(decoding: line[(index + 1)...], as: UTF8.self)
            }
        }
        return nil
    }
}
