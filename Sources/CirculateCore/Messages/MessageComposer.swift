import Foundation

/// Turns an `OutgoingMessage` into the exact bytes handed to an SMTP relay or written to the Maildir outbox.
///
/// The output is RFC 5322/MIME with CRLF line endings only, no line over 998 octets, and ending in CRLF. Its body
/// parts are quoted-printable (text) or base64 (attachments), so every body line is at most 76 characters, and no line
/// anywhere starts with "." — the bytes can go to libcurl as they are, and nothing in them can end the SMTP DATA
/// early (the "\n.\r\n" of SMTP smuggling needs a bare LF, which cannot occur).
///
/// Layout: text only → `text/plain`; text and HTML → `multipart/alternative` (plain first, as RFC 2046 §5.1.4 orders
/// alternatives from least to most faithful); with attachments → `multipart/mixed` holding that, then each file.
///
/// With a calendar invitation the layout is the one Google Calendar's own invitations use, which Gmail, Outlook and
/// Apple Mail all recognise: `multipart/mixed` holding a `multipart/alternative` of text, HTML (if any) and the
/// `text/calendar; method=…` part mail programs act on (RFC 6047 §2.4), then the same object as an `application/ics`
/// attachment for programs that only offer files, then the other attachments.
public enum MessageComposer {
    /// Header names the composer writes itself (or that must never be added: Cc and Bcc would show one member's
    /// address to another, Return-Path belongs to the receiving server, RFC 5321 §4.4), compared case-insensitively.
    private static let reservedHeaderNames: [[UInt8]] = [
        "date", "message-id", "from", "reply-to", "to", "cc", "bcc", "subject", "mime-version", "return-path",
    ].map { Array($0.utf8) }
    private static let contentPrefix = Array("content-".utf8)
    private static let maximumBoundarySeedLength = 52
    private static let maximumFilenameBytes = 255

    /// Composes the message. `boundarySeed` (1–52 letters, digits, "-", "_" or ".") makes the MIME boundaries
    /// deterministic: "=_circulate_<seed>_alt" and "=_circulate_<seed>_mixed".
    public static func compose(_ message: OutgoingMessage, boundarySeed: String) throws(CompositionError) -> [UInt8] {
        try checkBoundarySeed(boundarySeed)
        var writer = HeaderWriter(capacity: estimatedSize(message))

        try writer.appendDateField(message.date)
        try checkMessageID(message.messageID)
        writer.begin("Message-ID")
        try writer.appendToken("<\(message.messageID)>".utf8, spaces: 1)
        writer.end()
        if let shared = message.sharedFields {
            writer.bytes.append(contentsOf: shared.senders)
        } else {
            try appendSenders(from: message.from, replyTo: message.replyTo, to: &writer)
        }
        writer.begin("To")
        try writer.appendMailbox(message.to, displayNameField: "To display name")
        writer.end()
        if let shared = message.sharedFields {
            writer.bytes.append(contentsOf: shared.subjectOnward)
            for header in message.extraHeaders.dropFirst(shared.extraHeaders) {
                try appendExtraHeader(header, to: &writer)
            }
        } else {
            try appendSubjectOnward(subject: message.subject, extraHeaders: message.extraHeaders[...], to: &writer)
        }

        let alternative = "=_circulate_\(boundarySeed)_alt"
        let text = Body.text(of: message)
        switch (Body.html(of: message), message.attachments.isEmpty && message.calendar == nil) {
        case (nil, true):
            appendTextEntity("plain", text, to: &writer, terminated: true)
        case (let html?, true):
            try appendAlternativeEntity(text: text, html: html, calendar: nil, boundary: alternative,
                                        to: &writer)
            writer.appendRaw("\r\n")
        case (let html, false):
            if let calendar = message.calendar { try checkCalendar(calendar) }
            let mixed = "=_circulate_\(boundarySeed)_mixed"
            try appendMultipartHeader("mixed", boundary: mixed, to: &writer)
            writer.appendRaw("--\(mixed)\r\n")
            if html != nil || message.calendar != nil {
                try appendAlternativeEntity(text: text, html: html, calendar: message.calendar,
                                            boundary: alternative, to: &writer)
            } else {
                appendTextEntity("plain", text, to: &writer, terminated: false)
            }
            if let calendar = message.calendar {
                writer.appendRaw("\r\n--\(mixed)\r\n")
                let file = Attachment(filename: calendar.filename, contentType: "application/ics", data: calendar.data)
                try appendAttachmentEntity(file, field: "calendar invitation", to: &writer)
            }
            for (offset, attachment) in message.attachments.enumerated() {
                writer.appendRaw("\r\n--\(mixed)\r\n")
                try appendAttachmentEntity(attachment, field: "attachment \(offset + 1)", to: &writer)
            }
            writer.appendRaw("\r\n--\(mixed)--\r\n")
        }
        return writer.bytes
    }

