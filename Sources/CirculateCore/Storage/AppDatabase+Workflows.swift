import Foundation
import GRDB

/// A mailing the workflows make (thank-yous, updates, reports, notices): what it is and what it is about.
struct WorkflowMailing {
    var kind: Mailing.Kind
    var stream: MailStream?
    var audience: String
    var subject: String
    var body: String
    var sendAfter: Date
    /// "The same send": making it again finds the existing mailing, and adds only people not yet on it.
    var key: String
    var createdBy: String
    var sessionID: Int64?
    var invitationSessionID: Int64?
    var reportID: Int64?
}

extension AppDatabase {
    /// The one way workflow mailings enter the queue (beside `enqueue` for coordinator sends): finds or makes the
    /// mailing by its key and adds a delivery for each member the `recipients` query returns who may receive the
    /// stream now. Nobody is added twice, however often this runs.
    static func enqueueWorkflow(_ db: Database, _ m: WorkflowMailing, recipients: String, arguments: StatementArguments,
                                domain: String, now: Date) throws -> QueueingResult {
        var existed = true
        if try Self.mailing(db, key: m.key) == nil {
            existed = false
            try db.execute(sql: """
                INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key,
                                     created_by, created_at, updated_at, session_id, invitation_session_id, report_id)
                VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [m.kind.rawValue, m.stream?.rawValue, m.audience, m.subject, m.body, m.sendAfter, m.key,
                                 m.createdBy, now, now, m.sessionID, m.invitationSessionID, m.reportID])
        }
        guard let mailing = try Self.mailing(db, key: m.key), let id = mailing.id else {
            throw StorageError(kind: .storage, "mailing vanished")
        }
        guard mailing.state != .cancelled else {
            return QueueingResult(mailing: mailing, added: 0, total: try deliveryCount(db, mailing: id), existed: existed)
        }
        var streamCheck = ""
        if let stream = m.stream { streamCheck = " AND m.\(column(for: stream)) = 1" }
        var all: StatementArguments = [id, domain, mailing.sendAfter, now, now]
        all += arguments
        try db.execute(sql: """
            INSERT OR IGNORE INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at)
            SELECT ?, m.id, m.email, lower(hex(randomblob(16))) || '@' || ?, 'queued', ?, ?, ?
            FROM member m
            WHERE m.id IN (\(recipients)) AND m.status = 'active' AND m.lawful_basis IS NOT NULL\(streamCheck)
            """, arguments: all)
        let added = db.changesCount
        if added > 0, let session = m.invitationSessionID, [.thankYou, .missedYou, .noShow, .invitation].contains(m.kind) {
            // Everyone sent an invitation has a participation record, "invited" until they answer or come.
            try db.execute(sql: """
                INSERT OR IGNORE INTO participation (session_id, member_id, status, recorded_at)
                SELECT ?, member_id, 'invited', ? FROM delivery WHERE mailing_id = ? AND member_id IS NOT NULL
                """, arguments: [session, now, id])
        }
        if added == 0 && !existed {
            // Nobody to send to (no apologies, everyone responded): finished, rather than left `sending` for ever.
            try db.execute(sql: "UPDATE mailing SET state = 'done', updated_at = ? WHERE id = ?", arguments: [now, id])
        }
        if added > 0 && mailing.state == .done {
            // People added after the mailing finished (attendance recorded late): it has work again.
            try db.execute(sql: "UPDATE mailing SET state = 'sending', updated_at = ? WHERE id = ?", arguments: [now, id])
        }
        let current = try Self.mailing(db, key: m.key) ?? mailing
        return QueueingResult(mailing: current, added: added, total: try deliveryCount(db, mailing: id), existed: existed)
    }

    /// Queues a message to the coordinator (not a member: no consent check, no unsubscribe link), once per key.
    static func enqueueCoordinatorNotice(_ db: Database, to address: EmailAddress, subject: String, body: String, key: String,
                                         domain: String, now: Date) throws -> QueueingResult {
        if let existing = try Self.mailing(db, key: key) {
            return QueueingResult(mailing: existing, added: 0, total: try deliveryCount(db, mailing: existing.id ?? -1), existed: true)
        }
        try db.execute(sql: """
            INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key,
                                 created_by, created_at, updated_at)
            VALUES ('coordinator-notice', NULL, 'the coordinator', ?, ?, ?, 'scheduled', ?, 'circulate', ?, ?)
            """, arguments: [subject, body, now, key, now, now])
        let id = db.lastInsertedRowID
        try db.execute(sql: """
            INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, queued_at, updated_at)
            VALUES (?, NULL, ?, lower(hex(randomblob(16))) || '@' || ?, 'queued', ?, ?, ?)
            """, arguments: [id, address.description, domain, now, now, now])
        guard let mailing = try Self.mailing(db, key: key) else { throw StorageError(kind: .storage, "mailing vanished") }
        return QueueingResult(mailing: mailing, added: 1, total: 1, existed: false)
    }

    // MARK: - The scheduler's steps, each one transaction, each safe to repeat

    /// Queues the thank-yous (and "sorry we missed you"s) of every session whose follow-up time has come and which
    /// is not waiting for its notes; also reaches people whose attendance was recorded after the thank-you went.
    /// Returns the mailings that gained recipients.
    public func queueSessionFollowUps(now: Date, domain: String, noShows: Bool = false) throws -> [QueueingResult] {
        try write { db in
            let due = try Row.fetchAll(db, sql: """
                \(Self.sessionSelect)
                WHERE s.state = 'scheduled' AND s.follow_up_at <= ?
                  AND (s.hold_for_notes = 0 OR s.notes_added_at IS NOT NULL)
                  AND (s.followed_up_at IS NULL OR s.attendance_changed_at > s.followed_up_at)
                ORDER BY s.follow_up_at
                """, arguments: [now]).map(Session.init(row:))
            var results: [QueueingResult] = []
            for session in due {
                // The invitation is to the next session at the time of the first thank-you; later additions get the same.
                // A thank-you that waited for the notes starts when they came, so it is not held as overdue.
                var sendAfter = session.followUpAt
                if session.holdForNotes, let notesAt = session.notesAddedAt { sendAfter = max(sendAfter, notesAt) }
                // Attendance recorded after the thank-you time (a coordinator catching up) means "now", not "overdue":
                // only a daemon that was off when everything was ready makes a thank-you late.
                if let recorded = session.attendanceChangedAt { sendAfter = max(sendAfter, recorded) }
                if session.followedUpAt != nil { sendAfter = now }
                let next = try Self.nextSession(db, after: max(session.endsAt, now))
                let nextID = try Self.mailing(db, key: "thank-you:\(session.id)")?.invitationSessionID ?? next?.id
                var variants: [(Mailing.Kind, [Participation], String, String)] = [
                    (.thankYou, [.attended], "Thank you for coming: \(session.title)", "attended"),
                    (.missedYou, [.apologies], "Sorry we missed you: \(session.title)", "sent apologies for"),
                ]
                // Invited (or said yes) but neither came nor sent apologies; off unless sessions.thank_no_shows.
                if noShows { variants.append((.noShow, [.invited, .accepted], "We missed you: \(session.title)", "did not come to")) }
                for (kind, statuses, subject, what) in variants {
                    let result = try Self.enqueueWorkflow(db, WorkflowMailing(
                        kind: kind, stream: .sessionInvitations, audience: "\(what) session \(session.id)",
                        subject: subject, body: "", sendAfter: sendAfter, key: "\(kind.rawValue):\(session.id)",
                        createdBy: "circulate", sessionID: session.id, invitationSessionID: nextID, reportID: nil),
                        recipients: "SELECT member_id FROM participation WHERE session_id = ? AND status IN (\(statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")))",
                        arguments: [session.id], domain: domain, now: now)
                    if result.added > 0 { results.append(result) }
                }
                try db.execute(sql: "UPDATE session SET followed_up_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [now, now, session.id])
            }
            return results
        }
    }

    /// The earliest instant at which `queueSessionFollowUps` has something to do, if any.
    public func nextSessionFollowUp() throws -> Date? {
        try fetch { db in
            try Date.fetchOne(db, sql: """
                SELECT min(follow_up_at) FROM session
                WHERE state = 'scheduled' AND followed_up_at IS NULL AND (hold_for_notes = 0 OR notes_added_at IS NOT NULL)
                """)
        }
    }

    static func mark(_ db: Database, _ name: String) throws -> Date? {
        try Date.fetchOne(db, sql: "SELECT value FROM scheduler_mark WHERE name = ?", arguments: [name])
    }

    static func setMark(_ db: Database, _ name: String, _ value: Date) throws {
        try db.execute(sql: """
            INSERT INTO scheduler_mark (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
            """, arguments: [name, value])
    }
}
