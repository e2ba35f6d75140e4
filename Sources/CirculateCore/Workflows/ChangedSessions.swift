import Foundation
import GRDB

/// A session that changes or is cancelled after people were invited: everyone invited hears of it once, with a
/// calendar update (same UID, SEQUENCE raised) or a cancellation; a cancelled session's waiting invitations and
/// reminders are cancelled in the same transaction.
struct ChangedSessions {
    let context: WorkflowContext

    /// Applies `changes` to a session; if its time, place, link or title changes and people were invited, they get
    /// an update.
    func edit(_ db: Database, session id: Int64, changes: SessionChanges, createdBy: String, now: Date) throws -> SessionChangeResult {
        let zone = context.zone
        let before = try Session.find(db, id: id)
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
            throw WorkflowError("the session would end (\(LocalTime.short(after.endsAt, in: zone))) before it starts (\(LocalTime.short(after.startsAt, in: zone))); give both --start and --end")
        }
        if after.endsAt != before.endsAt && before.followedUpAt == nil {
            after.followUpAt = context.configuration.followUpRule.followUp(afterSessionEnding: after.endsAt)
        }
        let material = after.title != before.title || after.startsAt != before.startsAt || after.endsAt != before.endsAt
            || after.location != before.location || after.onlineLink != before.onlineLink
        let invited = try SessionInvitations.invitedCount(db, session: id)
        if material && invited > 0 && changes.notify && after.endsAt > now {
            after.sequence += 1
        }
        try db.execute(sql: """
            UPDATE session SET title = ?, starts_at = ?, ends_at = ?, venue_name = ?, venue_address = ?, online_link = ?,
                   facilitator = ?, hold_for_notes = ?, follow_up_at = ?, sequence = ?, updated_at = ?
            WHERE id = ?
            """, arguments: [after.title, after.startsAt, after.endsAt, after.venueName, after.venueAddress, after.onlineLink,
                             after.facilitator, after.holdForNotes, after.followUpAt, after.sequence, now, id])
        var notice: QueueingResult?
        if after.sequence > before.sequence {
            let moved = after.startsAt != before.startsAt
            let key = "session-changed:\(id):\(after.sequence)"
            notice = try SessionInvitations.reachInvited(
                db, kind: .sessionChanged, subject: context.subject(moved ? "session-moved" : "session-changed", session: after),
                sendAfter: now, key: key, createdBy: createdBy, session: id, context: context, now: now)
            if moved {
                // A "new date" message names the old date as well as the new one: keep it with the messages.
                try db.execute(sql: """
                    INSERT OR IGNORE INTO session_move (mailing_id, previous_starts_at, previous_ends_at)
                    SELECT id, ?, ? FROM mailing WHERE idempotency_key IN (?, ?)
                    """, arguments: [before.startsAt, before.endsAt, key, key + ":guests"])
            }
        }
        return SessionChangeResult(session: try Session.find(db, id: id), materialChange: material, notice: notice)
    }

    /// Cancels a session: no thank-you for it, its waiting invitations and reminders are cancelled, and everyone
    /// who was sent the invitation gets a cancellation (METHOD:CANCEL, SEQUENCE raised) unless `notify` is off.
    func cancel(_ db: Database, session id: Int64, reason: String?, notify: Bool, createdBy: String, now: Date) throws -> SessionChangeResult {
        let before = try Session.find(db, id: id)
        guard before.state == .scheduled else {
            return SessionChangeResult(session: before, materialChange: false, notice: nil)
        }
        // First the messages about it that have not gone yet: whoever never received the invitation needs no
        // cancellation either.
        let withdrawal = Withdrawal(try OutboundQueue.cancel(
            db, CancelSelector(session: id, kinds: [.invitation, .reminder, .sessionChanged]), reason: "the session was cancelled", now: now))
        let invited = try SessionInvitations.invitedCount(db, session: id)
        let sequence = before.sequence + (invited > 0 ? 1 : 0)
        try db.execute(sql: "UPDATE session SET state = ?, sequence = ?, updated_at = ? WHERE id = ?",
                       arguments: [Session.State.cancelled.rawValue, sequence, now, id])
        var notice: QueueingResult?
        if notify && invited > 0 && before.endsAt > now {
            notice = try SessionInvitations.reachInvited(
                db, kind: .sessionCancelled, subject: context.subject("session-cancelled", session: before), body: reason ?? "",
                sendAfter: now, key: "session-cancelled:\(id)", createdBy: createdBy, session: id, context: context, now: now)
        }
        var result = SessionChangeResult(session: try Session.find(db, id: id), materialChange: true, notice: notice)
        result.withdrawal = withdrawal
        return result
    }
}