    /// Whether the message must be sent with the SMTPUTF8 extension (RFC 6531): true when an address has a non-ASCII
    /// local part, which then appears as raw UTF-8 in the headers (RFC 6532). Non-ASCII domains never need it: they
    /// are written as A-labels.
    public static func requiresSMTPUTF8(_ message: OutgoingMessage) -> Bool {
        let mailboxes = [message.from, message.to] + message.replyTo
        return mailboxes.contains { !$0.address.hasASCIILocalPart }
    }

    /// The header fields every message of a mailing shares (From, Reply-To; Subject, MIME-Version and the mailing's
    /// own extra fields), encoded once, as `compose` would write them, for `OutgoingMessage.sharedFields`.
    static func encodeSharedFields(from: Mailbox, replyTo: [Mailbox], subject: String,
                                   extraHeaders: [OutgoingMessage.HeaderField]) throws(CompositionError) -> SharedFields {
        var senders = HeaderWriter(capacity: 256)
        try appendSenders(from: from, replyTo: replyTo, to: &senders)
        var rest = HeaderWriter(capacity: 256)
        try appendSubjectOnward(subject: subject, extraHeaders: extraHeaders[...], to: &rest)
        return SharedFields(senders: senders.bytes, subjectOnward: rest.bytes, extraHeaders: extraHeaders.count)
    }

    // MARK: - Headers

    private static func appendSenders(from: Mailbox, replyTo: [Mailbox], to writer: inout HeaderWriter) throws(CompositionError) {
        writer.begin("From")
        try writer.appendMailbox(from, displayNameField: "From display name")
        writer.end()
        if !replyTo.isEmpty {
            writer.begin("Reply-To")
            try writer.appendMailboxList(replyTo, displayNameField: "Reply-To display name")
            writer.end()
        }
    }

    private static func appendSubjectOnward(subject: String, extraHeaders: ArraySlice<OutgoingMessage.HeaderField>,
                                            to writer: inout HeaderWriter) throws(CompositionError) {
        try HeaderEncoding.checkHeaderText(subject, field: "Subject")
        writer.begin("Subject")  // always written, even empty: a missing Subject is a spam signal
        try writer.appendUnstructured(Array(subject.utf8)[...].trimmingSpaces(), spaces: 1)
        writer.end()
        writer.field("MIME-Version", "1.0")
        for header in extraHeaders {
            try appendExtraHeader(header, to: &writer)
        }
    }

