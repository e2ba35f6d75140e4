import CirculateTestSupport
import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Erasure and subject access")
struct ErasureTests {
    @Test("erasure leaves neither the address nor the name anywhere in the database, -wal or -shm bytes")
    func rawBytes() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let email = "quintessa.vandermeer@example.org"
        let name = "Quintessa Vandermeer-Øyelaran"
        let address = try EmailAddress(email)
        _ = try db.addMember(person(email, name: name, organisation: "Vandermeer Trust", tags: ["member"]),
                             grant: grant(source: "sign-in sheet, Quintessa Vandermeer signed"), key: testKey, rejoin: false, now: testNow)
        // Older versions of the row, in several pages and WAL frames.
        for i in 0..<5 {
            var c = MemberChanges(source: "edit \(i)", recordedBy: "sam")
            c.name = name + " \(i)"
            c.disableStreams = i % 2 == 0 ? [.reports] : []
            c.enableStreams = i % 2 == 1 ? [.reports] : []
            _ = try db.edit(address, changes: c, wordingVersion: "2026-01", key: testKey, now: testNow)
        }
        for i in 0..<50 {
            _ = try db.addMember(person("other\(i)@example.org", name: "Other Person \(i)"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        // The search must be able to find the data before erasure, or it proves nothing.
        let foundBefore = contains(scratch.databaseBytes(), email) && contains(scratch.databaseBytes(), "Quintessa Vandermeer")
        #expect(foundBefore)

        let receipt = try db.erase(address, key: testKey, erasedBy: "sam", now: testNow)
        #expect(receipt.logCleared)
        #expect(receipt.rowsRemoved == 1 + 1 + 6)  // member, tag, consent events
        let bytes = scratch.databaseBytes()
        let left = [email, "quintessa", "Quintessa", "Vandermeer", "Øyelaran", "Vandermeer Trust"].filter { contains(bytes, $0) }
        #expect(left.isEmpty, "still on disk after erasure: \(left)")
        // The other members are intact, and the erasure is recorded without personal data.
        #expect(try db.members(MemberFilter()).count == 50)
        let erasures = try db.pool.read { try Row.fetchAll($0, sql: "SELECT * FROM erasure") }
        #expect(erasures.count == 1)
        #expect(try db.lookup(address, key: testKey) == .erased(erasedAt: testNow))
    }

    @Test("an erased address is refused by add unless the person asked to rejoin")
    func rejoin() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let p = try person("alex@example.org")
        _ = try db.addMember(p, grant: grant(), key: testKey, rejoin: false, now: testNow)
        _ = try db.erase(p.address, key: testKey, erasedBy: "sam", now: testNow)
        #expect(throws: MemberError.erased(address: "ALEX@example.org", erasedAt: testNow)) {
            try db.addMember(person("ALEX@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        let back = try db.addMember(p, grant: grant(source: "asked to rejoin, 2 Dec 2026"), key: testKey, rejoin: true, now: testNow)
        #expect(back.member.status == .active)
        #expect(try db.lookup(p.address, key: testKey) != .erased(erasedAt: testNow))
        #expect(try db.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM suppression") } == 0)
    }

    @Test("erasing an unknown address changes nothing")
    func unknown() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        #expect(throws: MemberError.unknown(address: "nobody@example.org")) {
            try db.erase(EmailAddress("nobody@example.org"), key: testKey, erasedBy: "sam", now: testNow)
        }
        #expect(try db.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM suppression") } == 0)
    }

    @Test("the suppression hash depends on the instance key and not on the address's case")
    func hash() throws {
        let other = try InstanceKey(bytes: Array(repeating: 9, count: 32))
        let a = try EmailAddress("Alex@Example.org")
        let b = try EmailAddress("alex@example.org")
        #expect(testKey.suppressionHash(for: a) == testKey.suppressionHash(for: b))
        #expect(testKey.suppressionHash(for: a) != other.suppressionHash(for: a))
        #expect(testKey.suppressionHash(for: a).count == 64)
    }

    @Test("the subject access export holds the person's details and whole consent history")
    func export() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let p = try person("alex@example.org", name: "Alex Morgan", organisation: "Riverside", tags: ["member", "north"])
        _ = try db.addMember(p, grant: grant(), key: testKey, rejoin: false, now: testNow)
        _ = try db.unsubscribe(p.address, stream: .reports, source: "reply", recordedBy: "sam", key: testKey, now: testNow)
        let mailing = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "November update",
                                         bodyMarkdown: "Hello", requestedStart: nil, now: testNow, createdBy: "sam")
        _ = try db.enqueue(mailing, domain: "example.org", now: testNow)
        let export = try db.export(p.address, key: testKey, controller: "Riverside CoP", now: testNow)
        #expect(export.messages.map(\.subject) == ["November update"])
        #expect(export.messages.first?.state == "queued")
        #expect(export.messages.first?.address == "alex@example.org")
        #expect(export.person?.name == "Alex Morgan")
        #expect(export.person?.roles == ["member"])
        #expect(export.person?.tags == ["north"])
        #expect(export.person?.streams == ["monthly-update", "session-invitations"])
        #expect(export.consentHistory.map(\.action) == ["given", "withdrawn"])
        #expect(export.controller == "Riverside CoP")

        _ = try db.erase(p.address, key: testKey, erasedBy: "sam", now: testNow)
        let after = try db.export(p.address, key: testKey, controller: "Riverside CoP", now: testNow)
        #expect(after.status == "erased-suppressed")
        #expect(after.person == nil && after.consentHistory.isEmpty && after.messages.isEmpty)
        #expect(try db.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM delivery") } == 0, "erasure deletes the queue rows")
    }
}
