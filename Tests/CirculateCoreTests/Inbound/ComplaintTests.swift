import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Inbound messages: spam complaints (ARF)")
struct ComplaintTests {
    @Test("the Microsoft, Yahoo/AOL and redacted feedback reports are read as complaints with their reporter and original",
          arguments: [("arf-microsoft.eml", "fbl.example.net", true, false), ("arf-yahoo.eml", "arf.mail.example.com", true, true),
                      ("arf-redacted.eml", "reports.example.net", false, true)])
    func shapes(name: String, reporter: String, hasMessageID: Bool, hasRecipient: Bool) throws {
        let message = MIMEEntity(parsing: try InboundFixtures.bytes(name))
        guard case .complaint(let report) = InboundKind.of(message) else {
            Issue.record("\(name) is read as \(InboundKind.of(message).name)")
            return
        }
        #expect(report.isComplaint)
        #expect(report.reportingDomain == reporter)
        #expect(report.originalMessageID == (hasMessageID ? "returned-1@example.org" : nil))
        #expect(report.originalRecipients == (hasRecipient ? [name == "arf-redacted.eml" ? "redacted@example.org" : "kim@example.org"] : []))
    }

    @Test("a reporter's name is kept only if it is a plain domain",
          arguments: [("mx.example.net", "mx.example.net"), ("MX.Example.NET", "mx.example.net"), ("example", nil),
                      ("evil.example.net; DROP", nil), ("a..example.net", nil), ("-bad.example.net", nil), ("ex\u{0}ample.net", nil),
                      (String(repeating: "a", count: 64) + ".example.net", nil)])
    func reporterDomain(text: String, domain: String?) {
        #expect(FeedbackReport.domain(text) == domain)
    }

    @Test("an unusable Reporting-MTA falls back to the From domain; neither usable gives no domain, never the raw text")
    func reporterFallback() throws {
        let text = try InboundFixtures.text("arf-yahoo.eml").replacingOccurrences(of: "dns; arf.mail.example.com", with: "dns; <b>x</b>")
        guard case .complaint(let report) = InboundKind.of(MIMEEntity(parsing: Array(text.utf8))) else { throw InboundTestError("not a complaint") }
        #expect(report.reportingDomain == "arf.mail.example.com")
        let neither = text.replacingOccurrences(of: "feedback@arf.mail.example.com", with: "feedback@<script>")
        guard case .complaint(let bare) = InboundKind.of(MIMEEntity(parsing: Array(neither.utf8))) else { throw InboundTestError("not a complaint") }
        #expect(bare.reportingDomain == nil)
    }

    @Test("a complaint for a message circulate sent unsubscribes the person from everything, with the reporter in the source, and cancels their queued mail",
          arguments: [("arf-microsoft.eml", "fbl.example.net"), ("arf-yahoo.eml", "arf.mail.example.com")])
    func unsubscribes(name: String, reporter: String) throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        // A session invitation waits in the queue for the same person: it must not go out after the complaint.
        _ = try w.world.db.enqueue(w.world.announcement(.sessionInvitations, subject: "Next session"), domain: "example.org", now: testNow)
        _ = try w.world.db.startDueMailings(now: testNow, lateLimit: 3600)
        let result = try w.handle(try InboundFixtures.text(name, messageID: claim.messageID, recipient: claim.recipient), uid: 1)
        #expect(result.actedNow)
        #expect(result.record.kind == "complaint")
        #expect(result.record.state == .handled)
        #expect(result.record.deliveryID == claim.deliveryID)
        #expect(result.record.memberID == claim.memberID)
        #expect(!result.record.action.contains("@"))
        let member = try w.world.member(claim.recipient)
        #expect(member.status == .unsubscribed)
        #expect(member.streams.isEmpty)
        #expect(try w.withdrawals(claim.memberID) == ["spam complaint via \(reporter)"])
        let due = try w.world.db.claimDue(limit: 100, now: testNow.addingTimeInterval(3600))
        #expect(!due.contains { $0.memberID == claim.memberID }, "nothing queued goes to the person who complained")
        #expect(due.contains { $0.memberID == w.sent[1].memberID }, "the others still get the invitation")
        #expect(try w.world.member(w.sent[1].recipient).status == .active)

