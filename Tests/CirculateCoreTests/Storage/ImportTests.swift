import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Importing sign-in sheets")
struct ImportTests {
    let scratch: Scratch
    let db: AppDatabase

    init() throws {
        scratch = try Scratch()
        db = try scratch.database()
    }

    func options(_ configure: (inout ImportOptions) -> Void = { _ in }) -> ImportOptions {
        var o = ImportOptions(source: "sign-in sheet, hospital discharge session 5 Nov 2026", wordingVersion: "2026-01", recordedBy: "sam")
        o.tags = ["attendee"]
        configure(&o)
        return o
    }

    func run(_ csv: String, _ o: ImportOptions? = nil, now: Date = testNow) throws -> ImportReport {
        try db.importSheet(SignInSheet.parse(Data(csv.utf8)), options: o ?? options(), key: testKey, now: now)
    }

    func counts(_ r: ImportReport) -> [ImportReport.Outcome: Int] {
        Dictionary(uniqueKeysWithValues: ImportReport.Outcome.allCases.map { ($0, r.count($0)) }.filter { $0.1 > 0 })
    }

    func rowCount() throws -> (members: Int, events: Int) {
        try db.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM member") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM consent_event") ?? -1)
        }
    }

    let sheet = """
        Name,Email,Organisation,Consent
        Alex Morgan,alex@example.org,Riverside Housing,yes
        Kim Lee,KIM@example.org,,y
        Sam Patel,sam@example.org,Citizens Advice,no
        ,,,
        Jo Bloggs,,,yes
        Dup Alex,Alex@Example.org,,yes
        """

    @Test("added, skipped and reported by row; re-importing the same file changes nothing")
    func idempotent() throws {
        let first = try run(sheet)
        #expect(first.committed)
        #expect(counts(first) == [.added: 2, .skipped: 3])
        #expect(first.lines.map(\.row) == [2, 3, 4, 6, 7])
        #expect(first.lines[2].note?.contains("no consent") == true)
        #expect(first.lines[3].note == "no email address on this row")
        #expect(first.lines[4].note == "same address as row 2; only the first is used")
        let before = try rowCount()
        #expect(before == (2, 2))

        let again = try run(sheet, now: testNow.addingTimeInterval(3600))
        #expect(counts(again) == [.unchanged: 2, .skipped: 3])
        #expect(try rowCount() == before)
        guard case .found(let alex) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else { Issue.record("missing"); return }
        #expect(alex.member.updatedAt == testNow)
        #expect(alex.tags == ["attendee"])
    }

    @Test("a rejected row stops the whole file: nothing is half-imported")
    func rejectedStopsAll() throws {
        let bad = "Email,Name,Consent\nalex@example.org,Alex,yes\nnot-an-address,Kim,yes\nsam@example.org,\"Sam\u{1B}[31mPatel\",yes\nlee@example.org,Lee,perhaps\n"
        let report = try run(bad)
        #expect(!report.committed)
        #expect(counts(report) == [.added: 1, .rejected: 3])
        #expect(report.lines[1].note == "it has no @")
        #expect(report.lines[2].note?.contains("U+001B") == true)
        #expect(report.lines[3].note == "Consent \"perhaps\" is neither yes nor no")
        #expect(try rowCount() == (0, 0))

        let partial = try run(bad, options { $0.skipInvalid = true })
        #expect(partial.committed)
        #expect(try rowCount() == (1, 1))
    }

    @Test("a line break inside a name or organisation cell becomes a space, with a note")
    func multiLineCells() throws {
        let report = try run("Email,Name,Organisation,Consent\nalex@example.org,\"Alex\r\nMorgan\",\"Ward 7,\nCity Hospital\",yes\n")
        #expect(report.lines[0].outcome == .added)
        #expect(report.lines[0].note == "line breaks inside a cell were replaced by spaces")
        guard case .found(let alex) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else { Issue.record("missing"); return }
        #expect(alex.member.name == "Alex Morgan")
        #expect(alex.member.organisation == "Ward 7, City Hospital")
    }

    @Test("a dry run reports exactly what would happen and changes nothing")
    func dryRun() throws {
        let report = try run(sheet, options { $0.dryRun = true })
        #expect(!report.committed && report.dryRun)
        #expect(counts(report) == [.added: 2, .skipped: 3])
        #expect(try rowCount() == (0, 0))
    }

    @Test("an unsubscribed person stays unsubscribed unless the row consents and --resubscribe is given")
    func unsubscribedStays() throws {
        _ = try run(sheet)
        _ = try db.unsubscribe(EmailAddress("alex@example.org"), stream: nil, source: "reply", recordedBy: "sam", key: testKey, now: testNow)
        let again = try run(sheet)
        #expect(again.lines[0].outcome == .unchanged)
        #expect(again.lines[0].note?.contains("stays unsubscribed") == true)
        guard case .found(let stillOut) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else { return }
        #expect(stillOut.member.status == .unsubscribed)

        let later = testNow.addingTimeInterval(86_400)
        let back = try run(sheet, options { $0.resubscribe = true; $0.source = "sign-in sheet, 3 Dec 2026 session" }, now: later)
        #expect(back.lines[0].outcome == .updated)
        guard case .found(let rejoined) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else { return }
        #expect(rejoined.member.status == .active)
        #expect(rejoined.consent.map(\.action) == [.given, .withdrawn, .given])
        #expect(rejoined.consent.last?.source == "sign-in sheet, 3 Dec 2026 session")
        #expect(rejoined.consent.last?.occurredAt == later)
    }

    @Test("a newer consent wording on the sheet is recorded as a new event; details are updated")
    func updates() throws {
        _ = try run(sheet)
        let newer = sheet.replacingOccurrences(of: "Riverside Housing", with: "Riverside Homes")
        let report = try run(newer, options { $0.wordingVersion = "2027-01"; $0.tags = ["attendee", "core-group"] })
        #expect(report.lines[0].outcome == .updated)
        guard case .found(let alex) = try db.lookup(EmailAddress("alex@example.org"), key: testKey) else { return }
        #expect(alex.member.organisation == "Riverside Homes")
        #expect(alex.consent.map(\.wordingVersion) == ["2026-01", "2027-01"])
        #expect(alex.tags == ["attendee", "core-group"])
    }

    @Test("an erased address is skipped with the way to re-add it deliberately")
    func suppressed() throws {
        _ = try run(sheet)
        _ = try db.erase(EmailAddress("kim@example.org"), key: testKey, erasedBy: "sam", now: testNow)
        let report = try run(sheet)
        #expect(report.lines[1].outcome == .skipped)
        #expect(report.lines[1].note?.contains("--rejoin") == true)
        #expect(try db.lookup(EmailAddress("kim@example.org"), key: testKey) == .erased(erasedAt: testNow))
    }

    @Test("without a Consent column the import refuses unless the basis is legitimate interest")
    func consentColumn() throws {
        let influencers = "Name,Email,Organisation,Role\nCllr Jones,cllr@example.org,Borough Council,key influencer; board\n"
        #expect(throws: SheetError.noConsentColumn) { try run(influencers) }
        let report = try run(influencers, options { $0.lawfulBasis = .legitimateInterest; $0.tags = [] })
        #expect(report.count(.added) == 1)
        guard case .found(let cllr) = try db.lookup(EmailAddress("cllr@example.org"), key: testKey) else { return }
        #expect(cllr.member.lawfulBasis == .legitimateInterest)
        #expect(cllr.tags == ["board", "key-influencer"])
        #expect(cllr.member.streams == StreamPreferences([.reports]))
    }
}
