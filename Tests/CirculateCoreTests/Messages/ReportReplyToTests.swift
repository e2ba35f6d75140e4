import Foundation
import Logging
import Testing
@testable import CirculateCore

/// The Reply-To of a report's cover and follow-up, read by Python's email package (check_message.py, and the strict
/// `email.policy.default` header parser).
@Suite("Reply-To of report covers and follow-ups: the coordinator, and with [inbox] the list's mailbox too")
struct ReportReplyToTests {
    /// A coordinator whose name needs quoting (a comma), encoding (accents) and folding (its length).
    static let coordinator = "Zoë Ångström-Øvergaard, Coordinator of the Riverside Community of Practice"

    /// The cover and the follow-up sent to Kay, written to files.
    static func build(inbox: Bool, in scratch: Scratch) throws -> [(kind: Mailing.Kind, path: String)] {
        var config = CirculateCore.Configuration()
        config.community.name = "Riverside Community of Practice"
        config.list.address = "cop@example.org"
        config.coordinator.name = coordinator
        config.coordinator.email = "zoe.angstrom@example.org"
        if inbox {
            config.inbox = CirculateCore.Configuration.Inbox(url: try #require(URL(string: "imaps://imap.example.org/INBOX")), username: "cop")
        }
        let world = try WorkflowWorld()
        try world.member("kay@example.org", name: "Kay Commissioner", tags: ["key-influencer"])
        let sentAt = utc(2026, 11, 10, 12)
        let request = try ReportRequest(title: "Hospital discharge", topic: nil, content: .link("https://example.org/reports/discharge.pdf"),
                                        audienceTags: ["key-influencer"], coverNote: "Thank you.", noticeToList: false,
                                        sendAfter: sentAt, createdBy: "sam", attachmentLimit: 10_000_000)
        let report = try world.db.distributeReport(request, followUpAfter: 14 * 86_400, again: false, domain: world.domain, now: sentAt).report
        let builder = MailingMessageBuilder(database: world.db, templates: try MessageTemplates.load(directory: nil), configuration: config,
                                            key: testKey, clock: { sentAt })
        var built: [(Mailing.Kind, String)] = []
        func sendDue(_ kind: Mailing.Kind, at now: Date) throws {
            _ = try world.db.startDueMailings(now: now, lateLimit: 86_400)
            for claim in try world.db.claimDue(limit: 10, now: now) {
                let path = scratch.path("\(kind.rawValue).eml")
                try Data(try builder.build(claim).bytes).write(to: URL(fileURLWithPath: path))
                built.append((kind, path))
            }
            try world.execute("UPDATE delivery SET state = 'sent'")
        }
        try sendDue(.report, at: sentAt)
        try world.scheduler(TestClock(report.followUpAt)).tick()
        try sendDue(.reportFollowUp, at: report.followUpAt)
        return built
    }

    /// Reply-To as `email.policy.default` reads it: one line per mailbox, "display name|address".
    static func strictReplyTo(_ path: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", """
            import sys, email, email.policy
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
            h = m['Reply-To']
            assert not h.defects, h.defects
            for a in h.addresses: print(a.display_name + '|' + a.addr_spec)
            """, path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        return text.split(separator: "\n").map(String.init)
    }

    @Test("with [inbox], covers and follow-ups reply to the coordinator and the list: one folded address list, names encoded")
    func withInbox() throws {
        let scratch = try Scratch()
        let built = try Self.build(inbox: true, in: scratch)
        #expect(built.map(\.kind) == [.report, .reportFollowUp])
        let checked = try SpamAssassinTests.runScript("check_message.py", built.map(\.path))
        try #require(checked.results.count == built.count, "\(checked.output)")
        for (index, message) in built.enumerated() {
            let result = checked.results[index]
            #expect(result["ok"] as? Bool == true, "\(message.kind): \(result["violations"] ?? "?")")
            let replyTo = (result["addresses"] as? [String: Any])?["reply_to"] as? [[String]] ?? []
            #expect(replyTo == [[Self.coordinator, "zoe.angstrom@example.org"], ["Riverside Community of Practice", "cop@example.org"]],
                    "\(message.kind): \(replyTo)")
            #expect(try Self.strictReplyTo(message.path) == ["\(Self.coordinator)|zoe.angstrom@example.org",
                                                             "Riverside Community of Practice|cop@example.org"])
            // Written as one field, folded (no line over 78 characters), the name in encoded words.
            let text = try String(contentsOfFile: message.path, encoding: .utf8)
            let field = try #require(text.components(separatedBy: "\r\n\r\n").first?.components(separatedBy: "\r\nReply-To:").dropFirst().first)
            let lines = ("Reply-To:" + field).components(separatedBy: "\r\n").prefix { $0.hasPrefix("Reply-To:") || $0.hasPrefix(" ") }
            #expect(lines.count > 1 && lines.allSatisfy { $0.utf8.count <= 78 }, "\(lines)")
            #expect(lines.joined().contains("=?UTF-8?B?"), "\(lines)")
            #expect(text.components(separatedBy: "\r\nReply-To:").count == 2, "one Reply-To field")
        }
    }

    @Test("without [inbox], replies go to the coordinator alone, as before")
    func withoutInbox() throws {
        let scratch = try Scratch()
        let built = try Self.build(inbox: false, in: scratch)
        #expect(built.map(\.kind) == [.report, .reportFollowUp])
        for message in built {
            #expect(try Self.strictReplyTo(message.path) == ["\(Self.coordinator)|zoe.angstrom@example.org"], "\(message.kind)")
        }
    }
}
