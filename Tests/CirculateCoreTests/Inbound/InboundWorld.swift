import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// The November update sent to p0, p1 and p2 (bounce limit 2), a processor over the same database, and what inbound
/// messages leave behind.
struct InboundWorld {
    let world: QueueWorld
    let processor: InboxProcessor
    let sent: [Claim]

    init() throws {
        world = try QueueWorld()
        processor = InboxProcessor(database: world.db, key: testKey, bounceLimit: world.policy.bounceLimit, timeZone: .gmt)
        sent = try world.claimAll()
        try world.record(sent.map { ($0, SendOutcome.accepted(reply: "250 2.0.0 Ok")) })
    }

    func place(_ uid: Int64, validity: Int64 = 7) -> InboundRecord.Place { InboundRecord.Place(folder: "INBOX", uidValidity: validity, uid: uid) }

    /// Handles a message's text at INBOX `uid`.
    func handle(_ text: String, uid: Int64, at now: Date = testNow.addingTimeInterval(600)) throws -> InboxProcessor.Result {
        try processor.handle(Array(text.utf8), at: place(uid), now: now)
    }

    /// Handles a fixture about `claim`'s message at `uid` (under `validity`).
    func handle(_ fixture: String, claim: Claim, uid: Int64, validity: Int64 = 7) throws -> InboxProcessor.Result {
        let text = try InboundFixtures.text(fixture, messageID: claim.messageID, recipient: claim.recipient)
        return try processor.handle(Array(text.utf8), at: place(uid, validity: validity), now: testNow.addingTimeInterval(60))
    }

    /// How many inbound records there are.
    func records() throws -> Int { try world.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM inbound_message") ?? 0 } }

    /// The member's count of bounces in a row.
    func bounces(_ email: String) throws -> Int {
        try world.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT hard_bounces FROM member WHERE email = ?", arguments: [email]) ?? -1 }
    }

    /// The sources of the person's withdrawals, oldest first.
    func withdrawals(_ memberID: Int64?) throws -> [String] {
        try world.db.pool.read { db in
            try String.fetchAll(db, sql: "SELECT source FROM consent_event WHERE member_id = ? AND action = 'withdrawn' ORDER BY id", arguments: [memberID])
        }
    }
}
