import Foundation
import GRDB

/// After a session: "thank you for coming" to those who attended, "sorry we missed you" to those who sent apologies,
/// and, with `sessions.thank_no_shows`, "we missed you" to those invited who did neither; each carries the summary
/// (if any) and the invitation to the next session.
///
/// Members get them on the session-invitations stream. Guests and key individuals (people reached in their
/// professional role, or invited personally to the session, who are not on that stream) who came or sent apologies
/// get the same thank-you or "sorry we missed you" outside any stream; theirs carries the next session's invitation
/// only if they are invited to it, since they get no stream mail.
///
/// When: at the session's `follow_up_at` (by default the next local day, 10:00), or when its notes come if it is
/// held for them. People whose attendance is recorded later are reached when it is recorded; nobody twice.
struct SessionFollowUps {
    let context: WorkflowContext

    /// One follow-up message and who receives it.
    private struct Variant {
        let kind: Mailing.Kind
        let statuses: [Participation]
        /// How the audience is described, completed by "session N".
        let audience: String
        /// Whether guests and key individuals get it too (the no-show note is for members only).
        let personal: Bool
    }

    /// Members of a session's follow-up who are not on the session-invitations stream but may still be thanked:
    /// reached in their professional role (legitimate interest) or invited personally to the session. One
    /// argument, the session.
    static let personalSQL = """
        SELECT id FROM member WHERE session_invitations = 0
          AND (lawful_basis = '\(LawfulBasis.legitimateInterest.rawValue)' OR id IN (\(SessionInvitations.invitedPersonallySQL)))
        """

    /// Queues the follow-ups of every session whose time has come; returns the mailings that gained recipients.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        let due = try Session.fetchAll(db, sql: """
            \(Session.select)
            WHERE s.state = '\(Session.State.scheduled.rawValue)' AND s.follow_up_at <= ?
              AND (s.hold_for_notes = 0 OR s.notes_added_at IS NOT NULL)
              AND (s.followed_up_at IS NULL OR s.attendance_changed_at > s.followed_up_at)
            ORDER BY s.follow_up_at
            """, arguments: [now])
        var variants = [
            Variant(kind: .thankYou, statuses: [.attended], audience: "attended", personal: true),
            Variant(kind: .missedYou, statuses: [.apologies], audience: "sent apologies for", personal: true),
        ]
        if context.configuration.sessions.thankNoShows {
            variants.append(Variant(kind: .noShow, statuses: [.invited, .accepted, .maybe], audience: "did not come to", personal: false))
        }
        var results: [QueueingResult] = []
        for session in due {
            let sendAfter = startTime(of: session, now: now)
            // The invitation is to the next session as it was at the first thank-you; later additions get the same.
            let first = try OutboundQueue.existing(db, .workflow(key(.thankYou, session)))
            let invitation = try first?.invitationSessionID ?? Session.next(db, after: max(session.endsAt, now))?.id
            for variant in variants {
                // Once per person: whoever already has this kind of message about the session (in either mailing) is left out.
                let candidates = """
                    SELECT member_id FROM participation WHERE session_id = ? AND status IN \(variant.statuses.sqlList)
                      AND member_id NOT IN (SELECT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id
                                            WHERE g.session_id = ? AND g.kind = ? AND d.member_id IS NOT NULL)
                    """
                let arguments: StatementArguments = [session.id, session.id, variant.kind.rawValue]
                let plan = MailingPlan(
                    kind: variant.kind, stream: .sessionInvitations, audience: "\(variant.audience) session \(session.id)",
                    subject: context.subject(variant.kind.rawValue, session: session), body: "", sendAfter: sendAfter,
                    identity: .workflow(key(variant.kind, session)), createdBy: "circulate", sessionID: session.id,
                    invitationSessionID: invitation, recipients: .members(sql: candidates, arguments: arguments))
                try queue(db, plan, invitation: invitation, now: now, into: &results)
                if variant.personal {
                    try queuePersonal(db, plan, candidates: candidates, arguments: arguments, session: session, invitation: invitation,
                                      now: now, into: &results)
                }
            }
            try db.execute(sql: "UPDATE session SET followed_up_at = ?, updated_at = ? WHERE id = ?", arguments: [now, now, session.id])
        }
        return results
    }

    /// The guests' and key individuals' copy of a follow-up, outside any stream: those invited to the next session
    /// get it with that invitation, the others without. No empty mailing is made for the (usual) session without them.
    private func queuePersonal(_ db: Database, _ streamPlan: MailingPlan, candidates: String, arguments: StatementArguments,
                               session: Session, invitation: Int64?, now: Date, into results: inout [QueueingResult]) throws {
        let personal = "SELECT member_id FROM (\(candidates)) WHERE member_id IN (\(Self.personalSQL))"
        let personalArguments = arguments + [session.id]
        let groups: [(suffix: String, invitation: Int64?, sql: String, arguments: StatementArguments)]
        if let invitation {
            let invited = "member_id IN (\(SessionInvitations.invitedSQL))"
            groups = [(":guests-invited", invitation, "\(personal) AND \(invited)", personalArguments + [invitation]),
                      (":guests", nil, "\(personal) AND NOT \(invited)", personalArguments + [invitation])]
        } else {
            groups = [(":guests", nil, personal, personalArguments)]
        }
        for group in groups {
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(group.sql))", arguments: group.arguments) ?? 0 > 0 else { continue }
            var plan = streamPlan
            plan.stream = nil
            plan.audience = "guests and key individuals who " + streamPlan.audience
            plan.identity = .workflow(key(streamPlan.kind, session) + group.suffix)
            plan.invitationSessionID = group.invitation
            plan.recipients = .members(sql: group.sql, arguments: group.arguments)
            try queue(db, plan, invitation: group.invitation, now: now, into: &results)
        }
    }

    /// Queues one follow-up mailing; everyone it reaches with an invitation is recorded as invited to that session.
    private func queue(_ db: Database, _ plan: MailingPlan, invitation: Int64?, now: Date, into results: inout [QueueingResult]) throws {
        let result = try OutboundQueue.enqueue(db, plan, domain: context.domain, now: now)
        if result.added > 0 {
            if let invitation { try SessionInvitations.recordInvited(db, mailing: result.mailing, session: invitation, now: now) }
            results.append(result)
        }
    }

    /// When the follow-ups start. A thank-you that waited for the notes starts when they came, and attendance
    /// recorded after the thank-you time (a coordinator catching up) means "now", not "overdue": only a daemon that
    /// was off when everything was ready makes a thank-you late (and so held).
    private func startTime(of session: Session, now: Date) -> Date {
        if session.followedUpAt != nil { return now }
        var start = session.followUpAt
        if session.holdForNotes, let notesAt = session.notesAddedAt { start = max(start, notesAt) }
        if let recorded = session.attendanceChangedAt { start = max(start, recorded) }
        return start
    }

    private func key(_ kind: Mailing.Kind, _ session: Session) -> String { "\(kind.rawValue):\(session.id)" }

    /// The earliest instant at which `queueDue` has something to do, if any.
    static func nextDue(_ db: Database) throws -> Date? {
        try Date.fetchOne(db, sql: """
            SELECT min(follow_up_at) FROM session
            WHERE state = '\(Session.State.scheduled.rawValue)' AND followed_up_at IS NULL
              AND (hold_for_notes = 0 OR notes_added_at IS NOT NULL)
            """)
    }
}
