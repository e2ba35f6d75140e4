import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// Invitations as sends of their own, answers, reminders and the no-show variant (toward the invitations issue).
@Suite("Workflow: invitations, answers and reminders")
struct WorkflowInvitationTests {
    let world: WorkflowWorld
    let session: Session
    let london = TimeZone(identifier: "Europe/London") ?? .gmt
    /// Wednesday 28 October 2026, 18:00 GMT (18:00Z), just after the clocks went back on Sunday 25 October.
    let start = utc(2026, 10, 28, 18)

    init() throws {
        world = try WorkflowWorld()
        try world.member("alex@example.org", name: "Alex Morgan", tags: ["member"])
        try world.member("kim@example.org", name: "Kim Lee", tags: ["member"])
        try world.member("sam@example.org", name: "Sam Patel", tags: ["member", "core-group"])
        try world.member("cllr@example.org", name: "Cllr Dana Jones", basis: .legitimateInterest, tags: ["key-influencer"],
                         streams: StreamPreferences(monthlyUpdate: false, sessionInvitations: true, reports: true))
        session = try world.session("Hospital discharge", start: start)
    }

    func invite(_ tags: [String], at: Date = utc(2026, 10, 1, 12), dryRun: Bool = false) throws -> QueueingResult {
        try world.db.invite(session: session.id, tags: tags, sendAfter: at, createdBy: "sam", dryRun: dryRun, domain: "example.org",
                            zone: london, now: at)
    }

