import Foundation
import GRDB

/// Inviting people to a session (`session invite`): members with given roles who want session invitations, key
/// individuals reached in their professional role, and single guests. Each gets a personal invitation with the
/// session's calendar object; nobody is invited twice (an earlier invite or a thank-you that carried it counts), and
/// nobody who sent apologies.
///
/// "Invited" (who later hears of a change, a cancellation, a reminder) is defined here once: everyone a message
/// carrying the session's invitation has reached or still may reach.
struct SessionInvitations {
    let context: WorkflowContext

    /// Member ids of everyone sent (or about to be sent) the session's calendar invitation; one argument, the session.
    static let invitedSQL = """
        SELECT DISTINCT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id
        WHERE g.invitation_session_id = ? AND d.member_id IS NOT NULL AND d.state IN \(Delivery.State.reaching.sqlList)
        """

    /// Those of `invitedSQL` invited personally, outside any stream (guests, key individuals).
    static let invitedPersonallySQL = """
        SELECT DISTINCT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id
        WHERE g.invitation_session_id = ? AND g.stream IS NULL AND d.member_id IS NOT NULL
          AND d.state IN \(Delivery.State.reaching.sqlList)
        """

    /// How many people are invited to a session.
    static func invitedCount(_ db: Database, session: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(invitedSQL))", arguments: [session]) ?? 0
    }

    /// Invites everyone with any of `tags` who may be invited and is not yet; see the type's summary.
    func invite(_ db: Database, session id: Int64, tags: [String], sendAfter: Date, createdBy: String, now: Date) throws -> QueueingResult {
        let session = try Session.find(db, id: id)
        try Self.requireUpcoming(session, now: now)
        var arguments: StatementArguments = []
        for tag in tags { arguments += [tag] }
        arguments += [id, id]
        let candidates = """
            SELECT member_id FROM member_tag WHERE tag IN (\(tags.map { _ in "?" }.joined(separator: ", ")))
              AND member_id NOT IN (\(Self.invitedSQL))
              AND member_id NOT IN (SELECT member_id FROM participation WHERE session_id = ? AND status = '\(Participation.apologies.rawValue)')
            """
        let subject = context.subject("invitation", session: session)
        // Members need the session-invitations stream; key individuals reached in their professional role (legitimate
        // interest) are invited personally even without it, as guests are.
        var result = try OutboundQueue.enqueue(db, MailingPlan(
            kind: .invitation, stream: .sessionInvitations, audience: "roles/tags \(tags.joined(separator: ", ")), invited to session \(id)",
            subject: subject, body: "", sendAfter: sendAfter, identity: .workflow("invitation:\(id)"), createdBy: createdBy,
            sessionID: id, invitationSessionID: id, recipients: .members(sql: candidates, arguments: arguments)),
            domain: context.domain, now: now)
        try Self.recordInvited(db, mailing: result.mailing, session: id, now: now)
        let direct = """
            SELECT id FROM member WHERE id IN (\(candidates)) AND lawful_basis = '\(LawfulBasis.legitimateInterest.rawValue)'
              AND session_invitations = 0
            """
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(direct))", arguments: arguments) ?? 0 > 0 {
            let personal = try OutboundQueue.enqueue(db, MailingPlan(
                kind: .invitation, stream: nil, audience: "key individuals invited to session \(id) in their professional role",
                subject: subject, body: "", sendAfter: sendAfter, identity: .workflow("invitation-guest:\(id)"), createdBy: createdBy,
                sessionID: id, invitationSessionID: id, recipients: .members(sql: direct, arguments: arguments)),
                domain: context.domain, now: now)
            try Self.recordInvited(db, mailing: personal.mailing, session: id, now: now)
            result.added += personal.added
            result.total += personal.total
        }
        return result
    }

    /// Invites one person already on the list, or just recorded as a guest, personally (outside any stream).
    func inviteGuest(_ db: Database, session: Session, member memberID: Int64, sendAfter: Date, createdBy: String,
                     now: Date) throws -> QueueingResult {
        let result = try OutboundQueue.enqueue(db, MailingPlan(
            kind: .invitation, stream: nil, audience: "guests invited to session \(session.id)",
            subject: context.subject("invitation", session: session), body: "", sendAfter: sendAfter,
            identity: .workflow("invitation-guest:\(session.id)"), createdBy: createdBy, sessionID: session.id,
            invitationSessionID: session.id,
            recipients: .members(sql: "SELECT ? WHERE ? NOT IN (\(Self.invitedSQL))", arguments: [memberID, memberID, session.id])),
            domain: context.domain, now: now)
        try Self.recordInvited(db, mailing: result.mailing, session: session.id, now: now)
        return result
    }

    /// Everyone sent an invitation has a participation record, "invited" until they answer or come.
    static func recordInvited(_ db: Database, mailing: Mailing, session: Int64, now: Date) throws {
        guard let id = mailing.id else { return }
        try db.execute(sql: """
            INSERT OR IGNORE INTO participation (session_id, member_id, status, recorded_at)
            SELECT ?, member_id, '\(Participation.invited.rawValue)', ? FROM delivery WHERE mailing_id = ? AND member_id IS NOT NULL
            """, arguments: [session, now, id])
    }

    /// The one way a message reaches everyone invited to a session (a change, a cancellation, a reminder), with or
    /// without those who sent apologies. Members on the session-invitations stream get it through a mailing of that
    /// stream; people invited personally who are not on it (guests, key individuals) get the same message through a
    /// mailing outside the stream, since the stream rule would skip them. Returns the first mailing with the others
    /// counted in.
    static func reachInvited(_ db: Database, kind: Mailing.Kind, subject: String, body: String = "", sendAfter: Date, key: String,
                             createdBy: String, session id: Int64, exceptApologies: Bool = false, context: WorkflowContext,
                             now: Date) throws -> QueueingResult {
        let apologies = exceptApologies
            ? " AND member_id NOT IN (SELECT member_id FROM participation WHERE session_id = ? AND status = '\(Participation.apologies.rawValue)')"
            : ""
        let arguments: StatementArguments = exceptApologies ? [id, id] : [id]
        var plan = MailingPlan(
            kind: kind, stream: .sessionInvitations, audience: "people invited to session \(id)" + (exceptApologies ? ", still expected" : ""),
            subject: subject, body: body, sendAfter: sendAfter, identity: .workflow(key), createdBy: createdBy, sessionID: id,
            invitationSessionID: id,
            recipients: .members(sql: "SELECT member_id FROM (\(invitedSQL)) WHERE 1\(apologies)", arguments: arguments))
        var result = try OutboundQueue.enqueue(db, plan, domain: context.domain, now: now)
        let personal = """
            SELECT member_id FROM (\(invitedPersonallySQL))
            WHERE member_id IN (SELECT id FROM member WHERE session_invitations = 0)\(apologies)
            """
        // Most sessions have nobody invited personally: make no empty mailing for them.
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(personal))", arguments: arguments) ?? 0 > 0 {
            plan.stream = nil
            plan.identity = .workflow(key + ":guests")
            plan.recipients = .members(sql: personal, arguments: arguments)
            let extra = try OutboundQueue.enqueue(db, plan, domain: context.domain, now: now)
            result.added += extra.added
            result.total += extra.total
        }
        return result
    }

    /// Refuses a cancelled or started session.
    static func requireUpcoming(_ session: Session, now: Date) throws {
        guard session.state == .scheduled else { throw WorkflowError("session \(session.id) is cancelled; nobody can be invited to it") }
        guard session.startsAt > now else { throw WorkflowError("session \(session.id) has already started; invite people to a later one") }
    }
}
