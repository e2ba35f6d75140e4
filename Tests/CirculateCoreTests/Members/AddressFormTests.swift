import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Addresses in Unicode NFC: one person, one suppression entry, whatever the form typed")
struct AddressFormTests {
    static let nfc = "zoë.brontë@bücher.example".precomposedStringWithCanonicalMapping
    static let nfd = "zoë.brontë@bücher.example".decomposedStringWithCanonicalMapping

    @Test("the composed and decomposed forms are one address: same key, same hash, same person")
    func forms() throws {
        #expect(!Self.nfc.utf8.elementsEqual(Self.nfd.utf8))
        let a = try EmailAddress(Self.nfc), b = try EmailAddress(Self.nfd)
        #expect(a.key.utf8.elementsEqual(b.key.utf8) && a.description.utf8.elementsEqual(Self.nfc.utf8))
        #expect(testKey.suppressionHash(for: a) == testKey.suppressionHash(for: b))
        #expect(a.typedKey == nil && b.typedKey != nil)
        let scratch = try Scratch()
        let db = try scratch.database()
        _ = try db.addMember(person(Self.nfd), grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(throws: MemberError.self) { try db.addMember(person(Self.nfc), grant: grant(), key: testKey, rejoin: false, now: testNow) }
        _ = try db.erase(EmailAddress(Self.nfc), key: testKey, erasedBy: "sam", now: testNow)
        guard case .erased = try db.lookup(EmailAddress(Self.nfd), key: testKey) else { Issue.record("the NFD form is not recognised as erased"); return }
    }

    @Test("an erasure hashed before normalising (the form as typed) is still found for that form")
    func oldHashes() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        // What an earlier release stored: the hash of the decomposed key, as typed (the second of the address's hashes).
        let hashes = testKey.suppressionHashes(for: try EmailAddress(Self.nfd))
        #expect(hashes.count == 2 && hashes[0] != hashes[1])
        let oldHash = try #require(hashes.last)
        try db.pool.write { try $0.execute(sql: "INSERT INTO suppression (address_hash, reason, created_at) VALUES (?, 'erased', ?)", arguments: [oldHash, testNow]) }
        #expect(throws: MemberError.self) { try db.addMember(person(Self.nfd), grant: grant(), key: testKey, rejoin: false, now: testNow) }
    }

    @Test("records that turn out to be one person are merged into the older one at the first open, keeping both consent histories")
    func merge() throws {
        let scratch = try Scratch()
        var db: AppDatabase? = try scratch.database()
        let older = try #require(try db?.addMember(person("ann@example.org", name: "Zoë"), grant: grant(), key: testKey, rejoin: false, now: testNow).member.id)
        let newer = try #require(try db?.addMember(person("bo@example.org", name: "Zoë B", tags: ["board"]), grant: grant(source: "later sheet"), key: testKey,
                                                   rejoin: false, now: testNow.addingTimeInterval(60)).member.id)
        // As an earlier release could have stored them: the same address typed in its two Unicode forms.
        try db?.pool.write { db in
            try db.execute(sql: "UPDATE member SET email = ?, email_key = ? WHERE id = ?", arguments: [Self.nfd, Self.nfd, older])
            try db.execute(sql: "UPDATE member SET email = ?, email_key = ? WHERE id = ?", arguments: [Self.nfc, Self.nfc.lowercased(), newer])
            try db.execute(sql: "DELETE FROM setting WHERE name = 'addresses_nfc'")
        }
        db = nil
        let reopened = try AppDatabase.open(path: scratch.path("test.sqlite"), create: false)
        let report = try #require(reopened.takeAddressNormalisationReport())
        #expect(report.contains("member \(newer) into \(older)"), "\(report)")
        #expect(reopened.takeAddressNormalisationReport() == nil, "said once")
        guard case .found(let profile) = try reopened.lookup(EmailAddress(Self.nfc), key: testKey) else { Issue.record("not found"); return }
        #expect(profile.member.id == older)
        #expect(profile.member.email.utf8.elementsEqual(Self.nfc.utf8))
        #expect(profile.consent.map(\.source).contains("later sheet") && profile.consent.count == 2)
        #expect(profile.tags.contains("board"))
        #expect(try reopened.members(MemberFilter()).count == 1)
    }
}
