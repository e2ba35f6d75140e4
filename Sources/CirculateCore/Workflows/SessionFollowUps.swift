import Foundation
import GRDB

/// After a session: "thank you for coming" to those who attended, "sorry we missed you" to those who sent apologies,
/// and, with `sessions.thank_no_shows`, "we missed you" to those invited who did neither; each carries the summary
/// (if any) and the invitation to the next session.
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
    }

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
            Variant(kind: .thankYou, statuses: [.attended], audience: "attended"),
            Variant(kind: .missedYou, statuses: [.apologies], audience: "sent apologies for"),
        ]
        if context.configuration.sessions.thankNoShows {
            variants.append(Variant(kind: .noShow, statuses: [.invited, .accepted, .maybe], audience: "did not come to"))
        }
        var results: [QueueingResult] = []
        for session in due {
            let sendAfter = startTime(of: session, now: now)
            // The invitation is to the next session as it was at the first thank-you; later additions get the same.
            let first = try OutboundQueue.existing(db, .workflow(key(.thankYou, session)))
            let invitation = try first?.invitationSessionID ?? Session.next(db, after: max(session.endsAt, now))?.id
            for variant in variants {
                let result = try OutboundQueue.enqueue(db, MailingPlan(
                    kind: variant.kind, stream: .sessionInvitations, audience: "\(variant.audience) session \(session.id)",
                    subject: context.subject(variant.kind.rawValue, session: session), body: "", sendAfter: sendAfter,
                    identity: .workflow(key(variant.kind, session)), createdBy: "circulate", sessionID: session.id,
                    invitationSessionID: invitation,
                    recipients: .members(sql: """
                        SELECT member_id FROM participation WHERE session_id = ? AND status IN \(variant.statuses.sqlList)
                        """, arguments: [session.id])), domain: context.domain, now: now)
                if result.added > 0 {
                    if let invitation { try SessionInvitations.recordInvited(db, mailing: result.mailing, session: invitation, now: now) }
                    results.append(result)
                }
            }
            try db.execute(sql: "UPDATE session SET followed_up_at = ?, updated_at = ? WHERE id = ?", arguments: [now, now, session.id])
        }
        return results
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
