import Foundation
import GRDB

extension AppDatabase {
    // MARK: - Topics

    /// Adds a topic; titles are unique, ignoring case.
    public func addTopic(title: String, description: String, now: Date) throws -> Topic {
        let clean = try TextField.clean(title, field: "title")
        guard !clean.isEmpty else { throw InvalidField(field: "title", value: title, problem: "is empty") }
        let about = try TextField.clean(description, field: "description", maxLength: 1000)
        return try write { db in
            if try Self.topic(db, reference: clean) != nil {
                throw WorkflowError("a topic called \"\(clean)\" already exists; see `circulate topic show \"\(clean)\"`")
            }
            try db.execute(sql: """
                INSERT INTO topic (title, title_key, description, state, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?)
                """, arguments: [clean, clean.lowercased(), about, now, now])
            return try Self.topic(db, id: db.lastInsertedRowID)
        }
    }

    /// Every topic, open ones first, newest first within each.
    public func topics() throws -> [(topic: Topic, sessions: Int, reports: Int)] {
        try fetch { db in
            try Row.fetchAll(db, sql: """
                SELECT t.*, (SELECT count(*) FROM session s WHERE s.topic_id = t.id) AS sessions,
                       (SELECT count(*) FROM report r WHERE r.topic_id = t.id) AS reports
                FROM topic t ORDER BY t.state = 'closed', t.id DESC
                """).map { (Topic(row: $0), $0["sessions"], $0["reports"]) }
        }
    }

