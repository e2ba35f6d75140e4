import Crypto
import Foundation
import GRDB

/// What the coordinator asks to send.
public struct MailingRequest: Sendable {
    /// Announcement, or a test message to one address.
    public var kind: Mailing.Kind
    /// Who: required for announcements.
    public var audience: Audience?
    /// The one address for a test message.
    public var testRecipient: EmailAddress?
    public var subject: String
    public var bodyMarkdown: String
    /// Not before this instant.
    public var sendAfter: Date
    public var createdBy: String
    /// Queue a new mailing even if an identical one exists.
    public var again: Bool

    /// Checks the subject (it becomes a header) and builds a request.
    public init(kind: Mailing.Kind, audience: Audience?, testRecipient: EmailAddress? = nil, subject: String,
                bodyMarkdown: String, sendAfter: Date, createdBy: String, again: Bool = false) throws(InvalidField) {
        let cleanSubject = try TextField.clean(subject, field: "subject", maxLength: 250)
        guard !cleanSubject.isEmpty else { throw InvalidField(field: "subject", value: subject, problem: "is empty") }
        guard kind == .test || audience != nil else {
            throw InvalidField(field: "audience", value: "", problem: "is missing; say which stream the mailing belongs to")
        }
        self.kind = kind
        self.audience = audience
        self.testRecipient = testRecipient
        self.subject = cleanSubject
        self.bodyMarkdown = bodyMarkdown
        self.sendAfter = sendAfter
        self.createdBy = createdBy
        self.again = again
    }
}

/// What queueing did.
public struct QueueingResult: Sendable, Equatable {
    /// The mailing (new, or the identical one found).
    public var mailing: Mailing
    /// Recipients added now.
    public var added: Int
    /// All recipients of the mailing.
    public var total: Int
    /// Whether an identical mailing already existed.
    public var existed: Bool
}

/// A message claimed for sending: everything a worker needs.
public struct Claim: Sendable, Equatable {
    public var deliveryID: Int64
    public var mailingID: Int64
    public var memberID: Int64?
    /// The recipient's address now (a member may have corrected it since queueing).
    public var recipient: String
    public var recipientName: String
    public var messageID: String
    /// This attempt's number (1 for the first).
    public var attempt: Int
    public var queuedAt: Date
}

/// The outcome of one claimed message, to record.
public struct DeliveryResult: Sendable, Equatable {
    public var claim: Claim
    public var outcome: SendOutcome
    public var finishedAt: Date

    /// Creates a result.
    public init(claim: Claim, outcome: SendOutcome, finishedAt: Date) {
        self.claim = claim
        self.outcome = outcome
        self.finishedAt = finishedAt
    }
}

/// The queue's numbers, for `queue status` and `send --wait`.
public struct QueueSummary: Sendable, Equatable {
    /// Messages by state.
    public var byState: [Delivery.State: Int]
    /// The relay pause, if delivery is paused: reason, since, until.
    public var pause: (reason: String, since: Date, until: Date)?
    /// The earliest next attempt among waiting messages.
    public var nextAttempt: Date?

    public static func == (a: QueueSummary, b: QueueSummary) -> Bool {
        a.byState == b.byState && a.nextAttempt == b.nextAttempt && a.pause?.reason == b.pause?.reason
    }
}

extension AppDatabase {
    // MARK: - Putting work into the queue (the one way in)

