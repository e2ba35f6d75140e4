import Foundation

/// One turn of the delivery engine's database work, done in one write transaction (`AppDatabase.deliveryTurn`):
/// record the outcomes that are due, give back what the workers will not send, start mailings whose time has come,
/// and claim the next messages. One commit (one fsync under synchronous=FULL) instead of one for the outcomes and one
/// for the claim; the window is unchanged, since the claim counts only what is still unrecorded after the record.
public struct DeliveryTurn: Sendable {
    /// When the turn happens.
    public var now: Date
    /// Outcomes to record (see `OutboundQueue.record`), with the policy refusals to reopen.
    public var results: [DeliveryResult] = []
    public var reopen: [Int64] = []
    /// Claimed messages no worker started, to put back untouched (a relay problem, or stopping).
    public var giveBack: [Claim] = []
    /// The most messages to claim after recording; nil when this turn claims nothing.
    public var claimRoom: Int?
    /// Mailings more late than this are held rather than started (`delivery.late_limit`).
    public var lateLimit: TimeInterval
    /// The relay's rate limits; each claim reserves its place in them.
    public var rateLimits: [RateWindow] = []
    /// Whether to drop rate-log entries older than the longest window first.
    public var pruneRateLog = false

    /// A turn at `now`.
    public init(now: Date, lateLimit: TimeInterval) {
        self.now = now
        self.lateLimit = lateLimit
    }

    /// What a turn did.
    public struct Outcome: Sendable {
        /// What recording did, for the journal.
        public var events: [QueueEvent] = []
        /// Mailings held for being too late.
        public var held: [Mailing] = []
        /// The relay pause in force, when it kept the turn from claiming.
        public var pause: RelayPause?
        /// The messages claimed, marked `sending`.
        public var claimed: [Claim] = []
        /// When a claim found nothing (or the rate limits allowed nothing): when the queue next needs looking at.
        public var nextCheck: Date?
    }
}
