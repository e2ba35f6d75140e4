import Foundation
import GRDB

extension AppDatabase {
    /// Invites everyone with any of `tags` who may be invited and has not been yet (see `SessionInvitations`).
    /// `dryRun` runs the same transaction and rolls it back, so its count is exact.
    public func invite(session id: Int64, tags: [String], sendAfter: Date, createdBy: String, dryRun: Bool, context: WorkflowContext,
                       now: Date) throws -> QueueingResult {
        guard !tags.isEmpty else { throw WorkflowError("say who to invite: --role member (repeatable), or --to EMAIL for a guest") }
        let body: (Database) throws -> QueueingResult = { db in
            try SessionInvitations(context: context).invite(db, session: id, tags: tags, sendAfter: sendAfter, createdBy: createdBy, now: now)
        }
        return dryRun ? try writeAndRollBack(body) : try write(body)
    }

    /// Invites one guest (a presenter, an "expert witness"), on the list or not. Someone new is recorded with the
    /// lawful basis of legitimate interest ("invited as presenter ... by ...") and no mailing stream, so they get this
    /// invitation and its reminders but no list mail. Inviting the same person again does nothing.
    public func inviteGuest(session id: Int64, address: EmailAddress, name: String, invitedBy: String, reason: String,
                            key: InstanceKey, sendAfter: Date, context: WorkflowContext, now: Date) throws -> QueueingResult {
        let cleanName = try TextField.clean(name, field: "name")
        return try write { db in
            let session = try Session.find(db, id: id)
            try SessionInvitations.requireUpcoming(session, now: now)
            if let erasedAt = try Self.erasedAt(db, address: address, key: key) {
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
            return try SessionInvitations(context: context).inviteGuest(db, session: session, member: memberID, sendAfter: sendAfter,
                                                                        createdBy: invitedBy, now: now)
        }
    }

    /// Records a person's answer for a session: coming (accepted), not coming (apologies), or not sure (maybe).
    /// Apologies cancel any reminder still waiting for them, in the same transaction (one in flight is stopped at the
    /// last check; see `withdrawalsInFlight`). Someone recorded as attended stays attended.
    public func recordAnswer(session id: Int64, address: EmailAddress, answer: Participation, now: Date) throws -> Participation {
        guard answer != .attended else { throw WorkflowError("attendance comes from the sign-in sheet: circulate session attendance \(id) FILE.csv") }
        return try write { db in
            _ = try Session.find(db, id: id)
            guard let member = try Self.member(db, key: address.key), let memberID = member.id else {
                throw MemberError.unknown(address: address.description)
            }
            return try Self.recordAnswer(db, session: id, member: memberID, answer: answer, now: now)
        }
    }

    /// `recordAnswer` inside the caller's transaction (a calendar answer read from the mailbox is recorded in the same
    /// commit as its `inbound_message` record): the later answer wins, attended stays attended. Returns the status now.
    static func recordAnswer(_ db: Database, session id: Int64, member memberID: Int64, answer: Participation, now: Date) throws -> Participation {
        try db.execute(sql: """
            INSERT INTO participation (session_id, member_id, status, recorded_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(session_id, member_id) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
            WHERE participation.status <> '\(Participation.attended.rawValue)'
            """, arguments: [id, memberID, answer.rawValue, now])
        if answer == .apologies {
            try OutboundQueue.cancel(db, CancelSelector(member: memberID, session: id, kinds: [.reminder]),
                                     reason: "the recipient sent apologies for the session", now: now)
        }
        return try ParticipationRecord.fetchOne(db, key: ["session_id": id, "member_id": memberID])?.status ?? answer
    }
}
