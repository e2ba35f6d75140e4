import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// The read commands (`member list`, `queue status`, `session show`, `report status`) must stay fast on a large list
/// and queue: 10,000 members and 100,000 messages in well under 100 ms (`bench/cli_timings.py` times them). Timing is
/// no unit test; what makes the time is, so these tests read the query plans of every statement the commands run.
@Suite("Read commands use indexes on a large list and queue")
struct ReadPlanTests {
    /// One statement a read ran, with SQLite's plan for it.
    struct Step: CustomStringConvertible {
        var sql: String
        var plan: [String]
        /// The indexes that hold only some rows (`delivery_due`: the messages waiting; `delivery_in_doubt`).
        var partialIndexes: Set<String>
        var description: String { "\(sql)\n  " + plan.joined(separator: "\n  ") }

        /// The names `delivery` goes by in the statement: its own and any alias ("delivery d").
        var deliveryNames: Set<String> {
            var names: Set<String> = ["delivery"]
            let keywords: Set<String> = ["where", "join", "group", "order", "on", "limit", "set", "left", "inner", "union", "as"]
            let words = sql.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" })
            for (i, word) in words.enumerated() where word == "delivery" && i + 1 < words.count {
                var next = words[i + 1]
                if next == "as", i + 2 < words.count { next = words[i + 2] }
                if !keywords.contains(String(next)) { names.insert(String(next)) }
            }
            return names
        }

        /// Plan lines that read every message of the queue: a scan of the table, or of an index of all its rows.
        var fullScansOfDelivery: [String] {
            let names = deliveryNames
            return plan.filter { line in
                let words = line.split(separator: " ").map(String.init)
                guard words.count >= 2, words[0] == "SCAN", names.contains(words[1]) else { return false }
                // The one pass that counts every mailing by state reads the small (mailing, state) index in order.
                if line.contains("USING COVERING INDEX delivery_by_mailing") { return false }
                guard let index = words.firstIndex(of: "INDEX").map({ words.index(after: $0) }), index < words.count else { return true }
                return !partialIndexes.contains(words[index])
            }
        }
    }

