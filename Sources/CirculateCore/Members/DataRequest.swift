import Foundation

/// A request a person made about their data through the web pages, waiting for the coordinator (today: to be erased,
/// which an unauthenticated click must never do by itself: anyone holding a forwarded message could erase someone).
public struct DataRequest: Sendable, Equatable {
    /// What the person asked for.
    public enum Kind: String, Sendable, Codable {
        /// Erase everything held about me (GDPR Art. 17).
        case erasure
    }

    /// The request's number.
    public var id: Int64
    /// The member it is about.
    public var memberID: Int64
    /// Their address (the coordinator needs it to complete the request).
    public var email: String
    /// Their name, as stored.
    public var name: String
    /// What they asked for.
    public var kind: Kind
    /// Where the request came from ("preference page").
    public var source: String
    /// When it was made.
    public var requestedAt: Date

    /// The legal deadline: one month from the request (GDPR Art. 12(3)), the same day of the next month.
    public var dueBy: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        return calendar.date(byAdding: .month, value: 1, to: requestedAt) ?? requestedAt.addingTimeInterval(31 * 86_400)
    }

    /// The command that completes the request.
    public var command: String {
        switch kind {
        case .erasure: "circulate erase \(email)"
        }
    }
}

/// What a preference page's form asked for.
public struct PreferenceChange: Sendable, Equatable {
    /// The streams the person wants (ticked boxes); the others are left.
    public var streams: Set<MailStream>
    /// "Leave everything" was pressed.
    public var leaveEverything: Bool
    /// "Please erase my data" was ticked.
    public var erase: Bool

    /// A change as the form sent it.
    public init(streams: Set<MailStream>, leaveEverything: Bool, erase: Bool) {
        self.streams = streams
        self.leaveEverything = leaveEverything
        self.erase = erase
    }
}

/// What became of a preference page's form.
public struct PreferenceOutcome: Sendable, Equatable {
    /// Streams turned off.
    public var left: [MailStream] = []
    /// Streams turned back on.
    public var joined: [MailStream] = []
    /// Whether the person no longer receives anything now.
    public var unsubscribed = false
    /// Whether an erasure request was recorded now (false when one was already pending).
    public var erasureRequested = false
    /// Whether an erasure request is pending (now or from before).
    public var erasurePending = false
    /// The streams the person receives now.
    public var streams: [MailStream] = []

    /// Nothing changed yet.
    public init() {}
}
