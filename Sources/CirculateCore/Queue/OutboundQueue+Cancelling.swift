import Foundation
import GRDB

/// Which messages a cancellation reaches: every condition given must hold.
struct CancelSelector: Sendable, Equatable {
    var member: Int64?
    var mailing: Int64?
    /// Only mailings of this stream.
    var stream: MailStream?
    /// Only mailings about this session.
    var session: Int64?
    /// Only mailings about this report.
    var report: Int64?
    /// Only mailings of these kinds.
    var kinds: Set<Mailing.Kind>?

    /// Everything waiting for a person (of one stream, or all).
    static func member(_ id: Int64, stream: MailStream? = nil) -> CancelSelector { CancelSelector(member: id, stream: stream) }
    /// Everything of a mailing not yet sent.
    static func mailing(_ id: Int64) -> CancelSelector { CancelSelector(mailing: id) }

    /// The SQL condition on `d` (a delivery), with its arguments.
    fileprivate var condition: (sql: String, arguments: StatementArguments) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let member {
            clauses.append("d.member_id = ?")
            arguments += [member]
        }
        if let mailing {
            clauses.append("d.mailing_id = ?")
            arguments += [mailing]
        }
        var about: [String] = []
        if let stream {
            about.append("stream = ?")
            arguments += [stream.rawValue]
        }
        if let session {
            about.append("session_id = ?")
            arguments += [session]
        }
        if let report {
            about.append("report_id = ?")
            arguments += [report]
        }
        if let kinds { about.append("kind IN \(kinds.sqlList)") }
        if !about.isEmpty { clauses.append("d.mailing_id IN (SELECT id FROM mailing WHERE \(about.joined(separator: " AND ")))") }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), arguments)
    }
}

/// What a cancellation did.
struct CancelResult: Sendable, Equatable {
    /// Waiting messages cancelled.
    var cancelled = 0
    /// Messages a worker had already claimed: their cancellation is asked for, and the last check before their content
    /// sees it. The command that cancelled waits for them (`AppDatabase.awaitWithdrawals`).
    var inFlight: [Int64] = []

    var total: Int { cancelled + inFlight.count }
}

extension OutboundQueue {
    /// Cancels every message `selector` reaches that is not sent yet, and finishes the mailings left with nothing to
    /// send. Waiting messages are cancelled at once; a message a worker holds is marked, so that the check before its
    /// SMTP transaction and the one before its content stop it.
    @discardableResult
    static func cancel(_ db: Database, _ selector: CancelSelector, reason: String, now: Date) throws -> CancelResult {
        let (condition, arguments) = selector.condition
        let mailings = try Int64.fetchAll(db, sql: """
            SELECT DISTINCT d.mailing_id FROM delivery d WHERE d.state IN \(Delivery.State.live.sqlList) AND \(condition)
            """, arguments: arguments)
        var result = CancelResult()
        result.inFlight = try Int64.fetchAll(db, sql: """
            SELECT d.id FROM delivery d WHERE d.state = '\(Delivery.State.sending.rawValue)' AND d.cancel_requested IS NULL AND \(condition)
            """, arguments: arguments)
        if !result.inFlight.isEmpty {
            try db.execute(sql: """
                UPDATE delivery SET cancel_requested = ?, updated_at = ? WHERE id IN (\(result.inFlight.map(String.init).joined(separator: ",")))
                """, arguments: [reason, now])
        }
        try db.execute(sql: """
            UPDATE delivery AS d SET state = '\(Delivery.State.cancelled.rawValue)', reply = ?, updated_at = ?
            WHERE d.state IN \(Delivery.State.pending.sqlList) AND \(condition)
            """, arguments: [reason, now] + arguments)
        result.cancelled = db.changesCount
        if let mailing = selector.mailing {
            try db.execute(sql: "UPDATE mailing SET state = ?, updated_at = ? WHERE id = ? AND state IN \(Mailing.State.live.sqlList)",
                           arguments: [Mailing.State.cancelled.rawValue, now, mailing])
        }
        try finishEmptied(db, mailings, now: now)
        return result
    }

    /// Takes a person's messages out of the queue for their erasure: those waiting are deleted; one a worker holds
    /// keeps its row, emptied of everything about the person, until the worker lets go of it (its last check then
    /// stops it, and recording deletes it). Returns how many rows were deleted and which are still in flight.
    /// Messages sent to the address without a link to the person (a test message sent before they joined, a note to
    /// a coordinator address) are theirs too.
    static func forget(_ db: Database, member id: Int64, address: EmailAddress?, now: Date) throws -> (deleted: Int, inFlight: [Int64]) {
        var unlinked: [Int64] = []
        for row in try Row.fetchAll(db, sql: "SELECT id, recipient FROM delivery WHERE member_id IS NULL AND recipient <> ''") {
            if let address, let recipient = try? EmailAddress(row["recipient"] as String), recipient.key == address.key {
                unlinked.append(row["id"])
            }
        }
        if !unlinked.isEmpty {
            try db.execute(sql: "UPDATE delivery SET member_id = ? WHERE id IN (\(unlinked.map(String.init).joined(separator: ",")))",
                           arguments: [id])
        }
        let mailings = try Int64.fetchAll(db, sql: "SELECT DISTINCT mailing_id FROM delivery WHERE member_id = ?", arguments: [id])
        let inFlight = try Int64.fetchAll(db, sql: "SELECT id FROM delivery WHERE member_id = ? AND state = ?",
                                          arguments: [id, Delivery.State.sending.rawValue])
        if !inFlight.isEmpty {
            try db.execute(sql: """
                UPDATE delivery SET member_id = NULL, recipient = '', reply = NULL, cancel_requested = ?, updated_at = ?
                WHERE id IN (\(inFlight.map(String.init).joined(separator: ",")))
                """, arguments: [erased, now])
        }
        try db.execute(sql: "DELETE FROM delivery WHERE member_id = ?", arguments: [id])
        let deleted = db.changesCount
        try finishEmptied(db, mailings, now: now)
        return (deleted, inFlight)
    }

