import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("The store")
struct AppDatabaseTests {
    @Test("WAL, foreign keys, secure_delete, and synchronous=FULL on the writer")
    func pragmas() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        #expect(try db.writerPragma("journal_mode") == "wal")
        #expect(try db.writerPragma("foreign_keys") == "1")
        #expect(try db.writerPragma("secure_delete") == "1")
        #expect(try db.writerPragma("synchronous") == "2")  // FULL
        #expect(try db.pool.read { try String.fetchOne($0, sql: "PRAGMA secure_delete") } == "1")
    }

    @Test("the daemon's writer keeps a smaller page cache, and keeps its other settings")
    func writerPageCache() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        #expect(try db.writerPragma("cache_size") == "-2000")  // SQLite's default
        try db.limitWriterPageCache(kibibytes: 512)
        #expect(try db.writerPragma("cache_size") == "-512")
        #expect(try db.writerPragma("synchronous") == "2" && db.writerPragma("secure_delete") == "1")
    }

    @Test("opening a missing database without create tells the user to run init")
    func notInitialised() throws {
        let scratch = try Scratch()
        do {
            _ = try AppDatabase.open(path: scratch.path("missing.sqlite"), create: false)
            Issue.record("opened a missing database")
        } catch {
            #expect(error.kind == .notInitialised)
            #expect(error.description.contains("circulate init"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("missing.sqlite")))
    }

    @Test("the schema itself refuses an active member without a lawful basis, and rewriting consent history")
    func schemaInvariants() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        _ = try db.addMember(person("alex@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(throws: DatabaseError.self) {
            try db.pool.write { try $0.execute(sql: "UPDATE member SET lawful_basis = NULL") }
        }
        #expect(throws: DatabaseError.self) {
            try db.pool.write { try $0.execute(sql: "UPDATE consent_event SET source = 'rewritten'") }
        }
        #expect(throws: DatabaseError.self) {
            try db.pool.write { try $0.execute(sql: "INSERT INTO consent_event (member_id, action, source, recorded_by, occurred_at) VALUES (1, 'given', 'x', 'y', '2026-01-01')") }
        }
    }

    @Test("adding records the consent event with basis, source, wording and recorder")
    func add() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let p = try db.addMember(person("alex@example.org", name: "Alex Morgan", organisation: "Riverside", tags: ["member", "north"]),
                                 grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(p.member.status == .active)
        #expect(p.member.streams == .all)
        #expect(p.roles == ["member"])
        #expect(p.freeTags == ["north"])
        #expect(p.consent.count == 1)
        #expect(p.consent[0].action == .given)
        #expect(p.consent[0].lawfulBasis == .consent)
        #expect(p.consent[0].wordingVersion == "2026-01")
        #expect(p.consent[0].recordedBy == "Sam Coordinator")
        #expect(p.consent[0].source == "sign-in sheet, 5 Nov 2026 session")

        let li = try db.addMember(person("cllr.jones@example.org"), grant: grant(.legitimateInterest), key: testKey, rejoin: false, now: testNow)
        #expect(li.member.streams == StreamPreferences([.reports]))
    }

    @Test("a duplicate in another case is refused")
    func duplicate() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        _ = try db.addMember(person("alex@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(throws: MemberError.alreadyOnList(address: "alex@example.org", status: .active)) {
            try db.addMember(person("ALEX@Example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
    }

    @Test("unsubscribing one stream, then all, records withdrawals and is idempotent")
    func unsubscribe() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let a = try EmailAddress("alex@example.org")
        _ = try db.addMember(person("alex@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        #expect(try db.unsubscribe(a, stream: .monthlyUpdate, source: "reply", recordedBy: "sam", key: testKey, now: testNow)
                == .streamStopped(.monthlyUpdate, remaining: [.sessionInvitations, .reports]))
        #expect(try db.unsubscribe(a, stream: .monthlyUpdate, source: "reply", recordedBy: "sam", key: testKey, now: testNow)
                == .alreadyUnsubscribed(since: testNow))
        let later = testNow.addingTimeInterval(60)
        #expect(try db.unsubscribe(a, stream: nil, source: "phoned", recordedBy: "sam", key: testKey, now: later) == .unsubscribed)
        #expect(try db.unsubscribe(a, stream: nil, source: "again", recordedBy: "sam", key: testKey, now: later.addingTimeInterval(5))
                == .alreadyUnsubscribed(since: later))
        guard case .found(let p) = try db.lookup(a, key: testKey) else { Issue.record("lost"); return }
        #expect(p.member.status == .unsubscribed)
        #expect(p.member.lawfulBasis == nil)
        #expect(!p.member.mayReceive(.reports))
        #expect(p.consent.map(\.action) == [.given, .withdrawn, .withdrawn])
        #expect(p.consent.map(\.stream) == [nil, .monthlyUpdate, nil])
        #expect(try db.members({ var f = MemberFilter(); f.stream = .reports; return f }()).isEmpty)
    }

    @Test("an unknown address changes nothing and says so")
    func unknown() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        #expect(throws: MemberError.unknown(address: "nobody@example.org")) {
            try db.unsubscribe(EmailAddress("nobody@example.org"), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        }
    }

    @Test("edit: details, tags, streams (recorded), address change, and resubscription with fresh consent")
    func edit() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        let a = try EmailAddress("alex@example.org")
        _ = try db.addMember(person("alex@example.org", tags: ["member"]), grant: grant(), key: testKey, rejoin: false, now: testNow)
        _ = try db.addMember(person("kim@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)

        var changes = MemberChanges(source: "asked at the session", recordedBy: "sam")
        changes.name = "Alex Morgan"
        changes.addTags = ["core-group"]
        changes.removeTags = ["member"]
        changes.disableStreams = [.reports]
        var p = try db.edit(a, changes: changes, wordingVersion: "2026-01", key: testKey, now: testNow)
        #expect(p.member.name == "Alex Morgan")
        #expect(p.tags == ["core-group"])
        #expect(!p.member.streams.reports)
        #expect(p.consent.last?.action == .withdrawn && p.consent.last?.stream == .reports)

        var taken = MemberChanges(source: "x", recordedBy: "sam")
        taken.newAddress = try EmailAddress("KIM@example.org")
        #expect(throws: MemberError.addressTaken(address: "KIM@example.org")) {
            try db.edit(a, changes: taken, wordingVersion: "1", key: testKey, now: testNow)
        }

        _ = try db.unsubscribe(a, stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        var enable = MemberChanges(source: "x", recordedBy: "sam")
        enable.enableStreams = [.reports]
        #expect(throws: MemberError.needsFreshConsent(address: "alex@example.org")) {
            try db.edit(a, changes: enable, wordingVersion: "1", key: testKey, now: testNow)
        }
        var back = MemberChanges(source: "x", recordedBy: "sam")
        back.resubscribe = try grant(source: "emailed to rejoin, 1 Dec 2026")
        p = try db.edit(a, changes: back, wordingVersion: "2026-01", key: testKey, now: testNow)
        #expect(p.member.status == .active)
        #expect(p.member.streams == .all)
        #expect(p.consent.last?.source == "emailed to rejoin, 1 Dec 2026")
    }

    @Test("listing filters by status, role, stream and text")
    func listing() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        _ = try db.addMember(person("alex@example.org", name: "Alex", tags: ["member"]), grant: grant(), key: testKey, rejoin: false, now: testNow)
        _ = try db.addMember(person("cllr@example.org", name: "Councillor Jones", organisation: "Borough Council", tags: ["key-influencer", "board"]),
                             grant: grant(.legitimateInterest), key: testKey, rejoin: false, now: testNow)
        var f = MemberFilter()
        f.tags = ["key-influencer"]
        #expect(try db.members(f).map(\.member.email) == ["cllr@example.org"])
        f = MemberFilter()
        f.stream = .monthlyUpdate
        #expect(try db.members(f).map(\.member.email) == ["alex@example.org"])
        f = MemberFilter()
        f.search = "borough"
        #expect(try db.members(f).map(\.member.email) == ["cllr@example.org"])
        #expect(try db.members(MemberFilter()).first { $0.member.email == "cllr@example.org" }?.tags == ["board", "key-influencer"])
    }
}
