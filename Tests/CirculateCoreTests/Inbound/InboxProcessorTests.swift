import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Inbound messages: what each one does, exactly once")
struct InboxProcessorTests {
    @Test("a bounce report fails the message it names and counts against its recipient, like a 5.1.1 at RCPT time",
          arguments: ["postfix-bounce.eml", "m365-bounce.eml", "qmail-bounce.eml"])
    func bounceCounts(fixture: String) throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        let result = try w.handle(fixture, claim: claim, uid: 1)
        #expect(result.actedNow)
        #expect(result.record.state == .handled)
        #expect(result.record.deliveryID == claim.deliveryID)
        #expect(result.record.memberID == claim.memberID)
        #expect(!result.record.action.contains("@"), "no address in the stored action: \(result.record.action)")
        let delivery = try w.world.delivery(claim)
        #expect(delivery.state == .failed)
        #expect(delivery.failure == .bounce)
        #expect(try w.bounces(claim.recipient) == 1)
        // The other recipients are untouched.
        #expect(try w.world.delivery(w.sent[1]).state == .sent)
        #expect(try w.bounces(w.sent[1].recipient) == 0)
    }

    @Test("the same report read again, under its UID or after a UIDVALIDITY change, is never acted on twice")
    func exactlyOnce() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        _ = try w.handle("postfix-bounce.eml", claim: claim, uid: 1)
        let again = try w.handle("postfix-bounce.eml", claim: claim, uid: 1)
        #expect(!again.actedNow)
        let moved = try w.handle("postfix-bounce.eml", claim: claim, uid: 40, validity: 8)
        #expect(!moved.actedNow)
        #expect(moved.record.id == again.record.id)
        // The poller moves the message by the record's UID: it must be the new one, never the old UID, which in the
        // new UIDVALIDITY may be another message.
        #expect(moved.record.uid == 40 && moved.record.uidValidity == 8)
        #expect(try w.bounces(claim.recipient) == 1)
        #expect(try w.records() == 1)
        // It is found at its new place from now on.
        #expect(try w.world.db.inboundRecord(at: w.place(40, validity: 8), messageID: nil)?.id == again.record.id)
    }

    @Test("an unsubscribe email seen again under a new UID (delivered twice, or moved back into the folder) after the person rejoined the stream does nothing; a new email with the same token does")
    func sameMessageAgainAfterRejoining() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        let memberID = try #require(claim.memberID)
        let address = try EmailAddress(claim.recipient)
        let token = testKey.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: memberID))
        let email = Array(InboundFixtures.unsubscribeEmail(subject: "unsubscribe \(token)", messageID: "leave-1@example.org").utf8)
        let first = try w.processor.handle(email, at: w.place(3), now: testNow)
        #expect(first.actedNow && first.record.state == .handled)
        #expect(try !w.world.member(claim.recipient).streams[.monthlyUpdate])

        // The person asks to have the update again.
        var back = MemberChanges(source: "asked at the November session", recordedBy: "sam")
        back.enableStreams = [.monthlyUpdate]
        _ = try w.world.db.edit(address, changes: back, wordingVersion: "1", key: testKey, now: testNow.addingTimeInterval(3_600))
        #expect(try w.world.member(claim.recipient).streams[.monthlyUpdate])

        // The same email turns up again at another UID: on record, not acted on; it goes where the first went.
        let again = try w.processor.handle(email, at: w.place(9), now: testNow.addingTimeInterval(7_200))
        #expect(!again.actedNow)
        #expect(again.record.id == first.record.id && again.record.uid == 9)
        #expect(try w.world.member(claim.recipient).streams[.monthlyUpdate])
        #expect(try w.records() == 1)

        // A new request (another Message-ID) with the same token is a new decision by the person: it acts.
        let later = Array(InboundFixtures.unsubscribeEmail(subject: "unsubscribe \(token)", messageID: "leave-2@example.org").utf8)
        #expect(try w.processor.handle(later, at: w.place(10), now: testNow.addingTimeInterval(9_000)).actedNow)
        #expect(try !w.world.member(claim.recipient).streams[.monthlyUpdate])
    }

    @Test("a second, different report for a message already failed changes nothing; bounce_limit reports mark the member bounced")
    func bounceLimit() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        _ = try w.handle("postfix-bounce.eml", claim: claim, uid: 1)
        let second = try w.handle("m365-bounce.eml", claim: claim, uid: 2)
        #expect(second.record.action.contains("nothing changed"))
        #expect(try w.bounces(claim.recipient) == 1)
        // A second message to the same person bounces: the limit (2) is reached, the member is marked bounced.
        _ = try w.world.db.enqueue(w.world.announcement(subject: "December update"), domain: "example.org", now: testNow)
        _ = try w.world.db.startDueMailings(now: testNow, lateLimit: 3600)
        let next = try w.world.db.claimDue(limit: 10, now: testNow).filter { $0.memberID == claim.memberID }
        let nextClaim = try #require(next.first)
        try w.world.record([(nextClaim, .accepted(reply: "250 Ok"))])
        let marked = try w.handle("postfix-bounce.eml", claim: nextClaim, uid: 3)
        #expect(marked.record.action.contains("marked bounced"))
        #expect(try w.world.member(claim.recipient).status == .bounced)
    }

    @Test("a delayed report and a temporary failure change nothing; a policy refusal fails the message without counting")
    func delayedAndRejected() throws {
        let w = try InboundWorld()
        let delayed = try w.handle("delayed.eml", claim: w.sent[0], uid: 1)
        #expect(delayed.record.state == .handled)
        #expect(try w.world.delivery(w.sent[0]).state == .sent)
        #expect(try w.bounces(w.sent[0].recipient) == 0)
        let rejected = try w.handle("exim-policy-rejection.eml", claim: w.sent[1], uid: 2)
        #expect(rejected.record.state == .handled)
        let delivery = try w.world.delivery(w.sent[1])
        #expect(delivery.state == .failed)
        #expect(delivery.failure == .rejected)
        #expect(try w.bounces(w.sent[1].recipient) == 0)
    }

    @Test("a report whose recipient is not the named message's, or that names no message of ours, is left for the coordinator")
    func forgedOrForeign() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        let text = try InboundFixtures.text("postfix-bounce.eml", messageID: claim.messageID, recipient: "someone.else@example.org")
        let forged = try w.processor.handle(Array(text.utf8), at: w.place(1), now: testNow)
        #expect(forged.record.state == .forCoordinator)
        #expect(try w.world.delivery(claim).state == .sent)
        let foreign = try w.processor.handle(try InboundFixtures.bytes("postfix-bounce.eml", messageID: "not-ours@example.net"),
                                             at: w.place(2), now: testNow)
        #expect(foreign.record.state == .forCoordinator)
        #expect(foreign.record.deliveryID == nil)
        #expect(try w.bounces(claim.recipient) == 0)
    }

    @Test("an unsubscribe email with a valid token unsubscribes (from its stream), recorded as 'unsubscribe email'; a bad token does nothing")
    func unsubscribe() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        let memberID = try #require(claim.memberID)
        let token = testKey.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: memberID))
        var bad = Array(token)
        bad[bad.count - 1] = bad[bad.count - 1] == "0" ? "1" : "0"
        let forged = try w.processor.handle(Array(InboundFixtures.unsubscribeEmail(subject: "unsubscribe \(String(bad))").utf8),
                                            at: w.place(1), now: testNow)
        #expect(forged.record.state == .forCoordinator)
        #expect(try w.world.member(claim.recipient).streams[.monthlyUpdate])
        let plain = try w.processor.handle(Array(InboundFixtures.unsubscribeEmail(subject: "please unsubscribe me", messageID: "u2@example.org").utf8),
                                           at: w.place(2), now: testNow)
        #expect(plain.record.state == .forCoordinator)
        let real = try w.processor.handle(Array(InboundFixtures.unsubscribeEmail(subject: "Re: unsubscribe \(token)", messageID: "u3@example.org").utf8),
                                          at: w.place(3), now: testNow)
        #expect(real.record.state == .handled)
        #expect(real.record.memberID == memberID)
        let member = try w.world.member(claim.recipient)
        #expect(!member.streams[.monthlyUpdate])
        let source = try w.world.db.pool.read { db in
            try String.fetchOne(db, sql: "SELECT source FROM consent_event WHERE member_id = ? ORDER BY id DESC LIMIT 1", arguments: [memberID])
        }
        #expect(source == "unsubscribe email")
    }

    @Test("an automatic reply and a person's question are left for the coordinator and change nothing")
    func leftForCoordinator() throws {
        let w = try InboundWorld()
        let auto = try w.handle("auto-reply.eml", claim: w.sent[0], uid: 1)
        #expect(auto.record.kind == "auto-reply")
        #expect(auto.record.state == .forCoordinator)
        let question = try w.handle("question.eml", claim: w.sent[0], uid: 2)
        #expect(question.record.kind == "other")
        #expect(question.record.state == .forCoordinator)
        #expect(try w.world.delivery(w.sent[0]).state == .sent)
    }

    @Test("a message whose handling fails is retried up to the limit, then left for a person")
    func failureLimit() throws {
        let w = try InboundWorld()
        var record = try w.world.db.recordInboundFailure(at: w.place(9), messageID: "m@example.org", kind: "other", problem: "disk full", limit: 3, now: testNow)
        #expect(record.state == .failing)
        record = try w.world.db.recordInboundFailure(at: w.place(9), messageID: "m@example.org", kind: "other", problem: "disk full", limit: 3, now: testNow)
        #expect(record.state == .failing)
        #expect(record.attempts == 2)
        record = try w.world.db.recordInboundFailure(at: w.place(9), messageID: "m@example.org", kind: "other", problem: "disk full", limit: 3, now: testNow)
        #expect(record.state == .forCoordinator)
        #expect(record.attempts == 3)
        // A failing message that later succeeds is acted on (once) and its record completed.
        _ = try w.world.db.recordInboundFailure(at: w.place(10), messageID: nil, kind: "other", problem: "busy", limit: 3, now: testNow)
        let later = try w.handle("postfix-bounce.eml", claim: w.sent[0], uid: 10)
        #expect(later.actedNow)
        #expect(later.record.state == .handled)
        #expect(later.record.attempts == 2)
    }

    @Test("erasure removes the inbound records that concern the person; export lists them first")
    func erasureAndExport() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        _ = try w.handle("postfix-bounce.eml", claim: claim, uid: 1)
        let export = try w.world.db.export(EmailAddress(claim.recipient), key: testKey, controller: "CoP", now: testNow)
        #expect(export.inbound.count == 1)
        #expect(export.inbound.first?.aboutMessageId == claim.messageID)
        _ = try w.world.db.erase(EmailAddress(claim.recipient), key: testKey, erasedBy: "sam", now: testNow)
        #expect(try w.records() == 0)
        let bytes = w.world.scratch.databaseBytes()
        #expect(bytes.firstRange(of: Array(claim.messageID.utf8)) == nil, "the returned Message-ID is gone from every byte")
        #expect(bytes.firstRange(of: Array("20261201090411.4F1A2B3C@mx.example.org".utf8)) == nil, "the report's own Message-ID too")
    }
}