    /// The messages sent to an address that was never a member's (a join page confirmation, a test message), for an
    /// erasure of that address: deleted, or emptied while a daemon worker holds one, as `forget` does.
    static func forgetUnlinked(_ db: Database, address: EmailAddress, now: Date) throws -> (deleted: Int, inFlight: [Int64]) {
        var ids: [Int64] = []
        var sending: [Int64] = []
        var mailings: Set<Int64> = []
        for row in try Row.fetchAll(db, sql: "SELECT id, recipient, state, mailing_id FROM delivery WHERE member_id IS NULL AND recipient <> ''") {
            guard let recipient = try? EmailAddress(row["recipient"] as String), recipient.key == address.key else { continue }
            if row["state"] == Delivery.State.sending.rawValue { sending.append(row["id"]) } else { ids.append(row["id"]) }
            mailings.insert(row["mailing_id"])
        }
        if !sending.isEmpty {
            try db.execute(sql: """
                UPDATE delivery SET recipient = '', reply = NULL, cancel_requested = ?, updated_at = ?
                WHERE id IN (\(sending.map(String.init).joined(separator: ",")))
                """, arguments: [erased, now])
        }
        if !ids.isEmpty {
            try db.execute(sql: "DELETE FROM delivery WHERE id IN (\(ids.map(String.init).joined(separator: ",")))")
        }
        _ = try finishEmptied(db, Array(mailings), now: now)
        return (ids.count, sending)
    }

    /// Moves a person's messages to the record they are merged into (two records that turned out to be one person);
    /// a mailing both were on keeps the kept record's message, and the other is deleted with the merged record.
    static func reassign(_ db: Database, member merged: Int64, to kept: Int64) throws {
        try db.execute(sql: """
            UPDATE delivery SET member_id = ?
            WHERE member_id = ? AND mailing_id NOT IN (SELECT mailing_id FROM delivery WHERE member_id = ?)
            """, arguments: [kept, merged, kept])
    }

    /// Deletes what is left of erased people's messages once no worker holds them (or no daemon runs to let go of
    /// them); returns how many rows remain.
    static func forgetReleased(_ db: Database, _ ids: [Int64], daemonRunning: Bool) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let list = ids.map(String.init).joined(separator: ",")
        try db.execute(sql: """
            DELETE FROM delivery WHERE id IN (\(list)) AND cancel_requested = ? AND (state <> ? OR ?)
            """, arguments: [erased, Delivery.State.sending.rawValue, !daemonRunning])
        return try Int.fetchOne(db, sql: "SELECT count(*) FROM delivery WHERE id IN (\(list))") ?? 0
    }

    /// Puts deferred (and with `includeFailed`, failed) messages back in the queue now, for recipients who may still
    /// receive them; returns how many. A pause in force ends too: "try now" means now.
    static func retryNow(_ db: Database, mailing: Int64?, includeFailed: Bool, now: Date) throws -> Int {
        let states: Set<Delivery.State> = includeFailed ? [.deferred, .failed] : [.deferred]
        try db.execute(sql: """
            UPDATE delivery AS d SET state = '\(Delivery.State.queued.rawValue)', next_attempt_at = ?, failure = NULL, updated_at = ?
            WHERE d.state IN \(states.sqlList) AND (? IS NULL OR d.mailing_id = ?)
              AND EXISTS (SELECT 1 FROM mailing g LEFT JOIN member m ON m.id = d.member_id
                          WHERE g.id = d.mailing_id AND g.kind <> '\(Mailing.Kind.test.rawValue)' AND \(Eligibility.holdsSQL))
            """, arguments: [now, now, mailing, mailing])
        let count = db.changesCount
        if count > 0 {
            try db.execute(sql: """
                UPDATE mailing SET state = '\(Mailing.State.sending.rawValue)', updated_at = ?
                WHERE state = '\(Mailing.State.done.rawValue)' AND (? IS NULL OR id = ?)
                  AND id IN (SELECT mailing_id FROM delivery WHERE state = '\(Delivery.State.queued.rawValue)')
                """, arguments: [now, mailing, mailing])
            _ = try resume(db, now: now)
        }
        return count
    }
}
