import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Upgrading the inbound records to kinds checked by shape (v13)")
struct InboundKindMigrationTests {
    @Test("records written before v13 keep their ids, places and actions; 'complaint' is accepted after it, a malformed kind never")
    func upgrade() throws {
        let scratch = try Scratch()
        let pool = try DatabasePool(path: scratch.path("old.sqlite"), configuration: AppDatabase.configuration())
        try Migrations.migrator.migrate(pool, upTo: "v11: pending sign-ups, the join page's rate records, the confirmation kind")
        let insert = """
            INSERT INTO inbound_message (folder, uid_validity, uid, message_id, kind, state, action, first_seen_at, handled_at)
            VALUES ('INBOX', 7, ?, 'm@example.org', ?, 'handled', 'a bounce', '2026-12-01 09:00:00.000', '2026-12-01 09:00:00.000')
            """
        try pool.write { db in try db.execute(sql: insert, arguments: [1, "delivery-report"]) }
        #expect(throws: (any Error).self) { try pool.write { db in try db.execute(sql: insert, arguments: [2, "complaint"]) } }

        try Migrations.migrator.migrate(pool)
        let kept = try pool.read { db in try Row.fetchOne(db, sql: "SELECT id, uid, kind, action FROM inbound_message") }
        #expect(kept?["id"] == 1)
        #expect(kept?["kind"] == "delivery-report")
        #expect(kept?["action"] == "a bounce")
        try pool.write { db in try db.execute(sql: insert, arguments: [2, "complaint"]) }
        for bad in ["", "Complaint", "spam; DROP", String(repeating: "a", count: 41)] {
            #expect(throws: (any Error).self, "\(bad)") { try pool.write { db in try db.execute(sql: insert, arguments: [3, bad]) } }
        }
        let indexes = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbound_message' AND name LIKE 'inbound_by_%' ORDER BY name")
        }
        #expect(indexes == ["inbound_by_delivery", "inbound_by_member", "inbound_by_message_id", "inbound_by_time"])
        // And the index the poll uses to skip replies to a report it left in the folder.
        #expect(try pool.read { db in
            try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'inbound_left_in_folder'")
        } == "inbound_left_in_folder")
    }
}
