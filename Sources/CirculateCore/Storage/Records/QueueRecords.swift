import GRDB

extension Mailing: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "mailing"

    /// Columns, for queries.
    public enum Columns {
        public static let id = Column("id")
        public static let state = Column("state")
        public static let idempotencyKey = Column("idempotency_key")
        public static let requestKey = Column("request_key")
        public static let sendAfter = Column("send_after")
        public static let sessionID = Column("session_id")
        public static let reportID = Column("report_id")
        public static let kind = Column("kind")
    }
}

extension Delivery: SchemaRecord, TableRecord {
    /// The table.
    public static let databaseTableName = "delivery"

    /// Columns, for queries.
    public enum Columns {
        public static let id = Column("id")
        public static let mailingID = Column("mailing_id")
        public static let memberID = Column("member_id")
        public static let state = Column("state")
        public static let nextAttemptAt = Column("next_attempt_at")
    }
}

extension RelayPause: SchemaRecord, TableRecord {
    /// The table (at most one row, id 1).
    public static let databaseTableName = "relay_pause"
}
