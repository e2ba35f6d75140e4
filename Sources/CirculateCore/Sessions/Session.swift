import Foundation

/// One meeting of the community: when, where, about what; what happened (notes, attendance) once it is over.
public struct Session: Sendable, Equatable, Codable {
    /// Whether the session is still going ahead.
    public enum State: String, Sendable, Codable, CaseIterable {
        case scheduled, cancelled
    }

    public var id: Int64
    public var topicID: Int64?
    /// The topic's title, when the session belongs to one.
    public var topicTitle: String?
    public var title: String
    public var startsAt: Date
    public var endsAt: Date
    public var venueName: String?
    public var venueAddress: String?
    public var onlineLink: String?
    public var facilitator: String?
    /// Summary notes (Markdown), added after the session.
    public var notesMarkdown: String?
    public var notesAddedAt: Date?
    public var state: State
    /// The calendar SEQUENCE: raised by each change sent to the people invited.
    public var sequence: Int
    /// Wait for the notes before thanking people.
    public var holdForNotes: Bool
    /// When the thank-you goes out.
    public var followUpAt: Date
    /// When the thank-you was queued.
    public var followedUpAt: Date?
    /// When attendance or apologies were last recorded.
    public var attendanceChangedAt: Date?
    /// People who signed in without consent: counted, not stored.
    public var unlistedAttendees: Int
    public var createdAt: Date
    public var updatedAt: Date

    /// The stable calendar UID: the same in every message about this session.
    public func calendarUID(domain: String) -> String { "session-\(id)@\(domain)" }

    /// Venue name and address on one line, or nil.
    public var location: String? {
        let parts = [venueName, venueAddress].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// What the thank-you is waiting for, in words, or nil when it has gone or goes at `followUpAt`.
    public var followUpWaitingFor: String? {
        guard followedUpAt == nil, state == .scheduled else { return nil }
        if holdForNotes && notesAddedAt == nil { return "the summary notes (circulate session notes \(id) FILE.md)" }
        return nil
    }
}

/// A session with the people recorded for it, for `session show`.
public struct SessionDetails: Sendable, Equatable {
    /// One person's record for the session.
    public struct Person: Sendable, Equatable {
        public var memberID: Int64
        public var email: String
        public var name: String
        public var status: Participation
        /// Whether they may be mailed session messages now (on the session-invitations stream, or invited personally).
        public var mailable: Bool
        /// Invited personally, outside the session-invitations stream: a guest, or a key individual reached in their
        /// professional role.
        public var invitedPersonally = false
        /// Reached in their professional role (legitimate interest) and not on the session-invitations stream: thanked
        /// outside the stream even when not invited personally.
        public var inRole = false
    }

    public var session: Session
    /// Attended, apologies and so on, by name.
    public var people: [Person]
    /// How many have had the invitation to this session (in the previous session's thank-you, or by update).
    public var invited: Int
    /// The thank-you mailings' numbers, if queued.
    public var followUpMailings: [Int64]
    /// Their states, in the same order: whether the thank-you is still to go, or went.
    public var followUpStates: [Mailing.State] = []

    /// People with the status.
    public func count(_ status: Participation) -> Int { people.filter { $0.status == status }.count }
}

/// A person's part in a session; the states are defined here once.
public enum Participation: String, Sendable, Codable, CaseIterable {
    /// Invited and not yet answered.
    case invited
    /// Said they are coming.
    case accepted
    /// Not sure yet: not counted as coming, and reminded like anyone who has not sent apologies.
    case maybe
    /// Sent apologies: will not (or did not) attend.
    case apologies
    /// Signed in on the day.
    case attended
}
