import Foundation
import Testing
@testable import CirculateCore

@Suite("Header encoding")
struct HeaderEncodingTests {
    private func compose(_ message: OutgoingMessage) throws -> [UInt8] {
        try MessageComposer.compose(message, boundarySeed: "t")
    }

    /// The field exactly as written, folded lines and final CRLF included.
    private func raw(_ name: String, in bytes: [UInt8]) -> String {
        let header = MessageReader.split(bytes).header + "\r\n"
        guard let start = header.range(of: "\(name):") else { return "" }
        var end = start.upperBound
        while let lineEnd = header[end...].range(of: "\r\n") {
            end = lineEnd.upperBound
            if end == header.endIndex || !(header[end] == " " || header[end] == "\t") { break }
        }
        return String(header[start.lowerBound..<end])
    }

    private func encodedWords(_ text: String) -> [String] {
        text.matches(of: /=\?UTF-8\?B\?[A-Za-z0-9+\/=]*\?=/).map { String($0.output) }
    }

    private func lineLengths(_ field: String) -> [Int] {
        field.components(separatedBy: "\r\n").dropLast().map(\.utf8.count)
    }

    // MARK: Subject

    @Test("an ASCII subject is written as it is")
    func asciiSubject() throws {
        #expect(raw("Subject", in: try compose(Sample.message(subject: "Monthly update"))) == "Subject: Monthly update\r\n")
    }

    @Test("only the words that need it become encoded-words")
    func minimalEncoding() throws {
        let bytes = try compose(Sample.message(subject: "Monthly update — November"))
        #expect(raw("Subject", in: bytes) == "Subject: Monthly update =?UTF-8?B?4oCU?= November\r\n")
    }

    @Test("a subject of accented, CJK and punctuation text round-trips through one B encoded-word")
    func unicodeSubject() throws {
        let subject = "Zoë Ångström — 日本語"
        let bytes = try compose(Sample.message(subject: subject))
        // Known-good value from Python: base64.b64encode("Zoë Ångström — 日本語".encode())
        #expect(raw("Subject", in: bytes) == "Subject: =?UTF-8?B?Wm/DqyDDhW5nc3Ryw7ZtIOKAlCDml6XmnKzoqp4=?=\r\n")
        #expect(MessageReader.decodeEncodedWords(try #require(MessageReader.field("Subject", in: bytes))) == subject)
    }

    @Test("a long CJK subject is split between characters into encoded-words of at most 75 characters")
    func longUnicodeSubject() throws {
        let subject = String(repeating: "日本語のテキスト😀", count: 12) + " and more"
        let bytes = try compose(Sample.message(subject: subject))
        let field = raw("Subject", in: bytes)
        #expect(lineLengths(field).allSatisfy { $0 <= 78 })
        let words = encodedWords(field)
        #expect(words.count > 5)
        for word in words {
            #expect(word.count <= 75)
            let payload = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            let decoded = try #require(Data(base64Encoded: String(payload)))
            #expect(String(data: decoded, encoding: .utf8) != nil, "each encoded-word holds whole characters")
        }
        #expect(MessageReader.decodeEncodedWords(try #require(MessageReader.field("Subject", in: bytes))) == subject)
    }

    @Test("a long ASCII subject is folded at its spaces and unfolds to the original")
    func longASCIISubject() throws {
        let subject = "Thank you for coming to the session on hospital discharge, and an invitation to the next one"
        let bytes = try compose(Sample.message(subject: subject))
        let field = raw("Subject", in: bytes)
        #expect(field.contains("\r\n "))
        #expect(lineLengths(field).allSatisfy { $0 <= 78 })
        #expect(MessageReader.field("Subject", in: bytes) == subject)
    }

    @Test("text that looks like an encoded-word, or a word too long for a line, is encoded")
    func lookalikesAndLongWords() throws {
        let subject = "Literal =?utf-8?q?hi?= and " + String(repeating: "y", count: 120)
        let bytes = try compose(Sample.message(subject: subject))
        let field = raw("Subject", in: bytes)
        #expect(!field.contains("=?utf-8?q?hi?="))
        #expect(lineLengths(field).allSatisfy { $0 <= 78 })
        #expect(MessageReader.decodeEncodedWords(try #require(MessageReader.field("Subject", in: bytes))) == subject)
    }

