import Foundation
import GRDB

/// What a sender (a coordinator's command, a workflow, a notice, a test) hands to `OutboundQueue.enqueue`: the mailing
/// it wants, how to recognise it when the same send is asked for again, and who should receive it.
struct MailingPlan {
    /// How "the same send" is recognised.
    enum Identity: Equatable {
        /// A workflow's send ("thank-you:12"): found again whatever its state, so a workflow step repeated after a
        /// restart adds only people not yet on it, and a mailing the coordinator cancelled stays cancelled.
        case workflow(String)
        /// A coordinator's request (a digest of what was asked): found again while it is not cancelled, and then
        /// handled as `repeat` says.
        case request(String, repeat: Repeat)
        /// Always a new mailing (a test message).
        case oneOff
    }

    /// What to do when a coordinator's request matches a mailing already made.
    typealias Repeat = SendRepeat

    /// Who receives it.
    enum Recipients {
        /// Members selected by an SQL query returning member ids, each checked against `Eligibility`.
        case members(sql: String, arguments: StatementArguments)
        /// One address outside consent: a note to the coordinator, a test message (tied to `memberID` when the
        /// address is on the list, so that erasure and export cover it).
        case address(EmailAddress, memberID: Int64?)
    }

    var kind: Mailing.Kind
    var stream: MailStream?
    /// How the recipients were chosen, in words.
    var audience: String
    var subject: String
    var body: String
    var sendAfter: Date
    var identity: Identity
    var createdBy: String
    var sessionID: Int64? = nil
    var invitationSessionID: Int64? = nil
    var reportID: Int64? = nil
    var recipients: Recipients
}

/// What to do when a coordinator asks for a send that was already made (the same command run again).
public enum SendRepeat: Sendable, Equatable {
    /// Send nothing; report the mailing found ("already queued", "already sent").
    case once
    /// Send it only to the people who may receive it now and are not on it yet (joined since).
    case newcomers
    /// Send it to everyone again, as a new mailing.
    case again
}

/// What queueing did.
public struct QueueingResult: Sendable, Equatable {
    /// The mailing (new, or the one found).
    public var mailing: Mailing
    /// Recipients added now.
    public var added: Int
    /// All recipients of the mailing.
    public var total: Int
    /// Whether the mailing already existed.
    public var existed: Bool
}
