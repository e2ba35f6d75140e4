import Foundation
import GRDB

extension AppDatabase {
    /// Members sent the session's invitation personally, outside any stream (guests, key individuals).
    static let invitedPersonallySQL = """
        SELECT DISTINCT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id
        WHERE g.invitation_session_id = ? AND g.stream IS NULL AND d.member_id IS NOT NULL
          AND d.state IN ('queued', 'deferred', 'sending', 'sent')
        """

    /// Invites everyone with any of `tags` who may receive session invitations and has not been invited to the
    /// session yet (by an earlier invite or a thank-you) nor sent apologies. Each gets a personal invitation with
    /// the session's calendar object. `dryRun` changes nothing and says how many it would reach.
    public func invite(session id: Int64, tags: [String], sendAfter: Date, createdBy: String, dryRun: Bool, domain: String,
                       zone: TimeZone, now: Date) throws -> QueueingResult {
        guard !tags.isEmpty else { throw WorkflowError("say who to invite: --role member (repeatable), or --to EMAIL for a guest") }
        let body: (Database) throws -> QueueingResult = { db in
            let session = try Self.session(db, id: id)
            try Self.requireUpcoming(session, now: now)
            var arguments: StatementArguments = []
            for tag in tags { arguments += [tag] }
            arguments += [id, id]
            let candidates = """
                SELECT member_id FROM member_tag WHERE tag IN (\(tags.map { _ in "?" }.joined(separator: ", ")))
                  AND member_id NOT IN (\(Self.invitedSQL))
                  AND member_id NOT IN (SELECT member_id FROM participation WHERE session_id = ? AND status = 'apologies')
                """
            let subject = "You are invited: \(session.title), \(LocalTime.day(session.startsAt, in: zone))"
            // Members need the session-invitations stream; key individuals reached in their professional role
            // (legitimate interest) are invited personally even without it, as guests are.
            var result = try Self.enqueueWorkflow(db, WorkflowMailing(
                kind: .invitation, stream: .sessionInvitations, audience: "roles/tags \(tags.joined(separator: ", ")), invited to session \(id)",
                subject: subject, body: "", sendAfter: sendAfter, key: "invitation:\(id)", createdBy: createdBy,
                sessionID: id, invitationSessionID: id, reportID: nil),
                recipients: candidates, arguments: arguments, domain: domain, now: now)
            let direct = "SELECT id FROM member WHERE id IN (\(candidates)) AND lawful_basis = 'legitimate-interest' AND session_invitations = 0"
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(direct))", arguments: arguments) ?? 0 > 0 {
                let personal = try Self.enqueueWorkflow(db, WorkflowMailing(
                    kind: .invitation, stream: nil, audience: "key individuals invited to session \(id) in their professional role",
                    subject: subject, body: "", sendAfter: sendAfter, key: "invitation-guest:\(id)", createdBy: createdBy,
                    sessionID: id, invitationSessionID: id, reportID: nil),
                    recipients: direct, arguments: arguments, domain: domain, now: now)
                result.added += personal.added
                result.total += personal.total
            }
            return result
        }
        return dryRun ? try writeAndRollBack(body) : try write(body)
    }

    /// Invites one guest (a presenter, an "expert witness"), on the list or not. Someone new is recorded with the
    /// lawful basis of legitimate interest ("invited as presenter ... by ...") and no mailing stream, so they get this
    /// invitation and its reminders but no list mail. Inviting the same person again does nothing.
    public func inviteGuest(session id: Int64, address: EmailAddress, name: String, invitedBy: String, reason: String,
                            key: InstanceKey, sendAfter: Date, domain: String, zone: TimeZone, now: Date) throws -> QueueingResult {
        let cleanName = try TextField.clean(name, field: "name")
        return try write { db in
            let session = try Self.session(db, id: id)
            try Self.requireUpcoming(session, now: now)
            if let erasedAt = try Self.erasedAt(db, hash: key.suppressionHash(for: address)) {
                throw MemberError.erased(address: address.description, erasedAt: erasedAt)
            }
            let memberID: Int64
            if let existing = try Self.member(db, key: address.key), let existingID = existing.id {
                guard existing.status == .active, existing.lawfulBasis != nil else {
                    throw WorkflowError("\(address) has left the list (\(existing.status.rawValue)) and is not invited; if they asked to come, record it with `circulate member edit \(address) --resubscribe --source \"...\"` first")
                }
                memberID = existingID
            } else {
                let grant = try ConsentGrant(lawfulBasis: .legitimateInterest, source: "\(reason) (session \(id)), invited by \(invitedBy)",
                                             wordingVersion: nil, recordedBy: invitedBy)
                let new = try NewMember(address: address, name: cleanName, organisation: nil, tags: ["guest"],
                                        streams: StreamPreferences(monthlyUpdate: false, sessionInvitations: false, reports: false))
                guard let inserted = try Self.insertMember(db, new, grant: grant, now: now).id else {
                    throw StorageError(kind: .storage, "member row without id")
                }
                memberID = inserted
            }
            return try Self.enqueueWorkflow(db, WorkflowMailing(
                kind: .invitation, stream: nil, audience: "guests invited to session \(id)",
                subject: "You are invited: \(session.title), \(LocalTime.day(session.startsAt, in: zone))",
                body: "", sendAfter: sendAfter, key: "invitation-guest:\(id)", createdBy: invitedBy,
                sessionID: id, invitationSessionID: id, reportID: nil),
                recipients: "SELECT ? WHERE ? NOT IN (\(Self.invitedSQL))", arguments: [memberID, memberID, id], domain: domain, now: now)
        }
    }

    /// Records a person's answer for a session: coming (accepted), not coming (apologies), or not sure (invited).
    /// Apologies cancel any reminder still waiting for them. Someone recorded as attended stays attended.
    public func recordAnswer(session id: Int64, address: EmailAddress, answer: Participation, now: Date) throws -> Participation {
        guard answer != .attended else { throw WorkflowError("attendance comes from the sign-in sheet: circulate session attendance \(id) FILE.csv") }
        return try write { db in
            _ = try Self.session(db, id: id)
            guard let member = try Self.member(db, key: address.key), let memberID = member.id else {
                throw MemberError.unknown(address: address.description)
            }
            try db.execute(sql: """
                INSERT INTO participation (session_id, member_id, status, recorded_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(session_id, member_id) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
                WHERE participation.status <> 'attended'
                """, arguments: [id, memberID, answer.rawValue, now])
            if answer == .apologies {
                try db.execute(sql: """
                    UPDATE delivery SET state = 'cancelled', reply = 'sent apologies', updated_at = ?
                    WHERE member_id = ? AND state IN ('queued', 'deferred')
                      AND mailing_id IN (SELECT id FROM mailing WHERE session_id = ? AND kind = 'reminder')
                    """, arguments: [now, memberID, id])
            }
            let status = try String.fetchOne(db, sql: "SELECT status FROM participation WHERE session_id = ? AND member_id = ?",
                                             arguments: [id, memberID])
            return status.flatMap(Participation.init(rawValue:)) ?? answer
        }
    }

    /// Queues each due reminder once per session start time: everyone invited who has not sent apologies and may
    /// still be mailed. A session moved after a reminder gets the reminder for its new time; one moved before only
    /// ever has the new time announced. Cancelled and started sessions get none.
    public func queueSessionReminders(rule: ReminderRule, now: Date, domain: String) throws -> [QueueingResult] {
        try write { db in
            let upcoming = try Row.fetchAll(db, sql: """
                \(Self.sessionSelect) WHERE s.state = 'scheduled' AND s.starts_at > ? AND s.starts_at <= ? ORDER BY s.starts_at
                """, arguments: [now, now.addingTimeInterval(Double(rule.daysBefore + 2) * 86_400)]).map(Session.init(row:))
            var results: [QueueingResult] = []
            for session in upcoming {
                for reminder in rule.reminders(forSessionStarting: session.startsAt) where reminder.at <= now {
                    let result = try Self.enqueueToInvited(db, WorkflowMailing(
                        kind: .reminder, stream: .sessionInvitations, audience: "invited to session \(session.id), still expected",
                        subject: "Reminder: \(session.title)", body: "", sendAfter: reminder.at,
                        key: "reminder:\(session.id):\(Int(session.startsAt.timeIntervalSince1970)):\(reminder.name)",
                        createdBy: "circulate", sessionID: session.id, invitationSessionID: session.id, reportID: nil),
                        session: session.id, exceptApologies: true, domain: domain, now: now)
                    if result.added > 0 { results.append(result) }
                }
            }
            return results
        }
    }

    /// The one way a message reaches everyone invited to a session (a change, a cancellation, a reminder), with or
    /// without those who sent apologies. Members on the session-invitations stream get `m`; people invited personally
    /// who are not on the stream (guests, key individuals) get the same message through a mailing outside the stream,
    /// since `m`'s stream check would skip them. Returns `m`'s mailing with the others counted in.
    static func enqueueToInvited(_ db: Database, _ m: WorkflowMailing, session id: Int64, exceptApologies: Bool = false,
                                 domain: String, now: Date) throws -> QueueingResult {
        let apologies = exceptApologies
            ? " AND member_id NOT IN (SELECT member_id FROM participation WHERE session_id = ? AND status = 'apologies')" : ""
        let arguments: StatementArguments = exceptApologies ? [id, id] : [id]
        var result = try enqueueWorkflow(db, m, recipients: "SELECT member_id FROM (\(invitedSQL)) WHERE 1\(apologies)",
                                         arguments: arguments, domain: domain, now: now)
        let personal = """
            SELECT member_id FROM (\(invitedPersonallySQL))
            WHERE member_id IN (SELECT id FROM member WHERE session_invitations = 0)\(apologies)
            """
        // Most sessions have nobody invited personally: make no empty mailing for them.
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(personal))", arguments: arguments) ?? 0 > 0 {
            var outsideStream = m
            outsideStream.stream = nil
            outsideStream.key += ":guests"
            let extra = try enqueueWorkflow(db, outsideStream, recipients: personal, arguments: arguments, domain: domain, now: now)
            result.added += extra.added
            result.total += extra.total
        }
        return result
    }

    /// The next reminder instant after `now`, for the scheduler's sleep.
    public func nextReminder(rule: ReminderRule, now: Date) throws -> Date? {
        try fetch { db in
            let starts = try Date.fetchAll(db, sql: "SELECT starts_at FROM session WHERE state = 'scheduled' AND starts_at > ? AND starts_at <= ?",
                                           arguments: [now, now.addingTimeInterval(Double(rule.daysBefore + 2) * 86_400)])
            return starts.flatMap { rule.reminders(forSessionStarting: $0).map(\.at) }.filter { $0 > now }.min()
        }
    }

    static func requireUpcoming(_ session: Session, now: Date) throws {
        guard session.state == .scheduled else { throw WorkflowError("session \(session.id) is cancelled; nobody can be invited to it") }
        guard session.startsAt > now else { throw WorkflowError("session \(session.id) has already started; invite people to a later one") }
    }
}
