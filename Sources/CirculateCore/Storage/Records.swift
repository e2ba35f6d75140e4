import GRDB

// Persistence for the domain's plain structs: one table each, snake_case columns.

extension Member: FetchableRecord, MutablePersistableRecord {
    /// The table.
    public static let databaseTableName = "member"

    enum CodingKeys: String, CodingKey {
        case id, email, emailKey = "email_key", name, organisation, status, lawfulBasis = "lawful_basis"
        case monthlyUpdate = "monthly_update", sessionInvitations = "session_invitations", reports
        case createdAt = "created_at", updatedAt = "updated_at", statusChangedAt = "status_changed_at"
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let emailKey = Column(CodingKeys.emailKey)
        public static let status = Column(CodingKeys.status)
    }

    /// Keeps the id SQLite assigned.
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension ConsentEvent: FetchableRecord, MutablePersistableRecord {
    /// The table.
    public static let databaseTableName = "consent_event"

    enum CodingKeys: String, CodingKey {
        case id, memberID = "member_id", action, stream, lawfulBasis = "lawful_basis", source
        case wordingVersion = "wording_version", recordedBy = "recorded_by", occurredAt = "occurred_at"
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let memberID = Column(CodingKeys.memberID)
    }

    /// Keeps the id SQLite assigned.
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
