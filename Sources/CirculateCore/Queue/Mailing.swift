import Foundation

/// One send to an audience; each recipient's message is a `Delivery`.
public struct Mailing: Sendable, Equatable, Codable {
    /// What kind of send it is.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// A one-off message to an audience (`circulate send`).
        case announcement
        /// A test message to one address.
        case test
        /// The monthly update, sent at its slot.
        case update
        /// After a session: thanks to those who came, with the summary and the invitation to the next one.
        case thankYou = "thank-you"
        /// After a session: the same for those who sent apologies.
        case missedYou = "missed-you"
        /// A session people were invited to has moved or changed.
        case sessionChanged = "session-changed"
        /// A session people were invited to is cancelled.
        case sessionCancelled = "session-cancelled"
        /// A topic's report with a personal cover note, to key influencers.
        case report
        /// The one follow-up to report recipients who have not responded.
        case reportFollowUp = "report-follow-up"
        /// "The report is out", to members opted in to reports.
        case reportNotice = "report-notice"
        /// To the coordinator: a reminder or a notice about the monthly update.
        case coordinatorNotice = "coordinator-notice"
        /// An invitation to a session, sent on its own (`session invite`).
        case invitation
        /// A reminder before a session to everyone invited who is still expected.
        case reminder
        /// After a session: to those invited who neither came nor sent apologies (off unless configured).
        case noShow = "no-show"
        /// After a thank-you that went without the session's notes: the notes, once, to those it reached.
        case sessionNotes = "session-notes"
        /// To someone who filled in the join page: the link that confirms (or word that they are on the list already).
        case joinConfirmation = "join-confirmation"

        /// Mail to the operator or coordinator rather than to members: no consent check, no unsubscribe footer.
        public static let operational: Set<Kind> = [.test, .coordinatorNotice, .joinConfirmation]

        /// See `operational`.
        public var isOperational: Bool { Self.operational.contains(self) }
    }

    /// A mailing's life: scheduled → sending → done; or held (too late, waiting for the coordinator), or cancelled.
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for its start time.
        case scheduled
        /// Its messages are being sent.
        case sending
        /// It was due too long ago (the daemon was not running); waiting for `queue release` or `queue cancel`.
        case held
        /// Nothing of it is left to send.
        case done
        /// Stopped by the coordinator; nothing more of it goes out.
        case cancelled

        /// Not finished.
        public static let live: Set<State> = [.scheduled, .sending, .held]
    }

    public var id: Int64?
    public var kind: Kind
    /// The stream whose consent covers it; nil for operational mail (test messages).
    public var stream: MailStream?
    /// How the recipients were chosen, in words ("stream monthly-update; roles member, attendee").
    public var audience: String
    public var subject: String
    public var bodyMarkdown: String
    /// Not before this instant.
    public var sendAfter: Date
    public var state: State
    /// Why it is held, in words for the coordinator.
    public var heldReason: String?
    /// Identifies "the same send" of a workflow: queueing it again finds this row instead of making a second one.
    public var idempotencyKey: String
    /// For the coordinator's own sends (`send`, `report distribute`): what was asked for, so that the same command
    /// run again finds this mailing while it is not cancelled.
    public var requestKey: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// The session the messages are about (thank-you, change, cancellation).
    public var sessionID: Int64?
    /// The session whose calendar invitation each message carries.
    public var invitationSessionID: Int64?
    /// The report the messages distribute or follow up.
    public var reportID: Int64?
}

extension Mailing {
    /// A mailing that is not stored, for previews: what `kind` would send now.
    public static func draft(kind: Kind, stream: MailStream?, subject: String, body: String, now: Date, sessionID: Int64? = nil,
                             invitationSessionID: Int64? = nil, reportID: Int64? = nil) -> Mailing {
        Mailing(id: nil, kind: kind, stream: stream, audience: "preview", subject: subject, bodyMarkdown: body, sendAfter: now,
                state: .scheduled, heldReason: nil, idempotencyKey: "preview", requestKey: nil, createdBy: "preview", createdAt: now, updatedAt: now,
                sessionID: sessionID, invitationSessionID: invitationSessionID, reportID: reportID)
    }
}
