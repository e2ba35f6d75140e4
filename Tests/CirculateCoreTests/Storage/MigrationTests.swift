import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

@Suite("Upgrading a database written by the previous release")
struct MigrationTests {
    /// A database at the previous schema ("v3"), filled the way that release left it: mailings and messages in every
    /// state, a held mailing, a test message left waiting (the old send-test could leave one), one in flight.
    static func previousRelease(at path: String) throws {
        let pool = try DatabasePool(path: path, configuration: AppDatabase.configuration())
        try Migrations.migrator.migrate(pool, upTo: "v3: topics, sessions, participation, monthly updates, reports")
        try pool.write { db in
            let t = "2026-11-01 09:00:00.000"
            for (id, email) in [(1, "ada@example.org"), (2, "bea@example.org"), (3, "cy@example.org")] {
                try db.execute(sql: """
                    INSERT INTO member (id, email, email_key, name, status, lawful_basis, monthly_update, session_invitations, reports,
                                        created_at, updated_at, status_changed_at)
                    VALUES (?, ?, ?, 'Someone', 'active', 'consent', 1, 1, 1, ?, ?, ?)
                    """, arguments: [id, email, email, t, t, t])
            }
            let mailings: [(Int, String, String)] = [(1, "announcement", "sending"), (2, "announcement", "held"), (3, "test", "sending"),
                                                     (4, "test", "sending")]
            for (id, kind, state) in mailings {
                try db.execute(sql: """
                    INSERT INTO mailing (id, kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key, created_by,
                                         created_at, updated_at)
                    VALUES (?, ?, ?, 'stream monthly-update', 'November update', 'Hello', ?, ?, ?, 'sam', ?, ?)
                    """, arguments: [id, kind, kind == "test" ? nil : "monthly-update", t, state, "key-\(id)", t, t])
            }
            let rows: [(Int, Int, Int?, String, String, Int, String?, Int?)] = [
                // id, mailing, member, recipient, state, in_doubt, reply, reply_code
                (1, 1, 1, "ada@example.org", "sent", 0, "250 ok", 250),
                (2, 1, 2, "bea@example.org", "sending", 0, nil, nil),
                (3, 1, 3, "cy@example.org", "deferred", 1, "in doubt, sending again", nil),
                (4, 2, 1, "ada@example.org", "queued", 0, nil, nil),
                (5, 3, nil, "tester@example.org", "deferred", 0, "451 4.3.0 later", 451),
                (6, 4, nil, "tester@example.org", "sending", 0, nil, nil),
            ]
            for (id, mailing, member, recipient, state, doubt, reply, code) in rows {
                try db.execute(sql: """
                    INSERT INTO delivery (id, mailing_id, member_id, recipient, message_id, state, attempts, next_attempt_at, reply_code, reply,
                                          in_doubt, queued_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, mailing, member, recipient, "m\(id)@example.org", state, t, code, reply, doubt, t, t])
            }
            // Failed messages from before failure classes: a bounce, a refused message, one given up, circulate's own.
            for (id, reply, code) in [(7, "550 5.1.1 No such user", 550), (8, "554 5.7.1 Message rejected", 554),
                                      (9, "gave up after retrying: 451 busy", 451),
                                      (10, "553 5.1.3 not sent: the recipient address has no @ (circulate's own check, nothing reached the relay)", 553)] {
                try db.execute(sql: """
                    INSERT INTO delivery (id, mailing_id, member_id, recipient, message_id, state, attempts, next_attempt_at, reply_code, reply,
                                          queued_at, updated_at)
                    VALUES (?, 1, NULL, 'x@example.org', ?, 'failed', 1, ?, ?, ?, ?, ?)
                    """, arguments: [id, "m\(id)@example.org", t, code, reply, t, t])
            }
            // An erased person's message once had a higher number: it must never be handed out again.
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = 50 WHERE name = 'delivery'")
        }
    }

    @Test("every existing state is mapped before the daemon starts, and a send works on the upgraded database")
    func upgrade() throws {
        let scratch = try Scratch()
        let path = scratch.path("test.sqlite")
        try Self.previousRelease(at: path)
        let db = try AppDatabase.open(path: path, create: false)
        let rows = try db.deliveries(states: Delivery.State.allCases, mailing: nil, limit: 100)
        func row(_ id: Int64) throws -> Delivery { try #require(rows.first { $0.id == id }) }
        #expect(try row(1).state == .sent)
        #expect(try row(2).state == .sending, "in flight: recovered by the daemon at its start")
        #expect(try row(3).state == .deferred && row(3).doubts == 1)
        #expect(try row(4).state == .held, "a held mailing's messages are held")
        #expect(try row(5).state == .cancelled, "a test message left waiting is never sent later")
        #expect(try row(6).state == .failed && row(6).failure == .notSent)
        #expect(try row(7).failure == .bounce && row(8).failure == .rejected && row(9).failure == .gaveUp && row(10).failure == .notSent)
        #expect(try db.mailing(id: 4)?.state == .done)
        let sequence = try db.pool.read { try Int.fetchOne($0, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'delivery'") }
        #expect(sequence == 50)

        // A send on it: the daemon's engine recovers the message in flight and delivers what is due; the held mailing waits.
        var config = CirculateCore.Configuration()
        config.list.address = "cop@example.org"
        let outbox = scratch.path("outbox")
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        let engine = DeliveryEngine(database: db, transport: MaildirTransport(folder: outbox), builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: Logger(label: "test"))
        let announcement = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "December update", bodyMarkdown: "News",
                                            requestedStart: nil, now: Date(), createdBy: "sam")
        #expect(try db.enqueue(announcement, domain: "example.org", now: Date()).added == 3)
        try DeliveryEngineTests.runEngine(engine) { (try db.queueSummary().byState[.sent] ?? 0) == 6 }
        let after = try db.queueSummary()
        #expect(after.byState[.sent] == 6, "\(after.byState)")
        #expect(after.byState[.held] == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outbox + "/new").count == 5)
        let newIDs = try db.deliveries(states: [.sent], mailing: nil, limit: 100).map(\.id).filter { $0 > 10 }
        #expect(newIDs.allSatisfy { $0 > 50 }, "\(newIDs)")
    }

    @Test("a value outside the schema's states is an error when read, never a default")
    func unknownState() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        try db.pool.write { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: """
                INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key, created_by, created_at, updated_at)
                VALUES ('announcement', NULL, 'x', 's', 'b', '2026-01-01 00:00:00.000', 'exploded', 'k', 'sam', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')
                """)
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        #expect(throws: (any Error).self) { try db.mailings(activeOnly: false) }
    }
}