    /// A topic by number or title, with its sessions and reports.
    public func topicDetails(_ reference: String) throws -> TopicDetails {
        try fetch { db in
            guard let topic = try Self.topic(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
            let sessions = try Row.fetchAll(db, sql: "\(Self.sessionSelect) WHERE s.topic_id = ? ORDER BY s.starts_at",
                                            arguments: [topic.id]).map(Session.init(row:))
            let reports = try Row.fetchAll(db, sql: "\(Self.reportSelect) WHERE topic_id = ? ORDER BY id", arguments: [topic.id])
                .map(Report.init(row:))
            return TopicDetails(topic: topic, sessions: sessions, reports: reports)
        }
    }

    /// Closes a topic: no new sessions can be added to it. Returns the sessions still to come (worth a look).
    public func closeTopic(_ reference: String, now: Date) throws -> (topic: Topic, upcoming: [Session]) {
        try write { db in
            guard var topic = try Self.topic(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
            if topic.state == .open {
                try db.execute(sql: "UPDATE topic SET state = 'closed', closed_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [now, now, topic.id])
                topic = try Self.topic(db, id: topic.id)
            }
            let upcoming = try Row.fetchAll(db, sql: """
                \(Self.sessionSelect) WHERE s.topic_id = ? AND s.state = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at
                """, arguments: [topic.id, now]).map(Session.init(row:))
            return (topic, upcoming)
        }
    }

    static func topic(_ db: Database, reference: String) throws -> Topic? {
        let trimmed = reference.trimmedSpaces
        if let id = Int64(trimmed), let row = try Row.fetchOne(db, sql: "SELECT * FROM topic WHERE id = ?", arguments: [id]) {
            return Topic(row: row)
        }
        return try Row.fetchOne(db, sql: "SELECT * FROM topic WHERE title_key = ?", arguments: [trimmed.lowercased()]).map(Topic.init(row:))
    }

    static func topic(_ db: Database, id: Int64) throws -> Topic {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM topic WHERE id = ?", arguments: [id]) else {
            throw WorkflowError.noTopic(String(id))
        }
        return Topic(row: row)
    }

    // MARK: - Sessions

    static let sessionSelect = "SELECT s.*, t.title AS topic_title FROM session s LEFT JOIN topic t ON t.id = s.topic_id"

    /// Adds a session; its thank-you is timed by `followUp`.
    public func addSession(_ new: NewSession, followUp: FollowUpRule, now: Date) throws -> Session {
        try write { db in
            var topic: Topic?
            if let reference = new.topic {
                guard let found = try Self.topic(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
                guard found.state == .open else {
                    throw WorkflowError("the topic \"\(found.title)\" is closed; add the session without --topic, or to another topic")
                }
                topic = found
            }
            guard let title = new.title ?? topic?.title else {
                throw WorkflowError("a session needs a --title, or a --topic whose title it takes")
            }
            try db.execute(sql: """
                INSERT INTO session (topic_id, title, starts_at, ends_at, venue_name, venue_address, online_link, facilitator,
                                     state, hold_for_notes, follow_up_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?)
                """, arguments: [topic?.id, title, new.startsAt, new.endsAt, new.venueName, new.venueAddress, new.onlineLink,
                                 new.facilitator, new.holdForNotes, followUp.followUp(afterSessionEnding: new.endsAt), now, now])
            return try Self.session(db, id: db.lastInsertedRowID)
        }
    }

    /// Sessions by start time: all, or only those not yet over (`from`).
    public func sessions(from: Date?) throws -> [Session] {
        try fetch { db in
            try Row.fetchAll(db, sql: "\(Self.sessionSelect) WHERE (? IS NULL OR s.ends_at >= ?) ORDER BY s.starts_at, s.id",
                             arguments: [from, from]).map(Session.init(row:))
        }
    }

    /// One session with the people recorded for it.
    public func sessionDetails(_ id: Int64) throws -> SessionDetails {
        try fetch { db in
            let session = try Self.session(db, id: id)
            let people = try Row.fetchAll(db, sql: """
                SELECT p.member_id, p.status, m.email, m.name, m.status AS member_status, m.lawful_basis, m.session_invitations
                FROM participation p JOIN member m ON m.id = p.member_id
                WHERE p.session_id = ? ORDER BY p.status, lower(m.name), m.email_key
                """, arguments: [id]).map { row in
                    SessionDetails.Person(memberID: row["member_id"], email: row["email"], name: row["name"],
                                          status: Participation(rawValue: row["status"]) ?? .invited,
                                          mailable: row["member_status"] == "active" && (row["lawful_basis"] as String?) != nil
                                            && row["session_invitations"] == true)
                }
            let invited = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(Self.invitedSQL))", arguments: [id]) ?? 0
            let mailings = try Int64.fetchAll(db, sql: """
                SELECT id FROM mailing WHERE session_id = ? AND kind IN ('thank-you', 'missed-you') ORDER BY id
                """, arguments: [id])
            return SessionDetails(session: session, people: people, invited: invited, followUpMailings: mailings)
        }
    }

    /// Member ids of everyone sent (or about to be sent) the session's calendar invitation.
    static let invitedSQL = """
        SELECT DISTINCT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id
        WHERE g.invitation_session_id = ? AND d.member_id IS NOT NULL AND d.state IN ('queued', 'deferred', 'sending', 'sent')
        """

    /// Changes a session. If the time, place, link or title changes and people have been invited, they get an
    /// update (same calendar UID, SEQUENCE raised) in the same transaction.
    public func editSession(_ id: Int64, changes: SessionChanges, followUp: FollowUpRule, createdBy: String, domain: String,
                            now: Date) throws -> SessionChangeResult {
        var changes = changes
        try changes.validate()
        return try write { db in
            let before = try Self.session(db, id: id)
            guard before.state == .scheduled else {
                throw WorkflowError("session \(id) is cancelled; add a new session instead")
            }
            var after = before
            if let v = changes.title { after.title = v }
            if let v = changes.startsAt { after.startsAt = v }
            if let v = changes.endsAt { after.endsAt = v }
            if changes.startsAt != nil && changes.endsAt == nil {
                // Moving the start keeps the length, unless a new end is given.
                after.endsAt = after.startsAt.addingTimeInterval(before.endsAt.timeIntervalSince(before.startsAt))
            }
            if case .some(let v) = changes.venueName { after.venueName = v }
            if case .some(let v) = changes.venueAddress { after.venueAddress = v }
            if case .some(let v) = changes.onlineLink { after.onlineLink = v }
            if case .some(let v) = changes.facilitator { after.facilitator = v }
            if let v = changes.holdForNotes { after.holdForNotes = v }
            guard after.endsAt > after.startsAt else {
                throw WorkflowError("the session would end (\(LocalTime.short(after.endsAt, in: followUp.timeZone))) before it starts (\(LocalTime.short(after.startsAt, in: followUp.timeZone))); give both --start and --end")
            }
            if after.endsAt != before.endsAt && before.followedUpAt == nil {
                after.followUpAt = followUp.followUp(afterSessionEnding: after.endsAt)
            }
            let material = after.title != before.title || after.startsAt != before.startsAt || after.endsAt != before.endsAt
                || after.location != before.location || after.onlineLink != before.onlineLink
            var notice: QueueingResult?
            let invited = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(Self.invitedSQL))", arguments: [id]) ?? 0
            if material && invited > 0 && changes.notify && after.endsAt > now {
                after.sequence += 1
            }
            after.updatedAt = now
            try db.execute(sql: """
                UPDATE session SET title = ?, starts_at = ?, ends_at = ?, venue_name = ?, venue_address = ?, online_link = ?,
                       facilitator = ?, hold_for_notes = ?, follow_up_at = ?, sequence = ?, updated_at = ?
                WHERE id = ?
                """, arguments: [after.title, after.startsAt, after.endsAt, after.venueName, after.venueAddress, after.onlineLink,
                                 after.facilitator, after.holdForNotes, after.followUpAt, after.sequence, now, id])
            if after.sequence > before.sequence {
                let moved = after.startsAt != before.startsAt
                notice = try Self.enqueueToInvited(db, WorkflowMailing(
                    kind: .sessionChanged, stream: .sessionInvitations,
                    audience: "people invited to session \(id)",
                    subject: (moved ? "New date: " : "Change to: ") + after.title,
                    body: "", sendAfter: now, key: "session-changed:\(id):\(after.sequence)", createdBy: createdBy,
                    sessionID: id, invitationSessionID: id, reportID: nil), session: id, domain: domain, now: now)
            }
            return SessionChangeResult(session: try Self.session(db, id: id), materialChange: material, notice: notice)
        }
    }

    /// Cancels a session: no thank-you for it; everyone invited gets a cancellation (METHOD:CANCEL, SEQUENCE raised).
    public func cancelSession(_ id: Int64, reason: String?, createdBy: String, domain: String, now: Date) throws -> SessionChangeResult {
        let why = try reason.map { (r) throws(InvalidField) in try TextField.clean(r, field: "reason", maxLength: 500) }
        return try write { db in
            let before = try Self.session(db, id: id)
            guard before.state == .scheduled else {
                return SessionChangeResult(session: before, materialChange: false, notice: nil)
            }
            let invited = try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(Self.invitedSQL))", arguments: [id]) ?? 0
            let sequence = before.sequence + (invited > 0 ? 1 : 0)
            try db.execute(sql: "UPDATE session SET state = 'cancelled', sequence = ?, updated_at = ? WHERE id = ?",
                           arguments: [sequence, now, id])
            var notice: QueueingResult?
            if invited > 0 && before.endsAt > now {
                notice = try Self.enqueueToInvited(db, WorkflowMailing(
                    kind: .sessionCancelled, stream: .sessionInvitations, audience: "people invited to session \(id)",
                    subject: "Cancelled: \(before.title)", body: why ?? "", sendAfter: now,
                    key: "session-cancelled:\(id)", createdBy: createdBy,
                    sessionID: id, invitationSessionID: id, reportID: nil), session: id, domain: domain, now: now)
            }
            return SessionChangeResult(session: try Self.session(db, id: id), materialChange: true, notice: notice)
        }
    }