    /// Queues a mailing for its audience in one transaction: one row per recipient who may receive the stream now.
    /// Queueing the same mailing again finds it and adds only people who were not yet on it.
    public func enqueue(_ request: MailingRequest, domain: String, now: Date) throws -> QueueingResult {
        try write { db in
            let key = request.again || request.kind == .test ? UUID().uuidString : Self.idempotencyKey(request)
            if let existing = try Self.mailing(db, key: key) {
                guard existing.state != .cancelled && existing.state != .done else {
                    return QueueingResult(mailing: existing, added: 0, total: try Self.deliveryCount(db, mailing: existing.id ?? -1), existed: true)
                }
                let added = try Self.insertDeliveries(db, mailing: existing, request: request, domain: domain, now: now)
                return QueueingResult(mailing: existing, added: added, total: try Self.deliveryCount(db, mailing: existing.id ?? -1), existed: true)
            }
            try db.execute(sql: """
                INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key,
                                     created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?)
                """, arguments: [request.kind.rawValue, request.audience?.stream.rawValue,
                                 request.audience?.description ?? "test message to \(request.testRecipient?.description ?? "")",
                                 request.subject, request.bodyMarkdown, request.sendAfter, key, request.createdBy, now, now])
            guard let mailing = try Self.mailing(db, key: key) else { throw StorageError(kind: .storage, "mailing vanished") }
            let added = try Self.insertDeliveries(db, mailing: mailing, request: request, domain: domain, now: now)
            return QueueingResult(mailing: mailing, added: added, total: added, existed: false)
        }
    }