    private static func appendExtraHeader(
        _ header: OutgoingMessage.HeaderField, to writer: inout HeaderWriter
    ) throws(CompositionError) {
        // Stricter than RFC 5322's ftext: every real header name fits, and no line can start with "." or a space.
        let name = Array(header.name.utf8)
        let isLetter = { (byte: UInt8) in (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        let wellFormed = name.first.map(isLetter) == true
            && name.count <= HeaderWriter.preferredLineLength - 2
            && name.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        guard wellFormed else {
            throw CompositionError(field: "header name \"\(TextField.printable(header.name))\"",
                                   problem: .invalidHeaderName)
        }
        // Content-* fields describe the MIME structure, which only the composer knows.
        guard !reservedHeaderNames.contains(where: { equalIgnoringASCIICase(name, $0) }),
            !(name.count >= 8 && equalIgnoringASCIICase(name[..<8], contentPrefix))
        else {
            throw CompositionError(field: header.name, problem: .reservedHeaderName)
        }
        guard try HeaderEncoding.checkHeaderText(header.value, field: header.name) else {
            throw CompositionError(field: header.name, problem: .nonASCII)
        }
        let value = Array(header.value.utf8)[...].trimmingSpaces()
        guard !value.isEmpty else { throw CompositionError(field: header.name, problem: .empty) }
        writer.begin(header.name)
        try writer.appendWords(value, spaces: 1)
        writer.end()
    }

    /// Compares a header name with a lower-case one; header names are case-insensitive (RFC 5322 §1.2.2).
    private static func equalIgnoringASCIICase(_ name: some Collection<UInt8>, _ lowercase: [UInt8]) -> Bool {
        name.count == lowercase.count
            && zip(name, lowercase).allSatisfy { ((0x41...0x5A).contains($0) ? $0 | 0x20 : $0) == $1 }
    }

    /// RFC 5322 §3.6.4 msg-id: dot-atom-text "@" dot-atom-text (the no-fold-literal form is not needed here).
    private static func checkMessageID(_ id: String) throws(CompositionError) {
        let bytes = Array(id.utf8)
        let parts = bytes.split(separator: 0x40, omittingEmptySubsequences: false)
        let valid = parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && part.first != 0x2E && part.last != 0x2E
                && !zip(part, part.dropFirst()).contains { $0 == 0x2E && $1 == 0x2E }
                && part.allSatisfy { $0 == 0x2E || HeaderEncoding.isAtext($0) }
        }
        guard valid else { throw CompositionError(field: "Message-ID", problem: .invalidMessageID) }
    }

    /// Boundaries start with "=_": in quoted-printable "=" is always followed by two hex digits or a line break, and
    /// "=", "_" and "-" are not in the base64 alphabet (only "=" as padding, at the end of the data), so no encoded
    /// line can contain a delimiter (RFC 2046 §5.1.1). The "_alt" and "_mixed" suffixes differ at their first
    /// character, so neither delimiter is a prefix of the other.
    private static func checkBoundarySeed(_ seed: String) throws(CompositionError) {
        let bytes = seed.utf8
        let valid = !bytes.isEmpty && bytes.count <= maximumBoundarySeedLength
            && bytes.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
        guard valid else { throw CompositionError(field: "boundary seed", problem: .invalidBoundarySeed) }
    }

    // MARK: - Body parts

    /// A text part's headers, the blank line, and its quoted-printable content (without a final delimiter CRLF).
    private static func appendTextEntity(
        _ subtype: String, _ body: Body, to writer: inout HeaderWriter, terminated: Bool
    ) {
        writer.field("Content-Type", "text/\(subtype); charset=utf-8")
        writer.field("Content-Transfer-Encoding", "quoted-printable")
        writer.end()
        switch body {
        case .plain(let text):
            QuotedPrintable.encode(text, into: &writer.bytes, terminated: terminated)
        case .layout(let layout, let values, let escape):
            layout.appendQuotedPrintable(values, escape: escape, into: &writer.bytes, terminated: terminated)
        }
    }

    /// A text part's content: text as it is, or a prepared layout and the recipient's values (`FilledLayouts`).
    private enum Body {
        case plain(String)
        case layout(SlottedText, [Slot: String], escape: Bool)

        static func text(of message: OutgoingMessage) -> Body {
            message.layouts.map { .layout($0.text, $0.values, escape: false) } ?? .plain(message.textBody)
        }

        static func html(of message: OutgoingMessage) -> Body? {
            if let layouts = message.layouts { return layouts.html.map { .layout($0, layouts.values, escape: true) } }
            return message.htmlBody.map { .plain($0) }
        }
    }

    /// A multipart/alternative entity up to and including its close delimiter, without the CRLF after it (RFC 2046
    /// §5.1.1: the CRLF before a delimiter belongs to the delimiter, so part contents are written exactly).
    private static func appendAlternativeEntity(
        text: Body, html: Body?, calendar: CalendarInvitation?, boundary: String, to writer: inout HeaderWriter
    ) throws(CompositionError) {
        try appendMultipartHeader("alternative", boundary: boundary, to: &writer)
        writer.appendRaw("--\(boundary)\r\n")
        appendTextEntity("plain", text, to: &writer, terminated: false)
        if let html {
            writer.appendRaw("\r\n--\(boundary)\r\n")
            appendTextEntity("html", html, to: &writer, terminated: false)
        }
        if let calendar {
            writer.appendRaw("\r\n--\(boundary)\r\n")
            appendCalendarEntity(calendar, to: &writer)
        }
        writer.appendRaw("\r\n--\(boundary)--")
    }

    /// The iMIP part (RFC 6047 §2.4): no Content-Disposition, so programs treat it as the message's calendar content
    /// rather than a file. Base64 rather than quoted-printable keeps the object's CRLF lines byte for byte, and a
    /// base64 text part with charset=utf-8 fires no SpamAssassin rule (MIME_BASE64_TEXT wants no or an ASCII charset).
    private static func appendCalendarEntity(_ calendar: CalendarInvitation, to writer: inout HeaderWriter) {
        writer.field("Content-Type", "text/calendar; charset=utf-8; method=\(calendar.method.rawValue)")
        writer.field("Content-Transfer-Encoding", "base64")
        writer.end()
        MIMEBase64.appendLines(calendar.data, into: &writer.bytes)
    }

    /// The object must be non-empty UTF-8 (the part says charset=utf-8) with exactly one METHOD property equal to the
    /// part's method parameter, which RFC 6047 §2.4 requires: a program acting on the parameter would otherwise treat
    /// a cancellation as an invitation, or the reverse.
    private static func checkCalendar(_ calendar: CalendarInvitation) throws(CompositionError) {
        let field = "calendar invitation"
        guard !calendar.data.isEmpty else { throw CompositionError(field: field, problem: .empty) }
        guard String(validating: calendar.data, as: UTF8.self) != nil else {
            throw CompositionError(field: field, problem: .invalidUTF8)
        }
        let methods = calendar.objectMethods
        guard methods.count == 1, methods[0].uppercased() == calendar.method.rawValue else {
            let found = methods.count == 1 ? CalendarMethod(rawValue: methods[0].uppercased()) : nil
            throw CompositionError(field: field,
                                   problem: .calendarMethodMismatch(declared: calendar.method, found: found))
        }
    }

    /// `Content-Type: multipart/<subtype>; boundary="..."` and the blank line; the boundary is quoted because "=" is a
    /// tspecial (RFC 2045 §5.1).
    private static func appendMultipartHeader(
        _ subtype: String, boundary: String, to writer: inout HeaderWriter
    ) throws(CompositionError) {
        writer.begin("Content-Type")
        try writer.appendToken("multipart/\(subtype);".utf8, spaces: 1)
        try writer.appendToken("boundary=\"\(boundary)\"".utf8, spaces: 1)
        writer.end()
        writer.end()
    }

    /// A file's headers and base64 content; `field` names it in errors ("attachment 2", "calendar invitation").
    private static func appendAttachmentEntity(
        _ attachment: Attachment, field: String, to writer: inout HeaderWriter
    ) throws(CompositionError) {
        try checkFilename(attachment.filename, field: "\(field) filename")
        try HeaderEncoding.checkHeaderText(attachment.contentType, field: "\(field) content type")
        try checkContentType(attachment.contentType, field: "\(field) content type")

        writer.begin("Content-Type")
        try writer.appendToken("\(attachment.contentType);".utf8, spaces: 1)
        for parameter in attachment.extraContentTypeParameters {
            let lower = parameter.name.lowercased()
            // "name" is written below from the filename; "boundary" only belongs on multiparts.
            guard lower != "name", lower != "boundary" else {
                throw CompositionError(field: "\(field) parameter \"\(TextField.printable(parameter.name))\"",
                                       problem: .invalidParameter)
            }
            try writer.appendParameter(parameter.name, parameter.value, last: false,
                                       field: "\(field) parameter \"\(TextField.printable(parameter.name))\"")
        }
        // Content-Type "name" is older than Content-Disposition and still the one some programs show (RFC 2045
        // deprecates it, RFC 2183 §2.3 notes it); it carries the ASCII fallback.
        try writer.appendFilename("name", attachment.filename, withExtended: false)
        writer.end()
        writer.field("Content-Transfer-Encoding", "base64")
        writer.begin("Content-Disposition")
        try writer.appendToken("\(attachment.disposition.rawValue);".utf8, spaces: 1)
        try writer.appendFilename("filename", attachment.filename, withExtended: true)
        writer.end()
        writer.end()
        MIMEBase64.appendLines(attachment.data, into: &writer.bytes)
    }

    private static func checkFilename(_ filename: String, field: String) throws(CompositionError) {
        try HeaderEncoding.checkHeaderText(filename, field: field)
        guard !filename.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CompositionError(field: field, problem: .empty)
        }
        // Compared as bytes: as Characters, a "\\" followed by a combining mark would not equal "\\".
        guard !filename.utf8.contains(0x2F), !filename.utf8.contains(0x5C) else {
            throw CompositionError(field: field, problem: .pathSeparator)
        }
        guard filename.utf8.count <= maximumFilenameBytes else {
            throw CompositionError(field: field, problem: .tooLong)
        }
    }

