import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Inbound messages: per-message bounce addresses (VERP) and Gmail's bounce shapes")
struct BounceAddressTests {
    @Test("a bounce address carries its delivery's token; only an intact bounce token of this instance is read back")
    func roundTrip() throws {
        let address = try #require(BounceAddress.make(base: "community@example.org", delivery: 4711, key: testKey))
        #expect(address.hasPrefix("community+2bn-4711-"))
        #expect(address.hasSuffix("@example.org"))
        #expect(BounceAddress.deliveryID(in: address, key: testKey) == 4711)
        #expect(BounceAddress.deliveryID(in: address.uppercased(), key: testKey) == 4711, "a server that upper-cases local parts")
        var altered = Array(address)
        let last = try #require(altered.lastIndex(of: "@")) - 1
        altered[last] = altered[last] == "0" ? "1" : "0"
        #expect(BounceAddress.deliveryID(in: String(altered), key: testKey) == nil)
        #expect(BounceAddress.deliveryID(in: address, key: try InstanceKey(bytes: Array(repeating: 8, count: 32))) == nil, "another instance's key")
        // A token made for another purpose (an unsubscribe token, which members see in every mailto) is no bounce address.
        let unsubscribe = testKey.write(LinkToken(.unsubscribe, scope: .all, id: 4711))
        #expect(BounceAddress.deliveryID(in: "community+\(unsubscribe)@example.org", key: testKey) == nil)
        #expect(BounceAddress.deliveryID(in: "community@example.org", key: testKey) == nil)
        // A local part that would pass 64 characters keeps the plain address.
        #expect(BounceAddress.make(base: String(repeating: "l", count: 30) + "@example.org", delivery: 1, key: testKey) == nil)
    }

