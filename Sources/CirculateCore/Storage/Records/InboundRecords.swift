import Foundation
import GRDB

/// What became of one message read from the list's mailbox (a row of `inbound_message`).
public struct InboundRecord: Sendable, Equatable, Codable, FetchableRecord {
    /// Where a message sits: its folder, the folder's UIDVALIDITY and its UID.
    public struct Place: Sendable, Equatable, Hashable {
        /// The folder read (the path of `inbox.url`).
        public var folder: String
        /// The folder's UIDVALIDITY: while it stays the same, a UID names one message for good (RFC 3501 §2.3.1.1).
        public var uidValidity: Int64
        /// The message's UID in the folder.
        public var uid: Int64

        /// Creates a place.
        public init(folder: String, uidValidity: Int64, uid: Int64) {
            self.folder = folder
            self.uidValidity = uidValidity
            self.uid = uid
        }
    }

    /// Whether circulate is done with a message.
    public enum State: String, Sendable, Codable, CaseIterable {
        /// circulate acted on it (or rightly did nothing); it goes to the processed folder.
        case handled
        /// A person must look at it; it goes to the coordinator's folder.
        case forCoordinator = "for-coordinator"
        /// Handling it failed; it stays where it is and is tried again at the next polls, up to a limit.
        case failing

        /// Final: the message is never acted on again, only moved.
        public var isFinal: Bool { self != .failing }
    }

    /// The row's number.
    public var id: Int64
    /// See `Place`.
    public var folder: String
    /// See `Place`.
    public var uidValidity: Int64
    /// See `Place`.
    public var uid: Int64
    /// The inbound message's own Message-ID (not the returned one), without brackets.
    public var messageID: String?
    /// delivery-report, complaint, unsubscribe, auto-reply, report-reply, other or too-large (`InboundKind.name`, or
    /// the more precise name the processor recorded).
    public var kind: String
    public var state: State
    /// What was done, in words, with no address in it.
    public var action: String
    /// The message a report was about, if matched.
    public var deliveryID: Int64?
    /// The person it concerned, if any.
    public var memberID: Int64?
    /// How many times handling was tried.
    public var attempts: Int
    /// When the message was first read.
    public var firstSeenAt: Date
    /// When it was last handled (or its handling last failed).
    public var handledAt: Date

    enum CodingKeys: String, CodingKey {
        case id, folder, uidValidity = "uid_validity", uid, messageID = "message_id", kind, state, action,
             deliveryID = "delivery_id", memberID = "member_id", attempts, firstSeenAt = "first_seen_at", handledAt = "handled_at"
    }

    /// The kind of a reply to a report cover or follow-up.
    public static let reportReplyKind = "report-reply"

    /// Whether the message stays in the folder read, flagged, instead of being moved: a reply to a report, which the
    /// coordinator reads where they expect it (the response itself is already on record).
    public var staysInFolder: Bool { kind == Self.reportReplyKind }

    /// Where the message was when it was recorded.
    public var place: Place { Place(folder: folder, uidValidity: uidValidity, uid: uid) }
}
