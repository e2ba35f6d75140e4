import Foundation

/// An iTIP message sent back to the organizer (RFC 5546, carried by mail as RFC 6047 iMIP): most often a REPLY, a
/// person's answer to an invitation, made by the answer buttons of Gmail, Outlook and Apple Calendar.
///
/// Read from the first calendar object in the message, outside any attached message: a `text/calendar` part (the
/// iMIP part), else an `application/ics` part or a part whose file name ends in ".ics". Only what deciding needs is
/// kept: the method, the event's UID and SEQUENCE, its attendees and their answers, and who sent the mail.
struct CalendarReply: Sendable, Equatable {
    /// One ATTENDEE of the event.
    struct Attendee: Sendable, Equatable {
        /// The address from the `mailto:` value (or the EMAIL parameter, when the value is not a mailto: URI).
        var address: String?
        /// PARTSTAT, upper-cased (ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION, DELEGATED), if given.
        var partstat: String?
    }

    /// The object's METHOD, upper-cased (REPLY, COUNTER, REFRESH, ...).
    var method: String
    /// UID of the event; nil when the object has none, or several events with different UIDs.
    var uid: String?
    /// SEQUENCE of the event, if given: which version of the invitation is answered.
    var sequence: Int?
    /// Every ATTENDEE of every event in the object (an answer names exactly one).
    var attendees: [Attendee]
    /// The address in the message's From field; nil when there is none or more than one.
    var sender: String?
    /// The message's Message-ID (without brackets): a copy of an answer already read is not read again.
    var messageID: String?

    /// The methods that come back to an organizer; an invitation (REQUEST, PUBLISH, CANCEL) forwarded to the list is
    /// not an answer and is left to be read as any other message.
    static let methodsToOrganizer: Set<String> = ["REPLY", "COUNTER", "REFRESH", "DECLINECOUNTER"]

    /// Reads the calendar answer in a message; nil when it carries no calendar object sent back to an organizer.
    init?(_ message: MIMEEntity) {
        guard let object = Self.calendarText(in: message), var reply = CalendarReply(icalendar: object) else { return nil }
        reply.sender = Self.senderAddress(message.field("from"))
        reply.messageID = MIMEEntity.messageID(message.field("message-id"))
        self = reply
    }

    /// Reads a calendar object's text (RFC 5545); nil when it is not a VCALENDAR with one of `methodsToOrganizer`.
    init?(icalendar text: String) {
        var method: String?
        var uids: Set<String> = []
        var sequence: Int?
        var attendees: [Attendee] = []
        var depth: [String] = []
        var sawCalendar = false
        for line in Self.unfolded(text).prefix(Self.maximumLines) {
            guard let property = Self.property(line) else { continue }
            switch property.name {
            case "BEGIN":
                depth.append(property.value.uppercased())
                if depth == ["VCALENDAR"] { sawCalendar = true }
            case "END":
                if !depth.isEmpty { depth.removeLast() }
            case "METHOD" where depth == ["VCALENDAR"]:
                method = property.value.trimmingCharacters(in: .whitespaces).uppercased()
            case "UID" where depth.last == "VEVENT":
                uids.insert(property.value.trimmingCharacters(in: .whitespaces))
            case "SEQUENCE" where depth.last == "VEVENT":
                sequence = Int(property.value.trimmingCharacters(in: .whitespaces))
            case "ATTENDEE" where depth.last == "VEVENT":
                attendees.append(Attendee(address: Self.attendeeAddress(property.value, email: property.parameters["EMAIL"]),
                                          partstat: property.parameters["PARTSTAT"]?.uppercased()))
            default:
                continue
            }
        }
        guard sawCalendar, let method, Self.methodsToOrganizer.contains(method) else { return nil }
        self.method = method
        uid = uids.count == 1 ? uids.first : nil
        self.sequence = sequence
        self.attendees = attendees
        sender = nil
        messageID = nil
    }

    // MARK: - Finding the object

    /// Calendar objects longer than this many lines are read only this far (an answer has a few dozen).
    static let maximumLines = 2_000

    /// The text of the first calendar object: a text/calendar part first, then an .ics attachment. Attached messages
    /// (message/rfc822) are someone else's mail and are not looked into.
    static func calendarText(in message: MIMEEntity) -> String? {
        let leaves = ownParts(message)
        let calendar = leaves.first { $0.contentType.value == "text/calendar" }
            ?? leaves.first { entity in
                let type = entity.contentType
                let name = (type.parameters["name"] ?? dispositionFilename(entity) ?? "").lowercased()
                return type.value == "application/ics" || (type.value == "application/octet-stream" && name.hasSuffix(".ics"))
            }
        guard let calendar else { return nil }
        let text = calendar.text
        return text.range(of: "BEGIN:VCALENDAR", options: .caseInsensitive) == nil ? nil : text
    }

