import Foundation
import GRDB

extension AppDatabase {
    private static let lastReadName = "inbox.last_read_at"
    private static let problemName = "inbox.problem"
    private static let problemSinceName = "inbox.problem_since"

    /// The daemon read the mailbox to the end at `time`: any earlier problem is over.
    public func recordMailboxRead(at time: Date) throws {
        try write { db in
            try Self.put(db, Self.lastReadName, Self.stamp(time))
            try db.execute(sql: "DELETE FROM setting WHERE name IN (?, ?)", arguments: [Self.problemName, Self.problemSinceName])
        }
    }

    /// A poll failed at `time` with `problem`; the time it started failing is kept across repeated failures.
    public func recordMailboxProblem(_ problem: String, at time: Date) throws {
        try write { db in
            try Self.put(db, Self.problemName, String(problem.prefix(1_000)))
            if try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = ?", arguments: [Self.problemSinceName]) == nil {
                try Self.put(db, Self.problemSinceName, Self.stamp(time))
            }
        }
    }

    /// What the daemon last recorded about reading the mailbox.
    public func mailboxStatus() throws -> MailboxStatus {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT name, value FROM setting WHERE name IN (?, ?, ?)",
                                        arguments: [Self.lastReadName, Self.problemName, Self.problemSinceName])
            var values: [String: String] = [:]
            for row in rows { values[row["name"]] = row["value"] }
            return MailboxStatus(lastReadAt: values[Self.lastReadName].flatMap(Self.date),
                                 problem: values[Self.problemName],
                                 problemSince: values[Self.problemSinceName].flatMap(Self.date))
        }
    }

    private static func put(_ db: Database, _ name: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO setting (name, value) VALUES (?, ?)", arguments: [name, value])
    }

    /// Seconds since 1970, exactly: the daemon's clock may be a test's.
    private static func stamp(_ time: Date) -> String { String(time.timeIntervalSince1970) }
    private static func date(_ text: String) -> Date? { Double(text).map(Date.init(timeIntervalSince1970:)) }
}