    /// RFC 2045 §5.1 type "/" subtype, both tokens; multipart and message types cannot be base64-encoded (RFC 2045
    /// §6.4) and would need the composer to understand their structure.
    private static func checkContentType(_ contentType: String, field: String) throws(CompositionError) {
        let parts = Array(contentType.utf8).split(separator: 0x2F, omittingEmptySubsequences: false)
        let lower = contentType.lowercased()
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(HeaderEncoding.isTokenCharacter) }),
            !lower.hasPrefix("multipart/"), !lower.hasPrefix("message/")
        else { throw CompositionError(field: field, problem: .invalidContentType) }
    }

    /// Enough capacity that composing never reallocates: headers, quoted-printable's typical growth, base64's 4/3.
    private static func estimatedSize(_ message: OutgoingMessage) -> Int {
        var size = 2048 + (message.layouts?.text.literalCount ?? message.textBody.utf8.count) * 9 / 8
        if let html = message.layouts.map({ $0.html?.literalCount }) ?? message.htmlBody?.utf8.count {
            size += 512 + html * 9 / 8
        }
        for attachment in message.attachments {
            size += 1024 + attachment.data.count * 4 / 3 + attachment.data.count / 28
        }
        if let calendar = message.calendar {
            // Written twice: the text/calendar alternative and the .ics attachment.
            size += 2 * (1024 + calendar.data.count * 4 / 3 + calendar.data.count / 28)
        }
        return size
    }
}
