import Foundation
import Testing
@testable import CirculateCore

@Suite("Inbound messages: what each shape is")
struct InboundMessageTests {
    private func report(_ name: String) throws -> DeliveryReport {
        guard case .deliveryReport(let report) = InboundKind.of(MIMEEntity(parsing: try InboundFixtures.bytes(name))) else {
            throw InboundTestError("\(name) is not read as a delivery report")
        }
        return report
    }

    @Test("RFC 3464 reports of Postfix, Microsoft 365 and Exim give the returned Message-ID, the recipient, the action and the status",
          arguments: [("postfix-bounce.eml", "5.1.1"), ("m365-bounce.eml", "5.1.10"), ("exim-policy-rejection.eml", "5.7.1"),
                      ("delayed.eml", "4.4.7")])
    func standardReports(name: String, status: String) throws {
        let report = try report(name)
        #expect(report.returnedMessageID == "returned-1@example.org")
        #expect(report.recipients.count == 1)
        let entry = try #require(report.recipients.first)
        #expect(entry.names("Kim@Example.org"))
        #expect(!entry.names("lee@example.org"))
        #expect(entry.status == status)
        #expect(entry.action == (name == "delayed.eml" ? "delayed" : "failed"))
    }

    @Test("a plain-text qmail bounce names the failed address, the status and the returned Message-ID")
    func qmail() throws {
        let report = try report("qmail-bounce.eml")
        #expect(report.returnedMessageID == "returned-1@example.org")
        #expect(report.recipients.map(\.finalRecipient) == ["kim@example.org"])
        #expect(report.recipients.first?.status == "5.1.1")
    }

    @Test("an out-of-office reply is an automatic reply, even when it says 'unsubscribe'; a person's reply names what it answers")
    func autoReplyAndQuestion() throws {
        #expect(InboundKind.of(MIMEEntity(parsing: try InboundFixtures.bytes("auto-reply.eml"))) == .autoReply)
        let question = InboundKind.of(MIMEEntity(parsing: try InboundFixtures.bytes("question.eml")))
        if case .reply(let reply) = question {
            #expect(reply.referencedIDs == ["returned-1@example.org"] && reply.from == "kim@example.org")
        } else {
            Issue.record("a reply was taken for \(question)")
        }
        let fresh = try InboundFixtures.text("question.eml").replacingOccurrences(of: "In-Reply-To: <returned-1@example.org>\r\n", with: "")
        #expect(InboundKind.of(MIMEEntity(parsing: Array(fresh.utf8))) == .other)
        let vacation = InboundFixtures.unsubscribeEmail(subject: "unsubscribe 2ua-1-0123456789abcdef0123456789abcdef")
            .replacingOccurrences(of: "MIME-Version", with: "Auto-Submitted: auto-replied\r\nMIME-Version")
        #expect(InboundKind.of(MIMEEntity(parsing: Array(vacation.utf8))) == .autoReply)
        for header in ["X-Autoreply: yes", "Precedence: auto_reply", "X-Autorespond: on"] {
            let text = InboundFixtures.unsubscribeEmail(subject: "Re: December update").replacingOccurrences(of: "MIME-Version", with: "\(header)\r\nMIME-Version")
            #expect(InboundKind.of(MIMEEntity(parsing: Array(text.utf8))) == .autoReply, "\(header)")
        }
        // "Auto-Submitted: no" is a person's own message (RFC 3834 §5).
        let person = InboundFixtures.unsubscribeEmail(subject: "Re: December update").replacingOccurrences(of: "MIME-Version", with: "Auto-Submitted: no\r\nMIME-Version")
        #expect(InboundKind.of(MIMEEntity(parsing: Array(person.utf8))) == .other)
    }