    @Test("an empty subject still writes a Subject header")
    func emptySubject() throws {
        let bytes = try compose(Sample.message(subject: ""))
        #expect(raw("Subject", in: bytes) == "Subject:\r\n")
    }

    // MARK: Mailboxes

    @Test("display names are atoms, a quoted string, or encoded-words as their characters require",
          arguments: [
              ("Zoe Smith", "To: Zoe Smith <ann@example.org>\r\n"),
              ("Smith, Zoe", "To: \"Smith, Zoe\" <ann@example.org>\r\n"),
              ("Zoe \"Z\" O'Neil \\ Jr", "To: \"Zoe \\\"Z\\\" O'Neil \\\\ Jr\" <ann@example.org>\r\n"),
              ("  Ann   Smith ", "To: Ann Smith <ann@example.org>\r\n"),
              ("   ", "To: ann@example.org\r\n"),
              ("Zoë Smith", "To: =?UTF-8?B?Wm/Dqw==?= Smith <ann@example.org>\r\n"),
              ("Dr. Zoë (Chair)", "To: =?UTF-8?B?RHIuIFpvw6sgKENoYWlyKQ==?= <ann@example.org>\r\n"),
          ])
    func displayNames(name: String, expected: String) throws {
        let to = Mailbox(displayName: name, address: Sample.address("ann@example.org"))
        #expect(raw("To", in: try compose(Sample.message(to: to))) == expected)
    }

    @Test("a mailbox without a display name is the bare address")
    func bareAddress() throws {
        let to = Mailbox(address: Sample.address("ann@example.org"))
        #expect(raw("To", in: try compose(Sample.message(to: to))) == "To: ann@example.org\r\n")
    }

    @Test("a display name that looks like an encoded-word is encoded, so it shows literally")
    func encodedWordLookalikeName() throws {
        let name = "=?utf-8?b?SGk=?= list"
        let from = Mailbox(displayName: name, address: Sample.address("cop@lists.example.org"))
        let bytes = try compose(Sample.message(from: from))
        let value = try #require(MessageReader.field("From", in: bytes))
        #expect(!value.contains("=?utf-8?b?SGk=?="))
        #expect(MessageReader.decodeEncodedWords(value) == "\(name) <cop@lists.example.org>")
    }

    @Test("an internationalised domain is written as A-labels and needs no SMTPUTF8")
    func internationalDomain() throws {
        let message = Sample.message(to: Mailbox(address: Sample.address("zoe@bücher.example.org")))
        #expect(MessageReader.field("To", in: try compose(message)) == "zoe@xn--bcher-kva.example.org")
        #expect(!MessageComposer.requiresSMTPUTF8(message))
    }

    @Test("a non-ASCII local part is written as raw UTF-8 and makes the message need SMTPUTF8")
    func utf8LocalPart() throws {
        let to = Mailbox(displayName: "Jörg", address: Sample.address("jörg@bücher.example.org"))
        let message = Sample.message(to: to)
        #expect(MessageReader.field("To", in: try compose(message)) == "=?UTF-8?B?SsO2cmc=?= <jörg@xn--bcher-kva.example.org>")
        #expect(MessageComposer.requiresSMTPUTF8(message))
        var replying = Sample.message()
        replying.replyTo = [Mailbox(address: Sample.address("jörg@example.org"))]
        #expect(MessageComposer.requiresSMTPUTF8(replying))
    }

