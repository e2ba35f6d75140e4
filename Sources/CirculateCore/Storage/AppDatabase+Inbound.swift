import Foundation
import GRDB

/// What `circulate inbox` shows: recent handled messages and those waiting for a person.
public struct InboxListing: Sendable {
    /// One message, with the person it concerned (their address, for the coordinator) when there is one.
    public struct Entry: Sendable {
        /// What was recorded.
        public var record: InboundRecord
        /// The member's address now (nil for none, or once they are erased).
        public var memberAddress: String?
    }

    /// Handled messages, newest first.
    public var handled: [Entry]
    /// Messages left for a person, and those still being retried, newest first.
    public var awaiting: [Entry]
}

extension AppDatabase {
    /// The record of the message at `place`, or failing that of one with the same Message-ID (and, when given, the
    /// same kind) read from the folder before, inside the caller's transaction. The Message-ID finds the message
    /// after a UIDVALIDITY change (every UID changed), a copy the mail server delivered twice, and one a person moved
    /// back into the folder: none of them is acted on again — an unsubscribe email seen again after the person rejoined
    /// must not unsubscribe them a second time.
    static func inboundRecord(_ db: Database, at place: InboundRecord.Place, messageID: String?, kinds: [String] = []) throws -> InboundRecord? {
        if let found = try InboundRecord.fetchOne(db, sql: """
            SELECT * FROM inbound_message WHERE folder = ? AND uid_validity = ? AND uid = ?
            """, arguments: [place.folder, place.uidValidity, place.uid]) {
            return found
        }
        guard let messageID else { return nil }
        let sameKind = kinds.isEmpty ? "" : "AND kind IN (\(databaseQuestionMarks(count: kinds.count)))"
        return try InboundRecord.fetchOne(db, sql: """
            SELECT * FROM inbound_message
            WHERE message_id = ? AND folder = ? AND NOT (uid_validity = ? AND uid = ?) \(sameKind)
            ORDER BY id DESC LIMIT 1
            """, arguments: StatementArguments([String(messageID.prefix(250)), place.folder, place.uidValidity, place.uid] as [any DatabaseValueConvertible])
                + StatementArguments(kinds))
    }

    /// The record of a message already read, if any (see `inboundRecord(_:at:messageID:)`).
    public func inboundRecord(at place: InboundRecord.Place, messageID: String?) throws -> InboundRecord? {
        try read { db in try Self.inboundRecord(db, at: place, messageID: messageID) }
    }

    /// Writes (or rewrites) the record of the message at `place`, inside the caller's transaction.
    static func saveInbound(_ db: Database, existing: InboundRecord?, place: InboundRecord.Place, messageID: String?, kind: String,
                            state: InboundRecord.State, action: String, delivery: Int64?, member: Int64?, now: Date) throws -> InboundRecord {
        let action = Redaction.maskingAddresses(in: String(action.prefix(500)))
        if let existing {
            try db.execute(sql: """
                UPDATE inbound_message SET uid_validity = ?, uid = ?, kind = ?, state = ?, action = ?, delivery_id = ?, member_id = ?,
                       attempts = attempts + 1, handled_at = ?
                WHERE id = ?
                """, arguments: [place.uidValidity, place.uid, kind, state.rawValue, action, delivery, member, now, existing.id])
            return try InboundRecord.fetchOne(db, sql: "SELECT * FROM inbound_message WHERE id = ?", arguments: [existing.id])
                ?? existing
        }
        try db.execute(sql: """
            INSERT INTO inbound_message (folder, uid_validity, uid, message_id, kind, state, action, delivery_id, member_id,
                                         first_seen_at, handled_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [place.folder, place.uidValidity, place.uid, messageID.map { String($0.prefix(250)) }, kind, state.rawValue,
                             action, delivery, member, now, now])
        return try InboundRecord.fetchOne(db, sql: "SELECT * FROM inbound_message WHERE id = ?", arguments: [db.lastInsertedRowID])
            ?? InboundRecord(id: db.lastInsertedRowID, folder: place.folder, uidValidity: place.uidValidity, uid: place.uid,
                             messageID: messageID, kind: kind, state: state, action: action, deliveryID: delivery, memberID: member,
                             attempts: 1, firstSeenAt: now, handledAt: now)
    }

    /// Notes that handling the message at `place` failed; after `limit` tries it is left for a person. One
    /// transaction of its own, after the failed one rolled back.
    public func recordInboundFailure(at place: InboundRecord.Place, messageID: String?, kind: String, problem: String, limit: Int,
                                     now: Date) throws -> InboundRecord {
        try write { db in
            let existing = try Self.inboundRecord(db, at: place, messageID: messageID)
            if let existing, existing.state.isFinal { return existing }
            let tries = (existing?.attempts ?? 0) + 1
            let giveUp = tries >= limit
            let action = giveUp ? "could not be handled after \(tries) tries (\(problem)); left for the coordinator"
                : "handling failed (\(problem)); tried again at the next poll"
            return try Self.saveInbound(db, existing: existing, place: place, messageID: messageID, kind: kind,
                                        state: giveUp ? .forCoordinator : .failing, action: action, delivery: nil, member: nil, now: now)
        }
    }

    /// Recent handled messages (at most `limit`) and every message waiting for a person.
    public func inbox(limit: Int) throws -> InboxListing {
        try read { db in
            func entries(_ sql: String, _ arguments: StatementArguments) throws -> [InboxListing.Entry] {
                try Row.fetchAll(db, sql: """
                    SELECT i.*, m.email AS member_email FROM inbound_message i LEFT JOIN member m ON m.id = i.member_id
                    WHERE \(sql) ORDER BY i.handled_at DESC, i.id DESC LIMIT ?
                    """, arguments: arguments).map { row in
                    InboxListing.Entry(record: try InboundRecord(row: row), memberAddress: row["member_email"])
                }
            }
            return InboxListing(handled: try entries("i.state = 'handled'", [limit]),
                                awaiting: try entries("i.state <> 'handled'", [10_000]))
        }
    }
}
