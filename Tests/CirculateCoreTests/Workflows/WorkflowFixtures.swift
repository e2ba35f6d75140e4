import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

/// A clock the tests move by hand; the scheduler reads it through its injected closure.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date

    init(_ start: Date) { value = start }

    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// When the fixtures' people were added: well before any session in the tests.
let setupTime = utc(2026, 9, 1, 12)

/// A scratch database with the helpers the workflow tests share. Expected instants are written in UTC by hand
/// (see `Zones`), never computed with the code under test.
struct WorkflowWorld {
    let scratch: Scratch
    let db: AppDatabase
    let config = CirculateCore.Configuration()
    let domain = "example.org"

    init() throws {
        scratch = try Scratch()
        db = try scratch.database()
    }

    /// The thank-you rule of the default configuration: the next local day at 10:00, Europe/London.
    var followUp: FollowUpRule { config.followUpRule }

    /// Adds a person and returns their id.
    @discardableResult
    func member(_ email: String, name: String = "", basis: LawfulBasis = .consent, tags: [String] = [],
                streams: StreamPreferences? = nil, at: Date = setupTime) throws -> Int64 {
        let profile = try db.addMember(NewMember(address: EmailAddress(email), name: name, organisation: nil, tags: tags, streams: streams),
                                       grant: grant(basis), key: testKey, rejoin: false, now: at)
        return try #require(profile.member.id)
    }

    /// Stops one stream (or, with nil, everything) for a person.
    func leave(_ email: String, stream: MailStream? = nil, at: Date = setupTime) throws {
        _ = try db.unsubscribe(EmailAddress(email), stream: stream, source: "reply to a message", recordedBy: "sam", key: testKey, now: at)
    }

    /// Adds a session `hours` long.
    func session(_ title: String? = "Hospital discharge", topic: String? = nil, start: Date, hours: Double = 2,
                 hold: Bool = false, at: Date = setupTime) throws -> Session {
        try db.addSession(NewSession(topic: topic, title: title, startsAt: start, endsAt: start.addingTimeInterval(hours * 3600),
                                     venueName: "Community Hall", venueAddress: "1 High Street, Stoke-on-Trent", onlineLink: nil,
                                     facilitator: "Robin Facilitator", holdForNotes: hold),
                          followUp: followUp, now: at)
    }

    /// A sign-in sheet with the columns Name, Email, Consent.
    func sheet(_ rows: [String]) throws -> SignInSheet {
        try SignInSheet.parse(Data(("Name,Email,Consent\n" + rows.joined(separator: "\n") + "\n").utf8))
    }

    /// Records a session's sign-in sheet (or apologies). An apologies sheet adds nobody to the list, so for one the
    /// people on it are put on the list first (with the consent their row gives), as members who sent apologies.
    func attendance(_ session: Int64, _ rows: [String], status: Participation = .attended, now: Date) throws -> AttendanceReport {
        if status == .apologies {
            _ = try db.importSheet(sheet(rows), options: ImportOptions(source: "earlier sheet", wordingVersion: "2026-01", recordedBy: "sam"),
                                   key: testKey, now: now.addingTimeInterval(-1))
        }
        return try db.recordAttendance(session: session, sheet: sheet(rows), status: status,
                                options: ImportOptions(source: "sign-in sheet, session \(session)", wordingVersion: "2026-01", recordedBy: "sam"),
                                key: testKey, now: now)
    }

    /// A scheduler with the default configuration, reading `clock`.
    func scheduler(_ clock: TestClock) -> WorkflowScheduler {
        WorkflowScheduler(database: db, context: WorkflowContext(configuration: config, templates: AppDatabase.testContext().templates),
                          logger: Logger(label: "workflow-test"), clock: { clock.now })
    }

    /// Mailings of a kind, oldest first.
    func mailings(_ kind: Mailing.Kind) throws -> [Mailing] {
        try db.pool.read { db in
            try Mailing.fetchAll(db, sql: "SELECT * FROM mailing WHERE kind = ? ORDER BY id", arguments: [kind.rawValue])
        }
    }

    /// The one mailing of a kind (fails the test if there is not exactly one).
    func onlyMailing(_ kind: Mailing.Kind, sourceLocation: SourceLocation = #_sourceLocation) throws -> Mailing {
        let all = try mailings(kind)
        #expect(all.count == 1, "expected one \(kind.rawValue) mailing, found \(all.count)", sourceLocation: sourceLocation)
        return try #require(all.first, sourceLocation: sourceLocation)
    }

    /// The recipients of a mailing, sorted; only deliveries in `states` if given.
    func recipients(_ mailing: Mailing?, states: [Delivery.State]? = nil) throws -> [String] {
        guard let id = mailing?.id else { return [] }
        return try db.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT recipient, state FROM delivery WHERE mailing_id = ? ORDER BY recipient", arguments: [id])
                .filter { row in states.map { $0.map(\.rawValue).contains(row["state"] as String) } ?? true }
                .map { $0["recipient"] }
        }
    }

    /// The state of one person's delivery in a mailing.
    func deliveryState(_ mailing: Mailing, _ email: String) throws -> String? {
        try db.pool.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM delivery WHERE mailing_id = ? AND recipient = ?", arguments: [mailing.id, email])
        }
    }

    /// The mailing's state now.
    func state(of mailing: Mailing) throws -> Mailing.State? {
        try db.mailing(id: mailing.id ?? -1)?.state
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try db.pool.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
    }

    func execute(_ sql: String, _ arguments: StatementArguments = []) throws {
        try db.pool.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    /// Session participation as "email:status", sorted.
    func participation(_ session: Int64) throws -> [String] {
        try db.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT m.email, p.status FROM participation p JOIN member m ON m.id = p.member_id
                WHERE p.session_id = ? ORDER BY m.email
                """, arguments: [session]).map { "\($0["email"] as String):\($0["status"] as String)" }
        }
    }

    func session(_ id: Int64) throws -> Session {
        try db.sessionDetails(id).session
    }
}