    /// Adds (or replaces) a session's summary notes.
    public func setNotes(_ id: Int64, markdown: String, now: Date) throws -> Session {
        guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw WorkflowError("the notes file is empty; write the summary in it first")
        }
        return try write { db in
            _ = try Self.session(db, id: id)
            try db.execute(sql: "UPDATE session SET notes_markdown = ?, notes_added_at = ?, updated_at = ? WHERE id = ?",
                           arguments: [markdown, now, now, id])
            return try Self.session(db, id: id)
        }
    }

    static func session(_ db: Database, id: Int64) throws -> Session {
        guard let row = try Row.fetchOne(db, sql: "\(sessionSelect) WHERE s.id = ?", arguments: [id]) else {
            throw WorkflowError.noSession(id)
        }
        return Session(row: row)
    }

    /// The next session still to come after `date` (by start), if any.
    static func nextSession(_ db: Database, after date: Date) throws -> Session? {
        try Row.fetchOne(db, sql: "\(sessionSelect) WHERE s.state = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at, s.id LIMIT 1",
                         arguments: [date]).map(Session.init(row:))
    }

    /// Public form of `nextSession`, for the closing line of messages.
    public func nextSession(after date: Date) throws -> Session? {
        try fetch { db in try Self.nextSession(db, after: date) }
    }
}

extension Topic {
    init(row: Row) {
        id = row["id"]
        title = row["title"]
        description = row["description"]
        state = State(rawValue: row["state"]) ?? .open
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        closedAt = row["closed_at"]
    }
}

extension Session {
    init(row: Row) {
        id = row["id"]
        topicID = row["topic_id"]
        topicTitle = row["topic_title"]
        title = row["title"]
        startsAt = row["starts_at"]
        endsAt = row["ends_at"]
        venueName = row["venue_name"]
        venueAddress = row["venue_address"]
        onlineLink = row["online_link"]
        facilitator = row["facilitator"]
        notesMarkdown = row["notes_markdown"]
        notesAddedAt = row["notes_added_at"]
        state = State(rawValue: row["state"]) ?? .scheduled
        sequence = row["sequence"]
        holdForNotes = row["hold_for_notes"]
        followUpAt = row["follow_up_at"]
        followedUpAt = row["followed_up_at"]
        attendanceChangedAt = row["attendance_changed_at"]
        unlistedAttendees = row["unlisted_attendees"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}
