import Foundation
import GRDB

// Persistence for the member list's tables. Members and consent events are read and written by hand rather than
// through Codable: on the import path that is most of the cost (measured with scripts/bench-import). A value that does
// not fit its type (an unknown status) is an error all the same.

extension MemberStatus: DatabaseValueConvertible {}
extension LawfulBasis: DatabaseValueConvertible {}
extension MailStream: DatabaseValueConvertible {}
extension ConsentEvent.Action: DatabaseValueConvertible {}

extension Member: FetchableRecord, MutablePersistableRecord {
    /// The table.
    public static let databaseTableName = "member"

    enum CodingKeys: String, CodingKey {
        case id, email, emailKey = "email_key", name, knownAs = "known_as", organisation, status, lawfulBasis = "lawful_basis"
        case monthlyUpdate = "monthly_update", sessionInvitations = "session_invitations", reports
        case createdAt = "created_at", updatedAt = "updated_at", statusChangedAt = "status_changed_at"
    }

    /// Column names, for queries.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let emailKey = Column(CodingKeys.emailKey)
        public static let status = Column(CodingKeys.status)
    }

    /// Reads a row.
    public init(row: Row) throws {
        id = row["id"]
        email = row["email"]
        emailKey = row["email_key"]
        name = row["name"]
        knownAs = row["known_as"]
        organisation = row["organisation"]
        status = try row.decode(forColumn: "status")
        lawfulBasis = try row.decode(forColumn: "lawful_basis")
        monthlyUpdate = row["monthly_update"]
        sessionInvitations = row["session_invitations"]
        reports = row["reports"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        statusChangedAt = row["status_changed_at"]
    }

    /// The columns `init(listedRow:)` reads, in its order.
    static let listedColumns = """
        id, email, email_key, name, organisation, status, lawful_basis, monthly_update, session_invitations, reports, \
        created_at, updated_at, status_changed_at, known_as
        """

    /// Reads a row of `listedColumns` by position, for listings of the whole list: by name, each value cost a
    /// case-insensitive column lookup and a generic decode, most of `member list`'s fetch. Dates still go through
    /// GRDB (once per distinct text, see `StoredDates`), so that they are exactly the dates `init(row:)` reads.
    init(listedRow row: Row, dates: inout StoredDates) throws {
        id = row[0]
        email = row[1]
        emailKey = row[2]
        name = row[3]
        organisation = row[4]
        let status: String = row[5]
        guard let parsedStatus = MemberStatus(rawValue: status) else {
            throw StorageError(kind: .storage, "member \(id ?? 0) has an unknown status \"\(status)\"", transient: false)
        }
        self.status = parsedStatus
        if let basis = row[6] as String? {
            guard let parsed = LawfulBasis(rawValue: basis) else {
                throw StorageError(kind: .storage, "member \(id ?? 0) has an unknown lawful basis \"\(basis)\"", transient: false)
            }
            lawfulBasis = parsed
        } else {
            lawfulBasis = nil
        }
        monthlyUpdate = row[7]
        sessionInvitations = row[8]
        reports = row[9]
        createdAt = dates.date(row, atIndex: 10)
        updatedAt = dates.date(row, atIndex: 11)
        statusChangedAt = dates.date(row, atIndex: 12)
        knownAs = row[13]
    }

    /// Writes a row.
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["email"] = email
        container["email_key"] = emailKey
        container["name"] = name
        container["known_as"] = knownAs
        container["organisation"] = organisation
        container["status"] = status
        container["lawful_basis"] = lawfulBasis
        container["monthly_update"] = monthlyUpdate
        container["session_invitations"] = sessionInvitations
        container["reports"] = reports
        container["created_at"] = createdAt
        container["updated_at"] = updatedAt
        container["status_changed_at"] = statusChangedAt
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

    /// Column names, for queries.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let memberID = Column(CodingKeys.memberID)
    }

    /// Reads a row.
    public init(row: Row) throws {
        id = row["id"]
        memberID = row["member_id"]
        action = try row.decode(forColumn: "action")
        stream = try row.decode(forColumn: "stream")
        lawfulBasis = try row.decode(forColumn: "lawful_basis")
        source = row["source"]
        wordingVersion = row["wording_version"]
        wordingHash = row["wording_hash"]
        recordedBy = row["recorded_by"]
        occurredAt = row["occurred_at"]
    }

    /// Writes a row.
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["member_id"] = memberID
        container["action"] = action
        container["stream"] = stream
        container["lawful_basis"] = lawfulBasis
        container["source"] = source
        container["wording_version"] = wordingVersion
        container["wording_hash"] = wordingHash
        container["recorded_by"] = recordedBy
        container["occurred_at"] = occurredAt
    }

    /// Keeps the id SQLite assigned.
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A role or tag of a person (the `member_tag` table).
struct MemberTag: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "member_tag"

    var memberID: Int64
    var tag: String
}

/// What erasure leaves behind: a keyed hash of the address, never the address (the `suppression` table).
struct Suppression: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "suppression"

    var addressHash: String
    var reason: String
    var createdAt: Date
}

/// A receipt per erasure, with nothing about the person (the `erasure` table).
struct ErasureRecord: SchemaRecord, TableRecord, PersistableRecord {
    static let databaseTableName = "erasure"

    var id: Int64?
    var reference: String
    var erasedAt: Date
    var erasedBy: String
    var rowsRemoved: Int
}
