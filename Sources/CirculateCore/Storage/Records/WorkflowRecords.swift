import Foundation
import GRDB

extension Topic: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "topic"

    /// Columns, for queries.
    public enum Columns {
        public static let id = Column("id")
        public static let titleKey = Column("title_key")
        public static let state = Column("state")
    }

    /// A topic by number or title (any case).
    static func find(_ db: Database, reference: String) throws -> Topic? {
        let trimmed = reference.trimmedSpaces
        if let id = Int64(trimmed), let topic = try Topic.fetchOne(db, key: id) { return topic }
        return try Topic.filter(Columns.titleKey == trimmed.lowercased()).fetchOne(db)
    }

    /// A topic by number.
    static func find(_ db: Database, id: Int64) throws -> Topic {
        guard let topic = try Topic.fetchOne(db, key: id) else { throw WorkflowError.noTopic(String(id)) }
        return topic
    }
}

extension Session: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "session"

    /// Sessions with their topic's title (the one query every session read goes through).
    static let select = "SELECT s.*, t.title AS topic_title FROM session s LEFT JOIN topic t ON t.id = s.topic_id"

    /// A session by number.
    static func find(_ db: Database, id: Int64) throws -> Session {
        guard let session = try Session.fetchOne(db, sql: "\(select) WHERE s.id = ?", arguments: [id]) else {
            throw WorkflowError.noSession(id)
        }
        return session
    }

    /// The next session still to come after `date` (by start), if any.
    static func next(_ db: Database, after date: Date) throws -> Session? {
        try Session.fetchOne(db, sql: """
            \(select) WHERE s.state = '\(State.scheduled.rawValue)' AND s.starts_at > ? ORDER BY s.starts_at, s.id LIMIT 1
            """, arguments: [date])
    }
}

/// One person's record for one session (the `participation` table).
struct ParticipationRecord: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "participation"

    var sessionID: Int64
    var memberID: Int64
    var status: Participation
    var recordedAt: Date

    /// Columns, for queries.
    public enum Columns {
        public static let sessionID = Column("session_id")
        public static let memberID = Column("member_id")
        public static let status = Column("status")
    }
}

extension Report: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "report"

    /// Reports without their file (its size instead): listings never load attachments.
    static let select = """
        SELECT id, title, topic_id, link, filename, length(file_data) AS file_size, audience, cover_note, distributed_at,
               follow_up_at, followed_up_at, created_by, request_key,
               (SELECT max(d.last_attempt_at) FROM mailing g JOIN delivery d ON d.mailing_id = g.id
                WHERE g.report_id = report.id AND g.kind = 'report-follow-up' AND g.state = 'done' AND d.state = 'sent')
                   AS follow_up_sent_at
        FROM report
        """

    /// A report by number.
    static func find(_ db: Database, id: Int64) throws -> Report {
        guard let report = try Report.fetchOne(db, sql: "\(select) WHERE id = ?", arguments: [id]) else {
            throw WorkflowError.noReport(String(id))
        }
        return report
    }
}

/// A person a report was sent to, and whether they responded (the `report_recipient` table).
struct ReportRecipient: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "report_recipient"

    var reportID: Int64
    var memberID: Int64
    var respondedAt: Date?
    var responseNote: String?
}

extension MonthlyUpdate: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "monthly_update"

    /// Columns, for queries.
    public enum Columns {
        public static let id = Column("id")
        public static let slotAt = Column("slot_at")
        public static let state = Column("state")
    }

    /// An update by number.
    static func find(_ db: Database, id: Int64) throws -> MonthlyUpdate {
        guard let update = try MonthlyUpdate.fetchOne(db, key: id) else { throw WorkflowError.noUpdate(id) }
        return update
    }
}

/// What the scheduler has told the coordinator about an update slot (the `slot_notice` table).
struct SlotNotice: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "slot_notice"

    enum Kind: String, Codable, DatabaseValueConvertible {
        case reminder, missed
    }

    var slotAt: Date
    var kind: Kind
    var createdAt: Date
}

/// How far the scheduler has looked (the `scheduler_mark` table).
struct SchedulerMark: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "scheduler_mark"

    var name: String
    var value: Date

    /// The mark's value, if set.
    static func value(_ db: Database, _ name: String) throws -> Date? {
        try SchedulerMark.fetchOne(db, key: name)?.value
    }

    /// Sets the mark.
    static func set(_ db: Database, _ name: String, _ value: Date) throws {
        try db.execute(sql: """
            INSERT INTO scheduler_mark (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
            """, arguments: [name, value])
    }
}

/// One SMTP transaction the relay saw, for its rate limits (the `relay_attempt` table).
struct RelayAttempt: SchemaRecord, TableRecord {
    static let databaseTableName = "relay_attempt"

    var id: Int64
    var at: Date
    var deliveryID: Int64?
    var settled: Bool
}
