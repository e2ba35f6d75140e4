import Foundation

/// One session as a calendar event addressed to one person (never several invitees in one object, which would show
/// each of them the others' addresses).
public struct CalendarEvent: Sendable, Equatable {
    /// Whether the event takes place.
    public enum Status: String, Sendable {
        case confirmed = "CONFIRMED"
        case cancelled = "CANCELLED"
    }

    /// Stable for the session, the same in every message about it ("session-12@example.org").
    public var uid: String
    /// Raised each time the session is changed or cancelled, so calendars replace the older copy.
    public var sequence: Int
    public var start: Date
    public var end: Date
    /// The zone the times are shown in (the community's).
    public var timeZone: TimeZone
    public var summary: String
    public var description: String?
    /// Venue name and address.
    public var location: String?
    /// The online link, if any.
    public var url: String?
    public var organizer: Mailbox
    public var attendee: Mailbox
    public var status: Status
    /// RSVP=TRUE on the attendee: calendar programs then offer answer buttons that mail a REPLY to the organizer. Only
    /// when something reads the organizer's mailbox (`[inbox]`), since otherwise the answers would go unread.
    public var asksForAnswer: Bool

    /// Creates an event.
    public init(uid: String, sequence: Int, start: Date, end: Date, timeZone: TimeZone, summary: String,
                description: String? = nil, location: String? = nil, url: String? = nil, organizer: Mailbox,
                attendee: Mailbox, status: Status = .confirmed, asksForAnswer: Bool = false) {
        self.uid = uid
        self.sequence = sequence
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.summary = summary
        self.description = description
        self.location = location
        self.url = url
        self.organizer = organizer
        self.attendee = attendee
        self.status = status
        self.asksForAnswer = asksForAnswer
    }
}

/// The iTIP method of a calendar object (RFC 5546).
public enum CalendarMethod: String, Sendable {
    /// An invitation, or an update of one (same UID, higher SEQUENCE).
    case request = "REQUEST"
    /// Information only, no reply expected.
    case publish = "PUBLISH"
    /// The event is cancelled.
    case cancel = "CANCEL"
}