    /// The message's own leaf parts, depth first, not descending into attached messages.
    private static func ownParts(_ entity: MIMEEntity) -> [MIMEEntity] {
        let type = entity.contentType.value
        if type.hasPrefix("message/") || type == "text/rfc822-headers" { return [] }
        if entity.parts.isEmpty { return [entity] }
        return entity.parts.flatMap(ownParts)
    }

    private static func dispositionFilename(_ entity: MIMEEntity) -> String? {
        guard let disposition = entity.field("content-disposition") else { return nil }
        // Parsed like a Content-Type: "attachment; filename=invite.ics".
        return MIMEEntity.contentType([("content-type", disposition)]).parameters["filename"]
    }

    // MARK: - Reading lines

    /// The object's content lines with folding undone (RFC 5545 §3.1: a line break followed by one space or tab
    /// continues the line); CR LF and bare LF alike.
    static func unfolded(_ text: String) -> [String] {
        var lines: [String] = []
        // CR LF is one Character in Swift: split on LF after making every line end one.
        for line in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1] += line.dropFirst()
            } else if !line.isEmpty {
                lines.append(String(line))
            }
        }
        return lines
    }

    /// A content line: NAME;PARAM=value;PARAM="quoted:value":VALUE. Names upper-cased, parameter values unquoted.
    static func property(_ line: String) -> (name: String, parameters: [String: String], value: String)? {
        var name = ""
        var parameters: [String: String] = [:]
        var parameterName = ""
        var current = ""
        var quoted = false
        var inName = true
        var index = line.startIndex
        func endParameter() {
            let key = parameterName.trimmingCharacters(in: .whitespaces).uppercased()
            if !key.isEmpty, parameters[key] == nil { parameters[key] = current }
            parameterName = ""
            current = ""
        }
        while index < line.endIndex {
            let c = line[index]
            if quoted {
                if c == "\"" { quoted = false } else { current.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == ":" {
                if inName { name = current } else { endParameter() }
                let value = String(line[line.index(after: index)...])
                let cleanName = name.trimmingCharacters(in: .whitespaces).uppercased()
                return cleanName.isEmpty ? nil : (cleanName, parameters, value)
            } else if c == ";" {
                if inName { name = current; inName = false; current = "" } else { endParameter() }
            } else if c == "=", !inName, parameterName.isEmpty {
                parameterName = current
                current = ""
            } else {
                current.append(c)
            }
            index = line.index(after: index)
        }
        return nil
    }

    /// "mailto:Kim@Example.org" (any case, percent-encoded or not) to "Kim@Example.org"; the EMAIL parameter when
    /// the value is another kind of URI (some servers send urn:uuid: values with the address beside them).
    static func attendeeAddress(_ value: String, email: String?) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased().hasPrefix("mailto:") {
            let address = String(trimmed.dropFirst("mailto:".count))
            let decoded = address.removingPercentEncoding ?? address
            return decoded.isEmpty ? nil : decoded
        }
        let fallback = email?.trimmingCharacters(in: .whitespaces)
        return fallback?.isEmpty == false ? fallback : nil
    }

    /// The one address in a From field ("Kim Example <kim@example.org>", or a bare address); nil for none or several.
    static func senderAddress(_ field: String?) -> String? {
        guard let field else { return nil }
        let text = EncodedWords.decode(field)
        var addresses: [String] = []
        var quoted = false
        var comment = 0
        var angle: String?
        var bare = ""
        func endMailbox() {
            let candidate = (angle ?? bare).trimmingCharacters(in: .whitespaces)
            if candidate.contains("@") { addresses.append(candidate) }
            angle = nil
            bare = ""
        }
        for c in text {
            if c == "\"" { quoted.toggle(); continue }
            if quoted { continue }  // a display name may hold "<", "@" or ","
            if c == "(" { comment += 1; continue }
            if c == ")" { comment = max(0, comment - 1); continue }
            if comment > 0 { continue }  // "kim@example.org (Kim)": the comment is no part of the address
            if c == "<" { angle = ""; continue }
            if c == ">" { if let a = angle { bare = ""; angle = nil; addresses.append(a.trimmingCharacters(in: .whitespaces)) }; continue }
            if c == "," { endMailbox(); continue }
            if angle != nil { angle?.append(c) } else { bare.append(c) }
        }
        endMailbox()
        let unique = Set(addresses.map { $0.lowercased() })
        return unique.count == 1 ? addresses.first : nil
    }
}
