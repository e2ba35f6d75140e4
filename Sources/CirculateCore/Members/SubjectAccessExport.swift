import Foundation

/// Everything circulate holds about one person, for a subject access request (UK GDPR Article 15).
public struct SubjectAccessExport: Sendable, Equatable, Codable {
    /// One consent event, as exported.
    public struct ConsentEntry: Sendable, Equatable, Codable {
        public var action: String
        public var stream: String
        public var lawfulBasis: String?
        public var source: String
        public var wordingVersion: String?
        /// SHA-256 of the wording file, for consent given on the join page.
        public var wordingHash: String?
        public var recordedBy: String
        public var occurredAt: Date
    }

    /// The person's stored details.
    public struct Person: Sendable, Equatable, Codable {
        public var email: String
        public var name: String
        /// The name they go by in greetings, if they gave one.
        public var knownAs: String?
        public var organisation: String?
        public var status: String
        public var lawfulBasis: String?
        public var streams: [String]
        public var roles: [String]
        public var tags: [String]
        public var createdAt: Date
        public var updatedAt: Date
        public var statusChangedAt: Date
        /// Permanent failures of their address in a row (`delivery.bounce_limit` of them mark them bounced).
        public var bouncesInARow: Int = 0
    }

    /// One message to the person, as exported.
    public struct MessageEntry: Sendable, Equatable, Codable {
        /// announcement, update, thank-you, invitation, reminder, report, report-follow-up, test, ...
        public var kind: String
        public var subject: String
        public var address: String
        public var messageId: String
        public var state: String
        /// Why it failed: bounce (it counted against the address), rejected, gave-up, not-sent.
        public var failure: String?
        /// Whether its fate was ever unknown (it may have arrived twice).
        public var inDoubt: Bool
        public var attempts: Int
        public var queuedAt: Date
        public var lastAttemptAt: Date?
        public var reply: String?
    }

    /// One session the person was recorded at.
    public struct SessionEntry: Sendable, Equatable, Codable {
        public var session: String
        public var startsAt: Date
        /// attended, apologies, invited, accepted, maybe
        public var status: String
        public var recordedAt: Date
    }

    /// One report sent to the person.
    public struct ReportEntry: Sendable, Equatable, Codable {
        public var report: String
        public var distributedAt: Date
        public var respondedAt: Date?
        public var responseNote: String?
    }

    /// A request the person made that waits for the coordinator.
    public struct RequestEntry: Sendable, Equatable, Codable {
        /// "erasure".
        public var kind: String
        public var source: String
        public var requestedAt: Date
        public var dueBy: Date
    }

    /// One message from the list's mailbox that concerned the person (their bounce reports, their unsubscribe emails):
    /// what was done, never the message's content, which is not kept.
    public struct InboundEntry: Sendable, Equatable, Codable {
        public var kind: String
        public var action: String
        public var state: String
        /// The message of theirs a report was about (its Message-ID), if any.
        public var aboutMessageId: String?
        public var handledAt: Date
    }

    /// A sign-up made on the join page that waits for its confirmation (deleted when confirmed or after 7 days).
    public struct SignUpEntry: Sendable, Equatable, Codable {
        public var name: String
        public var organisation: String?
        public var streams: [String]
        public var wordingVersion: String
        public var requestedAt: Date
        public var expiresAt: Date
    }

    /// The controller: the community that holds the data.
    public var controller: String
    /// When the export was made.
    public var generatedAt: Date
    /// The address asked about, as given.
    public var subject: String
    /// "active", "unsubscribed", "bounced", or "erased-suppressed" / "not-held".
    public var status: String
    /// The stored details; nil when nothing is held.
    public var person: Person?
    /// The consent history, oldest first.
    public var consentHistory: [ConsentEntry]
    /// Messages queued for or sent to the person, oldest first.
    public var messages: [MessageEntry] = []
    /// Sessions the person was recorded at (attended, apologies), oldest first.
    public var sessions: [SessionEntry] = []
    /// Reports sent to the person, with any response recorded.
    public var reports: [ReportEntry] = []
    /// Requests waiting for the coordinator (e.g. to be erased).
    public var requests: [RequestEntry] = []
    /// Messages read from the list's mailbox that concerned the person, oldest first.
    public var inbound: [InboundEntry] = []
    /// Sign-ups on the join page not confirmed yet.
    public var signUps: [SignUpEntry] = []
    /// How many of the join page's rate-limit records count this address (a keyed hash and a time; kept a day).
    public var rateRecords: Int = 0
    /// Plain words about what is and is not held.
    public var notes: [String]
}