    @Test("with inbox.verp the builder puts the token in MAIL FROM only; From and Return-Path in the message stay the list's; off by default")
    func builder() throws {
        let w = try InboundWorld()
        var config = CirculateCore.Configuration()
        config.list.address = "cop@example.org"
        config.inbox = CirculateCore.Configuration.Inbox(url: try #require(URL(string: "imaps://imap.example.org/INBOX")), username: "cop")
        let plain = MailingMessageBuilder(database: w.world.db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        #expect(try plain.build(w.sent[0]).envelope.from == "cop@example.org")
        config.inbox?.verp = true
        let verp = MailingMessageBuilder(database: w.world.db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        for claim in w.sent {
            let message = try verp.build(claim)
            #expect(BounceAddress.deliveryID(in: message.envelope.from, key: testKey) == claim.deliveryID)
            #expect(message.envelope.from.hasPrefix("cop+2bn-"))
            let text = String(decoding: message.bytes, as: UTF8.self)
            #expect(!text.contains("2bn-"), "the token is in the envelope only")
        }
    }

    /// The Gmail report sent back to `bounceTo`, with every mention of the original's Message-ID removed.
    private func withoutMessageID(_ name: String, claim: Claim, bounceTo: String, recipient: String? = nil) throws -> String {
        try InboundFixtures.text(name, messageID: claim.messageID, recipient: recipient ?? claim.recipient, bounceTo: bounceTo)
            .components(separatedBy: "\r\n").filter { !$0.contains(claim.messageID) }.joined(separator: "\r\n")
    }

    @Test("a bounce to a delivery's bounce address counts against exactly that delivery, with no Message-ID in the report")
    func matchedByToken() throws {
        let w = try InboundWorld()
        let claim = w.sent[1]
        let address = try #require(BounceAddress.make(base: "cop@example.org", delivery: claim.deliveryID, key: testKey))
        let text = try withoutMessageID("gmail-bounce.eml", claim: claim, bounceTo: address)
        #expect(!text.contains(claim.messageID))
        let result = try w.handle(text, uid: 1)
        #expect(result.record.state == .handled, "\(result.record.action)")
        #expect(result.record.deliveryID == claim.deliveryID)
        #expect(try w.world.delivery(claim).state == .failed)
        #expect(try w.bounces(claim.recipient) == 1)
        for other in [w.sent[0], w.sent[2]] {
            #expect(try w.world.delivery(other).state == .sent)
            #expect(try w.bounces(other.recipient) == 0)
        }
    }

    @Test("a forged bounce address never acts; a valid one naming another recipient counts only against the delivery its token names")
    func forged() throws {
        let w = try InboundWorld()
        let victim = w.sent[0]
        let holder = w.sent[1]
        // An altered token, and a made-up one, with no Message-ID: nothing is matched.
        var address = Array(try #require(BounceAddress.make(base: "cop@example.org", delivery: victim.deliveryID, key: testKey)))
        let last = try #require(address.lastIndex(of: "@")) - 1
        address[last] = address[last] == "a" ? "b" : "a"
        let altered = try w.handle(try withoutMessageID("gmail-bounce.eml", claim: victim, bounceTo: String(address)), uid: 1)
        #expect(altered.record.state == .forCoordinator)
        #expect(altered.record.deliveryID == nil)
        let madeUp = try w.handle(try withoutMessageID("gmail-bounce.eml", claim: victim,
                                                        bounceTo: "cop+2bn-\(victim.deliveryID)-0123456789abcdef0123456789abcdef@example.org"), uid: 2)
        #expect(madeUp.record.state == .forCoordinator)
        // The holder of their own message's bounce address writes a "bounce" naming the victim: it counts against the
        // holder's own delivery, never the victim's.
        let own = try #require(BounceAddress.make(base: "cop@example.org", delivery: holder.deliveryID, key: testKey))
        let aimed = try w.handle(try withoutMessageID("gmail-bounce.eml", claim: holder, bounceTo: own, recipient: victim.recipient), uid: 3)
        #expect(aimed.record.deliveryID == holder.deliveryID)
        #expect(try w.world.delivery(victim).state == .sent)
        #expect(try w.bounces(victim.recipient) == 0)
    }

    @Test("Gmail's report and its older plain-text notice give the failed address, the status and the returned Message-ID",
          arguments: ["gmail-bounce.eml", "gmail-bounce-old.eml"])
    func gmailShapes(name: String) throws {
        let message = MIMEEntity(parsing: try InboundFixtures.bytes(name))
        guard case .deliveryReport(let report) = InboundKind.of(message) else { throw InboundTestError("\(name) is not a delivery report") }
        #expect(report.returnedMessageID == "returned-1@example.org")
        #expect(report.recipients.map(\.finalRecipient) == ["kim@example.org"])
        #expect(report.recipients.first?.status == "5.1.1")
        #expect(report.recipients.first?.action == "failed")
    }

    @Test("Gmail's report names the original in its delivery-status part too (X-Original-Message-ID), enough without the headers part")
    func gmailOriginalID() throws {
        let text = try InboundFixtures.text("gmail-bounce.eml").components(separatedBy: "\r\n")
            .filter { !$0.hasPrefix("Message-ID: <returned") && !$0.hasPrefix("References:") && !$0.hasPrefix("In-Reply-To:") }
            .joined(separator: "\r\n")
        guard case .deliveryReport(let report) = InboundKind.of(MIMEEntity(parsing: Array(text.utf8))) else { throw InboundTestError("not a report") }
        #expect(report.returnedMessageID == "returned-1@example.org")
    }

    @Test("a Gmail bounce for a message circulate sent counts like any other",
          arguments: ["gmail-bounce.eml", "gmail-bounce-old.eml"])
    func gmailCounts(name: String) throws {
        let w = try InboundWorld()
        let claim = w.sent[2]
        let result = try w.handle(try InboundFixtures.text(name, messageID: claim.messageID, recipient: claim.recipient), uid: 1)
        #expect(result.record.state == .handled)
        #expect(result.record.deliveryID == claim.deliveryID)
        #expect(try w.world.delivery(claim).failure == .bounce)
    }
}
