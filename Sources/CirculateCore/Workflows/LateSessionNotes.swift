import Foundation
import GRDB

/// Notes that come after the thank-you went without them: everyone whose thank-you or "sorry we missed you" was sent
/// before the notes existed (guests and key individuals included) gets one short "notes from the session" message.
/// Once per session: the mailing's key is found again, so editing the notes later, or a restart, sends nothing more.
struct LateSessionNotes {
    let context: WorkflowContext

    /// The follow-up kinds whose recipients are owed the notes.
    static let owedBy: Set<Mailing.Kind> = [.thankYou, .missedYou]

    /// Queues the notes of every session that has them for people reached without them; returns what gained recipients.
    func queueDue(_ db: Database, now: Date) throws -> [QueueingResult] {
        // A message sent (its last attempt begun) before the notes were first added could not carry them; one sent
        // later was built with them. `notes_added_at` keeps the first time notes were added.
        let owed = """
            SELECT d.member_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id JOIN session s ON s.id = g.session_id
            WHERE g.session_id = ? AND g.kind IN \(Self.owedBy.sqlList) AND d.member_id IS NOT NULL
              AND d.state = '\(Delivery.State.sent.rawValue)' AND d.last_attempt_at < s.notes_added_at
            """
        let due = try Session.fetchAll(db, sql: """
            \(Session.select)
            WHERE s.notes_added_at IS NOT NULL AND s.followed_up_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM mailing WHERE idempotency_key = '\(Mailing.Kind.sessionNotes.rawValue):' || s.id)
              AND EXISTS (\(owed.replacingOccurrences(of: "g.session_id = ?", with: "g.session_id = s.id")))
            """)
        var results: [QueueingResult] = []
        for session in due {
            let key = "\(Mailing.Kind.sessionNotes.rawValue):\(session.id)"
            var plan = MailingPlan(
                kind: .sessionNotes, stream: .sessionInvitations, audience: "thanked for session \(session.id) before its notes came",
                subject: context.subject(Mailing.Kind.sessionNotes.rawValue, session: session), body: "", sendAfter: now,
                identity: .workflow(key), createdBy: "circulate", sessionID: session.id,
                recipients: .members(sql: "\(owed) AND g.stream IS NOT NULL", arguments: [session.id]))
            // Always made, even empty: it is what marks the session's notes as sent.
            let members = try OutboundQueue.enqueue(db, plan, domain: context.domain, now: now)
            if members.added > 0 { results.append(members) }
            // Guests and key individuals were thanked outside any stream; their notes come the same way.
            let personal = "\(owed) AND g.stream IS NULL"
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(personal))", arguments: [session.id]) ?? 0 > 0 {
                plan.stream = nil
                plan.audience = "guests and key individuals " + plan.audience
                plan.identity = .workflow(key + ":guests")
                plan.recipients = .members(sql: personal, arguments: [session.id])
                let guests = try OutboundQueue.enqueue(db, plan, domain: context.domain, now: now)
                if guests.added > 0 { results.append(guests) }
            }
        }
        return results
    }
}
