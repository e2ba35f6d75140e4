import Foundation
import GRDB

extension AppDatabase {
    /// Erases a person: deletes every row that holds their data in one transaction, keeps only the keyed hash of
    /// their address (so an import cannot silently re-add them) and a receipt with no personal data, then empties
    /// the write-ahead log so that no old page holding their data is left in the -wal file.
    ///
    /// With `secure_delete` on, SQLite overwrites the deleted cells and freed pages with zeros; the checkpoint
    /// copies those zeroed pages over the main file and truncates the log.
    ///
    /// With a `journal`, the erasure is written there (keyed hashes and the reference) and synced before it commits.
    ///
    /// With `mailbox` (the list's mailbox is read), the same commit queues the deletion of the person's messages from
    /// it (`mailbox_erasure`), which `MailboxEraser` carries out now or at the inbox poller's next poll.
    public func erase(_ address: EmailAddress, key: InstanceKey, erasedBy: String, journal: ErasureJournal? = nil,
                      mailbox: Bool = false, now: Date) throws -> ErasureReceipt {
        let reference = "ER-" + UUID().uuidString.prefix(8).uppercased()
        let hashes = [key.suppressionHash(for: address)]
        if let journal {
            // Only for someone there is to erase: an unknown or already erased address changes nothing. Someone who
            // only signed up on the join page (not confirmed yet) is someone to erase too.
            _ = try fetch { db -> Member? in
                if try Self.pendingSignUpOnly(db, address, key: key, hashes: hashes) { return nil }
                return try Self.existingMember(db, address, key: key)
            }
            try journal.append(ErasureJournal.Entry(reference: reference, erasedAt: now, hashes: key.suppressionHashes(for: address)))
        }
        var receipt = try write { db -> ErasureReceipt in
            if try Self.pendingSignUpOnly(db, address, key: key, hashes: hashes) {
                let queue = try OutboundQueue.forgetUnlinked(db, address: address, now: now)
                let removed = try Self.forgetSignUps(db, hashes: hashes) + queue.deleted + queue.inFlight.count
                if mailbox { try Self.queueMailboxErasure(db, address: address, member: nil, now: now) }
                for hash in hashes {
                    try db.execute(sql: "INSERT OR IGNORE INTO suppression (address_hash, reason, created_at) VALUES (?, 'erased', ?)",
                                   arguments: [hash, now])
                }
                try db.execute(sql: "INSERT OR IGNORE INTO erasure (reference, erased_at, erased_by, rows_removed) VALUES (?, ?, ?, ?)",
                               arguments: [reference, now, erasedBy, removed])
                var receipt = ErasureReceipt(reference: reference, erasedAt: now, rowsRemoved: removed, logCleared: false)
                receipt.withdrawal.inFlight = queue.inFlight
                receipt.withdrawal.erased = true
                receipt.mailboxPending = mailbox
                return receipt
            }
            let member = try Self.existingMember(db, address, key: key)
            guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
            if mailbox { try Self.queueMailboxErasure(db, address: address, member: id, now: now) }
            let erased = try Self.eraseRecords(db, member: id, address: address, hashes: hashes,
                                               reference: reference, erasedBy: erasedBy, now: now)
            var receipt = ErasureReceipt(reference: reference, erasedAt: now, rowsRemoved: erased.removed, logCleared: false)
            receipt.withdrawal.inFlight = erased.inFlight
            receipt.withdrawal.erased = true
            receipt.mailboxPending = mailbox
            return receipt
        }
        receipt.logCleared = clearWriteAheadLog()
        if !receipt.logCleared { markWriteAheadLogCleanupPending(since: now) }
        return receipt
    }

    /// The erasure itself, inside the caller's transaction (an `erase`, or a restore applying the journal): every row
    /// that refers to the person goes, the keyed hashes stay, and a receipt with no personal data is written (once per
    /// reference).
    static func eraseRecords(_ db: Database, member id: Int64, address: EmailAddress?, hashes: [String], reference: String,
                             erasedBy: String, now: Date) throws -> (removed: Int, inFlight: [Int64]) {
        // What the mailbox reader recorded about them (their bounces and unsubscribe emails), before their messages
        // go: a record is found through its message too.
        try db.execute(sql: """
            DELETE FROM inbound_message
            WHERE member_id = ? OR delivery_id IN (SELECT id FROM delivery WHERE member_id = ?)
            """, arguments: [id, id])
        var removed = db.changesCount
        // Their messages, through the queue: one a daemon worker holds keeps an emptied row until let go of.
        let queue = try OutboundQueue.forget(db, member: id, address: address, now: now)
        removed += queue.deleted + queue.inFlight.count
        // Every other table that refers to a person is listed here; later tables add themselves to this function.
        for table in ["participation", "report_recipient", "consent_event", "member_tag", "data_request"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE member_id = ?", arguments: [id])
            removed += db.changesCount
        }
        try db.execute(sql: "DELETE FROM member WHERE id = ?", arguments: [id])
        removed += db.changesCount
        removed += try forgetSignUps(db, hashes: hashes)
        for hash in hashes {
            try db.execute(sql: "INSERT OR IGNORE INTO suppression (address_hash, reason, created_at) VALUES (?, 'erased', ?)",
                           arguments: [hash, now])
        }
        try db.execute(sql: "INSERT OR IGNORE INTO erasure (reference, erased_at, erased_by, rows_removed) VALUES (?, ?, ?, ?)",
                       arguments: [reference, now, erasedBy, removed])
        return (removed, queue.inFlight)
    }