    /// Queues a test message to one address and claims it at once, in one transaction, so that the daemon cannot
    /// take it: `send-test` sends it itself, now.
    public func queueTestMessage(to address: EmailAddress, subject: String, body: String, createdBy: String, domain: String,
                                 now: Date) throws -> Claim {
        let request = try MailingRequest(kind: .test, audience: nil, testRecipient: address, subject: subject,
                                         bodyMarkdown: body, sendAfter: now, createdBy: createdBy, again: true)
        return try write { db in
            let key = UUID().uuidString
            try db.execute(sql: """
                INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key,
                                     created_by, created_at, updated_at)
                VALUES ('test', NULL, ?, ?, ?, ?, 'sending', ?, ?, ?, ?)
                """, arguments: ["test message to \(address)", request.subject, body, now, key, createdBy, now, now])
            let mailingID = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, attempts, next_attempt_at,
                                      last_attempt_at, queued_at, updated_at)
                VALUES (?, NULL, ?, lower(hex(randomblob(16))) || '@' || ?, 'sending', 1, ?, ?, ?, ?)
                """, arguments: [mailingID, address.description, domain, now, now, now, now])
            let id = db.lastInsertedRowID
            let messageID = try String.fetchOne(db, sql: "SELECT message_id FROM delivery WHERE id = ?", arguments: [id]) ?? ""
            return Claim(deliveryID: id, mailingID: mailingID, memberID: nil, recipient: address.description, recipientName: "",
                         messageID: messageID, attempt: 1, queuedAt: now)
        }
    }

    /// How many people a mailing to this audience would reach now (for dry runs).
    public func audienceSize(_ audience: Audience) throws -> Int {
        try read { db in
            let (sql, arguments) = Self.audienceQuery(audience, select: "count(*)")
            return try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
    }

    static func idempotencyKey(_ r: MailingRequest) -> String {
        let parts = [r.kind.rawValue, r.audience?.description ?? "", r.subject, r.bodyMarkdown,
                     String(Int(r.sendAfter.timeIntervalSince1970 / 60))]
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func audienceQuery(_ audience: Audience, select: String) -> (String, StatementArguments) {
        var sql = """
            SELECT \(select) FROM member m
            WHERE m.status = 'active' AND m.lawful_basis IS NOT NULL AND m.\(column(for: audience.stream)) = 1
            """
        var arguments: StatementArguments = []
        if !audience.tags.isEmpty {
            sql += " AND m.id IN (SELECT member_id FROM member_tag WHERE tag IN (\(audience.tags.map { _ in "?" }.joined(separator: ", "))))"
            for tag in audience.tags { arguments += [tag] }
        }
        return (sql, arguments)
    }

    private static func insertDeliveries(_ db: Database, mailing: Mailing, request: MailingRequest, domain: String,
                                         now: Date) throws -> Int {
        guard let id = mailing.id else { return 0 }
        if request.kind == .test, let to = request.testRecipient {
            try db.execute(sql: """
                INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at)
                VALUES (?, NULL, ?, lower(hex(randomblob(16))) || '@' || ?, 'queued', ?, ?, ?)
                """, arguments: [id, to.description, domain, mailing.sendAfter, now, now])
            return db.changesCount
        }
        guard let audience = request.audience else { return 0 }
        // One statement for the whole audience: 100,000 recipients queue in well under a second.
        let (select, audienceArguments) = audienceQuery(
            audience, select: "?, m.id, m.email, lower(hex(randomblob(16))) || '@' || ?, 'queued', ?, ?, ?")
        var arguments: StatementArguments = [id, domain, mailing.sendAfter, now, now]
        arguments += audienceArguments
        try db.execute(sql: """
            INSERT OR IGNORE INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at)
            \(select)
            """, arguments: arguments)
        return db.changesCount
    }

    static func mailing(_ db: Database, key: String) throws -> Mailing? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM mailing WHERE idempotency_key = ?"), arguments: [key]).map(Mailing.init(row:))
    }

    static func deliveryCount(_ db: Database, mailing: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM delivery WHERE mailing_id = ?", arguments: [mailing]) ?? 0
    }

    /// A mailing by id.
    public func mailing(id: Int64) throws -> Mailing? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM mailing WHERE id = ?", arguments: [id]).map(Mailing.init(row:)) }
    }

    // MARK: - Working the queue

    /// Starts mailings whose time has come; holds those more than `lateLimit` late (the machine was off) so that
    /// nothing goes out days late unnoticed. Returns the mailings it held.
    public func startDueMailings(now: Date, lateLimit: TimeInterval) throws -> [Mailing] {
        try write { db in
            let cutoff = now.addingTimeInterval(-lateLimit)
            let late = try Row.fetchAll(db, sql: "SELECT * FROM mailing WHERE state = 'scheduled' AND send_after < ?",
                                        arguments: [cutoff]).map(Mailing.init(row:))
            for mailing in late {
                let hours = Int(now.timeIntervalSince(mailing.sendAfter) / 3600)
                try db.execute(sql: "UPDATE mailing SET state = 'held', held_reason = ?, updated_at = ? WHERE id = ?", arguments: [
                    "it was due \(hours) hours ago, more than delivery.late_limit allows (the daemon was not running); "
                        + "send it now with `circulate queue release \(mailing.id ?? 0)` or drop it with `circulate queue cancel \(mailing.id ?? 0)`",
                    now, mailing.id])
            }
            let starting = try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM mailing WHERE state = 'scheduled' AND send_after <= ?"),
                                              arguments: [now])
            guard !starting.isEmpty else { return late }
            try db.execute(sql: "UPDATE mailing SET state = 'sending', updated_at = ? WHERE state = 'scheduled' AND send_after <= ?",
                           arguments: [now, now])
            // A mailing that starts with nothing left to send (everyone left before their turn) is finished at once.
            try Self.finishMailings(db, Set(starting), now: now)
            return late
        }
    }

    /// Claims up to `limit` due messages in one transaction: each is re-checked against its recipient's status and
    /// consent (cancelled if they left), then marked `sending` before any SMTP traffic, so a crash can never lose
    /// track of a message that may have gone out.
    public func claimDue(limit: Int, now: Date) throws -> [Claim] {
        guard limit > 0 else { return [] }
        return try write { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT d.id, d.mailing_id, d.member_id, d.recipient, d.message_id, d.attempts, d.queued_at,
                       g.kind, g.stream, m.email, m.name, m.status, m.lawful_basis,
                       m.monthly_update, m.session_invitations, m.reports
                FROM delivery d
                JOIN mailing g ON g.id = d.mailing_id
                LEFT JOIN member m ON m.id = d.member_id
                WHERE d.state IN ('queued', 'deferred') AND d.next_attempt_at <= ? AND g.state = 'sending'
                ORDER BY d.next_attempt_at, d.id
                LIMIT ?
                """), arguments: [now, limit])
            var claims: [Claim] = []
            let claim = try db.cachedStatement(sql: """
                UPDATE delivery SET state = 'sending', attempts = attempts + 1, last_attempt_at = ?, updated_at = ? WHERE id = ?
                """)
            let cancel = try db.cachedStatement(sql: """
                UPDATE delivery SET state = 'cancelled', reply = ?, updated_at = ? WHERE id = ?
                """)
            var emptied: Set<Int64> = []
            for row in rows {
                let id: Int64 = row["id"]
                if let refusal = Self.ineligibility(row) {
                    try cancel.execute(arguments: [refusal, now, id])
                    emptied.insert(row["mailing_id"])
                    continue
                }
                try claim.execute(arguments: [now, now, id])
                let memberEmail: String? = row["email"]
                claims.append(Claim(deliveryID: id, mailingID: row["mailing_id"], memberID: row["member_id"],
                                    recipient: memberEmail ?? row["recipient"], recipientName: row["name"] ?? "",
                                    messageID: row["message_id"], attempt: (row["attempts"] as Int) + 1, queuedAt: row["queued_at"]))
            }
            // A mailing whose last waiting messages were just cancelled is finished; otherwise it would show as
            // sending for ever.
            try Self.finishMailings(db, emptied, now: now)
            return claims
        }
    }

    /// Why a claimed row's recipient may no longer be mailed, or nil if they may.
    private static func ineligibility(_ row: Row) -> String? {
        let kind: String = row["kind"]
        if Mailing.Kind(rawValue: kind)?.isOperational == true { return nil }
        guard let status: String = row["status"] else { return "recipient no longer on the list" }
        guard status == MemberStatus.active.rawValue else { return "recipient is \(status)" }
        guard (row["lawful_basis"] as String?) != nil else { return "no lawful basis on record" }
        if let streamName: String = row["stream"], let stream = MailStream(rawValue: streamName),
           !(row[column(for: stream)] as Bool) {
            return "recipient left \(stream.rawValue)"
        }
        return nil
    }

    /// The check made just before a message's content is handed to the relay: is it still claimed, and may its
    /// recipient still be mailed? (An unsubscribe cancels claimed rows too, so this sees it at once.)
    public func stillDeliverable(_ deliveryID: Int64) -> Bool {
        (try? pool.read { db in try Self.stillDeliverable(db, deliveryID) }) ?? false
    }

    static func stillDeliverable(_ db: Database, _ deliveryID: Int64) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT d.state = 'sending' AND (g.kind IN ('test', 'coordinator-notice') OR (m.status = 'active' AND m.lawful_basis IS NOT NULL
                   AND CASE g.stream WHEN 'monthly-update' THEN m.monthly_update
                                     WHEN 'session-invitations' THEN m.session_invitations
                                     WHEN 'reports' THEN m.reports ELSE 1 END = 1
                   -- A follow-up stops the moment the person's response is recorded.
                   AND NOT (g.kind = 'report-follow-up' AND EXISTS (SELECT 1 FROM report_recipient r
                            WHERE r.report_id = g.report_id AND r.member_id = d.member_id AND r.responded_at IS NOT NULL))))
            FROM delivery d JOIN mailing g ON g.id = d.mailing_id LEFT JOIN member m ON m.id = d.member_id
            WHERE d.id = ?
            """), arguments: [deliveryID]) ?? false
    }

    /// A read-only connection of its own for one worker thread's last checks: a warm page cache and no contention
    /// with the pool's readers (a pool reader per check showed up in profiles as cold page reads).
    public func makeDeliverabilityChecker() throws -> DeliverabilityChecker {
        var config = Self.configuration()
        config.readonly = true
        return DeliverabilityChecker(queue: try DatabaseQueue(path: path, configuration: config))
    }

    /// Records a batch of outcomes in one transaction (see the README for what this means after a crash).
    /// `in_doubt` stays set once set: the relay may hold two copies of such a message, and that should stay visible.
    public func record(_ results: [DeliveryResult], retry: RetryPolicy, inDoubt: Configuration.Delivery.InDoubtPolicy,
                       bounceLimit: Int, pauseFor relayPause: (RelayProblem, Int) -> TimeInterval) throws {
        guard !results.isEmpty else { return }
        try write { db in
            let update = try db.cachedStatement(sql: """
                UPDATE delivery SET state = ?, next_attempt_at = ?, reply_code = ?, reply = ?,
                       in_doubt = max(in_doubt, ?), updated_at = ?
                WHERE id = ?
                """)
            let clearBounces = try db.cachedStatement(sql: "UPDATE member SET hard_bounces = 0 WHERE id = ? AND hard_bounces > 0")
            var touchedMailings = Set<Int64>()
            var accepted = false
            for result in results {
                let c = result.claim
                let now = result.finishedAt
                touchedMailings.insert(c.mailingID)
                switch result.outcome {
                case .accepted(let reply):
                    accepted = true
                    try update.execute(arguments: ["sent", now, 250, Self.short(reply), false, now, c.deliveryID])
                    if let member = c.memberID { try clearBounces.execute(arguments: [member]) }
                case .refused(let code, let reply, let permanent):
                    guard try Self.isStillSending(db, c.deliveryID) else { continue }
                    if permanent {
                        try update.execute(arguments: ["failed", now, code, Self.short(reply), false, now, c.deliveryID])
                        try Self.countBounce(db, member: c.memberID, limit: bounceLimit, now: now)
                    } else if let next = retry.nextAttempt(after: c.attempt, queuedAt: c.queuedAt, now: now) {
                        try update.execute(arguments: ["deferred", next, code, Self.short(reply), false, now, c.deliveryID])
                    } else {
                        try update.execute(arguments: ["failed", now, code, "gave up after retrying: " + Self.short(reply), false, now, c.deliveryID])
                    }
                case .relayProblem(let problem):
                    // Not the recipient's fault: put the message back as it was and pause the relay.
                    let failures = try Self.pauseRelay(db, problem, now: now, backoff: relayPause)
                    let until = now.addingTimeInterval(relayPause(problem, failures))
                    try db.execute(sql: """
                        UPDATE delivery SET state = CASE WHEN attempts <= 1 THEN 'queued' ELSE 'deferred' END,
                               attempts = attempts - 1, next_attempt_at = ?, reply_code = ?, reply = ?, updated_at = ?
                        WHERE id = ? AND state = 'sending'
                        """, arguments: [until, problem.code, Self.short(problem.description), now, c.deliveryID])
                case .inDoubt(let detail):
                    if inDoubt == .assumeSent {
                        try update.execute(arguments: ["sent", now, nil, "in doubt, counted as sent: " + Self.short(detail), true, now, c.deliveryID])
                    } else if try Self.isStillSending(db, c.deliveryID) {
                        try update.execute(arguments: ["deferred", now, nil, "in doubt, sending again: " + Self.short(detail), true, now, c.deliveryID])
                    }
                case .withdrawn:
                    try db.execute(sql: "UPDATE delivery SET state = 'cancelled', reply = 'recipient withdrew before sending', updated_at = ? WHERE id = ?",
                                   arguments: [now, c.deliveryID])
                }
            }
            if accepted { try db.execute(sql: "DELETE FROM relay_pause") }
            try Self.finishMailings(db, touchedMailings, now: results.last?.finishedAt ?? Date())
        }
    }

    private static func short(_ text: String) -> String { String(text.prefix(500)) }

    private static func isStillSending(_ db: Database, _ id: Int64) throws -> Bool {
        try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM delivery WHERE id = ?"), arguments: [id]) == "sending"
    }

    private static func countBounce(_ db: Database, member: Int64?, limit: Int, now: Date) throws {
        guard let member else { return }
        try db.execute(sql: "UPDATE member SET hard_bounces = hard_bounces + 1 WHERE id = ?", arguments: [member])
        try db.execute(sql: """
            UPDATE member SET status = 'bounced', status_changed_at = ?, updated_at = ?
            WHERE id = ? AND status = 'active' AND hard_bounces >= ?
            """, arguments: [now, now, member, limit])
        if db.changesCount > 0 {
            try cancelPending(db, member: member, stream: nil, reason: "recipient's address bounced", now: now)
        }
    }

    private static func pauseRelay(_ db: Database, _ problem: RelayProblem, now: Date,
                                   backoff: (RelayProblem, Int) -> TimeInterval) throws -> Int {
        let failures = (try Int.fetchOne(db, sql: "SELECT failures FROM relay_pause WHERE id = 1") ?? 0) + 1
        let until = now.addingTimeInterval(backoff(problem, failures))
        try db.execute(sql: """
            INSERT INTO relay_pause (id, reason, since, until, failures) VALUES (1, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET reason = excluded.reason, until = excluded.until, failures = excluded.failures
            """, arguments: [problem.description, now, until, failures])
        return failures
    }

    private static func finishMailings(_ db: Database, _ ids: Set<Int64>, now: Date) throws {
        for id in ids {
            try db.execute(sql: """
                UPDATE mailing SET state = 'done', updated_at = ?
                WHERE id = ? AND state = 'sending'
                  AND NOT EXISTS (SELECT 1 FROM delivery WHERE mailing_id = ? AND state IN ('queued', 'deferred', 'sending'))
                """, arguments: [now, id, id])
        }
    }

    /// The one restart-recovery step: messages left `sending` by a crash are in doubt. With `resend` they go back
    /// to the queue (same Message-ID); with `assumeSent` they are counted as sent. Returns how many there were.
    public func recoverInFlight(policy: Configuration.Delivery.InDoubtPolicy, now: Date) throws -> Int {
        try write { db in
            if policy == .resend {
                try db.execute(sql: """
                    UPDATE delivery SET state = 'deferred', next_attempt_at = ?, in_doubt = 1,
                           reply = 'in doubt after a restart: sending again', updated_at = ?
                    WHERE state = 'sending'
                    """, arguments: [now, now])
            } else {
                try db.execute(sql: """
                    UPDATE delivery SET state = 'sent', in_doubt = 1, reply = 'in doubt after a restart: counted as sent', updated_at = ?
                    WHERE state = 'sending'
                    """, arguments: [now])
            }
            return db.changesCount
        }
    }

    /// Puts claimed messages that were never started back in the queue, as they were before the claim.
    public func release(_ claims: [Claim], now: Date) throws {
        guard !claims.isEmpty else { return }
        try write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE delivery SET state = CASE WHEN attempts <= 1 THEN 'queued' ELSE 'deferred' END,
                       attempts = attempts - 1, updated_at = ?
                WHERE id = ? AND state = 'sending'
                """)
            for claim in claims { try statement.execute(arguments: [now, claim.deliveryID]) }
        }
    }

    /// Cancels a person's waiting and in-flight messages (all streams, or one stream's mailings).
    static func cancelPending(_ db: Database, member: Int64, stream: MailStream?, reason: String, now: Date) throws {
        let mailings = try Int64.fetchAll(db, sql: """
            SELECT DISTINCT mailing_id FROM delivery WHERE member_id = ? AND state IN ('queued', 'deferred', 'sending')
            """, arguments: [member])
        try db.execute(sql: """
            UPDATE delivery SET state = 'cancelled', reply = ?, updated_at = ?
            WHERE member_id = ? AND state IN ('queued', 'deferred', 'sending')
              AND (? IS NULL OR mailing_id IN (SELECT id FROM mailing WHERE stream = ?))
            """, arguments: [reason, now, member, stream?.rawValue, stream?.rawValue])
        try finishMailings(db, Set(mailings), now: now)
    }

    /// Send times inside the last `seconds`, for rebuilding rate limits after a restart.
    public func recentAttempts(within seconds: TimeInterval, now: Date) throws -> [Date] {
        try read { db in
            try Date.fetchAll(db, sql: "SELECT last_attempt_at FROM delivery WHERE last_attempt_at > ? ORDER BY last_attempt_at",
                              arguments: [now.addingTimeInterval(-seconds)])
        }
    }

    /// When the next waiting message is due, and whether any mailing is waiting for its start time.
    public func nextWakeUp() throws -> Date? {
        try read { db in
            let due = try Date.fetchOne(db, sql: """
                SELECT min(d.next_attempt_at) FROM delivery d JOIN mailing g ON g.id = d.mailing_id
                WHERE d.state IN ('queued', 'deferred') AND g.state = 'sending'
                """)
            let start = try Date.fetchOne(db, sql: "SELECT min(send_after) FROM mailing WHERE state = 'scheduled'")
            return [due, start].compactMap { $0 }.min()
        }
    }

    /// The current relay pause, if any.
    public func relayPause() throws -> (reason: String, since: Date, until: Date)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT reason, since, until FROM relay_pause WHERE id = 1").map { ($0["reason"], $0["since"], $0["until"]) }
        }
    }

    /// Counts by state, optionally for one mailing.
    public func queueSummary(mailing: Int64? = nil) throws -> QueueSummary {
        try read { db in
            var byState: [Delivery.State: Int] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT state, count(*) AS n FROM delivery WHERE (? IS NULL OR mailing_id = ?) GROUP BY state
                """, arguments: [mailing, mailing])
            for row in rows {
                if let state = Delivery.State(rawValue: row["state"]) { byState[state] = row["n"] }
            }
            let pause = try Row.fetchOne(db, sql: "SELECT reason, since, until FROM relay_pause WHERE id = 1")
                .map { (reason: $0["reason"] as String, since: $0["since"] as Date, until: $0["until"] as Date) }
            let next = try Date.fetchOne(db, sql: """
                SELECT min(next_attempt_at) FROM delivery WHERE state IN ('queued', 'deferred') AND (? IS NULL OR mailing_id = ?)
                """, arguments: [mailing, mailing])
            return QueueSummary(byState: byState, pause: pause, nextAttempt: next)
        }
    }

    /// Mailings, newest first (all, or only those not finished).
    public func mailings(activeOnly: Bool) throws -> [Mailing] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM mailing \(activeOnly ? "WHERE state IN ('scheduled', 'sending', 'held')" : "") ORDER BY id DESC LIMIT 200
                """).map(Mailing.init(row:))
        }
    }

    /// Messages in the given states (newest first), optionally for one mailing.
    public func deliveries(states: [Delivery.State], mailing: Int64?, limit: Int) throws -> [Delivery] {
        try read { db in
            let marks = states.map { _ in "?" }.joined(separator: ", ")
            var arguments: StatementArguments = []
            for s in states { arguments += [s.rawValue] }
            arguments += [mailing, mailing, limit]
            return try Row.fetchAll(db, sql: """
                SELECT * FROM delivery WHERE state IN (\(marks)) AND (? IS NULL OR mailing_id = ?) ORDER BY id DESC LIMIT ?
                """, arguments: arguments).map(Delivery.init(row:))
        }
    }

    /// Puts failed (and deferred) messages back in the queue now; returns how many.
    public func retryNow(mailing: Int64?, includeFailed: Bool, now: Date) throws -> Int {
        try write { db in
            try db.execute(sql: """
                UPDATE delivery SET state = 'queued', next_attempt_at = ?, updated_at = ?
                WHERE state IN ('deferred' \(includeFailed ? ", 'failed'" : "")) AND (? IS NULL OR mailing_id = ?)
                  AND (member_id IS NULL OR member_id IN (SELECT id FROM member WHERE status = 'active'))
                """, arguments: [now, now, mailing, mailing])
            let n = db.changesCount
            if n > 0 {
                try db.execute(sql: "UPDATE mailing SET state = 'sending', updated_at = ? WHERE state = 'done' AND (? IS NULL OR id = ?) AND id IN (SELECT mailing_id FROM delivery WHERE state = 'queued')",
                               arguments: [now, mailing, mailing])
                try db.execute(sql: "UPDATE relay_pause SET until = ? WHERE id = 1", arguments: [now])
            }
            return n
        }
    }

    /// Cancels a mailing and everything of it not yet sent.
    public func cancelMailing(_ id: Int64, now: Date) throws -> Int {
        try write { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM mailing WHERE id = ?", arguments: [id]) == 1 else {
                throw InvalidField(field: "mailing", value: String(id), problem: "does not exist; see `circulate queue status` for the numbers")
            }
            try db.execute(sql: """
                UPDATE delivery SET state = 'cancelled', reply = 'cancelled by the coordinator', updated_at = ?
                WHERE mailing_id = ? AND state IN ('queued', 'deferred')
                """, arguments: [now, id])
            let n = db.changesCount
            try db.execute(sql: "UPDATE mailing SET state = 'cancelled', updated_at = ? WHERE id = ? AND state <> 'done'", arguments: [now, id])
            return n
        }
    }

    /// Sends a held mailing after all.
    public func releaseMailing(_ id: Int64, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE mailing SET state = 'sending', held_reason = NULL, updated_at = ? WHERE id = ? AND state = 'held'",
                           arguments: [now, id])
            return db.changesCount == 1
        }
    }
}

