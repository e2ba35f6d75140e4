import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Export and erasure cover every inbound record that names a person")
struct InboundExportTests {
    @Test("a record linked only through a message sent to them and one linked only as the member are both exported, then both erased with the mailbox job queued; another person's stays")
    func bothLinks() throws {
        let w = try QueueWorld()
        let sent = try w.claimAll()
        try w.record(sent.map { ($0, SendOutcome.accepted(reply: "250 Ok")) })
        let p0 = sent[0], p1 = sent[1]
        let member: Int64 = try #require(try w.db.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM member WHERE email = ?", arguments: [p0.recipient])
        })
        try w.db.pool.write { db in
            let place = { (uid: Int64) in InboundRecord.Place(folder: "INBOX", uidValidity: 7, uid: uid) }
            // As a report about their message whose member link is unknown (the kinds other parts add link the same way).
            _ = try AppDatabase.saveInbound(db, existing: nil, place: place(1), messageID: "by-delivery@example.org", kind: "delivery-report",
                                            state: .handled, action: "report", delivery: p0.deliveryID, member: nil, now: testNow)
            _ = try AppDatabase.saveInbound(db, existing: nil, place: place(2), messageID: "by-member@example.org", kind: "unsubscribe",
                                            state: .handled, action: "left", delivery: nil, member: member, now: testNow)
            _ = try AppDatabase.saveInbound(db, existing: nil, place: place(3), messageID: "other@example.org", kind: "delivery-report",
                                            state: .handled, action: "report", delivery: p1.deliveryID, member: nil, now: testNow)
        }
        let export = try w.db.export(EmailAddress(p0.recipient), key: testKey, controller: "CoP", now: testNow)
        #expect(export.inbound.map(\.kind) == ["delivery-report", "unsubscribe"], "\(export.inbound)")
        #expect(export.inbound.first?.aboutMessageId == p0.messageID)

        let receipt = try w.db.erase(EmailAddress(p0.recipient), key: testKey, erasedBy: "sam", mailbox: true, now: testNow)
        #expect(receipt.mailboxPending)
        let left = try w.db.pool.read { db in try String.fetchAll(db, sql: "SELECT message_id FROM inbound_message ORDER BY id") }
        #expect(left == ["other@example.org"])
        let job = try #require(try w.db.pendingMailboxErasures().first)
        #expect(job.address == p0.recipient && job.messageIDs == ["by-delivery@example.org", "by-member@example.org"])
        // While the mailbox part waits, the export of the erased address says the address is still kept, and why.
        let waiting = try w.db.export(EmailAddress(p0.recipient), key: testKey, controller: "CoP", now: testNow)
        #expect(waiting.status == "erased-suppressed" && waiting.notes.contains { $0.contains("still to be deleted") }, "\(waiting.notes)")
        // Without an inbox, no job and no address kept.
        _ = try w.db.erase(EmailAddress(p1.recipient), key: testKey, erasedBy: "sam", now: testNow)
        #expect(try w.db.pendingMailboxErasures().count == 1)
        let done = try w.db.export(EmailAddress(p1.recipient), key: testKey, controller: "CoP", now: testNow)
        #expect(done.notes.count == 1 && !done.notes[0].contains("mailbox"), "\(done.notes)")
    }
}
