import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// Session 1 (Wednesday 9 December 2026, 18:00) with Kim and Lee invited as members; Sam is on the list, not invited.
private struct AnswerWorld {
    let world: WorkflowWorld
    let session: Session
    let processor: InboxProcessor
    let kim: Int64
    /// Before the session: when answers come in.
    let answered = utc(2026, 12, 2, 9)

    init(domain: String? = "example.org") throws {
        world = try WorkflowWorld()
        kim = try world.member("kim@example.org", name: "Kim Example", tags: ["member"])
        try world.member("lee@example.org", name: "Lee Example", tags: ["member"])
        try world.member("sam@example.org", name: "Sam Example", tags: ["core-group"])
        session = try world.session("Hospital discharge", start: utc(2026, 12, 9, 18))
        _ = try world.db.invite(session: session.id, tags: ["member"], sendAfter: utc(2026, 12, 1, 12), createdBy: "sam", dryRun: false,
                                domain: "example.org", zone: TimeZone(identifier: "Europe/London") ?? .gmt, now: utc(2026, 12, 1, 12))
        processor = InboxProcessor(database: world.db, key: testKey, bounceLimit: 3, timeZone: .gmt, calendarDomain: domain)
    }

    /// A REPLY as a calendar program sends it: text, then the iMIP part (7bit here; the client fixtures cover the encodings).
    static func reply(uid: String = "session-1@example.org", attendees: [(String, String)] = [("kim@example.org", "ACCEPTED")],
                      from: String = "kim@example.org", method: String = "REPLY", sequence: Int = 0,
                      messageID: String = "answer-1@example.org") -> [UInt8] {
        let attendeeLines = attendees.map { "ATTENDEE;CN=Someone;PARTSTAT=\($0.1):mailto:\($0.0)\r\n" }.joined()
        return Array("""
            From: Someone <\(from)>\r
            To: cop@example.org\r
            Subject: Answer: Hospital discharge\r
            Message-ID: <\(messageID)>\r
            MIME-Version: 1.0\r
            Content-Type: multipart/alternative; boundary="alt"\r
            \r
            --alt\r
            Content-Type: text/plain\r
            \r
            My answer.\r
            --alt\r
            Content-Type: text/calendar; charset=utf-8; method=\(method)\r
            \r
            BEGIN:VCALENDAR\r
            VERSION:2.0\r
            METHOD:\(method)\r
            BEGIN:VEVENT\r
            UID:\(uid)\r
            SEQUENCE:\(sequence)\r
            \(attendeeLines)END:VEVENT\r
            END:VCALENDAR\r
            --alt--\r

            """.utf8)
    }

    func handle(_ bytes: [UInt8], uid: Int64, at now: Date? = nil) throws -> InboxProcessor.Result {
        try processor.handle(bytes, at: InboundRecord.Place(folder: "INBOX", uidValidity: 9, uid: uid), now: now ?? answered)
    }

    func status(_ email: String) throws -> String {
        try world.participation(session.id).first { $0.hasPrefix(email + ":") }.map { String($0.dropFirst(email.count + 1)) } ?? "none"
    }

    func recordedAt(_ email: String) throws -> Date? {
        try world.db.pool.read { db in
            try Date.fetchOne(db, sql: "SELECT p.recorded_at FROM participation p JOIN member m ON m.id = p.member_id WHERE m.email = ?",
                              arguments: [email])
        }
    }
}

@Suite("Inbound: calendar answers record yes, apologies or maybe, once")
struct CalendarReplyProcessorTests {
    @Test("ACCEPTED, DECLINED and TENTATIVE record coming, apologies and maybe, as `session rsvp` does", arguments: [
        ("ACCEPTED", "accepted", "coming"), ("DECLINED", "apologies", "apologies"), ("TENTATIVE", "maybe", "maybe"),
    ])
    func answers(partstat: String, stored: String, word: String) throws {
        let w = try AnswerWorld()
        let result = try w.handle(AnswerWorld.reply(attendees: [("kim@example.org", partstat)]), uid: 1)
        #expect(result.actedNow)
        #expect(result.record.kind == "calendar-reply")
        #expect(result.record.state == .handled)
        #expect(result.record.memberID == w.kim)
        #expect(result.record.action == "calendar reply for session 1: recorded as \(word)")
        #expect(try w.status("kim@example.org") == stored)
        #expect(try w.status("lee@example.org") == "invited", "nobody else changes")
    }

