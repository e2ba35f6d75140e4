import Foundation
import Testing
@testable import CirculateCore

/// Every kind of message circulate makes, built by the real `MailingMessageBuilder` and written by the real Maildir
/// transport, goes through SpamAssassin offline (Tests/Fixtures/spam_check.py) and the independent structural checker
/// (Tests/Fixtures/check_message.py). SpamAssassin comes from `scripts/deps test`; without it this suite fails and
/// says so, rather than passing unseen.
@Suite("Messages score as ham in SpamAssassin")
struct SpamAssassinTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let templates = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates")

    /// One built message, and what it is, for failure messages.
    struct Built {
        var label: String
        var path: String
        /// The recipient's name as the greeting should show it; empty when it is not known.
        var name: String
        /// Whether the list has an https unsubscribe link.
        var https: Bool
        /// The announcement's stream; nil for the test message.
        var stream: MailStream?
    }

    /// Why each announcement's recipient gets it, as its footer must say: the stream's own purpose (an announcement on
    /// the monthly-update stream is not a "monthly update"), or a test message.
    static func footer(_ stream: MailStream?) -> String {
        switch stream {
        case .monthlyUpdate?: "You receive this because you joined Riverside Community of Practice and asked for its monthly news."
        case .sessionInvitations?: "You receive this because you joined Riverside Community of Practice and asked to be invited to its sessions."
        case .reports?: "You receive this because you asked to receive the reports of Riverside Community of Practice."
        case nil: "This is a test message from Riverside Community of Practice's mailing system."
        }
    }

    static let bodies: [MailStream: (subject: String, markdown: String)] = [
        .monthlyUpdate: ("November update — café evening and what we learned", """
            ## What happened in October

            Twenty-two of us met at the **Riverside Centre** to talk about *hospital discharge*. Thank you to everyone \
            who came, and to the ward staff who joined us after their shift.

            - Three people shared what leaving hospital without a home to go to was like.
            - The discharge team explained how they decide who is "medically fit".
            - We agreed to write down five changes that would make the biggest difference.

            ## Coming up

            Our next session is on Tuesday 3 December, 10:00–12:30, at the Riverside Centre, 14 Mill Lane. \
            Tea, coffee and lunch are provided. If you need help with travel costs, reply to this email.

            Read [the notes from October](https://example.org/cop/notes/2026-10) if you missed it.
            """),
        .sessionInvitations: ("Thank you for coming — next session on 3 December", """
            Thank you for coming to our session on hospital discharge last Tuesday. Your experience and ideas made \
            the conversation real.

            **Summary:** people leaving hospital are often discharged late in the day, with no address and no \
            medication plan. The group suggested a named link worker on each ward and a check-in call the next day.

            ## Next session

            - **When:** Tuesday 3 December, 10:00–12:30
            - **Where:** Riverside Centre, 14 Mill Lane
            - **Topic:** what happens after the first night

            You do not need to book; just come along. Lunch is provided.
            """),
        .reports: ("Hospital discharge: our final report and five recommendations", """
            Over the past six months, members of the Riverside Community of Practice — practitioners, commissioners \
            and people who have been discharged from hospital without a home — met to look at what goes wrong and \
            what works.

            Our final report sets out five recommendations for the discharge pathway. You can read it here: \
            [Hospital discharge report (PDF)](https://example.org/cop/reports/hospital-discharge-2026.pdf).

            We would welcome the chance to present the findings to your board or team. Reply to this email and we \
            will arrange a time that suits you.
            """),
    ]

    /// A community with four people (one a key influencer, one without a name), a mailing on each stream and a
    /// `send-test` message, built and written to `outbox`.
    static func buildMessages(publicBaseURL: URL?, in scratch: Scratch, outbox: String) throws -> [Built] {
        let db = try scratch.database()
        var config = CirculateCore.Configuration()
        config.community.name = "Riverside Community of Practice"
        config.list.address = "cop@example.org"
        config.list.publicBaseURL = publicBaseURL
        if publicBaseURL != nil {
            config.list.replyTo = "coordinator@example.org"
            config.web.listen = ListenAddress(host: "127.0.0.1", port: 8080)  // one-click links only where something serves them
        }

        _ = try db.addMember(person("ann.example@example.org", name: "Ann Example", tags: ["member"]), grant: grant(),
                             key: testKey, rejoin: false, now: testNow)
        _ = try db.addMember(person("sian@example.org", name: "Siân Ó Ceallaigh-Żółć", tags: ["member", "attendee"]),
                             grant: grant(), key: testKey, rejoin: false, now: testNow)
        _ = try db.addMember(person("j.patel@example.org", name: "Councillor J. Patel", organisation: "Example City Council",
                                    tags: ["key-influencer"]),
                             grant: grant(.legitimateInterest, source: "public register of councillors"),
                             key: testKey, rejoin: false, now: testNow)
        // Someone who signed the sheet with an address only.
        _ = try db.addMember(person("r.okafor@example.org", tags: ["attendee"]), grant: grant(), key: testKey, rejoin: false,
                             now: testNow)

        let sendAt = Date()
        for stream in MailStream.allCases {
            let content = try #require(bodies[stream])
            let request = try Announcement(audience: Audience(stream: stream), subject: content.subject,
                                             bodyMarkdown: content.markdown, requestedStart: nil, now: sendAt, createdBy: "sam")
            _ = try db.enqueue(request, domain: config.domain, now: sendAt)
        }
        _ = try db.startDueMailings(now: sendAt, lateLimit: 3600)
        var claims = try db.claimDue(limit: 100, now: sendAt)
        // What `circulate send-test` queues and builds (Sources/circulate/Commands/SendTest.swift).
        claims.append(try db.startTestMessage(
            to: EmailAddress("tester@example.org"), subject: "circulate test message",
            body: """
                This is a test message from circulate, sent with `circulate send-test` through SMTP relay \
                smtp://relay.example.org:587.

                If you can read this, messages from \(config.community.name) reach this address.
                """,
            createdBy: "sam", domain: config.domain, windows: [], now: sendAt))
        let mailings = try Dictionary(uniqueKeysWithValues: db.mailings(activeOnly: false).map { ($0.id ?? -1, $0) })

        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config,
                                            key: testKey)
        let sender = try MaildirTransport(folder: outbox).makeSender()
        defer { sender.close() }
        var built: [Built] = []
        for claim in claims {
            let message = try builder.build(claim)
            guard case .accepted(let reply) = sender.send(message.envelope, message: message.bytes, lastCheck: { .go }) else {
                Issue.record("the Maildir transport did not take the message to \(claim.recipient)")
                continue
            }
            let path = String(reply.dropFirst("written to ".count))
            let mailing = mailings[claim.mailingID]
            let kind = mailing?.stream?.rawValue ?? "test message"
            built.append(Built(label: "\(kind) to \(claim.recipient) (\(publicBaseURL == nil ? "mailto" : "https") unsubscribe)",
                               path: path, name: claim.recipientName, https: publicBaseURL != nil, stream: mailing?.stream))
        }
        return built
    }

    /// Runs a fixture script with /usr/bin/python3; returns its exit status, each output line that is a JSON object,
    /// and the whole output (standard error included, for failure messages).
    static func runScript(_ name: String, _ paths: [String]) throws -> (status: Int32, results: [[String: Any]], output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [fixtures.appendingPathComponent(name).path] + paths
        // One pipe for both streams: a separate, unread standard error pipe could fill up and stall the script.
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        let results = output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        return (process.terminationStatus, results, output)
    }

    @Test("every kind of message is ham, fires no header or MIME rule, and passes the structural checker")
    func everyKindOfMessage() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"),
                     "SpamAssassin is not installed; run scripts/deps test")
        // One community without and one with an https unsubscribe link, each in its own folder and database; the
        // folders must outlive the scripts' runs, which read the files.
        let scratches = [try Scratch(), try Scratch()]
        defer { withExtendedLifetime(scratches) {} }
        var built: [Built] = []
        for (scratch, base) in zip(scratches, [nil, URL(string: "https://lists.example.org/cop")]) {
            built += try Self.buildMessages(publicBaseURL: base, in: scratch, outbox: scratch.path("outbox"))
        }
        // 3 consenting people × 3 streams, the key influencer's report, the test message; with and without https.
        try #require(built.count == 2 * (3 * 3 + 1 + 1))
        let paths = built.map(\.path)

        let spam = try Self.runScript("spam_check.py", paths)
        #expect(spam.results.count == built.count, "spam_check.py said: \(spam.output)")
        for (message, result) in zip(built, spam.results) {
            #expect(result["file"] as? String == message.path)
            let rules = result["rules"] as? [[String: Any]] ?? []
            let summary = rules.map { "\($0["name"] ?? "?")=\($0["score"] ?? "?")" }.joined(separator: " ")
            #expect(result["is_spam"] as? Bool == false, "\(message.label) is spam: score \(result["score"] ?? "?"), \(summary)")
            let headerOrMIME = result["header_or_mime_rules"] as? [String]
            #expect(headerOrMIME == [], "\(message.label) fires header/MIME rules \(headerOrMIME ?? []); all rules: \(summary)")
        }
        #expect(spam.status == 0, "spam_check.py said: \(spam.output)")

        let structure = try Self.runScript("check_message.py", paths)
        #expect(structure.results.count == built.count, "check_message.py said: \(structure.output)")
        for (message, result) in zip(built, structure.results) {
            #expect(result["ok"] as? Bool == true, "\(message.label): \(result["violations"] ?? "?")")
            #expect(result["structure"] as? String == "multipart/alternative(text/plain,text/html)", "\(message.label)")
            let texts = (result["parts"] as? [[String: Any]] ?? []).map { $0["text"] as? String ?? "" }
            // Each message greets its own recipient by name, and nobody with an empty "Dear ,".
            for text in texts {
                if message.name.isEmpty {
                    #expect(!text.contains("Dear"), "\(message.label) greets a recipient whose name is not known")
                } else {
                    #expect(text.contains("Dear \(message.name),"), "\(message.label)")
                }
            }
            let plain = texts.first ?? ""
            // The key influencer (legitimate interest) gets the reports stream too, and is told the true reason: their
            // role, not a request they never made.
            let inRole = message.label.contains("to j.patel@example.org")
            let reason = inRole
                ? "You receive this because of your role in the work of Riverside Community of Practice, whose reports we share with the people who can act on them."
                : Self.footer(message.stream)
            #expect(plain.contains("--\r\n" + reason + "\r\n") && !plain.contains("monthly update"),
                    "\(message.label): the footer gives another reason: \(plain)")
            if inRole { #expect(!plain.contains("you asked"), "\(message.label): \(plain)") }
            let headers = (result["headers"] as? [[String]] ?? []).filter { $0.first == "List-Unsubscribe" }
            let unsubscribe = headers.first?.last ?? ""
            #expect(headers.count == 1 && unsubscribe.contains("<mailto:cop@example.org?subject=unsubscribe%20"), "\(message.label)")
            #expect(unsubscribe.contains("<https://lists.example.org/cop/u/") == message.https, "\(message.label)")
            // RFC 8058: the one-click POST header goes with an https link to a member, and only then.
            let post = (result["headers"] as? [[String]] ?? []).filter { $0.first == "List-Unsubscribe-Post" }.map { $0.last ?? "" }
            let personal = !unsubscribe.contains("/u/test>")  // a test message to someone not on the list has no real link
            #expect(post == (message.https && personal ? ["List-Unsubscribe=One-Click"] : []), "\(message.label)")
        }
        #expect(structure.status == 0)
    }

    @Test("the checker is not blind: a message with a header and a MIME fault fires rules of both families")
    func checkerNoticesFaults() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"),
                     "SpamAssassin is not installed; run scripts/deps test")
        let scratch = try Scratch()
        // No Date (a header fault) and an HTML-only body (a MIME fault); otherwise an ordinary message.
        let faulty = [
            "Message-ID: <control.0123456789abcdef@example.org>", "From: Riverside Community of Practice <cop@example.org>",
            "To: Ann Example <ann.example@example.org>", "Subject: Our next session", "MIME-Version: 1.0",
            "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
            "<html><body><p>Our next session is on Tuesday 3 December at the Riverside Centre.</p></body></html>", "",
        ].joined(separator: "\r\n")
        let path = scratch.path("faulty.eml")
        try Data(faulty.utf8).write(to: URL(fileURLWithPath: path))
        let spam = try Self.runScript("spam_check.py", [path])
        #expect(spam.status == 1, "\(spam.output)")
        let result = try #require(spam.results.first, "\(spam.output)")
        let rules = result["rules"] as? [[String: Any]] ?? []
        let flagged = Set(result["header_or_mime_rules"] as? [String] ?? [])
        let families = Set(rules.filter { flagged.contains($0["name"] as? String ?? "") }.compactMap { $0["family"] as? String })
        #expect(families == ["header", "mime"], "\(spam.output)")
    }

    @Test("the built-in templates are exact copies of templates/*.mustache (scripts/embed-templates), one pair per kind")
    func builtInTemplatesMatchFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.templates.path).filter { $0.hasSuffix(".mustache") }
        #expect(Set(files) == Set(DefaultTemplates.files.keys), "run scripts/embed-templates")
        #expect(Set(MessageTemplates.fileNames) == Set(files), "every message kind needs its HTML and text template")
        for name in files {
            let text = try String(contentsOf: Self.templates.appendingPathComponent(name), encoding: .utf8)
            #expect(DefaultTemplates.files[name] == text, "\(name) differs from its built-in copy; run scripts/embed-templates")
        }
    }
}
