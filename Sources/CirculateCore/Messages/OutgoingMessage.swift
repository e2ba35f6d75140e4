import Foundation

/// Everything needed to compose one email to one recipient; `MessageComposer` turns it into the bytes a relay gets.
public struct OutgoingMessage: Sendable {
    /// One extra header field, formatted by the caller (e.g. List-Id, List-Unsubscribe); still validated.
    public struct HeaderField: Sendable, Equatable {
        /// The field name, e.g. "List-Unsubscribe".
        public var name: String
        /// The field value as it should appear, printable ASCII; long values are folded at their spaces.
        public var value: String

        /// Creates a header field.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Who the message is from (the list's own address).
    public var from: Mailbox
    /// Where replies should go, if not to `from` (empty): one mailbox, or several (a reply goes to each).
    public var replyTo: [Mailbox]
    /// The one recipient: every message goes to exactly one person, so no member ever sees another's address.
    public var to: Mailbox
    /// The subject line; may be empty, but the Subject header is always written.
    public var subject: String
    /// When the message was composed; written in UTC.
    public var date: Date
    /// The Message-ID without angle brackets, e.g. "20261122.abc123@lists.example.org".
    public var messageID: String
    /// Extra header fields, written in this order after MIME-Version.
    public var extraHeaders: [HeaderField]
    /// The plain-text body; line breaks may be LF, CR or CRLF.
    public var textBody: String
    /// The HTML alternative, if any.
    public var htmlBody: String?
    /// Files sent with the message, in this order.
    public var attachments: [Attachment]
    /// A calendar invitation (RFC 6047 iMIP), if any; it goes before `attachments`.
    public var calendar: CalendarInvitation?
    /// The bodies as a mailing's prepared layouts and this recipient's values, which the composer encodes without
    /// filling them first; when set, `textBody` and `htmlBody` are empty (`htmlBody` non-nil when there is HTML).
    var layouts: FilledLayouts?
    /// The fields a mailing's messages share, encoded once (`MessageComposer.encodeSharedFields`) from this
    /// message's `from`, `replyTo`, `subject` and first extra headers; the composer copies them rather than encoding
    /// them again.
    var sharedFields: SharedFields?

    /// Creates a message.
    public init(
        from: Mailbox,
        replyTo: [Mailbox] = [],
        to: Mailbox,
        subject: String,
        date: Date,
        messageID: String,
        extraHeaders: [HeaderField] = [],
        textBody: String,
        htmlBody: String? = nil,
        attachments: [Attachment] = [],
        calendar: CalendarInvitation? = nil
    ) {
        self.from = from
        self.replyTo = replyTo
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.extraHeaders = extraHeaders
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.calendar = calendar
    }
}

/// Header fields that are the same in every message of a mailing, as `MessageComposer` writes them.
struct SharedFields: Sendable {
    /// From and Reply-To.
    let senders: [UInt8]
    /// Subject, MIME-Version and the first `extraHeaders` extra header fields.
    let subjectOnward: [UInt8]
    let extraHeaders: Int
}

/// A mailing's prepared text and HTML layouts with one recipient's slot values (see `SlottedText`).
struct FilledLayouts: Sendable {
    /// The plain-text layout.
    var text: SlottedText
    /// The HTML layout, if the message has an HTML part.
    var html: SlottedText?
    /// The recipient's values for the slots.
    var values: [Slot: String]
}

/// A file sent with a message, such as a report PDF (a calendar invitation goes in `OutgoingMessage.calendar`).
public struct Attachment: Sendable {
    /// How the recipient's mail program should present the file (RFC 2183).
    public enum Disposition: String, Sendable {
        /// Offered as a separate file to open or save.
        case attachment
        /// Shown within the message where the program can.
        case inline
    }

    /// One extra Content-Type parameter, e.g. ("method", "REQUEST") for `text/calendar`.
    public struct Parameter: Sendable, Equatable {
        /// The parameter name, a MIME token.
        public var name: String
        /// The value, printable ASCII; quoted when it is not a plain token.
        public var value: String

        /// Creates a parameter.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The file's name as the recipient sees it; any Unicode, no path separators.
    public var filename: String
    /// The MIME type, e.g. "application/pdf".
    public var contentType: String
    /// The file's bytes, sent base64-encoded.
    public var data: [UInt8]
    /// Attachment or inline.
    public var disposition: Disposition
    /// Parameters added to the Content-Type after the type, before the composer's own `name`.
    public var extraContentTypeParameters: [Parameter]

    /// Creates an attachment.
    public init(
        filename: String,
        contentType: String,
        data: [UInt8],
        disposition: Disposition = .attachment,
        extraContentTypeParameters: [Parameter] = []
    ) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
        self.disposition = disposition
        self.extraContentTypeParameters = extraContentTypeParameters
    }
}