    @Test("yes then no: the later answer wins; a copy of the earlier answer delivered again an hour later changes nothing")
    func laterWinsAndOnce() throws {
        let w = try AnswerWorld()
        let yes = AnswerWorld.reply(messageID: "yes@example.org")
        _ = try w.handle(yes, uid: 1)
        #expect(try w.status("kim@example.org") == "accepted")
        let no = AnswerWorld.reply(attendees: [("kim@example.org", "DECLINED")], messageID: "no@example.org")
        let later = try w.handle(no, uid: 2)
        #expect(later.actedNow && later.record.state == .handled)
        #expect(try w.status("kim@example.org") == "apologies")
        let recorded = try w.recordedAt("kim@example.org")
        // The same UID read again (a restart between commit and move): on record, not acted on.
        #expect(try !w.handle(no, uid: 2).actedNow)
        // An hour later a mail system delivers a copy of the "yes" (same Message-ID, a new UID): it must not undo the "no".
        // It is known by its Message-ID: the first answer's record, now at the copy's place; nothing acted on.
        let copy = try w.handle(yes, uid: 3, at: w.answered.addingTimeInterval(3600))
        #expect(!copy.actedNow && copy.record.state == .handled && copy.record.uid == 3)
        #expect(copy.record.action == "calendar reply for session 1: recorded as coming")
        #expect(try w.status("kim@example.org") == "apologies")
        // The person presses "No" once more (a new mail): on record already, nothing changes, not even the time.
        let pressedAgain = try w.handle(AnswerWorld.reply(attendees: [("kim@example.org", "DECLINED")], messageID: "no-2@example.org"),
                                        uid: 4, at: w.answered.addingTimeInterval(7200))
        #expect(pressedAgain.record.state == .handled)
        #expect(pressedAgain.record.action.contains("already recorded as apologies; nothing changed"))
        #expect(try w.recordedAt("kim@example.org") == recorded)
        #expect(try w.status("kim@example.org") == "apologies")
        #expect(try w.world.count("SELECT count(*) FROM inbound_message") == 3)
    }

    @Test("anything that does not all agree is left for the coordinator and changes nobody's answer", arguments: [
        ("unknown session", AnswerWorld.reply(uid: "session-99@example.org"), "no session of ours"),
        ("another domain", AnswerWorld.reply(uid: "session-1@elsewhere.example"), "no session of ours"),
        ("not a session UID", AnswerWorld.reply(uid: "040000008200E00074C5B7101A82E008@example.org"), "no session of ours"),
        ("an attendee not invited", AnswerWorld.reply(attendees: [("sam@example.org", "ACCEPTED")], from: "sam@example.org"), "not invited"),
        ("someone not on the list", AnswerWorld.reply(attendees: [("x@example.net", "ACCEPTED")], from: "x@example.net"), "not invited"),
        ("sent from another address", AnswerWorld.reply(from: "lee@example.org"), "sent from another address"),
        ("a lookalike sender", AnswerWorld.reply(from: "kim@example.org.example.net"), "sent from another address"),
        ("two attendees", AnswerWorld.reply(attendees: [("kim@example.org", "ACCEPTED"), ("lee@example.org", "ACCEPTED")]), "naming 2 attendees"),
        ("no attendee", AnswerWorld.reply(attendees: []), "naming 0 attendees"),
        ("NEEDS-ACTION", AnswerWorld.reply(attendees: [("kim@example.org", "NEEDS-ACTION")]), "without yes, no or maybe (needs-action)"),
        ("DELEGATED", AnswerWorld.reply(attendees: [("kim@example.org", "DELEGATED")]), "without yes, no or maybe (delegated)"),
        ("a COUNTER", AnswerWorld.reply(method: "COUNTER"), "proposes another time for session 1"),
        ("a REFRESH", AnswerWorld.reply(method: "REFRESH"), "asks for the invitation to session 1 again"),
    ])
    func forCoordinator(what: String, message: [UInt8], reason: String) throws {
        let w = try AnswerWorld()
        let result = try w.handle(message, uid: 1)
        #expect(result.record.state == .forCoordinator, "\(what)")
        #expect(result.record.kind == "calendar-reply", "\(what)")
        #expect(result.record.action.contains(reason), "\(what): \(result.record.action)")
        #expect(!result.record.action.contains("@"), "no address in the stored action: \(result.record.action)")
        #expect(try w.world.participation(w.session.id) == ["kim@example.org:invited", "lee@example.org:invited"], "\(what)")
    }

