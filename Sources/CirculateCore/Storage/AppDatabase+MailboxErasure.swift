import Foundation
import GRDB

/// An erased person's messages still to be deleted from the list's mailbox (a row of `mailbox_erasure`).
public struct MailboxErasureJob: Sendable, Equatable {
    /// The row's number.
    public var id: Int64
    /// The address to search the mailbox for (the only place it is kept after the erasure, until the mailbox confirms).
    public var address: String
    /// The Message-IDs of the inbound messages their records named (bounce reports, unsubscribe emails).
    public var messageIDs: [String]
    /// When the erasure was made.
    public var requestedAt: Date
    /// How many times the mailbox could not be cleared yet.
    public var attempts: Int
}

extension AppDatabase {
    /// Notes, inside the erasure's transaction, that the person's messages must go from the list's mailbox too: the
    /// address, and the Message-IDs of the inbound messages their records named (read before those records go).
    /// A second erasure of the same address adds to the row that waits, never a second row.
    static func queueMailboxErasure(_ db: Database, address: EmailAddress, member: Int64?, now: Date) throws {
        var ids: [String] = []
        if let member {
            ids = try String.fetchAll(db, sql: """
                SELECT message_id FROM inbound_message
                WHERE message_id IS NOT NULL AND (member_id = ? OR delivery_id IN (SELECT id FROM delivery WHERE member_id = ?))
                ORDER BY id
                """, arguments: [member, member])
        }
        let existing = try String.fetchOne(db, sql: "SELECT message_ids FROM mailbox_erasure WHERE address = ?",
                                           arguments: [address.description])
        if let existing {
            try db.execute(sql: "UPDATE mailbox_erasure SET message_ids = ? WHERE address = ?",
                           arguments: [Self.merging(existing, ids), address.description])
        } else {
            try db.execute(sql: "INSERT INTO mailbox_erasure (address, message_ids, requested_at) VALUES (?, ?, ?)",
                           arguments: [address.description, ids.joined(separator: "\n"), now])
        }
    }

    /// Queues the mailbox part again for someone already erased (their row went when the mailbox was cleared; a
    /// message of theirs may have arrived since). One transaction of its own.
    public func queueMailboxErasure(_ address: EmailAddress, now: Date) throws {
        try write { db in try Self.queueMailboxErasure(db, address: address, member: nil, now: now) }
    }

    /// The mailbox erasures still to be done, oldest first.
    public func pendingMailboxErasures() throws -> [MailboxErasureJob] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mailbox_erasure ORDER BY id").map {
                MailboxErasureJob(id: $0["id"], address: $0["address"], messageIDs: Self.messageIDs($0["message_ids"]),
                                  requestedAt: $0["requested_at"], attempts: $0["attempts"])
            }
        }
    }

    /// Adds the Message-IDs of messages found in the mailbox to the job, before they are deleted there.
    func addMailboxErasureMessageIDs(_ job: MailboxErasureJob, _ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try write { db in
            let existing = try String.fetchOne(db, sql: "SELECT message_ids FROM mailbox_erasure WHERE id = ?", arguments: [job.id]) ?? ""
            try db.execute(sql: "UPDATE mailbox_erasure SET message_ids = ? WHERE id = ?", arguments: [Self.merging(existing, ids), job.id])
        }
    }

    /// The mailbox confirmed the deletion: the row, the last place the address was kept, goes (zeroed on disk by
    /// secure_delete) with the records of the messages deleted (those left for the coordinator name nobody on the
    /// list, but their messages are gone), and the write-ahead log that still holds the old pages is emptied now or,
    /// if a reader is in the way, by the daemon at its next quiet moment.
    public func finishMailboxErasure(_ job: MailboxErasureJob, waitForLog: Bool) throws {
        try write { db in
            let ids = Self.messageIDs(try String.fetchOne(db, sql: "SELECT message_ids FROM mailbox_erasure WHERE id = ?",
                                                          arguments: [job.id]) ?? "")
            for id in ids { try db.execute(sql: "DELETE FROM inbound_message WHERE message_id = ?", arguments: [id]) }
            try db.execute(sql: "DELETE FROM mailbox_erasure WHERE id = ?", arguments: [job.id])
            try db.execute(sql: "INSERT OR IGNORE INTO setting (name, value) VALUES ('wal_cleanup_pending', ?)",
                           arguments: [Date().formatted(.iso8601)])
        }
        finishPendingLogCleanup(wait: waitForLog)
    }

    /// The mailbox could not be cleared this time: counted, with the problem (no address in it), for the next try.
    public func mailboxErasureFailed(_ job: MailboxErasureJob, problem: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE mailbox_erasure SET attempts = attempts + 1, last_problem = ? WHERE id = ?",
                           arguments: [Redaction.maskingAddresses(in: String(problem.prefix(500))), job.id])
        }
    }

    private static func merging(_ text: String, _ ids: [String]) -> String {
        let existing = messageIDs(text)
        var seen = Set(existing)
        return (existing + ids.filter { seen.insert($0).inserted }).joined(separator: "\n")
    }

    private static func messageIDs(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }
}