        // The same report read again under its UID changes nothing; delivered again an hour later (a new UID) it is
        // known by its Message-ID and not acted on; another provider's report about the same message finds the person
        // already gone.
        #expect(try !w.handle(try InboundFixtures.text(name, messageID: claim.messageID, recipient: claim.recipient), uid: 1).actedNow)
        let again = try w.handle(try InboundFixtures.text(name, messageID: claim.messageID, recipient: claim.recipient), uid: 2,
                                 at: testNow.addingTimeInterval(4200))
        #expect(!again.actedNow && again.record.uid == 2)
        #expect(try w.world.member(claim.recipient).statusChangedAt == member.statusChangedAt)
        let other = name == "arf-yahoo.eml" ? "arf-microsoft.eml" : "arf-yahoo.eml"
        let second = try w.handle(try InboundFixtures.text(other, messageID: claim.messageID, recipient: claim.recipient), uid: 3)
        #expect(second.record.action.contains("already unsubscribed"))
        #expect(try w.withdrawals(claim.memberID).count == 1)
    }

    @Test("a complaint whose Original-Rcpt-To is another (or a redacted) address, or whose original cannot be matched, is left for the coordinator")
    func notActedOn() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        let forwarded = try w.handle(try InboundFixtures.text("arf-yahoo.eml", messageID: claim.messageID, recipient: "someone.else@example.net"), uid: 1)
        #expect(forwarded.record.state == .forCoordinator)
        #expect(forwarded.record.deliveryID == claim.deliveryID)
        let redacted = try w.handle(try InboundFixtures.text("arf-redacted.eml", messageID: claim.messageID, recipient: claim.recipient), uid: 2)
        #expect(redacted.record.state == .forCoordinator)
        #expect(redacted.record.action.contains("redacted beyond matching"))
        let foreign = try w.handle(try InboundFixtures.text("arf-microsoft.eml", messageID: "not-ours@example.net", recipient: claim.recipient), uid: 3)
        #expect(foreign.record.state == .forCoordinator)
        // A report that is not a complaint (a provider saying "not spam") never unsubscribes.
        let notSpam = try InboundFixtures.text("arf-microsoft.eml", messageID: claim.messageID, recipient: claim.recipient)
            .replacingOccurrences(of: "Feedback-Type: abuse", with: "Feedback-Type: not-spam").replacingOccurrences(of: "a1b2c3d4", with: "a1b2c3d5")
        let notSpamResult = try w.handle(notSpam, uid: 4)
        #expect(notSpamResult.record.state == .forCoordinator)
        #expect(notSpamResult.record.kind == "complaint")
        #expect(try w.world.member(claim.recipient).status == .active)
        #expect(try w.withdrawals(claim.memberID).isEmpty)
    }

    @Test("erasure removes the complaint's record; export lists it first")
    func erasure() throws {
        let w = try InboundWorld()
        let claim = w.sent[0]
        _ = try w.handle(try InboundFixtures.text("arf-microsoft.eml", messageID: claim.messageID, recipient: claim.recipient), uid: 1)
        let export = try w.world.db.export(EmailAddress(claim.recipient), key: testKey, controller: "CoP", now: testNow)
        #expect(export.inbound.contains { $0.kind == "complaint" })
        _ = try w.world.db.erase(EmailAddress(claim.recipient), key: testKey, erasedBy: "sam", now: testNow)
        #expect(try w.world.db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM inbound_message") } == 0)
        let reportID = InboundFixtures.reportID("arf-microsoft.eml", messageID: claim.messageID, recipient: claim.recipient)
        #expect(w.world.scratch.databaseBytes().firstRange(of: Array(reportID.utf8)) == nil)
    }
}
