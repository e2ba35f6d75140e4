import Foundation
import Testing
@testable import CirculateCore

/// The join page's messages made the way the daemon makes them (queue → builder → Maildir) and read by the same
/// independent checks as every other kind: Python's email parser with byte-level rules, and SpamAssassin.
@Suite("Join confirmations parse, say what they should, and are ham")
struct JoinConfirmationMessageTests {
    @Test("the confirmation link (new and returning person) and the 'already on the list' note pass check_message.py and SpamAssassin")
    func bothVariants() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"), "SpamAssassin is not installed; run scripts/deps test")
        let scratch = try Scratch()
        let db = try scratch.database()
        let config = WorkflowMessagesTests.config()
        let now = WorkflowMessagesTests.at(2026, 11, 2, 9)
        _ = try db.addMember(person("ann.example@example.org", name: "Ann Example", tags: ["member"]), grant: grant(), key: testKey,
                             rejoin: false, now: now)
        let wording = try ConsentWording(data: Data("Version: 2026-03\n\nI agree to receive what I ticked.\n".utf8), path: "consent.txt")
        let context = AppDatabase.SignUpContext(community: config.community.name, baseURL: "https://lists.example.org/circulate",
                                                domain: config.domain, wording: wording)
        for email in ["new.person@example.org", "ann.example@example.org"] {
            _ = try db.requestSignUp(SignUpRequest(email: email, name: "Someone", organisation: "", streams: [.monthlyUpdate]),
                                     client: "192.0.2.1", context: context, key: testKey, now: now)
        }
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config,
                                            key: testKey, clock: { now })
        let sender = try MaildirTransport(folder: scratch.path("outbox")).makeSender()
        defer { sender.close() }
        var paths: [String: String] = [:]
        _ = try db.startDueMailings(now: now, lateLimit: 86_400)
        for claim in try db.claimDue(limit: 10, now: now) {
            let message = try builder.build(claim)
            guard case .accepted(let reply) = sender.send(message.envelope, message: message.bytes, lastCheck: { .go }) else {
                Issue.record("not written: \(claim.recipient)")
                continue
            }
            paths[claim.recipient] = String(reply.dropFirst("written to ".count))
        }
        try #require(paths.count == 2)
        let files = ["new.person@example.org", "ann.example@example.org"].compactMap { paths[$0] }
        let structure = try SpamAssassinTests.runScript("check_message.py", files)
        let spam = try SpamAssassinTests.runScript("spam_check.py", files)
        try #require(structure.results.count == 2 && spam.results.count == 2, "\(structure.output) \(spam.output)")
        for (index, result) in structure.results.enumerated() {
            #expect(result["ok"] as? Bool == true, "\(files[index]): \(result["violations"] ?? "?")")
            #expect(result["structure"] as? String == "multipart/alternative(text/plain,text/html)")
            let headers = result["headers"] as? [[String]] ?? []
            #expect(!headers.contains { $0.first == "List-Unsubscribe" || $0.first == "List-Id" }, "not list mail")
            let verdict = spam.results[index]
            #expect(verdict["is_spam"] as? Bool == false, "\(files[index]) is spam: \(verdict["score"] ?? "?") \(verdict["rules"] ?? "?")")
            #expect(verdict["header_or_mime_rules"] as? [String] == [], "\(verdict["rules"] ?? "?")")
        }
        func text(_ result: [String: Any]) -> String {
            let parts = result["parts"] as? [[String: Any]] ?? []
            return (parts.first { $0["content_type"] as? String == "text/plain" }?["text"] as? String) ?? ""
        }
        let confirm = text(structure.results[0]), already = text(structure.results[1])
        #expect(confirm.contains("asked on our web page to join Riverside Community of Practice") && confirm.contains("https://lists.example.org/circulate/j/2jn-")
                && confirm.contains("If you do nothing, you will not be added, and we delete the request after 7 days"), "\(confirm)")
        #expect(!confirm.contains("Dear"), "nobody's name is known yet")
        #expect(already.contains("Dear Ann Example,") && already.contains("You are on our list already")
                && already.contains("https://lists.example.org/circulate/p/2pa-"), "\(already)")
    }
}