    @Test("a long display name folds before the address and stays within 78 characters a line")
    func longDisplayName() throws {
        let to = Mailbox(displayName: "Zoë Ångström — 日本語 " + String(repeating: "Ωmega ", count: 20),
                         address: Sample.address("ann@example.org"))
        let bytes = try compose(Sample.message(to: to))
        #expect(lineLengths(raw("To", in: bytes)).allSatisfy { $0 <= 78 })
        let decoded = MessageReader.decodeEncodedWords(try #require(MessageReader.field("To", in: bytes)))
        #expect(decoded == "Zoë Ångström — 日本語 " + String(repeating: "Ωmega ", count: 19) + "Ωmega <ann@example.org>")
    }

    // MARK: Phrases for callers

    @Test("phrase() formats a List-Id description the same way as a display name")
    func phrase() throws {
        #expect(try HeaderEncoding.phrase("Stoke CoP") == "Stoke CoP")
        #expect(try HeaderEncoding.phrase("Smith, Zoe") == "\"Smith, Zoe\"")
        #expect(try HeaderEncoding.phrase("Zoë") == "=?UTF-8?B?Wm/Dqw==?=")
        #expect(throws: CompositionError(field: "phrase", problem: .headerInjection("\n"))) {
            try HeaderEncoding.phrase("a\nb")
        }
    }

    // MARK: Date

    @Test("the Date header is RFC 5322 format in UTC")
    func dateFormat() throws {
        #expect(MessageReader.field("Date", in: try compose(Sample.message())) == "Sun, 22 Nov 2026 20:15:00 +0000")
    }

    @Test("dates from 1900 to 9999 match DateFormatter with the en_US_POSIX locale")
    func datesMatchFoundation() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        var seconds = -2_208_988_800.0  // 1900-01-01
        var message = Sample.message()
        while seconds < 253_402_300_799 {
            message.date = Date(timeIntervalSince1970: seconds + 0.75)  // fractions are dropped, never rounded up
            let written = MessageReader.field("Date", in: try compose(message))
            #expect(written == formatter.string(from: Date(timeIntervalSince1970: seconds)))
            seconds += 86_400 * 211 + 3_671 * 7  // wanders through days, weekdays and times of day
        }
        for leapDay in ["2000-02-29", "2024-02-29", "2100-03-01"] {
            let iso = ISO8601DateFormatter()
            message.date = try #require(iso.date(from: leapDay + "T00:00:00Z"))
            #expect(MessageReader.field("Date", in: try compose(message)) == formatter.string(from: message.date))
        }
    }

    @Test("a date outside 1900–9999 or not finite is rejected",
          arguments: [-2_208_988_801.0, 253_402_300_800.0, Double.infinity, Double.nan])
    func datesOutOfRange(seconds: Double) {
        var message = Sample.message()
        message.date = Date(timeIntervalSince1970: seconds)
        #expect(throws: CompositionError(field: "Date", problem: .dateOutOfRange)) { try compose(message) }
    }

    // MARK: Filenames

    @Test("a non-ASCII filename gets RFC 2231 filename* after an ASCII fallback")
    func unicodeFilename() throws {
        let attachment = Attachment(filename: "Bericht Übersicht.pdf", contentType: "application/pdf", data: [1])
        let part = try #require(MessageReader.entity(
            String(decoding: try compose(Sample.message(attachments: [attachment])), as: UTF8.self)).leaves.last)
        #expect(part.field("Content-Disposition")
            == "attachment; filename=\"Bericht Ubersicht.pdf\"; filename*=utf-8''Bericht%20%C3%9Cbersicht.pdf")
        #expect(part.field("Content-Type") == "application/pdf; name=\"Bericht Ubersicht.pdf\"")
    }

    @Test("a long non-ASCII filename is split into RFC 2231 continuations between characters")
    func longUnicodeFilename() throws {
        let filename = "会議の議事録と次回のセッションについてのお知らせ（病院退院）最終版.pdf"
        let attachment = Attachment(filename: filename, contentType: "application/pdf", data: [1])
        let bytes = try compose(Sample.message(attachments: [attachment]))
        let text = String(decoding: bytes, as: UTF8.self)
        let disposition = try #require(text.firstMatch(of: /Content-Disposition:(?:[^\r]|\r\n )*\r\n/))
        let lines = String(disposition.output).components(separatedBy: "\r\n").dropLast()
        #expect(lines.count > 3)
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        var encoded = ""
        for match in String(disposition.output).matches(of: /filename\*(\d+)\*=(?:utf-8'')?([^;\r]+)/) {
            #expect(Int(match.output.1) != nil)
            let segment = String(match.output.2)
            #expect(segment.removingPercentEncoding != nil, "each segment decodes on its own")
            encoded += segment
        }
        #expect(encoded.removingPercentEncoding == filename)
    }
}
