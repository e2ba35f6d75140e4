import Foundation

/// A session to add, checked.
public struct NewSession: Sendable, Equatable {
    /// The topic (by number or title); nil for a session outside any topic.
    public var topic: String?
    /// The title; defaults to the topic's title.
    public var title: String?
    public var startsAt: Date
    public var endsAt: Date
    public var venueName: String?
    public var venueAddress: String?
    public var onlineLink: String?
    public var facilitator: String?
    /// Hold the thank-you until summary notes are added.
    public var holdForNotes: Bool

    /// Checks the text fields and the times.
    public init(topic: String?, title: String?, startsAt: Date, endsAt: Date, venueName: String?, venueAddress: String?,
                onlineLink: String?, facilitator: String?, holdForNotes: Bool) throws(InvalidField) {
        guard endsAt > startsAt else {
            throw InvalidField(field: "end", value: "", problem: "is not after the start; give --end later than --start (or --length such as 2h)")
        }
        guard endsAt.timeIntervalSince(startsAt) <= 7 * 86_400 else {
            throw InvalidField(field: "end", value: "", problem: "is more than a week after the start; check the dates")
        }
        self.topic = try SessionText.optional(topic, field: "topic")
        self.title = try SessionText.optional(title, field: "title")
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.venueName = try SessionText.optional(venueName, field: "venue")
        self.venueAddress = try SessionText.optional(venueAddress, field: "address", maxLength: 300)
        self.onlineLink = try SessionText.link(onlineLink)
        self.facilitator = try SessionText.optional(facilitator, field: "facilitator")
        self.holdForNotes = holdForNotes
    }
}

/// Changes to a session (`session edit`); each part optional. `.some(nil)` clears an optional field.
public struct SessionChanges: Sendable, Equatable {
    public var title: String?
    public var startsAt: Date?
    public var endsAt: Date?
    public var venueName: String??
    public var venueAddress: String??
    public var onlineLink: String??
    public var facilitator: String??
    public var holdForNotes: Bool?
    /// Tell the people invited (an update with a higher SEQUENCE) when the time or place changes.
    public var notify = true

    /// No changes.
    public init() {}

    /// Checks the text fields.
    public mutating func validate() throws(InvalidField) {
        if let title { self.title = try SessionText.optional(title, field: "title") }
        if case .some(let v) = venueName { venueName = .some(try SessionText.optional(v, field: "venue")) }
        if case .some(let v) = venueAddress { venueAddress = .some(try SessionText.optional(v, field: "address", maxLength: 300)) }
        if case .some(let v) = onlineLink { onlineLink = .some(try SessionText.link(v)) }
        if case .some(let v) = facilitator { facilitator = .some(try SessionText.optional(v, field: "facilitator")) }
    }

    /// Whether anything is asked for.
    public var isEmpty: Bool {
        title == nil && startsAt == nil && endsAt == nil && venueName == nil && venueAddress == nil && onlineLink == nil
            && facilitator == nil && holdForNotes == nil
    }
}

/// What `session edit` or `session cancel` did.
public struct SessionChangeResult: Sendable, Equatable {
    public var session: Session
    /// Whether the change matters to people invited (time, place, link, title).
    public var materialChange: Bool
    /// The update or cancellation mailing queued for the people invited, if any.
    public var notice: QueueingResult?
    /// Messages about it cancelled (a cancelled session's invitations and reminders not yet sent).
    public var withdrawal = Withdrawal()

    /// Creates a result.
    public init(session: Session, materialChange: Bool, notice: QueueingResult?) {
        self.session = session
        self.materialChange = materialChange
        self.notice = notice
    }
}

/// The rules for session text: one line each; a link must be http(s).
enum SessionText {
    static func optional(_ raw: String?, field: String, maxLength: Int = 200) throws(InvalidField) -> String? {
        guard let raw else { return nil }
        let clean = try TextField.clean(raw, field: field, maxLength: maxLength)
        return clean.isEmpty ? nil : clean
    }

    static func link(_ raw: String?) throws(InvalidField) -> String? {
        guard let text = try optional(raw, field: "online link", maxLength: 500) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              url.host != nil, !text.contains(" ") else {
            throw InvalidField(field: "online link", value: text, problem: "is not a web address; give the full https:// link")
        }
        return text
    }
}
