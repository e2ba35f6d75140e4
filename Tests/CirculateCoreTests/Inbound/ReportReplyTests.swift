import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Replies to a report: the recipient is marked responded, exactly once")
struct ReportReplyTests {
    @Test("a reply naming a cover marks its recipient responded, dated in the community's time zone; the follow-up leaves them out")
    func replyToCover() throws {
        let w = try ReportReplyWorld()
        let cover = try w.messageID(.report, to: "kay@example.org")
        let result = try w.handle(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: cover, references: [cover]), uid: 1)
        #expect(result.actedNow)
        #expect(result.record.kind == "report-reply")
        #expect(result.record.state == .handled)
        #expect(result.record.staysInFolder)
        #expect(result.record.memberID != nil && result.record.deliveryID != nil)
        #expect(result.record.action == "a reply to the cover of report \(w.report.id): marked responded", "\(result.record.action)")
        let kay = try w.recipient("kay@example.org")
        #expect(kay.stage == .responded)
        #expect(kay.respondedAt == utc(2026, 11, 20, 2))
        // 02:00 UTC on the 20th is 21:00 on the 19th in New York.
        #expect(kay.responseNote == "replied by email on Thursday 19 November 2026, 21:00")
        #expect(try w.recipient("lee@example.org").stage == .received)

