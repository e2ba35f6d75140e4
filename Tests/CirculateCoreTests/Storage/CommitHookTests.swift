import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Committed changes are announced (what wakes the daemon), reads and dry runs are not")
struct CommitHookTests {
    @Test("one call per commit that changed rows, however many rows; none for reads, empty transactions or rollbacks")
    func onlyChangesCount() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let calls = Calls()
        db.afterCommittingChanges { calls.add() }

        _ = try db.addMember(person("alex@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(calls.value == 1, "a committed change")

        try db.write { db in
            for i in 0..<200 { try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, 'x')", arguments: ["test-\(i)"]) }
        }
        #expect(calls.value == 2, "200 rows in one transaction are one announcement")

        _ = try db.fetch { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM member") }
        try db.write { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM member") }
        try db.write { db in try db.execute(sql: "DELETE FROM setting WHERE name = 'none such'") }
        #expect(calls.value == 2, "a read, or a write transaction that changed nothing, wakes nobody")

        _ = try db.writeAndRollBack { db in try db.execute(sql: "DELETE FROM setting") }
        #expect(calls.value == 2, "a dry run is rolled back")
        try db.write { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM setting") }
        #expect(calls.value == 2, "the rolled-back rows do not count at the next commit either")

        try db.write { db in try db.execute(sql: "DELETE FROM setting WHERE name = 'test-1'") }
        #expect(calls.value == 3)
    }
}

/// A thread-safe count of calls (the hook runs on GRDB's writer queue).
private final class Calls: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
