import Foundation
import GRDB

extension AppDatabase {
    /// The member a preference page is about, with whether an erasure request is pending; nil when there is none (an
    /// erased person's link, or one that never named anyone).
    public func preferences(memberID: Int64) throws -> (member: Member, erasurePending: Bool)? {
        try read { db in
            guard let member = try Member.fetchOne(db, key: memberID) else { return nil }
            let pending = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM data_request WHERE member_id = ? AND kind = 'erasure')",
                                            arguments: [memberID]) ?? false
            return (member, pending)
        }
    }

    /// Applies a preference page's form in one transaction: streams left are withdrawn (queued mail cancelled with
    /// them), streams ticked again are consent given under the current wording, "leave everything" unsubscribes, and
    /// "please erase my data" records a request for the coordinator and stops all mail at once. Nil when the member no
    /// longer exists. An unsubscribed person cannot tick their way back here: rejoining takes fresh consent.
    public func applyPreferences(memberID: Int64, _ change: PreferenceChange, wordingVersion: String, now: Date) throws -> PreferenceOutcome? {
        try write { db in
            guard let found = try Member.fetchOne(db, key: memberID) else { return nil }
            var outcome = PreferenceOutcome()
            let source = "preference page"
            if change.erase {
                try db.execute(sql: """
                    INSERT INTO data_request (member_id, kind, source, requested_at) VALUES (?, 'erasure', ?, ?)
                    ON CONFLICT (member_id, kind) DO NOTHING
                    """, arguments: [memberID, source, now])
                outcome.erasureRequested = db.changesCount > 0
            }
            if change.leaveEverything || change.erase {
                if case .unsubscribed = try Self.unsubscribe(db, found, stream: nil, source: change.erase ? "asked to be erased (preference page)" : source,
                                                             recordedBy: "web", now: now) {
                    outcome.left = found.streams.enabled
                }
            } else if found.status == .active {
                var member = found
                for stream in MailStream.allCases where member.streams[stream] && !change.streams.contains(stream) {
                    // Leaving the last stream unsubscribes the person, as `unsubscribe` does.
                    _ = try Self.unsubscribe(db, member, stream: stream, source: source, recordedBy: "web", now: now)
                    outcome.left.append(stream)
                    member = try Member.fetchOne(db, key: memberID) ?? member
                }
                if member.status == .active, let basis = member.lawfulBasis {
                    for stream in MailStream.allCases where change.streams.contains(stream) && !member.streams[stream] {
                        member.streams[stream] = true
                        try Self.record(db, .given, member: memberID, stream: stream, basis: basis, source: source,
                                        wording: basis == .consent ? wordingVersion : nil, by: "web", now: now)
                        outcome.joined.append(stream)
                    }
                    if !outcome.joined.isEmpty {
                        member.updatedAt = now
                        try member.update(db)
                    }
                }
            }
            let after = try Member.fetchOne(db, key: memberID) ?? found
            outcome.unsubscribed = after.status != .active
            outcome.streams = after.status == .active ? after.streams.enabled : []
            outcome.erasurePending = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM data_request WHERE member_id = ? AND kind = 'erasure')",
                                                       arguments: [memberID]) ?? false
            return outcome
        }
    }

    /// Requests waiting for the coordinator, oldest first. Completing one (erasing the person) removes its record with them.
    public func pendingRequests() throws -> [DataRequest] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.id, r.member_id, r.kind, r.source, r.requested_at, m.email, m.name
                FROM data_request r JOIN member m ON m.id = r.member_id ORDER BY r.requested_at, r.id
                """).compactMap { row in
                guard let kind = DataRequest.Kind(rawValue: row["kind"]) else { return nil }
                return DataRequest(id: row["id"], memberID: row["member_id"], email: row["email"], name: row["name"], kind: kind,
                                   source: row["source"], requestedAt: row["requested_at"])
            }
        }
    }
}
