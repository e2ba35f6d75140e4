import Foundation
import GRDB

/// The outbound queue: the only code that writes the `mailing` and `delivery` tables.
///
/// A message's life is one `delivery` row moving through the named states of `Delivery.State`; `Mailing.State` is
/// its mailing's. Work comes in one way (`enqueue`), is claimed in bounded batches (`claim`), and goes out one way
/// (`record`), with `cancel`, `hold`/`release`, `giveBack` and `recoverInFlight` for everything in between. Every
/// function works on a GRDB `Database` inside the caller's transaction, so that the transactions which keep the
/// list's promises (an unsubscribe, an erasure, a workflow step) change the queue in the same commit.
enum OutboundQueue {
    // MARK: - The one way in

    /// Makes the mailing `plan` asks for, or finds it again (see `MailingPlan.Identity`), and adds a message for
    /// each recipient who may receive it now and is not on it yet. Nobody is ever on a mailing twice.
    static func enqueue(_ db: Database, _ plan: MailingPlan, domain: String, now: Date) throws -> QueueingResult {
        if let found = try existing(db, plan.identity), let foundID = found.id {
            if case .request(_, .once) = plan.identity {
                return QueueingResult(mailing: found, added: 0, total: try recipientCount(db, foundID), existed: true)
            }
            guard found.state != .cancelled else {
                return QueueingResult(mailing: found, added: 0, total: try recipientCount(db, foundID), existed: true)
            }
            let added = try addRecipients(db, plan.recipients, to: found, domain: domain, now: now)
            if added > 0 && found.state == .done {
                // People added after it finished (attendance recorded late, newcomers): it has work again.
                try db.execute(sql: "UPDATE mailing SET state = ?, updated_at = ? WHERE id = ?",
                               arguments: [found.sendAfter > now ? Mailing.State.scheduled : .sending, now, foundID])
            }
            return QueueingResult(mailing: try mailing(db, id: foundID), added: added, total: try recipientCount(db, foundID),
                                  existed: true)
        }
        var requestKey: String?
        let key: String
        switch plan.identity {
        case .workflow(let workflowKey): key = workflowKey
        case .request(let digest, _):
            requestKey = digest
            key = "request:\(UUID().uuidString)"
        case .oneOff: key = "one-off:\(UUID().uuidString)"
        }
        try db.execute(sql: """
            INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key, request_key,
                                 created_by, created_at, updated_at, session_id, invitation_session_id, report_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [plan.kind.rawValue, plan.stream?.rawValue, plan.audience, plan.subject, plan.body, plan.sendAfter,
                             Mailing.State.scheduled.rawValue, key, requestKey, plan.createdBy, now, now,
                             plan.sessionID, plan.invitationSessionID, plan.reportID])
        let id = db.lastInsertedRowID
        let added = try addRecipients(db, plan.recipients, to: try mailing(db, id: id), domain: domain, now: now)
        if added == 0 {
            // Nobody to send to (no apologies, everyone responded): finished, rather than left waiting for ever.
            try db.execute(sql: "UPDATE mailing SET state = ?, updated_at = ? WHERE id = ?",
                           arguments: [Mailing.State.done.rawValue, now, id])
        }
        return QueueingResult(mailing: try mailing(db, id: id), added: added, total: added, existed: false)
    }

    /// The mailing a plan's identity finds, if any.
    static func existing(_ db: Database, _ identity: MailingPlan.Identity) throws -> Mailing? {
        switch identity {
        case .workflow(let key):
            return try Mailing.filter(Mailing.Columns.idempotencyKey == key).fetchOne(db)
        case .request(let digest, let mode):
            guard mode != .again else { return nil }
            return try Mailing.filter(Mailing.Columns.requestKey == digest && Mailing.Columns.state != Mailing.State.cancelled.rawValue)
                .order(Mailing.Columns.id.desc).fetchOne(db)
        case .oneOff:
            return nil
        }
    }

    /// Adds the plan's recipients who may receive the mailing now and are not on it yet; returns how many.
    private static func addRecipients(_ db: Database, _ recipients: MailingPlan.Recipients, to mailing: Mailing, domain: String,
                                      now: Date) throws -> Int {
        // A held mailing's new messages wait with the rest of it.
        let state: Delivery.State = mailing.state == .held ? .held : .queued
        switch recipients {
        case .members(let sql, let selection):
            // One statement for the whole audience: 100,000 recipients queue in well under a second. The message ids
            // are random, fixed now, and the same on every attempt.
            var arguments: StatementArguments = [domain, state.rawValue, now, now, mailing.id]
            arguments += selection
            try db.execute(sql: """
                INSERT OR IGNORE INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at,
                                                updated_at)
                SELECT g.id, m.id, m.email, lower(hex(randomblob(16))) || '@' || ?, ?, g.send_after, ?, ?
                FROM mailing g JOIN member m
                WHERE g.id = ? AND m.id IN (\(sql)) AND \(Eligibility.holdsSQL)
                """, arguments: arguments)
            return db.changesCount
        case .address(let address, let memberID):
            // A note to one address goes to it once, however often the step that made it runs.
            if try recipientCount(db, mailing.id ?? -1) > 0 { return 0 }
            try db.execute(sql: """
                INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at)
                VALUES (?, ?, ?, lower(hex(randomblob(16))) || '@' || ?, ?, ?, ?, ?)
                """, arguments: [mailing.id, memberID, address.description, domain, state.rawValue, mailing.sendAfter, now, now])
            return db.changesCount
        }
    }

    // MARK: - Lookups used by the queue's own steps

    static func mailing(_ db: Database, id: Int64) throws -> Mailing {
        guard let mailing = try Mailing.fetchOne(db, key: id) else {
            throw InvalidField(field: "mailing", value: String(id), problem: "does not exist; see `circulate queue status` for the numbers")
        }
        return mailing
    }

    static func recipientCount(_ db: Database, _ mailing: Int64) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM delivery WHERE mailing_id = ?"), arguments: [mailing]) ?? 0
    }

    /// Marks finished each of `ids` that is being sent (or held) and has nothing left to send: a mailing whose last
    /// messages were cancelled or sent must not show as sending for ever. Returns the mailings it finished.
    @discardableResult
    static func finishEmptied(_ db: Database, _ ids: some Collection<Int64>, now: Date) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let finish = try db.cachedStatement(sql: """
            UPDATE mailing SET state = '\(Mailing.State.done.rawValue)', updated_at = ?
            WHERE id = ? AND state IN \([Mailing.State.sending, .held].sqlList)
              AND NOT EXISTS (SELECT 1 FROM delivery WHERE mailing_id = ? AND state IN \(Delivery.State.live.sqlList))
            """)
        var finished: [Int64] = []
        for id in Set(ids) {
            try finish.execute(arguments: [now.stored, id, id])
            if db.changesCount > 0 { finished.append(id) }
        }
        return finished.sorted()
    }

    /// How many of a mailing's messages are in each state.
    static func stateCounts(_ db: Database, mailing: Int64) throws -> [Delivery.State: Int] {
        var counts: [Delivery.State: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT state, count(*) FROM delivery WHERE mailing_id = ? GROUP BY state"),
                                    arguments: [mailing]) {
            if let state = Delivery.State(rawValue: row[0]) { counts[state] = row[1] }
        }
        return counts
    }
}