    @Test("inviting in two steps reaches nobody twice; a dry run counts and changes nothing")
    func twoSteps() throws {
        #expect(try invite(["member"], dryRun: true).added == 3)
        #expect(try world.count("SELECT count(*) FROM delivery") == 0)
        #expect(try invite(["member"]).added == 3)
        let second = try invite(["core-group", "key-influencer"])
        #expect(second.added == 1, "only the key influencer is new")
        #expect(try invite(["member", "key-influencer"]).added == 0)
        let mailing = try world.onlyMailing(.invitation)
        #expect(try world.recipients(mailing) == ["alex@example.org", "cllr@example.org", "kim@example.org", "sam@example.org"])
        #expect(try world.participation(session.id) == ["alex@example.org:invited", "cllr@example.org:invited", "kim@example.org:invited",
                                                         "sam@example.org:invited"])
        #expect(mailing.invitationSessionID == session.id)
    }

    @Test("key individuals on legitimate interest are invited personally without the stream; members without it are not")
    func keyIndividuals() throws {
        try world.member("commissioner@example.org", name: "A. Commissioner", basis: .legitimateInterest, tags: ["key-influencer"])
        try world.member("optedout@example.org", name: "Opted Out", tags: ["member"],
                         streams: StreamPreferences(monthlyUpdate: true, sessionInvitations: false, reports: true))
        let result = try invite(["key-influencer", "member"])
        #expect(result.added == 5, "four members on the stream and the commissioner")
        let personal = try world.mailings(.invitation).filter { $0.stream == nil }
        #expect(try world.recipients(personal.first) == ["commissioner@example.org"])
        #expect(try invite(["key-influencer"]).added == 0, "nobody twice")
        #expect(try !world.recipients(world.mailings(.invitation).first).contains("optedout@example.org"))
    }

    @Test("a guest is recorded with legitimate interest, who invited them and no stream, and invited once")
    func guest() throws {
        let at = utc(2026, 10, 1, 12)
        let first = try world.db.inviteGuest(session: session.id, address: EmailAddress("presenter@example.org"), name: "Dr Priya Example",
                                             invitedBy: "sam", reason: "invited as presenter", key: testKey, sendAfter: at,
                                             domain: "example.org", zone: london, now: at)
        #expect(first.added == 1 && first.mailing.stream == nil)
        let again = try world.db.inviteGuest(session: session.id, address: EmailAddress("presenter@example.org"), name: "Dr Priya Example",
                                             invitedBy: "sam", reason: "invited as presenter", key: testKey, sendAfter: at,
                                             domain: "example.org", zone: london, now: at)
        #expect(again.added == 0)
        guard case .found(let profile) = try world.db.lookup(EmailAddress("presenter@example.org"), key: testKey) else {
            Issue.record("the guest is not recorded")
            return
        }
        #expect(profile.member.lawfulBasis == .legitimateInterest)
        #expect(profile.member.streams.enabled.isEmpty, "a guest is on no mailing stream")
        #expect(profile.tags == ["guest"])
        #expect(profile.consent.first?.source == "invited as presenter (session \(session.id)), invited by sam")
        #expect(try world.db.audienceSize(Audience(stream: .monthlyUpdate)) == 3, "the guest gets no list mail")
    }

    @Test("a change reaches each person invited once: members by the stream, a guest outside it, a member invited with --to once")
    func changeReachesEachOnce() throws {
        let at = utc(2026, 10, 1, 12)
        _ = try invite(["key-influencer"], at: at)
        for email in ["presenter@example.org", "alex@example.org"] {
            _ = try world.db.inviteGuest(session: session.id, address: EmailAddress(email), name: "", invitedBy: "sam",
                                         reason: "invited as presenter", key: testKey, sendAfter: at, domain: "example.org", zone: london, now: at)
        }
        var changes = SessionChanges()
        changes.startsAt = utc(2026, 10, 29, 18)
        let result = try world.db.editSession(session.id, changes: changes, followUp: world.followUp, createdBy: "sam", domain: "example.org",
                                              now: utc(2026, 10, 2, 12))
        #expect(result.notice?.added == 3)
        let recipients = try world.mailings(.sessionChanged).flatMap { try world.recipients($0) }.sorted()
        #expect(recipients == ["alex@example.org", "cllr@example.org", "presenter@example.org"], "nobody twice, nobody left out")
        #expect(try world.mailings(.sessionChanged).map(\.stream) == [.sessionInvitations, nil])
    }

    @Test("answers: yes, no, maybe; apologies cancel a waiting reminder; attended is never overwritten")
    func answers() throws {
        _ = try invite(["member"])
        #expect(try world.db.recordAnswer(session: session.id, address: EmailAddress("alex@example.org"), answer: .accepted, now: start) == .accepted)
        // The reminder two days before (Monday 26 October 09:00 GMT) is queued for everyone still expected.
        let reminderTime = utc(2026, 10, 26, 9)
        let queued = try world.db.queueSessionReminders(rule: world.config.reminderRule, now: reminderTime, domain: "example.org")
        #expect(queued.map(\.added) == [3])
        let reminder = try world.onlyMailing(.reminder)
        #expect(reminder.sendAfter == reminderTime)
        _ = try world.db.recordAnswer(session: session.id, address: EmailAddress("kim@example.org"), answer: .apologies, now: reminderTime)
        #expect(try world.deliveryState(reminder, "kim@example.org") == "cancelled", "apologies stop the reminder")
        try world.execute("UPDATE participation SET status = 'attended' WHERE member_id = (SELECT id FROM member WHERE email = 'sam@example.org')")
        #expect(try world.db.recordAnswer(session: session.id, address: EmailAddress("sam@example.org"), answer: .apologies, now: start) == .attended)
        #expect(throws: MemberError.self) {
            try world.db.recordAnswer(session: session.id, address: EmailAddress("nobody@example.org"), answer: .accepted, now: start)
        }
    }

    @Test("reminders go once per start time: restarts add nothing, a move after the reminder reminds again for the new time, a cancelled session gets none")
    func reminders() throws {
        _ = try invite(["member"])
        let rule = world.config.reminderRule
        #expect(try world.db.queueSessionReminders(rule: rule, now: utc(2026, 10, 26, 8, 59), domain: "example.org").isEmpty, "not before 09:00")
        #expect(try world.db.queueSessionReminders(rule: rule, now: utc(2026, 10, 26, 9), domain: "example.org").map(\.added) == [3])
        #expect(try world.db.queueSessionReminders(rule: rule, now: utc(2026, 10, 26, 9, 30), domain: "example.org").isEmpty)
        // Kim leaves; then the session moves a day later, after the reminder went out.
        try world.leave("kim@example.org", at: utc(2026, 10, 26, 10))
        var changes = SessionChanges()
        changes.startsAt = utc(2026, 10, 29, 18)
        _ = try world.db.editSession(session.id, changes: changes, followUp: world.followUp, createdBy: "sam", domain: "example.org",
                                     now: utc(2026, 10, 26, 11))
        // The reminder for the new time: Tuesday 27 October 09:00 GMT, to the two still expected.
        #expect(try world.db.queueSessionReminders(rule: rule, now: utc(2026, 10, 27, 8), domain: "example.org").isEmpty)
        let second = try world.db.queueSessionReminders(rule: rule, now: utc(2026, 10, 27, 9), domain: "example.org")
        #expect(second.map(\.added) == [2])
        #expect(try world.mailings(.reminder).count == 2)
        #expect(try world.recipients(world.mailings(.reminder).last) == ["alex@example.org", "sam@example.org"])
        // Cancelled: no reminder on the day either.
        var onTheDay = rule
        onTheDay.onTheDay = TimeOfDay(hour: 8, minute: 0)
        _ = try world.db.cancelSession(session.id, reason: nil, createdBy: "sam", domain: "example.org", now: utc(2026, 10, 28, 7))
        #expect(try world.db.queueSessionReminders(rule: onTheDay, now: utc(2026, 10, 29, 8), domain: "example.org").isEmpty)
    }

    @Test("a session moved before its reminder only ever has the new time announced")
    func movedBeforeReminder() throws {
        _ = try invite(["member"])
        var changes = SessionChanges()
        changes.startsAt = utc(2026, 11, 4, 18)
        _ = try world.db.editSession(session.id, changes: changes, followUp: world.followUp, createdBy: "sam", domain: "example.org",
                                     now: utc(2026, 10, 20, 12))
        #expect(try world.db.queueSessionReminders(rule: world.config.reminderRule, now: utc(2026, 10, 26, 9), domain: "example.org").isEmpty)
        let due = try world.db.queueSessionReminders(rule: world.config.reminderRule, now: utc(2026, 11, 2, 9), domain: "example.org")
        #expect(due.map(\.added) == [3])
        #expect(try world.mailings(.reminder).count == 1)
    }

    @Test("the no-show variant is off by default; when on, it reaches those invited who neither came nor sent apologies")
    func noShows() throws {
        _ = try invite(["member"])
        _ = try world.attendance(session.id, ["Alex Morgan,alex@example.org,yes"], now: utc(2026, 10, 28, 21))
        _ = try world.db.recordAnswer(session: session.id, address: EmailAddress("kim@example.org"), answer: .apologies, now: utc(2026, 10, 28, 12))
        _ = try world.db.queueSessionFollowUps(now: session.followUpAt, domain: "example.org")
        #expect(try world.mailings(.noShow).isEmpty)
        let other = try WorkflowWorld()
        try other.member("alex@example.org", name: "Alex Morgan", tags: ["member"])
        try other.member("sam@example.org", name: "Sam Patel", tags: ["member"])
        let s = try other.session("Hospital discharge", start: start)
        _ = try other.db.invite(session: s.id, tags: ["member"], sendAfter: utc(2026, 10, 1, 12), createdBy: "sam", dryRun: false,
                                domain: "example.org", zone: london, now: utc(2026, 10, 1, 12))
        _ = try other.attendance(s.id, ["Alex Morgan,alex@example.org,yes"], now: utc(2026, 10, 28, 21))
        _ = try other.db.queueSessionFollowUps(now: s.followUpAt, domain: "example.org", noShows: true)
        #expect(try other.recipients(other.onlyMailing(.noShow)) == ["sam@example.org"])
        #expect(try other.recipients(other.onlyMailing(.thankYou)) == ["alex@example.org"])
    }
}