        try w.world.scheduler(TestClock(w.report.followUpAt)).tick()
        #expect(try w.world.recipients(try w.world.onlyMailing(.reportFollowUp)) == ["fay@example.org", "lee@example.org"])
    }

    @Test("a reply after the follow-up was queued cancels it; one already claimed is stopped at its last check")
    func replyAfterFollowUpQueued() throws {
        let w = try ReportReplyWorld()
        try w.world.scheduler(TestClock(w.report.followUpAt)).tick()
        let followUp = try w.world.onlyMailing(.reportFollowUp)
        #expect(try w.world.recipients(followUp, states: [.queued]) == ["fay@example.org", "kay@example.org", "lee@example.org"])

        // Kay's client names the cover only in References (In-Reply-To names something else, not ours).
        let cover = try w.messageID(.report, to: "kay@example.org")
        let kay = try w.handle(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: "elsewhere-9@example.net",
                                                      references: ["older@example.net", cover]), uid: 1)
        #expect(kay.record.action.hasSuffix("marked responded; their follow-up is cancelled"), "\(kay.record.action)")
        #expect(try w.world.deliveryState(followUp, "kay@example.org") == "cancelled")

        // Lee's follow-up is being sent when Lee's reply (to that follow-up) is read.
        _ = try w.world.db.startDueMailings(now: w.report.followUpAt, lateLimit: 3600)
        let claims = try w.world.db.claimDue(limit: 10, now: w.report.followUpAt)
        let lee = try #require(claims.first { $0.recipient == "lee@example.org" })
        #expect(w.world.db.lastCheck(lee.deliveryID) == .go)
        let answer = try w.handle(ReportReplyWorld.reply(from: "lee@example.org", inReplyTo: lee.messageID, id: "answer-2@example.net"), uid: 2)
        #expect(answer.record.action.hasPrefix("a reply to the follow-up of report \(w.report.id): marked responded"), "\(answer.record.action)")
        #expect(w.world.db.lastCheck(lee.deliveryID) == .stop("the recipient replied by email"))
        #expect(try w.recipient("fay@example.org").stage == .followedUp)
    }

    @Test("a colleague replying from another address marks the recipient; the record says so and holds no address")
    func colleague() throws {
        let w = try ReportReplyWorld()
        let cover = try w.messageID(.report, to: "lee@example.org")
        let result = try w.handle(ReportReplyWorld.reply(from: "assistant.to.lee@example.net", inReplyTo: cover), uid: 1)
        #expect(result.record.state == .handled)
        #expect(result.record.action == "a reply to the cover of report \(w.report.id) from another address: marked responded")
        #expect(!result.record.action.contains("@"))
        #expect(try w.recipient("lee@example.org").stage == .responded)
        #expect(try w.world.count("SELECT count(*) FROM inbound_message WHERE action LIKE '%example.net%'") == 0)
    }

    @Test("an out-of-office reply naming the cover is never a response")
    func autoReply() throws {
        let w = try ReportReplyWorld()
        let cover = try w.messageID(.report, to: "kay@example.org")
        let text = try InboundFixtures.text("auto-reply.eml", messageID: cover, recipient: "kay@example.org")
        let result = try w.handle(text, uid: 1)
        #expect(result.record.kind == "auto-reply")
        #expect(!result.record.staysInFolder)
        #expect(try w.recipient("kay@example.org").stage == .received)
        // Only the Auto-Submitted field tells it apart: the same reply without it is a response.
        let plain = text.replacingOccurrences(of: "Auto-Submitted: auto-replied\r\n", with: "")
            .replacingOccurrences(of: "X-Auto-Response-Suppress: All\r\n", with: "").replacingOccurrences(of: "Automatic reply:", with: "Re:")
            .replacingOccurrences(of: "oof-20261201-0001", with: "reply-7")
        #expect(try w.handle(plain, uid: 2).record.kind == "report-reply")
        #expect(try w.recipient("kay@example.org").stage == .responded)
    }

    @Test("a response already on record (by `report responded` or an earlier reply) is kept; the same reply read again does nothing")
    func keepsEarlierResponse() throws {
        let w = try ReportReplyWorld()
        _ = try w.world.db.markResponded(EmailAddress("kay@example.org"), report: nil, note: "Meeting booked for 12 Jan", now: utc(2026, 11, 12, 9))
        let cover = try w.messageID(.report, to: "kay@example.org")
        let result = try w.handle(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: cover), uid: 1)
        #expect(result.record.state == .handled && result.record.kind == "report-reply")
        #expect(result.record.action.contains("a response was on record already and is kept"), "\(result.record.action)")
        var kay = try w.recipient("kay@example.org")
        #expect(kay.respondedAt == utc(2026, 11, 12, 9) && kay.responseNote == "Meeting booked for 12 Jan")

        // Lee replies twice (a second message later); the first date stays.
        let leeCover = try w.messageID(.report, to: "lee@example.org")
        _ = try w.handle(ReportReplyWorld.reply(from: "lee@example.org", inReplyTo: leeCover, id: "l1@example.net"), uid: 2)
        let second = try w.handle(ReportReplyWorld.reply(from: "lee@example.org", inReplyTo: leeCover, id: "l2@example.net"), uid: 3,
                                  at: utc(2026, 11, 21, 9))
        #expect(second.record.action.contains("on record already"))
        #expect(try w.recipient("lee@example.org").respondedAt == utc(2026, 11, 20, 2))
        // The first read again, under its UID: on record, not acted on.
        let again = try w.handle(ReportReplyWorld.reply(from: "lee@example.org", inReplyTo: leeCover, id: "l1@example.net"), uid: 2,
                                 at: utc(2026, 11, 22, 9))
        #expect(!again.actedNow)
        kay = try w.recipient("kay@example.org")
        #expect(kay.responseNote == "Meeting booked for 12 Jan")
        #expect(try w.world.count("SELECT count(*) FROM inbound_message") == 3)
    }

    @Test("a reply to any other message circulate sent (the report's notice to the list) stays for the coordinator, and is moved")
    func otherReplies() throws {
        let w = try ReportReplyWorld()
        let notice = try w.messageID(.reportNotice, to: "mo@example.org")
        let result = try w.handle(ReportReplyWorld.reply(from: "mo@example.org", inReplyTo: notice), uid: 1)
        #expect(result.record.kind == "other")
        #expect(result.record.state == .forCoordinator)
        #expect(!result.record.staysInFolder)
        let unknown = try w.handle(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: "not-ours@example.net", id: "x@example.net"), uid: 2)
        #expect(unknown.record.kind == "other" && unknown.record.state == .forCoordinator)
        #expect(try w.world.count("SELECT count(*) FROM report_recipient WHERE responded_at IS NOT NULL") == 0)
    }

    @Test("an erased recipient's reply is left for the coordinator, naming nobody")
    func erasedRecipient() throws {
        let w = try ReportReplyWorld()
        let cover = try w.messageID(.report, to: "fay@example.org")
        try w.world.execute("UPDATE delivery SET member_id = NULL WHERE message_id = ?", [cover])
        let result = try w.handle(ReportReplyWorld.reply(from: "fay@example.org", inReplyTo: cover), uid: 1)
        #expect(result.record.kind == "report-reply" && result.record.state == .forCoordinator)
        #expect(result.record.memberID == nil)
        #expect(result.record.staysInFolder)
    }

    @Test("export lists a reply's record and the response; erasure removes both, to the byte")
    func erasureAndExport() throws {
        let w = try ReportReplyWorld()
        let cover = try w.messageID(.report, to: "kay@example.org")
        _ = try w.handle(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: cover, id: "kay-answer-77@example.net"), uid: 1)
        let export = try w.world.db.export(EmailAddress("kay@example.org"), key: testKey, controller: "CoP", now: utc(2026, 11, 21, 9))
        #expect(export.inbound.count == 1 && export.inbound.first?.aboutMessageId == cover, "\(export.inbound)")
        _ = try w.world.db.erase(EmailAddress("kay@example.org"), key: testKey, erasedBy: "sam", now: utc(2026, 11, 21, 9))
        #expect(try w.world.count("SELECT count(*) FROM inbound_message") == 0)
        #expect(try w.world.count("SELECT count(*) FROM report_recipient WHERE response_note IS NOT NULL") == 0)
        let bytes = w.world.scratch.databaseBytes()
        #expect(bytes.firstRange(of: Array("kay-answer-77@example.net".utf8)) == nil, "the reply's own Message-ID is gone")
        #expect(bytes.firstRange(of: Array("replied by email on".utf8)) == nil, "the response note is gone")
    }

    @Test("the referenced Message-IDs: In-Reply-To first, then References from the newest back, each once; none is no reply")
    func references() throws {
        let text = ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: "c@example.org", references: ["a@example.org", "b@example.org", "c@example.org"])
        let reply = try #require(InboundReply(MIMEEntity(parsing: Array(text.utf8))))
        #expect(reply.referencedIDs == ["c@example.org", "b@example.org", "a@example.org"])
        #expect(reply.from == "kay@example.org")
        #expect(InboundReply.messageIDs(in: "<x@example.org> (comment) <y@example.org>") == ["x@example.org", "y@example.org"])
        #expect(InboundReply(MIMEEntity(parsing: Array(ReportReplyWorld.reply(from: "kay@example.org", inReplyTo: nil).utf8))) == nil)
    }
}
