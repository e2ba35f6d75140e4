import Foundation
import Testing
@testable import CirculateCore

@Suite("Message composer")
struct MessageComposerTests {
    @Test("the fields a mailing's messages share, encoded once, give the bytes of encoding them in each message")
    func sharedFieldsSameBytes() throws {
        let siân = Mailbox(displayName: "Siân Ó Ceallaigh-Żółć via Riverside Community of Practice", address: Sample.address("cop@lists.example.org"))
        let cases: [(from: Mailbox, replyTo: [Mailbox], subject: String, shared: Int)] = [
            (Sample.list, [], "Monthly update", 0),
            (Sample.list, [Sample.ann], "Monthly update", 2),
            (siân, [Sample.ann, Sample.list], "Żółć: " + String(repeating: "a long subject that must be folded ", count: 4), 5),
            (siân, [], "", 3),
            (Sample.list, [siân], "Report: “Hospital discharge”, five changes that would help", Sample.listHeaders.count),
        ]
        for c in cases {
            var message = Sample.message(from: c.from, replyTo: c.replyTo, subject: c.subject, extraHeaders: Sample.listHeaders,
                                         html: "<p>Hello Ann,</p>\n")
            let expected = try MessageComposer.compose(message, boundarySeed: "seed")
            message.sharedFields = try MessageComposer.encodeSharedFields(
                from: c.from, replyTo: c.replyTo, subject: c.subject, extraHeaders: Array(Sample.listHeaders.prefix(c.shared)))
            #expect(try MessageComposer.compose(message, boundarySeed: "seed") == expected, "\(c.subject)")
        }
        // What compose refuses, encoding them ahead refuses too.
        #expect(throws: CompositionError.self) {
            try MessageComposer.encodeSharedFields(from: Sample.list, replyTo: [], subject: "Hi\r\nBcc: x@example.org", extraHeaders: [])
        }
    }

    private func compose(_ message: OutgoingMessage, seed: String = "t") throws -> [UInt8] {
        try MessageComposer.compose(message, boundarySeed: seed)
    }

    private func text(_ lines: [String]) -> String { lines.joined(separator: "\r\n") }

    // MARK: Layout

    @Test("a text-only message is one quoted-printable text/plain body")
    func textOnly() throws {
        let bytes = try compose(Sample.message(text: "Hello Ann,\n"))
        #expect(String(decoding: bytes, as: UTF8.self) == text([
            "Date: Sun, 22 Nov 2026 20:15:00 +0000",
            "Message-ID: <20261122.abc123@lists.example.org>",
            "From: Stoke CoP <cop@lists.example.org>",
            "To: Ann Example <ann@example.org>",
            "Subject: Monthly update",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Hello Ann,",
            "",
        ]))
    }

    @Test("text and HTML make a multipart/alternative, plain text first, after the list headers")
    func alternative() throws {
        let message = Sample.message(
            replyTo: [Mailbox(displayName: "Coordinator", address: Sample.address("coordinator@example.org"))],
            extraHeaders: Sample.listHeaders, text: "Hello Ann,\n", html: "<p>Hello Ann,</p>")
        #expect(String(decoding: try compose(message), as: UTF8.self) == text([
            "Date: Sun, 22 Nov 2026 20:15:00 +0000",
            "Message-ID: <20261122.abc123@lists.example.org>",
            "From: Stoke CoP <cop@lists.example.org>",
            "Reply-To: Coordinator <coordinator@example.org>",
            "To: Ann Example <ann@example.org>",
            "Subject: Monthly update",
            "MIME-Version: 1.0",
            "List-Id: Stoke Community of Practice <cop.lists.example.org>",
            "List-Unsubscribe: <https://lists.example.org/u/3f9a>,",
            " <mailto:leave+3f9a@lists.example.org>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Auto-Submitted: auto-generated",
            "Precedence: bulk",
            "Content-Type: multipart/alternative; boundary=\"=_circulate_t_alt\"",
            "",
            "--=_circulate_t_alt",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Hello Ann,",
            "",
            "--=_circulate_t_alt",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "<p>Hello Ann,</p>",
            "--=_circulate_t_alt--",
            "",
        ]))
    }

    @Test("an attachment makes a multipart/mixed with the text first and the file in base64")
    func textWithAttachment() throws {
        let report = Attachment(filename: "report.pdf", contentType: "application/pdf", data: Array("%PDF-1.4\n".utf8))
        let bytes = try compose(Sample.message(text: "Report attached.\n", attachments: [report]))
        let body = MessageReader.split(bytes).body
        #expect(MessageReader.field("Content-Type", in: bytes) == "multipart/mixed; boundary=\"=_circulate_t_mixed\"")
        #expect(body == text([
            "--=_circulate_t_mixed",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Report attached.",
            "",
            "--=_circulate_t_mixed",
            "Content-Type: application/pdf; name=\"report.pdf\"",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=\"report.pdf\"",
            "",
            "JVBERi0xLjQK",  // base64 of "%PDF-1.4\n"
            "--=_circulate_t_mixed--",
            "",
        ]))
    }

    @Test("text, HTML and attachments nest the alternative inside the mixed, and every part decodes exactly")
    func fullStructure() throws {
        var generator = SplitMix64(state: 2046)
        let pdf = (0..<5_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let ics = Array("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n".utf8)
        let plain = "Dear Zoë,\n.\nFrom the session: = signs, trailing spaces   \n" + String(repeating: "long ", count: 60)
        let html = "<p>Dear Zoë,</p>\r\n<p>" + String(repeating: "Ünïcödé ", count: 40) + "</p>"
        let message = Sample.message(text: plain, html: html, attachments: [
            Attachment(filename: "report.pdf", contentType: "application/pdf", data: pdf),
            Attachment(filename: "invite.ics", contentType: "text/calendar", data: ics, disposition: .inline,
                       extraContentTypeParameters: [.init("charset", "utf-8"), .init("method", "REQUEST")]),
        ])
        let entity = MessageReader.entity(String(decoding: try compose(message), as: UTF8.self))
        #expect(entity.structure
            == "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf,text/calendar)")
        let leaves = entity.leaves
        try #require(leaves.count == 4)
        #expect(leaves[0].decodedBody == Array(MessageReader.crlf(plain).utf8))
        #expect(leaves[1].decodedBody == Array(html.utf8))
        #expect(leaves[2].decodedBody == pdf)
        #expect(leaves[3].decodedBody == ics)
        #expect(leaves[3].field("Content-Type") == "text/calendar; charset=utf-8; method=REQUEST; name=\"invite.ics\"")
        #expect(leaves[3].field("Content-Disposition") == "inline; filename=\"invite.ics\"")
    }

    @Test("headers come in a fixed order, each core header exactly once")
    func headerOrder() throws {
        let message = Sample.message(
            replyTo: [Sample.ann], extraHeaders: Sample.listHeaders, html: "<p>hi</p>",
            attachments: [Attachment(filename: "a.txt", contentType: "text/plain", data: [])])
        let names = MessageReader.fields(MessageReader.split(try compose(message)).header).map(\.name)
        #expect(names == [
            "Date", "Message-ID", "From", "Reply-To", "To", "Subject", "MIME-Version", "List-Id", "List-Unsubscribe",
            "List-Unsubscribe-Post", "Auto-Submitted", "Precedence", "Content-Type",
        ])
    }

    @Test("the same message and seed give the same bytes; the seed only changes the boundaries")
    func deterministic() throws {
        let message = Sample.message(html: "<p>hi</p>", attachments: [
            Attachment(filename: "a.txt", contentType: "text/plain", data: Array("a".utf8)),
        ])
        let first = try compose(message, seed: "abc")
        #expect(try compose(message, seed: "abc") == first)
        let other = String(decoding: try compose(message, seed: "xyz"), as: UTF8.self)
        #expect(other.replacingOccurrences(of: "=_circulate_xyz_", with: "=_circulate_abc_")
            == String(decoding: first, as: UTF8.self))
    }

    // MARK: What the relay receives

    @Test("whatever the bodies contain, the output has only CRLF line ends, short lines, and no line starting with a dot")
    func relaySafeBytes() throws {
        let nasty = "bare LF\nbare CR\rCRLF\r\n.\n.\r\nsmuggle\n.\r\nFrom me\nnul \u{0} del \u{7F}\n"
            + String(repeating: "z", count: 2_000) + "\n\n\r\r"
        let message = Sample.message(
            extraHeaders: Sample.listHeaders, text: nasty, html: nasty,
            attachments: [Attachment(filename: "n.bin", contentType: "application/octet-stream",
                                     data: Array(nasty.utf8))])
        let bytes = try compose(message)
        #expect(MessageReader.hasOnlyCRLF(bytes))
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
        #expect(!String(decoding: bytes, as: UTF8.self).contains("\r\n.\r\n"))
        for line in MessageReader.lines(bytes) {
            #expect(line.count <= 78)
            #expect(line.first != UInt8(ascii: "."))
            #expect(!line.starts(with: "From ".utf8))
        }
        let fields = MessageReader.fields(MessageReader.split(bytes).header)
        for name in ["Date", "Message-ID", "From", "To", "Subject", "MIME-Version"] {
            #expect(fields.filter { $0.name == name }.count == 1, "\(name) appears once")
        }
        #expect(MessageReader.field("To", in: bytes) == "Ann Example <ann@example.org>")
    }

    // MARK: Header injection

    @Test("a line break or NUL in any header value is rejected, naming the field",
          arguments: [
              ("Subject", "\r"), ("Subject", "\n"), ("Subject", "\0"), ("From display name", "\r"),
              ("Reply-To display name", "\n"), ("To display name", "\r"), ("List-Unsubscribe", "\n"),
              ("attachment 1 filename", "\r"), ("attachment 1 content type", "\n"),
              ("attachment 1 parameter \"method\"", "\r"),
          ] as [(String, Character)])
    func headerInjection(field: String, character: Character) throws {
        let injected = "Hello\(character)Bcc: victim@example.org"
        var message = Sample.message(attachments: [Attachment(filename: "a.ics", contentType: "text/calendar",
                                                              data: [], extraContentTypeParameters: [])])
        switch field {
        case "Subject": message.subject = injected
        case "From display name": message.from.displayName = injected
        case "Reply-To display name": message.replyTo = [Mailbox(displayName: injected, address: Sample.ann.address)]
        case "To display name": message.to.displayName = injected
        case "List-Unsubscribe": message.extraHeaders = [.init("List-Unsubscribe", "<https://x.example.org/>" + injected)]
        case "attachment 1 filename": message.attachments[0].filename = injected
        case "attachment 1 content type": message.attachments[0].contentType = "text/calendar" + injected
        default: message.attachments[0].extraContentTypeParameters = [.init("method", "REQUEST" + injected)]
        }
        let scalar = try #require(character.unicodeScalars.first)
        #expect(throws: CompositionError(field: field, problem: .headerInjection(scalar))) {
            try compose(message)
        }
    }

    @Test("the injection error says what is wrong without repeating the value")
    func injectionMessage() {
        let error = CompositionError(field: "Subject", problem: .headerInjection("\r"))
        #expect(error.description
            == "Subject contains a line break (CR, U+000D), which could start a new header line (header injection); remove the line break")
    }

    @Test("callers can report a problem of their own in words")
    func problemInWords() {
        let error = CompositionError(field: "mailing", problem: "mailing 7 no longer exists")
        #expect(error.problem == .other("mailing 7 no longer exists"))
        #expect(error.description == "mailing mailing 7 no longer exists")
    }

    @Test("other control, separator and bidi-override characters in headers are rejected",
          arguments: ["\t", "\u{85}", "\u{2028}", "\u{202E}", "\u{1B}"] as [Unicode.Scalar])
    func controlCharacters(scalar: Unicode.Scalar) {
        let message = Sample.message(subject: "Hello \(Character(scalar)) there")
        #expect(throws: CompositionError(field: "Subject", problem: .controlCharacter(scalar))) {
            try compose(message)
        }
    }

    // MARK: Extra headers

    @Test("extra headers cannot replace the composer's own or add recipients",
          arguments: ["Bcc", "cc", "To", "Subject", "MIME-Version", "CONTENT-TYPE", "Content-Transfer-Encoding",
                      "Message-Id", "Return-Path", "Date", "Reply-To", "From"])
    func reservedHeaders(name: String) {
        let message = Sample.message(extraHeaders: [.init(name, "x@example.org")])
        #expect(throws: CompositionError(field: name, problem: .reservedHeaderName)) { try compose(message) }
    }

    @Test("extra header names must be letters, digits and hyphens starting with a letter",
          arguments: ["X Foo", "X:Foo", "", ".X", "Ünicode", "9X", "X_Y", String(repeating: "X", count: 77)])
    func invalidHeaderNames(name: String) {
        let message = Sample.message(extraHeaders: [.init(name, "value")])
        #expect(throws: CompositionError(field: "header name \"\(name)\"", problem: .invalidHeaderName)) {
            try compose(message)
        }
    }

    @Test("extra header values must be non-empty printable ASCII")
    func extraHeaderValues() {
        #expect(throws: CompositionError(field: "List-Id", problem: .nonASCII)) {
            try compose(Sample.message(extraHeaders: [.init("List-Id", "Zoë's list <z.example.org>")]))
        }
        #expect(throws: CompositionError(field: "Precedence", problem: .empty)) {
            try compose(Sample.message(extraHeaders: [.init("Precedence", "   ")]))
        }
    }

    @Test("an extra header with a word too long for any line is rejected rather than written over 998 octets")
    func overlongExtraHeader() {
        let url = "<https://lists.example.org/" + String(repeating: "a", count: 990) + ">"
        #expect(throws: CompositionError(field: "List-Unsubscribe", problem: .tooLong)) {
            try compose(Sample.message(extraHeaders: [.init("List-Unsubscribe", url)]))
        }
    }

    // MARK: Identifiers

    @Test("the Message-ID must be left@right without angle brackets",
          arguments: ["<a@example.org>", "no-at", "a@@example.org", "a..b@example.org", "a b@example.org",
                      "é@example.org", "@example.org", "a@", ".a@example.org"])
    func invalidMessageIDs(id: String) {
        var message = Sample.message()
        message.messageID = id
        #expect(throws: CompositionError(field: "Message-ID", problem: .invalidMessageID)) { try compose(message) }
    }

    @Test("the boundary seed must be 1–52 letters, digits, \"-\", \"_\" or \".\"",
          arguments: ["", "with space", String(repeating: "x", count: 53), "é", "a=b", "a\"b"])
    func invalidBoundarySeeds(seed: String) {
        #expect(throws: CompositionError(field: "boundary seed", problem: .invalidBoundarySeed)) {
            try compose(Sample.message(), seed: seed)
        }
    }

    @Test("a 52-character seed still gives boundaries within RFC 2046's 70 characters")
    func longestSeed() throws {
        let seed = String(repeating: "x", count: 52)
        let bytes = try compose(Sample.message(html: "<p>hi</p>", attachments: [
            Attachment(filename: "a.txt", contentType: "text/plain", data: []),
        ]), seed: seed)
        let boundaries = String(decoding: bytes, as: UTF8.self).matches(of: /boundary="([^"]+)"/).map(\.output.1)
        #expect(boundaries.count == 2)
        #expect(boundaries.allSatisfy { $0.count <= 70 })
    }

    // MARK: Attachments

    @Test("attachment content types must be type/subtype and not multipart or message",
          arguments: ["multipart/mixed", "message/rfc822", "application", "application/", "/pdf", "text/pl ain",
                      "text/plain;x"])
    func invalidContentTypes(contentType: String) {
        let message = Sample.message(attachments: [Attachment(filename: "a", contentType: contentType, data: [])])
        #expect(throws: CompositionError(field: "attachment 1 content type", problem: .invalidContentType)) {
            try compose(message)
        }
    }

    @Test("content type parameters cannot be the composer's own or malformed",
          arguments: [("name", "x"), ("Boundary", "x"), ("na*me", "x"), ("", "x"), ("method", "Zoë")])
    func invalidParameters(name: String, value: String) {
        let message = Sample.message(attachments: [
            Attachment(filename: "a.ics", contentType: "text/calendar", data: [],
                       extraContentTypeParameters: [.init(name, value)]),
        ])
        #expect(throws: CompositionError(field: "attachment 1 parameter \"\(name)\"", problem: .invalidParameter)) {
            try compose(message)
        }
    }

    @Test("parameter values that are not tokens are quoted")
    func quotedParameterValue() throws {
        let message = Sample.message(attachments: [
            Attachment(filename: "a.ics", contentType: "text/calendar", data: [],
                       extraContentTypeParameters: [.init("component", "vevent; \"x\"")]),
        ])
        let part = try #require(MessageReader.entity(String(decoding: try compose(message), as: UTF8.self)).leaves.last)
        #expect(part.field("Content-Type") == "text/calendar; component=\"vevent; \\\"x\\\"\"; name=\"a.ics\"")
    }

    @Test("filenames must be a name only, not empty, and at most 255 bytes",
          arguments: [
              ("reports/final.pdf", CompositionError.Problem.pathSeparator),
              ("reports\\final.pdf", .pathSeparator),
              ("\\\u{301}final.pdf", .pathSeparator),  // a backslash hidden in a grapheme with a combining accent
              ("", .empty),
              ("   ", .empty),
              (String(repeating: "é", count: 128), .tooLong),
          ])
    func invalidFilenames(filename: String, problem: CompositionError.Problem) {
        let message = Sample.message(attachments: [Attachment(filename: filename, contentType: "text/plain", data: [])])
        #expect(throws: CompositionError(field: "attachment 1 filename", problem: problem)) { try compose(message) }
    }
}
