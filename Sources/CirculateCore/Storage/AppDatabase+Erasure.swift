import Foundation
import GRDB

extension AppDatabase {
    /// Erases a person: deletes every row that holds their data in one transaction, keeps only the keyed hash of
    /// their address (so an import cannot silently re-add them) and a receipt with no personal data, then empties
    /// the write-ahead log so that no old page holding their data is left in the -wal file.
    ///
    /// With `secure_delete` on, SQLite overwrites the deleted cells and freed pages with zeros; the checkpoint
    /// copies those zeroed pages over the main file and truncates the log.
    public func erase(_ address: EmailAddress, key: InstanceKey, erasedBy: String, now: Date) throws -> ErasureReceipt {
        var receipt = try write { db -> ErasureReceipt in
            let member = try Self.existingMember(db, address, key: key)
            guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
            // Their messages first, through the queue: one a daemon worker holds keeps an emptied row until let go of.
            let queue = try OutboundQueue.forget(db, member: id, now: now)
            var removed = queue.deleted + queue.inFlight.count
            // Every other table that refers to a person is listed here; later tables add themselves to this function.
            for table in ["participation", "report_recipient", "consent_event", "member_tag"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE member_id = ?", arguments: [id])
                removed += db.changesCount
            }
            try db.execute(sql: "DELETE FROM member WHERE id = ?", arguments: [id])
            removed += db.changesCount
            try db.execute(sql: "INSERT OR IGNORE INTO suppression (address_hash, reason, created_at) VALUES (?, 'erased', ?)",
                           arguments: [key.suppressionHash(for: address), now])
            let reference = "ER-" + UUID().uuidString.prefix(8).uppercased()
            try db.execute(sql: "INSERT INTO erasure (reference, erased_at, erased_by, rows_removed) VALUES (?, ?, ?, ?)",
                           arguments: [reference, now, erasedBy, removed])
            var receipt = ErasureReceipt(reference: reference, erasedAt: now, rowsRemoved: removed, logCleared: false)
            receipt.withdrawal.inFlight = queue.inFlight
            receipt.withdrawal.erased = true
            return receipt
        }
        receipt.logCleared = clearWriteAheadLog()
        return receipt
    }

    /// Copies the log into the database and truncates it to zero bytes. Returns false if another process kept a
    /// read open for the whole busy timeout; the erased data is then gone from the tables but an old copy may stay
    /// in the -wal file until the next successful checkpoint.
    @discardableResult
    public func clearWriteAheadLog() -> Bool {
        do {
            return try pool.writeWithoutTransaction { db in
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                return (row?[0] as Int?) == 0
            }
        } catch {
            return false
        }
    }

    /// Everything held about one address, as a subject access export.
    public func export(_ address: EmailAddress, key: InstanceKey?, controller: String, now: Date) throws -> SubjectAccessExport {
        var export = SubjectAccessExport(controller: controller, generatedAt: now, subject: address.description,
                                         status: "not-held", person: nil, consentHistory: [], notes: [])
        switch try lookup(address, key: key) {
        case .unknown:
            throw MemberError.unknown(address: address.description)
        case .erased(let erasedAt):
            export.status = MemberStatus.erasedSuppressed.rawValue
            export.notes = ["This address was erased on request on \(MemberError.day(erasedAt)). Nothing about the person is "
                            + "held except a keyed hash (HMAC-SHA256) of the address, which cannot be turned back into it and "
                            + "is used only to avoid adding the address again by accident."]
        case .found(let profile):
            let m = profile.member
            export.status = m.status.rawValue
            export.person = .init(email: m.email, name: m.name, organisation: m.organisation, status: m.status.rawValue,
                                  lawfulBasis: m.lawfulBasis?.rawValue, streams: m.streams.enabled.map(\.rawValue),
                                  roles: profile.roles, tags: profile.freeTags, createdAt: m.createdAt,
                                  updatedAt: m.updatedAt, statusChangedAt: m.statusChangedAt)
            export.consentHistory = profile.consent.map {
                .init(action: $0.action.rawValue, stream: $0.stream?.rawValue ?? "all", lawfulBasis: $0.lawfulBasis?.rawValue,
                      source: $0.source, wordingVersion: $0.wordingVersion, recordedBy: $0.recordedBy, occurredAt: $0.occurredAt)
            }
            if let id = m.id {
                export.messages = try read { db in
                    try Row.fetchAll(db, sql: """
                        SELECT g.subject, d.recipient, d.message_id, d.state, d.attempts, d.queued_at, d.last_attempt_at, d.reply
                        FROM delivery d JOIN mailing g ON g.id = d.mailing_id WHERE d.member_id = ? ORDER BY d.id
                        """, arguments: [id]).map {
                        SubjectAccessExport.MessageEntry(subject: $0["subject"], address: $0["recipient"], messageId: $0["message_id"],
                                                         state: $0["state"], attempts: $0["attempts"], queuedAt: $0["queued_at"],
                                                         lastAttemptAt: $0["last_attempt_at"], reply: $0["reply"])
                    }
                }
            }
            if let id = m.id {
                export.sessions = try read { db in
                    try Row.fetchAll(db, sql: """
                        SELECT s.title, s.starts_at, p.status, p.recorded_at FROM participation p JOIN session s ON s.id = p.session_id
                        WHERE p.member_id = ? ORDER BY s.starts_at
                        """, arguments: [id]).map {
                        SubjectAccessExport.SessionEntry(session: $0["title"], startsAt: $0["starts_at"], status: $0["status"],
                                                         recordedAt: $0["recorded_at"])
                    }
                }
                export.reports = try read { db in
                    try Row.fetchAll(db, sql: """
                        SELECT r.title, r.distributed_at, x.responded_at, x.response_note FROM report_recipient x
                        JOIN report r ON r.id = x.report_id WHERE x.member_id = ? ORDER BY r.id
                        """, arguments: [id]).map {
                        SubjectAccessExport.ReportEntry(report: $0["title"], distributedAt: $0["distributed_at"],
                                                        respondedAt: $0["responded_at"], responseNote: $0["response_note"])
                    }
                }
            }
            export.notes = ["This is every record circulate holds about this person: their entry on the list, their consent "
                            + "history, the sessions they were recorded at, the reports sent to them and whether they responded, "
                            + "and the messages queued for or sent to them (subject, address, state and the mail "
                            + "server's reply; the text of each message is the mailing's, not stored per person)."]
        }
        return export
    }
}
