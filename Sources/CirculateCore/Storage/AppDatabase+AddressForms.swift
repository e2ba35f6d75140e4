import Foundation
import GRDB

/// What normalising stored addresses to Unicode NFC did (once, after an upgrade).
public struct AddressNormalisation: Sendable, Equatable {
    /// Addresses rewritten in NFC.
    public var rewritten = 0
    /// People who turned out to be one person (their addresses differed only in Unicode form): merged into the older
    /// record, as (kept, merged) member numbers.
    public var merged: [(kept: Int64, merged: Int64)] = []

    public static func == (a: AddressNormalisation, b: AddressNormalisation) -> Bool {
        a.rewritten == b.rewritten && a.merged.map(\.kept) == b.merged.map(\.kept) && a.merged.map(\.merged) == b.merged.map(\.merged)
    }

    /// In words, for the one note the first command after the upgrade prints.
    public var summary: String {
        "addresses are now compared in Unicode NFC: \(rewritten) stored address(es) rewritten"
            + (merged.isEmpty ? "" : "; \(merged.count) pair(s) of records were one person and are merged into the older one, "
                + "keeping both consent histories (member " + merged.map { "\($0.merged) into \($0.kept)" }.joined(separator: ", ") + ")")
    }
}

extension AppDatabase {
    /// Rewrites stored addresses in NFC once (addresses typed before this release were kept as typed), merging people
    /// whose records turn out to be one. Runs in one transaction at the first open after the upgrade.
    func normaliseStoredAddresses() throws -> AddressNormalisation? {
        // Done once per database: a plain read first, so that commands run while another process writes do not wait.
        let done = try read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'addresses_nfc'") != nil }
        guard !done else { return nil }
        return try write { db in
            guard try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'addresses_nfc'") == nil else { return nil }
            var result = AddressNormalisation()
            let rows = try Row.fetchAll(db, sql: "SELECT id, email, email_key FROM member ORDER BY id")
            for row in rows {
                let id: Int64 = row["id"]
                guard let address = try? EmailAddress(row["email"] as String) else { continue }
                let email: String = row["email"]
                let key: String = row["email_key"]
                guard !address.description.utf8.elementsEqual(email.utf8) || !address.key.utf8.elementsEqual(key.utf8) else { continue }
                if let older = try Int64.fetchOne(db, sql: "SELECT id FROM member WHERE email_key = ? AND id <> ?", arguments: [address.key, id]) {
                    let (kept, merged) = (min(older, id), max(older, id))
                    try Self.merge(db, member: merged, into: kept)
                    result.merged.append((kept, merged))
                    if kept == id {
                        try db.execute(sql: "UPDATE member SET email = ?, email_key = ? WHERE id = ?", arguments: [address.description, address.key, id])
                    }
                } else {
                    try db.execute(sql: "UPDATE member SET email = ?, email_key = ? WHERE id = ?", arguments: [address.description, address.key, id])
                    result.rewritten += 1
                }
            }
            try db.execute(sql: "INSERT INTO setting (name, value) VALUES ('addresses_nfc', ?)", arguments: [Date().formatted(.iso8601)])
            if result.rewritten > 0 || !result.merged.isEmpty {
                try db.execute(sql: "INSERT OR REPLACE INTO setting (name, value) VALUES ('addresses_nfc_report', ?)", arguments: [result.summary])
            }
            return result
        }
    }

    /// The report of the normalisation, once: the first command after the upgrade prints it.
    public func takeAddressNormalisationReport() -> String? {
        guard (try? read({ db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'addresses_nfc_report'") })) != nil else {
            return nil
        }
        return try? write { db in
            let report = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'addresses_nfc_report'")
            try db.execute(sql: "DELETE FROM setting WHERE name = 'addresses_nfc_report'")
            return report
        }
    }

    /// Moves everything of `merged` to `kept` and deletes `merged`: consent history (copied: it is append-only), roles,
    /// sessions, reports, messages. The status is the one decided last (the person's latest wish wins).
    static func merge(_ db: Database, member merged: Int64, into kept: Int64) throws {
        try db.execute(sql: """
            INSERT INTO consent_event (member_id, action, stream, lawful_basis, source, wording_version, recorded_by, occurred_at)
            SELECT ?, action, stream, lawful_basis, source, wording_version, recorded_by, occurred_at
            FROM consent_event WHERE member_id = ? ORDER BY id
            """, arguments: [kept, merged])
        try db.execute(sql: "INSERT OR IGNORE INTO member_tag (member_id, tag) SELECT ?, tag FROM member_tag WHERE member_id = ?",
                       arguments: [kept, merged])
        try db.execute(sql: """
            INSERT INTO participation (session_id, member_id, status, recorded_at)
            SELECT session_id, ?, status, recorded_at FROM participation WHERE member_id = ? AND true
            ON CONFLICT(session_id, member_id) DO UPDATE SET
                status = CASE WHEN excluded.status = 'attended' THEN 'attended' ELSE participation.status END
            """, arguments: [kept, merged])
        try db.execute(sql: """
            INSERT OR IGNORE INTO report_recipient (report_id, member_id, responded_at, response_note)
            SELECT report_id, ?, responded_at, response_note FROM report_recipient WHERE member_id = ?
            """, arguments: [kept, merged])
        try OutboundQueue.reassign(db, member: merged, to: kept)
        try db.execute(sql: """
            UPDATE member SET (status, lawful_basis, monthly_update, session_invitations, reports, status_changed_at) =
                (SELECT status, lawful_basis, monthly_update, session_invitations, reports, status_changed_at FROM member WHERE id = ?),
                hard_bounces = max(hard_bounces, (SELECT hard_bounces FROM member WHERE id = ?))
            WHERE id = ? AND status_changed_at < (SELECT status_changed_at FROM member WHERE id = ?)
            """, arguments: [merged, merged, kept, merged])
        try db.execute(sql: "DELETE FROM member WHERE id = ?", arguments: [merged])
    }
}