    @Test("a record left for the coordinator names the member it is about (for erasure and export), never someone off the list")
    func recordNamesMember() throws {
        let w = try AnswerWorld()
        let sam = try w.world.db.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM member WHERE email = 'sam@example.org'") }
        let notInvited = try w.handle(AnswerWorld.reply(attendees: [("sam@example.org", "ACCEPTED")], from: "sam@example.org"), uid: 1)
        #expect(notInvited.record.memberID == sam && sam != nil)
        let forged = try w.handle(AnswerWorld.reply(from: "lee@example.org", messageID: "answer-2@example.org"), uid: 2)
        #expect(forged.record.memberID == w.kim)
        let stranger = try w.handle(AnswerWorld.reply(attendees: [("x@example.net", "ACCEPTED")], from: "x@example.net",
                                                      messageID: "answer-3@example.org"), uid: 3)
        #expect(stranger.record.memberID == nil)
    }

    @Test("a cancelled session, one already begun, an answer to the version before a change: for the coordinator")
    func sessionStates() throws {
        let cancelled = try AnswerWorld()
        try cancelled.world.execute("UPDATE session SET state = 'cancelled'")
        #expect(try cancelled.handle(AnswerWorld.reply(), uid: 1).record.action.contains("which was cancelled"))
        #expect(try cancelled.status("kim@example.org") == "invited")

        let begun = try AnswerWorld()
        let late = try begun.handle(AnswerWorld.reply(attendees: [("kim@example.org", "DECLINED")]), uid: 1, at: utc(2026, 12, 9, 18, 30))
        #expect(late.record.state == .forCoordinator)
        #expect(late.record.action.contains("read after it began"))
        #expect(try begun.status("kim@example.org") == "invited")

        let moved = try AnswerWorld()
        try moved.world.execute("UPDATE session SET sequence = 1")
        let stale = try moved.handle(AnswerWorld.reply(sequence: 0), uid: 1)
        #expect(stale.record.state == .forCoordinator && stale.record.action.contains("earlier version"))
        #expect(try moved.status("kim@example.org") == "invited")
        let current = try moved.handle(AnswerWorld.reply(sequence: 1, messageID: "answer-2@example.org"), uid: 2)
        #expect(current.record.state == .handled)
        #expect(try moved.status("kim@example.org") == "accepted")
    }

    @Test("someone recorded as having attended stays attended; without the calendar domain nothing is matched")
    func attendedAndNoDomain() throws {
        let w = try AnswerWorld()
        try w.world.execute("UPDATE participation SET status = 'attended' WHERE member_id = ?", [w.kim])
        let result = try w.handle(AnswerWorld.reply(attendees: [("kim@example.org", "DECLINED")]), uid: 1)
        #expect(result.record.action.contains("already recorded as attended"))
        #expect(try w.status("kim@example.org") == "attended")

        let off = try AnswerWorld(domain: nil)
        #expect(try off.handle(AnswerWorld.reply(), uid: 1).record.state == .forCoordinator)
        #expect(try off.status("kim@example.org") == "invited")
    }

    @Test("apologies by calendar cancel the person's waiting reminder, in the same transaction")
    func apologiesCancelReminder() throws {
        let w = try AnswerWorld()
        // A reminder queued for everyone invited, as the scheduler does before the session.
        _ = try w.world.db.pool.write { db in
            try SessionInvitations.reachInvited(db, kind: .reminder, subject: "Reminder: Hospital discharge", sendAfter: utc(2026, 12, 8, 9),
                                                key: "reminder:1:test", createdBy: "scheduler", session: w.session.id, exceptApologies: true,
                                                context: AppDatabase.testContext(),
                                                now: w.answered)
        }
        let reminder = try w.world.onlyMailing(.reminder)
        #expect(try w.world.deliveryState(reminder, "kim@example.org") == "queued")
        _ = try w.handle(AnswerWorld.reply(attendees: [("kim@example.org", "DECLINED")]), uid: 1)
        #expect(try w.world.deliveryState(reminder, "kim@example.org") == "cancelled")
        #expect(try w.world.deliveryState(reminder, "lee@example.org") == "queued")
    }
}
