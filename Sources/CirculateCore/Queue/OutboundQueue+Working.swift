import Foundation
import GRDB

extension OutboundQueue {
    // MARK: - Starting and holding mailings

    /// Starts mailings whose time has come; holds those more than `lateLimit` late (the daemon was not running) so
    /// that nothing goes out days late unasked. Returns the mailings it held.
    static func startDue(_ db: Database, now: Date, lateLimit: TimeInterval) throws -> [Mailing] {
        // Runs on every delivery turn: a cached statement, not a query built and compiled each time.
        let late = try Mailing.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM mailing WHERE state = '\(Mailing.State.scheduled.rawValue)' AND send_after < ?
            """), arguments: [now.addingTimeInterval(-lateLimit).stored])
        for mailing in late {
            let hours = Int(now.timeIntervalSince(mailing.sendAfter) / 3600)
            try hold(db, mailing: mailing.id ?? 0, reason:
                "it was due \(hours) hours ago, more than delivery.late_limit allows (the daemon was not running); "
                    + "send it now with `circulate queue release \(mailing.id ?? 0)` or drop it with `circulate queue cancel \(mailing.id ?? 0)`",
                now: now)
        }
        let starting = try Int64.fetchAll(db.cachedStatement(sql: """
            SELECT id FROM mailing WHERE state = '\(Mailing.State.scheduled.rawValue)' AND send_after <= ?
            """), arguments: [now.stored])
        guard !starting.isEmpty else { return late }
        try db.execute(sql: """
            UPDATE mailing SET state = '\(Mailing.State.sending.rawValue)', updated_at = ?
            WHERE state = '\(Mailing.State.scheduled.rawValue)' AND send_after <= ?
            """, arguments: [now.stored, now.stored])
        // A mailing that starts with nothing left to send (everyone left before their turn) is finished at once.
        try finishEmptied(db, starting, now: now)
        return late
    }

    /// Holds a mailing (and its waiting messages) until the coordinator releases or cancels it.
    static func hold(_ db: Database, mailing id: Int64, reason: String, now: Date) throws {
        try db.execute(sql: "UPDATE mailing SET state = ?, held_reason = ?, updated_at = ? WHERE id = ?",
                       arguments: [Mailing.State.held.rawValue, reason, now, id])
        try db.execute(sql: """
            UPDATE delivery SET state = '\(Delivery.State.held.rawValue)', updated_at = ?
            WHERE mailing_id = ? AND state IN \(Delivery.State.claimable.sqlList)
            """, arguments: [now, id])
    }

    /// Sends a held mailing after all; returns false if it was not held.
    static func release(_ db: Database, mailing id: Int64, now: Date) throws -> Bool {
        try db.execute(sql: "UPDATE mailing SET state = ?, held_reason = NULL, updated_at = ? WHERE id = ? AND state = ?",
                       arguments: [Mailing.State.sending.rawValue, now, id, Mailing.State.held.rawValue])
        guard db.changesCount == 1 else { return false }
        try db.execute(sql: "UPDATE delivery SET state = ?, updated_at = ? WHERE mailing_id = ? AND state = ?",
                       arguments: [Delivery.State.queued.rawValue, now, id, Delivery.State.held.rawValue])
        try finishEmptied(db, [id], now: now)
        return true
    }

    // MARK: - Claiming

    /// Claims up to `limit` due messages: each is checked against `Eligibility` (and cancelled if its recipient may
    /// no longer receive it), then marked `sending` before any SMTP traffic, so that a crash can never lose track of
    /// a message that may have gone out. With `reserveRate`, each claim reserves its place in the rate windows.
    ///
    /// The query walks the `delivery_due` index in order and stops after `limit` rows: its cost does not grow with
    /// the number of messages queued (a test checks the plan).
    static func claim(_ db: Database, limit: Int, now: Date, reserveRate: Bool) throws -> [Claim] {
        guard limit > 0 else { return [] }
        let stamp = StoredTimestamp.databaseValue(now)
        let rows = try Row.fetchAll(db.cachedStatement(sql: claimSQL), arguments: [stamp, limit])
        let cancel = try db.cachedStatement(sql: """
            UPDATE delivery SET state = '\(Delivery.State.cancelled.rawValue)', reply = ?, updated_at = ? WHERE id = ?
            """)
        var claims: [Claim] = []
        var emptied: Set<Int64> = []
        for row in rows {
            // Columns by position (`claimSQL`'s order): looking each up by name lower-cases the name on every read.
            let id: Int64 = row[0]
            if let refusal: String = row[13] {
                try cancel.execute(arguments: [refusal, stamp, id])
                emptied.insert(row[1])
                continue
            }
            if reserveRate { try RateAccounting.reserve(db, delivery: id, at: now) }
            let memberEmail: String? = row[9]
            claims.append(Claim(deliveryID: id, mailingID: row[1], memberID: row[2],
                                kind: try row.decode(Mailing.Kind.self, atIndex: 8),
                                recipient: memberEmail ?? row[3], recipientName: row[10] ?? "",
                                greetingName: row[11] ?? "",
                                inRole: (row[12] as String?) == LawfulBasis.legitimateInterest.rawValue,
                                messageID: row[4], attempt: (row[5] as Int) + 1, queuedAt: row[6],
                                doubts: row[7]))
        }
        // One statement per `claimChunk` messages: per-row updates showed in profiles as statement overhead, and a
        // statement naming the ids was compiled for every claim (padded to one size, one cached statement serves all).
        if !claims.isEmpty {
            let mark = try db.cachedStatement(sql: """
                UPDATE delivery SET state = '\(Delivery.State.sending.rawValue)', attempts = attempts + 1, last_attempt_at = ?1,
                       updated_at = ?1 WHERE id IN (\(Array(repeating: "?", count: claimChunk).joined(separator: ", ")))
                """)
            for start in stride(from: 0, to: claims.count, by: claimChunk) {
                var values = [stamp]
                values += claims[start..<min(start + claimChunk, claims.count)].map { $0.deliveryID.databaseValue }
                // Padding names no message (ids are positive).
                values += repeatElement((-1).databaseValue, count: claimChunk + 1 - values.count)
                try mark.execute(arguments: StatementArguments(values))
            }
        }
        try finishEmptied(db, emptied, now: now)
        return claims
    }

    /// Messages marked `sending` per statement of `claim`: a claim at one connection is 32 messages.
    private static let claimChunk = 32

    /// Due messages in order (`claim` reads the columns by position: keep the two in step). CROSS JOIN keeps SQLite on the `delivery_due` index (a join on the mailing first would
    /// read every message of a large mailing and sort them on each claim). Test messages are never claimed: `send-test`
    /// sends its own.
    static let claimSQL = """
        SELECT d.id, d.mailing_id, d.member_id, d.recipient, d.message_id, d.attempts, d.queued_at, d.doubts,
               g.kind, m.email, m.name, m.known_as, m.lawful_basis, \(Eligibility.refusalSQL) AS refusal
        FROM delivery d
        CROSS JOIN mailing g ON g.id = d.mailing_id
        LEFT JOIN member m ON m.id = d.member_id
        WHERE d.state IN \(Delivery.State.claimable.sqlList) AND d.next_attempt_at <= ?
          AND g.state = '\(Mailing.State.sending.rawValue)' AND g.kind <> '\(Mailing.Kind.test.rawValue)'
        ORDER BY d.next_attempt_at, d.id
        LIMIT ?
        """

    /// The check made right before a claimed message's SMTP transaction starts, and again before its content is
    /// handed over: is it still claimed and not cancelled, and may its recipient still receive it?
    static func lastCheck(_ db: Database, delivery id: Int64) throws -> LastCheck {
        // One text column, "" for go: no row object per check (two checks per message showed in profiles).
        lastCheck(refusal: try String.fetchOne(db.cachedStatement(sql: lastCheckSQL), arguments: [id]))
    }

    /// What `lastCheckSQL`'s one column means: no row (the person was erased), "" (go), or the reason to stop.
    static func lastCheck(refusal: String?) -> LastCheck {
        guard let refusal else { return .stop(erased) }
        return refusal.isEmpty ? .go : .stop(refusal)
    }

    static let lastCheckSQL = """
        SELECT coalesce(CASE WHEN d.state <> '\(Delivery.State.sending.rawValue)' THEN 'the message is no longer being sent'
                             WHEN d.cancel_requested IS NOT NULL THEN d.cancel_requested
                             ELSE \(Eligibility.refusalSQL) END, '') AS refusal
        FROM delivery d JOIN mailing g ON g.id = d.mailing_id LEFT JOIN member m ON m.id = d.member_id
        WHERE d.id = ?
        """

    /// Why a message whose person was erased stops; its row keeps nothing about them until the worker lets go of it.
    static let erased = "the recipient was erased"

    // MARK: - Giving back and recovering

    /// Puts claimed messages that never reached the relay back as they were before the claim (same schedule, one
    /// attempt fewer); those cancelled meanwhile end cancelled, those of an erased person are deleted.
    static func giveBack(_ db: Database, _ deliveries: [Int64], retryAt: Date? = nil, now: Date) throws {
        guard !deliveries.isEmpty else { return }
        let forget = try db.cachedStatement(sql: """
            DELETE FROM delivery WHERE id = ? AND state = '\(Delivery.State.sending.rawValue)' AND cancel_requested = ?
            """)
        let back = try db.cachedStatement(sql: """
            UPDATE delivery SET state = CASE WHEN cancel_requested IS NOT NULL THEN '\(Delivery.State.cancelled.rawValue)'
                                             WHEN attempts <= 1 THEN '\(Delivery.State.queued.rawValue)'
                                             ELSE '\(Delivery.State.deferred.rawValue)' END,
                   reply = coalesce(cancel_requested, reply), attempts = attempts - 1,
                   next_attempt_at = coalesce(?, next_attempt_at), updated_at = ?
            WHERE id = ? AND state = '\(Delivery.State.sending.rawValue)'
            """)
        var mailings: [Int64] = []
        for id in deliveries {
            if let mailing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT mailing_id FROM delivery WHERE id = ?"), arguments: [id]) {
                mailings.append(mailing)
            }
            try forget.execute(arguments: [id, erased])
            try back.execute(arguments: [retryAt?.stored, now.stored, id])
            try RateAccounting.release(db, delivery: id)
        }
        try finishEmptied(db, mailings, now: now)
    }

    /// What `recoverInFlight` found.
    struct Recovery: Sendable, Equatable {
        /// Sent again (same Message-ID): their fate is unknown.
        var resent = 0
        /// With `assume-sent`: counted as sent.
        var probablyDelivered = 0
        /// Cancelled while in flight: not sent again.
        var cancelled = 0
        /// Test messages `send-test` did not finish: they are one-offs, never sent by the daemon.
        var interruptedTests = 0

        var total: Int { resent + probablyDelivered + cancelled + interruptedTests }
    }

    /// The one restart-recovery step: messages left `sending` by a crash are in doubt. Each counts one doubt; with
    /// `resend` it is sent again with the same Message-ID (with `assume-sent` it is counted as sent).
    ///
    /// A crash never makes a message "probably delivered" by itself: most of the messages claimed at a crash were
    /// still waiting for a worker and never reached the relay, and one caught by two crashes would otherwise be
    /// counted as delivered without ever having been sent. The doubt is counted, so that if the relay later leaves the
    /// message in doubt after taking its whole content, that crash's resend was its resend (`InDoubtDecision`).
    static func recoverInFlight(_ db: Database, policy: Configuration.Delivery.InDoubtPolicy, resends: Int, now: Date) throws -> Recovery {
        var recovery = Recovery()
        let rows = try Row.fetchAll(db, sql: """
            SELECT d.id, d.mailing_id, d.doubts, d.cancel_requested, g.kind
            FROM delivery d JOIN mailing g ON g.id = d.mailing_id WHERE d.state = '\(Delivery.State.sending.rawValue)'
            """)
        var mailings: [Int64] = []
        for row in rows {
            let id: Int64 = row["id"]
            mailings.append(row["mailing_id"])
            let doubts = (row["doubts"] as Int) + 1
            if let cancelled: String = row["cancel_requested"] {
                recovery.cancelled += 1
                if cancelled == erased {
                    try db.execute(sql: "DELETE FROM delivery WHERE id = ?", arguments: [id])
                } else {
                    try db.execute(sql: "UPDATE delivery SET state = ?, reply = ?, doubts = ?, updated_at = ? WHERE id = ?",
                                   arguments: [Delivery.State.cancelled.rawValue, cancelled + " (it was being sent when circulate stopped)",
                                               doubts, now, id])
                }
            } else if try row.decode(Mailing.Kind.self, forColumn: "kind") == .test {
                recovery.interruptedTests += 1
                try db.execute(sql: "UPDATE delivery SET state = ?, failure = ?, reply = ?, doubts = ?, updated_at = ? WHERE id = ?",
                               arguments: [Delivery.State.failed.rawValue, Delivery.Failure.notSent.rawValue,
                                           "circulate send-test was interrupted; test messages are never sent again", doubts, now, id])
            } else if policy == .resend {
                recovery.resent += 1
                try db.execute(sql: "UPDATE delivery SET state = ?, next_attempt_at = ?, doubts = ?, reply = ?, updated_at = ? WHERE id = ?",
                               arguments: [Delivery.State.deferred.rawValue, now, doubts,
                                           "in doubt after a restart: sending again with the same Message-ID", now, id])
            } else {
                recovery.probablyDelivered += 1
                try db.execute(sql: "UPDATE delivery SET state = ?, doubts = ?, reply = ?, updated_at = ? WHERE id = ?",
                               arguments: [Delivery.State.sent.rawValue, doubts,
                                           "in doubt after a restart: counted as probably delivered, not sent again", now, id])
            }
        }
        try RateAccounting.settleAll(db)
        try finishEmptied(db, mailings, now: now)
        return recovery
    }

    // MARK: - Test messages

    /// Queues a test message to one address and claims it at once, in one transaction, so that the daemon never
    /// takes it: `send-test` sends it itself, now, and records how it ended (it is never left for later).
    static func startTestMessage(_ db: Database, to address: EmailAddress, memberID: Int64?, subject: String, body: String,
                                 createdBy: String, domain: String, reserveRate: Bool, now: Date) throws -> Claim {
        let queued = try enqueue(db, MailingPlan(
            kind: .test, stream: nil, audience: "test message", subject: subject, body: body, sendAfter: now,
            identity: .oneOff, createdBy: createdBy, recipients: .address(address, memberID: memberID)), domain: domain, now: now)
        guard let mailingID = queued.mailing.id,
              let delivery = try Delivery.filter(Delivery.Columns.mailingID == mailingID).fetchOne(db) else {
            throw StorageError(kind: .storage, "the test message was not queued")
        }
        try db.execute(sql: "UPDATE mailing SET state = ?, updated_at = ? WHERE id = ?",
                       arguments: [Mailing.State.sending.rawValue, now, mailingID])
        try db.execute(sql: "UPDATE delivery SET state = ?, attempts = 1, last_attempt_at = ?, updated_at = ? WHERE id = ?",
                       arguments: [Delivery.State.sending.rawValue, now, now, delivery.id])
        if reserveRate { try RateAccounting.reserve(db, delivery: delivery.id, at: now) }
        return Claim(deliveryID: delivery.id, mailingID: mailingID, memberID: memberID, kind: .test, recipient: address.description,
                     recipientName: "", messageID: delivery.messageID, attempt: 1, queuedAt: now, doubts: 0)
    }
}