    /// Runs `body` on a connection to the database at `path` and returns each SELECT it ran with its plan.
    static func steps(_ path: String, _ body: (Database) throws -> Void) throws -> [Step] {
        let queue = try DatabaseQueue(path: path, configuration: AppDatabase.configuration())
        return try queue.inDatabase { db in
            var statements: [String] = []
            db.trace(options: .statement) { event in
                if case .statement(let statement) = event { statements.append(statement.expandedSQL) }
            }
            try body(db)
            db.trace(options: [], nil)
            let partial = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"))
            return try statements.filter { $0.uppercased().hasPrefix("SELECT") }.map { sql in
                Step(sql: sql, plan: try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] }, partialIndexes: partial)
            }
        }
    }

    /// A database with people, a session with attendance and invitations, a report, and mailings in several states,
    /// some messages in doubt.
    static func filled(_ scratch: Scratch) throws -> String {
        let path = scratch.path("test.sqlite")
        let db = try scratch.database()
        try db.pool.write { db in
            let t = "2026-11-01 09:00:00.000"
            for id in 1...40 {
                try db.execute(sql: """
                    INSERT INTO member (id, email, email_key, name, status, lawful_basis, monthly_update, session_invitations, reports,
                                        created_at, updated_at, status_changed_at)
                    VALUES (?, ?, ?, ?, 'active', 'consent', 1, 1, 1, ?, ?, ?)
                    """, arguments: [id, "m\(id)@example.org", "m\(id)@example.org", "Member \(id)", t, t, t])
                try db.execute(sql: "INSERT INTO member_tag (member_id, tag) VALUES (?, ?)", arguments: [id, id % 4 == 0 ? "key-influencer" : "member"])
            }
            try db.execute(sql: """
                INSERT INTO session (id, title, starts_at, ends_at, state, follow_up_at, created_at, updated_at)
                VALUES (1, 'Hospital discharge', '2026-11-05 10:00:00.000', '2026-11-05 12:00:00.000', 'scheduled', '2026-11-06 10:00:00.000', ?, ?)
                """, arguments: [t, t])
            for id in 1...10 {
                try db.execute(sql: "INSERT INTO participation (session_id, member_id, status, recorded_at) VALUES (1, ?, ?, ?)",
                               arguments: [id, id % 3 == 0 ? "apologies" : "attended", t])
            }
            try db.execute(sql: """
                INSERT INTO report (id, title, link, audience, distributed_at, follow_up_at, created_by)
                VALUES (1, 'Findings', 'https://example.org/r.pdf', 'key-influencer', ?, ?, 'sam')
                """, arguments: [t, t])
            let mailings: [(id: Int, kind: String, state: String, session: Int?, report: Int?)] = [
                (1, "announcement", "done", nil, nil), (2, "announcement", "sending", nil, nil), (3, "invitation", "done", 1, nil),
                (4, "thank-you", "done", 1, nil), (5, "report", "done", nil, 1), (6, "report-follow-up", "scheduled", nil, 1),
            ]
            for m in mailings {
                try db.execute(sql: """
                    INSERT INTO mailing (id, kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key, created_by,
                                         created_at, updated_at, session_id, invitation_session_id, report_id)
                    VALUES (?, ?, NULL, 'everyone', 'Subject', 'Body', ?, ?, ?, 'sam', ?, ?, ?, ?, ?)
                    """, arguments: [m.id, m.kind, t, m.state, "key-\(m.id)", t, t, m.session, m.session, m.report])
                for member in 1...40 where m.report == nil || member % 4 == 0 {
                    let state = ["sent", "queued", "deferred", "failed", "cancelled"][(member + m.id) % 5]
                    try db.execute(sql: """
                        INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, next_attempt_at, doubts, failure,
                                              queued_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [m.id, member, "m\(member)@example.org", "\(m.id).\(member)@example.org", state, t,
                                         member % 7 == 0 ? 1 : 0, state == "failed" ? "rejected" : nil, t, t])
                }
                if m.report != nil {
                    try db.execute(sql: "INSERT OR IGNORE INTO report_recipient (report_id, member_id) SELECT 1, member_id FROM delivery WHERE mailing_id = ?",
                                   arguments: [m.id])
                }
            }
        }
        return path
    }

    @Test("queue status and send --wait never read the delivery table row by row, nor sort it to count it")
    func queueStatus() throws {
        let scratch = try Scratch()
        let path = try Self.filled(scratch)
        let steps = try Self.steps(path) { db in
            _ = try OutboundQueue.mailings(db, activeOnly: true)
            let outlook = try AppDatabase.outlook(db, windows: [RateWindow(limit: 100, seconds: 3600)], now: testNow)
            #expect(outlook.summary.byState[.sent] ?? 0 > 0 && outlook.summary.inDoubtWaiting > 0, "the fixture has what it needs")
            #expect(outlook.countsByMailing[2]?[.queued] ?? 0 > 0)
            _ = try OutboundQueue.summary(db, mailing: 2)
        }
        #expect(steps.contains { $0.sql.contains("FROM delivery") }, "the statements were seen")
        for step in steps {
            #expect(step.fullScansOfDelivery.isEmpty, "\(step)")
            #expect(!step.plan.contains { $0.contains("TEMP B-TREE FOR GROUP BY") } || !step.sql.contains("delivery"), "\(step)")
        }
    }

    @Test("the counts queue status shows come from the one pass over each mailing's messages, and agree with it")
    func countsAgree() throws {
        let scratch = try Scratch()
        let path = try Self.filled(scratch)
        let queue = try DatabaseQueue(path: path, configuration: AppDatabase.configuration())
        try queue.read { db in
            let byMailing = try OutboundQueue.stateCountsByMailing(db)
            for (mailing, counts) in byMailing {
                #expect(try OutboundQueue.summary(db, mailing: mailing).byState == counts)
            }
            let plain = try Row.fetchAll(db, sql: "SELECT state, count(*) FROM delivery GROUP BY state")
            let total = try OutboundQueue.summary(db, mailing: nil)
            #expect(plain.count == total.byState.count)
            for row in plain { #expect(total.byState[Delivery.State(rawValue: row[0]) ?? .queued] == row[1]) }
            let doubts = try Int.fetchOne(db, sql: "SELECT count(*) FROM delivery WHERE doubts > 0 AND state IN ('queued', 'deferred')")
            #expect(total.inDoubtWaiting == doubts)
        }
    }

    @Test("session show and report status reach messages only through an index")
    func sessionAndReport() throws {
        let scratch = try Scratch()
        let path = try Self.filled(scratch)
        let steps = try Self.steps(path) { db in
            let session = try AppDatabase.sessionDetails(db, 1)
            #expect(session.invited > 0 && !session.people.isEmpty)
            let report = try AppDatabase.reportStatus(db, "1")
            #expect(!report.recipients.isEmpty)
        }
        #expect(steps.contains { $0.sql.contains("delivery") }, "the statements were seen")
        for step in steps {
            #expect(step.fullScansOfDelivery.isEmpty && !step.plan.contains { $0 == "SCAN delivery USING COVERING INDEX delivery_by_mailing" },
                    "\(step)")
        }
    }

    @Test("member list reads people in address order from the address index, without sorting the list")
    func memberList() throws {
        let scratch = try Scratch()
        let path = try Self.filled(scratch)
        let steps = try Self.steps(path) { db in
            let members = try AppDatabase.members(db, MemberFilter())
            #expect(members.count == 40)
        }
        #expect(steps.count >= 2, "\(steps)")
        for step in steps {
            #expect(!step.plan.contains { $0.contains("TEMP B-TREE") }, "\(step)")
        }
    }
}