    @Test("the unsubscribe mailto's subject gives the token, also after Re:, in capitals or RFC 2047-encoded; without one it has none",
          arguments: [("unsubscribe 2um-12-0123456789abcdef0123456789abcdef", "2um-12-0123456789abcdef0123456789abcdef"),
                      ("Re: Unsubscribe 2UM-12-0123456789ABCDEF0123456789ABCDEF", "2um-12-0123456789abcdef0123456789abcdef"),
                      ("=?UTF-8?Q?unsubscribe_2um-12-0123456789abcdef0123456789abcdef?=", "2um-12-0123456789abcdef0123456789abcdef"),
                      ("=?utf-8?B?dW5zdWJzY3JpYmUgMnVtLTEyLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm?=", "2um-12-0123456789abcdef0123456789abcdef")])
    func unsubscribeSubjects(subject: String, token: String) {
        let message = MIMEEntity(parsing: Array(InboundFixtures.unsubscribeEmail(subject: subject).utf8))
        #expect(InboundKind.of(message) == .unsubscribe(token: token))
    }

    @Test("a plain 'please unsubscribe me' has no token")
    func unsubscribeWithoutToken() {
        let message = MIMEEntity(parsing: Array(InboundFixtures.unsubscribeEmail(subject: "please unsubscribe me").utf8))
        if case .unsubscribe(let token) = InboundKind.of(message) { #expect(token == nil) } else { Issue.record("not an unsubscribe request") }
    }

    @Test("base64 and quoted-printable parts are decoded, and a report in base64 is still read")
    func encodings() throws {
        let text = try InboundFixtures.text("postfix-bounce.eml")
        let status = "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; kim@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        let encoded = Data(status.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let start = try #require(text.range(of: "Content-Type: message/delivery-status\r\n\r\n"))
        let end = try #require(text.range(of: "\r\n--4F1A2B3C", range: start.upperBound..<text.endIndex))
        let changed = text[..<start.lowerBound] + "Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + encoded + text[end.lowerBound...]
        guard case .deliveryReport(let report) = InboundKind.of(MIMEEntity(parsing: Array(changed.utf8))) else {
            Issue.record("not read as a report")
            return
        }
        #expect(report.recipients.first?.status == "5.1.1")
        #expect(MIMEEntity.decode(Array("caf=C3=A9 =\r\nau lait".utf8)[...], encoding: "quoted-printable") == Array("café au lait".utf8))
    }

    @Test("malformed, truncated and hostile messages are read without a crash, as far as they make sense")
    func malformed() throws {
        let full = try InboundFixtures.bytes("m365-bounce.eml")
        // Cut at every 97th byte: never a crash, and a cut report is at worst something else.
        for cut in stride(from: 0, to: full.count, by: 97) {
            _ = InboundKind.of(MIMEEntity(parsing: Array(full[..<cut])))
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var mutated = full
            for _ in 0..<20 { mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = InboundKind.of(MIMEEntity(parsing: mutated))
        }
        // Deep nesting stops at the limit instead of recursing without end.
        var nested = "Content-Type: text/plain\r\n\r\nend\r\n"
        for level in 0..<50 {
            nested = "Content-Type: multipart/mixed; boundary=\"b\(level)\"\r\n\r\n--b\(level)\r\n\(nested)\r\n--b\(level)--\r\n"
        }
        let deep = MIMEEntity(parsing: Array(nested.utf8))
        #expect(deep.all.count <= MIMEEntity.maximumDepth + 1)
        // Many parts stop at the limit.
        let many = "Content-Type: multipart/mixed; boundary=x\r\n\r\n" + String(repeating: "--x\r\n\r\nhi\r\n", count: 5000) + "--x--\r\n"
        #expect(MIMEEntity(parsing: Array(many.utf8)).all.count <= MIMEEntity.maximumParts + 1)
        // Not UTF-8: read as Latin-1, never refused.
        let latin = MIMEEntity(parsing: [0x53, 0x75, 0x62, 0x6A, 0x65, 0x63, 0x74, 0x3A, 0x20, 0xE9, 0x0D, 0x0A, 0x0D, 0x0A])
        #expect(latin.field("subject") == "é")
        #expect(InboundKind.of(MIMEEntity(parsing: [])) == .other)
    }
}

struct InboundTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

