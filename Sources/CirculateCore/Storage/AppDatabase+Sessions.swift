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
            if try Topic.find(db, reference: clean) != nil {
                throw WorkflowError("a topic called \"\(clean)\" already exists; see `circulate topic show \"\(clean)\"`")
            }
            try db.execute(sql: """
                INSERT INTO topic (title, title_key, description, state, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?)
                """, arguments: [clean, clean.lowercased(), about, now, now])
            return try Topic.find(db, id: db.lastInsertedRowID)
        }
    }

    /// Every topic, open ones first, newest first within each.
    public func topics() throws -> [(topic: Topic, sessions: Int, reports: Int)] {
        try fetch { db in
            try Row.fetchAll(db, sql: """
                SELECT t.*, (SELECT count(*) FROM session s WHERE s.topic_id = t.id) AS sessions,
                       (SELECT count(*) FROM report r WHERE r.topic_id = t.id) AS reports
                FROM topic t ORDER BY t.state = 'closed', t.id DESC
                """).map { (try Topic(row: $0), $0["sessions"], $0["reports"]) }
        }
    }

    /// A topic by number or title, with its sessions and reports.
    public func topicDetails(_ reference: String) throws -> TopicDetails {
        try fetch { db in
            guard let topic = try Topic.find(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
            let sessions = try Session.fetchAll(db, sql: "\(Session.select) WHERE s.topic_id = ? ORDER BY s.starts_at", arguments: [topic.id])
            let reports = try Report.fetchAll(db, sql: "\(Report.select) WHERE topic_id = ? ORDER BY id", arguments: [topic.id])
            return TopicDetails(topic: topic, sessions: sessions, reports: reports)
        }
    }

    /// Closes a topic: no new sessions can be added to it. Returns the sessions still to come (worth a look).
    public func closeTopic(_ reference: String, now: Date) throws -> (topic: Topic, upcoming: [Session]) {
        try write { db in
            guard var topic = try Topic.find(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
            if topic.state == .open {
                try db.execute(sql: "UPDATE topic SET state = ?, closed_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [Topic.State.closed.rawValue, now, now, topic.id])
                topic = try Topic.find(db, id: topic.id)
            }
            let upcoming = try Session.fetchAll(db, sql: """
                \(Session.select) WHERE s.topic_id = ? AND s.state = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at
                """, arguments: [topic.id, now])
            return (topic, upcoming)
        }
    }

    // MARK: - Sessions

    /// Adds a session; its thank-you is timed by `followUp`.
    public func addSession(_ new: NewSession, followUp: FollowUpRule, now: Date) throws -> Session {
        try write { db in
            var topic: Topic?
            if let reference = new.topic {
                guard let found = try Topic.find(db, reference: reference) else { throw WorkflowError.noTopic(reference) }
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
            return try Session.find(db, id: db.lastInsertedRowID)
        }
    }

    /// Sessions by start time: all, or only those not yet over (`from`).
    public func sessions(from: Date?) throws -> [Session] {
        try fetch { db in
            try Session.fetchAll(db, sql: "\(Session.select) WHERE (? IS NULL OR s.ends_at >= ?) ORDER BY s.starts_at, s.id",
                                 arguments: [from, from])
        }
    }

    /// One session with the people recorded for it.
    public func sessionDetails(_ id: Int64) throws -> SessionDetails {
        try fetch { db in try Self.sessionDetails(db, id) }
    }

    static func sessionDetails(_ db: Database, _ id: Int64) throws -> SessionDetails {
        let session = try Session.find(db, id: id)
        let people = try Row.fetchAll(db, sql: """
            SELECT p.member_id, p.status, m.email, m.name, m.status AS member_status, m.lawful_basis, m.session_invitations,
                   p.member_id IN (\(SessionInvitations.invitedPersonallySQL)) AS personally
            FROM participation p JOIN member m ON m.id = p.member_id
            WHERE p.session_id = ? ORDER BY p.status, lower(m.name), m.email_key
            """, arguments: [id, id]).map { row in
                // Guests and key individuals invited personally hear of the session outside the stream, and key
                // individuals reached in their role are thanked outside it (SessionFollowUps.personalSQL), as long as
                // they have not left.
                let personally: Bool = row["personally"]
                let basis: String? = row["lawful_basis"]
                let held = row["member_status"] == "active" && basis != nil
                let inRole = basis == LawfulBasis.legitimateInterest.rawValue
                var person = SessionDetails.Person(memberID: row["member_id"], email: row["email"], name: row["name"],
                                                   status: try row.decode(Participation.self, forColumn: "status"),
                                                   mailable: held && (row["session_invitations"] == true || personally || inRole))
                person.invitedPersonally = personally
                person.inRole = inRole && row["session_invitations"] != true
                return person
            }
        let invited = try SessionInvitations.invitedCount(db, session: id)
        let mailings = try Row.fetchAll(db, sql: """
            SELECT id, state FROM mailing WHERE session_id = ? AND kind IN \([Mailing.Kind.thankYou, .missedYou, .sessionNotes].sqlList) ORDER BY id
            """, arguments: [id])
        var details = SessionDetails(session: session, people: people, invited: invited, followUpMailings: mailings.map { $0["id"] })
        details.followUpStates = try mailings.map { try $0.decode(Mailing.State.self, forColumn: "state") }
        return details
    }

    /// Changes a session. If the time, place, link or title changes and people have been invited, they get an
    /// update (same calendar UID, SEQUENCE raised) in the same transaction.
    public func editSession(_ id: Int64, changes: SessionChanges, context: WorkflowContext, createdBy: String,
                            now: Date) throws -> SessionChangeResult {
        var changes = changes
        try changes.validate()
        return try write { db in
            try ChangedSessions(context: context).edit(db, session: id, changes: changes, createdBy: createdBy, now: now)
        }
    }

    /// Cancels a session: its waiting invitations and reminders are cancelled, and everyone invited gets a
    /// cancellation (METHOD:CANCEL, SEQUENCE raised) unless `notify` is off.
    public func cancelSession(_ id: Int64, reason: String?, notify: Bool = true, context: WorkflowContext, createdBy: String,
                              now: Date) throws -> SessionChangeResult {
        let why = try reason.map { (r) throws(InvalidField) in try TextField.clean(r, field: "reason", maxLength: 500) }
        return try write { db in
            try ChangedSessions(context: context).cancel(db, session: id, reason: why, notify: notify, createdBy: createdBy, now: now)
        }
    }

    /// Adds (or replaces) a session's summary notes. Notes that come after the thank-you went are sent to the people
    /// it reached by the daemon, once (`LateSessionNotes`).
    public func setNotes(_ id: Int64, markdown: String, now: Date) throws -> Session {
        guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw WorkflowError("the notes file is empty; write the summary in it first")
        }
        return try write { db in
            _ = try Session.find(db, id: id)
            // `notes_added_at` stays the first time: it tells who was thanked before there were notes (see
            // `LateSessionNotes`), which a later edit does not change.
            try db.execute(sql: "UPDATE session SET notes_markdown = ?, notes_added_at = coalesce(notes_added_at, ?), updated_at = ? WHERE id = ?",
                           arguments: [markdown, now, now, id])
            return try Session.find(db, id: id)
        }
    }

    /// The next session still to come after `date` (by start), for the closing line of messages.
    public func nextSession(after date: Date) throws -> Session? {
        try fetch { db in try Session.next(db, after: date) }
    }
}