extension Mailing {
    init(row: Row) {
        id = row["id"]
        kind = Kind(rawValue: row["kind"]) ?? .announcement
        stream = (row["stream"] as String?).flatMap(MailStream.init(rawValue:))
        audience = row["audience"]
        subject = row["subject"]
        bodyMarkdown = row["body_markdown"]
        sendAfter = row["send_after"]
        state = State(rawValue: row["state"]) ?? .scheduled
        heldReason = row["held_reason"]
        idempotencyKey = row["idempotency_key"]
        createdBy = row["created_by"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        sessionID = row["session_id"]
        invitationSessionID = row["invitation_session_id"]
        reportID = row["report_id"]
    }
}

extension Delivery {
    init(row: Row) {
        id = row["id"]
        mailingID = row["mailing_id"]
        memberID = row["member_id"]
        recipient = row["recipient"]
        messageID = row["message_id"]
        state = State(rawValue: row["state"]) ?? .queued
        attempts = row["attempts"]
        nextAttemptAt = row["next_attempt_at"]
        lastAttemptAt = row["last_attempt_at"]
        replyCode = row["reply_code"]
        reply = row["reply"]
        inDoubt = row["in_doubt"]
        queuedAt = row["queued_at"]
        updatedAt = row["updated_at"]
    }
}

/// See `AppDatabase.makeDeliverabilityChecker()`.
public final class DeliverabilityChecker: @unchecked Sendable {
    private let queue: DatabaseQueue

    init(queue: DatabaseQueue) {
        self.queue = queue
    }

    /// Whether the claimed message may still be handed over. One SELECT is atomic by itself, so no transaction is
    /// opened around it (that would be two more statements per message).
    public func stillDeliverable(_ deliveryID: Int64) -> Bool {
        (try? queue.unsafeRead { db in try AppDatabase.stillDeliverable(db, deliveryID) }) ?? false
    }
}