    /// Whether the address is not on the list (nor erased) but has a sign-up on the join page waiting for confirmation.
    static func pendingSignUpOnly(_ db: Database, _ address: EmailAddress, key: InstanceKey, hashes: [String]) throws -> Bool {
        guard try member(db, key: address.key) == nil, try erasedAt(db, address: address, key: key) == nil else { return false }
        for hash in hashes where try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM pending_signup WHERE address_hash = ?)", arguments: [hash]) == true {
            return true
        }
        return false
    }

    /// The join page's records of an address, found by its keyed hash (the form the erasure journal keeps too): its
    /// pending sign-ups and the rate records counting it.
    static func forgetSignUps(_ db: Database, hashes: [String]) throws -> Int {
        var removed = 0
        for hash in hashes {
            try db.execute(sql: "DELETE FROM pending_signup WHERE address_hash = ?", arguments: [hash])
            removed += db.changesCount
            try db.execute(sql: "DELETE FROM web_rate WHERE subject_hash = ?", arguments: [hash])
            removed += db.changesCount
        }
        return removed
    }

    /// After an erasure whose log could not be cleared: the daemon finishes the job at its next quiet moment.
    private func markWriteAheadLogCleanupPending(since: Date) {
        _ = try? write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO setting (name, value) VALUES ('wal_cleanup_pending', ?)",
                           arguments: [since.formatted(.iso8601)])
        }
    }

    /// Clears the write-ahead log if an erasure left it uncleared; returns nil when nothing was pending, else whether
    /// it is clear now.
    @discardableResult
    public func finishPendingLogCleanup(wait: Bool = true) -> Bool? {
        guard (try? read({ db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'wal_cleanup_pending'") })) != nil else {
            return nil
        }
        guard clearWriteAheadLog(wait: wait) else { return false }
        _ = try? write { db in try db.execute(sql: "DELETE FROM setting WHERE name = 'wal_cleanup_pending'") }
        // The deletion itself went to the log; clear it again so the file is empty, as an erasure leaves it.
        return clearWriteAheadLog(wait: wait)
    }

    /// The write-ahead log's file (named in warnings).
    public var writeAheadLogPath: String { path + "-wal" }

    /// Copies the log into the database and truncates it to zero bytes. Returns false if another process kept a
    /// read open for the whole busy timeout; the erased data is then gone from the tables but an old copy may stay
    /// in the -wal file until the next successful checkpoint.
    ///
    /// With `wait` false it gives up at once if a reader is in the way (the daemon tries again at its next quiet moment
    /// rather than stop sending for the busy timeout).
    @discardableResult
    public func clearWriteAheadLog(wait: Bool = true) -> Bool {
        do {
            return try pool.writeWithoutTransaction { db in
                if !wait { try db.execute(sql: "PRAGMA busy_timeout = 0") }
                defer { if !wait { try? db.execute(sql: "PRAGMA busy_timeout = \(Int(Self.busyTimeout * 1000))") } }
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
        if let key {
            let hash = key.suppressionHash(for: address)
            try read { db in
                export.signUps = try Row.fetchAll(db, sql: "SELECT * FROM pending_signup WHERE address_hash = ? ORDER BY id", arguments: [hash]).map {
                    SubjectAccessExport.SignUpEntry(
                        name: $0["name"], organisation: $0["organisation"],
                        streams: StreamPreferences(monthlyUpdate: $0["monthly_update"], sessionInvitations: $0["session_invitations"],
                                                   reports: $0["reports"]).enabled.map(\.rawValue),
                        wordingVersion: $0["wording_version"], requestedAt: $0["requested_at"], expiresAt: $0["expires_at"])
                }
                export.rateRecords = try Int.fetchOne(db, sql: "SELECT count(*) FROM web_rate WHERE subject_hash = ?", arguments: [hash]) ?? 0
            }
        }
        let joinPage = "A sign-up on the join page that was not confirmed is kept until it is, or for 7 days; the join page's rate "
            + "limits keep a keyed hash of the address (never the address) with the time of each request, for a day."
        switch try lookup(address, key: key) {
        case .unknown:
            guard !export.signUps.isEmpty || export.rateRecords > 0 else { throw MemberError.unknown(address: address.description) }
            export.notes = ["This person is not on the list. " + joinPage]
            return export
        case .erased(let erasedAt):
            export.status = MemberStatus.erasedSuppressed.rawValue
            export.notes = ["This address was erased on request on \(MemberError.day(erasedAt)). Nothing about the person is "
                            + "held except a keyed hash (HMAC-SHA256) of the address, which cannot be turned back into it and "
                            + "is used only to avoid adding the address again by accident."]
            let mailboxPending = try read { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM mailbox_erasure WHERE address = ?)", arguments: [address.description])
            } ?? false
            if mailboxPending {
                export.notes.append("Their messages in the list's mailbox are still to be deleted (the mailbox could not be reached yet); until "
                                    + "it confirms, the address itself is kept for that alone, and then deleted.")
            }
        case .found(let profile):
            let m = profile.member
            export.status = m.status.rawValue
            export.person = .init(email: m.email, name: m.name, knownAs: m.knownAs, organisation: m.organisation, status: m.status.rawValue,
                                  lawfulBasis: m.lawfulBasis?.rawValue, streams: m.streams.enabled.map(\.rawValue),
                                  roles: profile.roles, tags: profile.freeTags, createdAt: m.createdAt,
                                  updatedAt: m.updatedAt, statusChangedAt: m.statusChangedAt)
            export.consentHistory = profile.consent.map {
                .init(action: $0.action.rawValue, stream: $0.stream?.rawValue ?? "all", lawfulBasis: $0.lawfulBasis?.rawValue,
                      source: $0.source, wordingVersion: $0.wordingVersion, wordingHash: $0.wordingHash, recordedBy: $0.recordedBy,
                      occurredAt: $0.occurredAt)
            }
            if let id = m.id {
                export.person?.bouncesInARow = try read { db in
                    try Int.fetchOne(db, sql: "SELECT hard_bounces FROM member WHERE id = ?", arguments: [id]) ?? 0
                }
                export.messages = try read { db in
                    // Theirs: linked to them, or sent to their address before they were on the list (a test message).
                    var ids: [Int64] = try Int64.fetchAll(db, sql: "SELECT id FROM delivery WHERE member_id = ?", arguments: [id])
                    for row in try Row.fetchAll(db, sql: "SELECT id, recipient FROM delivery WHERE member_id IS NULL AND recipient <> ''") {
                        if let recipient = try? EmailAddress(row["recipient"] as String), recipient.key == address.key { ids.append(row["id"]) }
                    }
                    return try Row.fetchAll(db, sql: """
                        SELECT g.kind, g.subject, d.recipient, d.message_id, d.state, d.failure, d.doubts, d.attempts, d.queued_at,
                               d.last_attempt_at, d.reply
                        FROM delivery d JOIN mailing g ON g.id = d.mailing_id
                        WHERE d.id IN (\(ids.isEmpty ? "NULL" : ids.sorted().map(String.init).joined(separator: ","))) ORDER BY d.id
                        """).map {
                        SubjectAccessExport.MessageEntry(kind: $0["kind"], subject: $0["subject"], address: $0["recipient"],
                                                         messageId: $0["message_id"], state: $0["state"], failure: $0["failure"],
                                                         inDoubt: ($0["doubts"] as Int) > 0, attempts: $0["attempts"],
                                                         queuedAt: $0["queued_at"], lastAttemptAt: $0["last_attempt_at"], reply: $0["reply"])
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
            if let id = m.id {
                export.requests = try pendingRequests().filter { $0.memberID == id }.map {
                    SubjectAccessExport.RequestEntry(kind: $0.kind.rawValue, source: $0.source, requestedAt: $0.requestedAt, dueBy: $0.dueBy)
                }
                export.inbound = try read { db in
                    try Row.fetchAll(db, sql: """
                        SELECT i.kind, i.action, i.state, d.message_id, i.handled_at FROM inbound_message i
                        LEFT JOIN delivery d ON d.id = i.delivery_id
                        WHERE i.member_id = ? OR i.delivery_id IN (SELECT id FROM delivery WHERE member_id = ?) ORDER BY i.id
                        """, arguments: [id, id]).map {
                        SubjectAccessExport.InboundEntry(kind: $0["kind"], action: $0["action"], state: $0["state"],
                                                         aboutMessageId: $0["message_id"], handledAt: $0["handled_at"])
                    }
                }
            }
            export.notes = ["This is every record circulate holds about this person: their entry on the list, any request of theirs waiting for the coordinator, their consent "
                            + "history, the sessions they were recorded at, the reports sent to them and whether they responded, "
                            + "the messages queued for or sent to them, test messages included (kind, subject, address, "
                            + "state, why one failed, and the mail server's reply; the text of each message is the mailing's, not "
                            + "stored per person), and what was done with messages from the list's mailbox that concerned them "
                            + "(bounce reports, unsubscribe emails; their content is not kept). " + joinPage]
        }
        return export
    }
}
