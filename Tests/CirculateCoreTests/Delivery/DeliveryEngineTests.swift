import Foundation
import GRDB
import Logging
import Testing
@testable import CirculateCore

@Suite("The delivery engine")
struct DeliveryEngineTests {
    /// Runs an engine on its own thread until `done` says so (or 20 s pass), then stops it gracefully.
    static func runEngine(_ engine: DeliveryEngine, until done: () throws -> Bool) throws {
        let finished = NSCondition()
        nonisolated(unsafe) var ended = false
        nonisolated(unsafe) var failure: (any Error)?
        let thread = Thread {
            do { try engine.run() } catch { failure = error }
            finished.lock(); ended = true; finished.broadcast(); finished.unlock()
        }
        thread.start()
        let deadline = Date().addingTimeInterval(20)
        while try !done() && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        engine.stop()
        finished.lock()
        while !ended { finished.wait() }
        finished.unlock()
        if let failure { throw failure }
    }

    static func configuration() -> CirculateCore.Configuration {
        var c = CirculateCore.Configuration()
        c.community.name = "Riverside Community of Practice"
        c.list.address = "cop@example.org"
        c.delivery.connections = 2
        return c
    }

    @Test("a mailing goes to every consenting member as one message each, addressed to them alone")
    func maildir() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        var people: [String] = []
        for i in 0..<40 {
            let email = "member\(i).\(UUID().uuidString.prefix(6).lowercased())@example.org"
            people.append(email)
            _ = try db.addMember(person(email, name: "Member Number \(i)", tags: ["member"]), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        _ = try db.unsubscribe(EmailAddress(people[0]), stream: nil, source: "x", recordedBy: "sam", key: testKey, now: testNow)
        let request = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "November update — café evening",
                                         bodyMarkdown: "# News\n\nOur next session is on **hospital discharge**. See [the notes](https://example.org/notes).",
                                         requestedStart: nil, now: Date(), createdBy: "sam")
        let queued = try db.enqueue(request, domain: "example.org", now: Date())
        #expect(queued.added == 39)

        let outbox = scratch.path("outbox")
        let config = Self.configuration()
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        let engine = DeliveryEngine(database: db, transport: MaildirTransport(folder: outbox), builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: Logger(label: "test"))
        try Self.runEngine(engine) { (try db.queueSummary().byState[.sent] ?? 0) == 39 }

        #expect(try db.queueSummary().byState == [.sent: 39])
        #expect(try db.mailing(id: queued.mailing.id ?? -1)?.state == .done)
        let files = try FileManager.default.contentsOfDirectory(atPath: outbox + "/new").map { outbox + "/new/" + $0 }
        #expect(files.count == 39)

        // Independent parse of every message: exactly one recipient, and no other member's address anywhere.
        let report = try python("""
            import email, email.policy, json, sys
            out = []
            for path in sys.argv[1:]:
                raw = open(path, 'rb').read()
                m = email.message_from_bytes(raw, policy=email.policy.default)
                text = m.get_body(('plain',)).get_content()
                html = m.get_body(('html',)).get_content()
                out.append({'to': [a.addr_spec for a in m['To'].addresses], 'cc': m.get('Cc'), 'bcc': m.get('Bcc'),
                            'reply_to': [a.addr_spec for a in m['Reply-To'].addresses] if m['Reply-To'] else None,
                            'subject': str(m['Subject']), 'mid': m['Message-ID'], 'list_id': m['List-Id'],
                            'unsub': m['List-Unsubscribe'], 'text': text, 'html': html, 'raw': raw.decode('utf-8', 'replace'),
                            'bare_lf': b'\\n' in raw.replace(b'\\r\\n', b''), 'type': m.get_content_type()})
            print(json.dumps(out))
            """, arguments: files)
        let messages = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [[String: Any]])
        #expect(messages.count == 39)
        let ids = try db.pool.read { try String.fetchAll($0, sql: "SELECT '<' || message_id || '>' FROM delivery") }
        var seen = Set<String>()
        for m in messages {
            let to = m["to"] as? [String] ?? []
            #expect(to.count == 1)
            let recipient = to.first ?? ""
            seen.insert(recipient)
            #expect(m["cc"] is NSNull && m["bcc"] is NSNull)
            #expect(m["reply_to"] as? [String] == ["cop@example.org"])
            let raw = m["raw"] as? String ?? ""
            let others = people.filter { $0 != recipient && raw.contains($0) }
            #expect(others.isEmpty, "another member's address in \(recipient)'s message: \(others)")
            #expect(m["subject"] as? String == "November update — café evening")
            #expect(ids.contains(m["mid"] as? String ?? ""))
            #expect(m["list_id"] as? String == "<riverside-community-of-practice.example.org>")
            #expect((m["unsub"] as? String)?.hasPrefix("<mailto:cop@example.org?subject=unsubscribe%20") == true)
            #expect(m["type"] as? String == "multipart/alternative")
            #expect(m["bare_lf"] as? Bool == false)
            let text = m["text"] as? String ?? ""
            #expect(text.contains("Our next session is on hospital discharge. See the notes (https://example.org/notes)."))
            #expect(text.contains("To stop receiving these emails"))
            let html = m["html"] as? String ?? ""
            #expect(html.contains("<strong>hospital discharge</strong>"))
            let number = recipient.split(separator: ".").first.map { String($0.dropFirst("member".count)) } ?? "?"
            #expect(html.contains("Dear Member Number \(number),"), "each message greets its own recipient")
        }
        #expect(seen == Set(people.dropFirst()))
    }

    @Test("a graceful stop puts claimed but unstarted messages back; nothing is left sending")
    func gracefulStop() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        for i in 0..<30 {
            _ = try db.addMember(person("m\(i)@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        let request = try Announcement(audience: Audience(stream: .reports), subject: "Report",
                                         bodyMarkdown: "Text", requestedStart: nil, now: Date(), createdBy: "sam")
        _ = try db.enqueue(request, domain: "example.org", now: Date())
        var config = Self.configuration()
        config.delivery.connections = 1
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        let slow = SlowTransport()
        let engine = DeliveryEngine(database: db, transport: slow, builder: builder, settings: DeliveryEngine.Settings(config.delivery),
                                    logger: Logger(label: "test"))
        try Self.runEngine(engine) { (try db.queueSummary().byState[.sent] ?? 0) >= 3 }
        let s = try db.queueSummary().byState
        #expect(s[.sending] == nil, "nothing may be left claimed after a graceful stop: \(s)")
        #expect((s[.sent] ?? 0) + (s[.queued] ?? 0) == 30)
        #expect((s[.sent] ?? 0) < 30)
    }
}

extension DeliveryEngineTests {
    @Test("a message circulate cannot make (a stored address it will not use) fails alone: no pause, no bounce, the rest go")
    func oneBadMessage() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        for i in 0..<6 {
            _ = try db.addMember(person("m\(i)@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        // A stored address that no longer parses (written straight to the table, as an old release or a hand edit might).
        try db.pool.write { try $0.execute(sql: "UPDATE member SET email = 'm3 at example.org' WHERE email = 'm3@example.org'") }
        _ = try db.enqueue(try Announcement(audience: Audience(stream: .reports), subject: "Report", bodyMarkdown: "Text",
                                            requestedStart: nil, now: Date(), createdBy: "sam"), domain: "example.org", now: Date())
        let config = Self.configuration()
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        let engine = DeliveryEngine(database: db, transport: MaildirTransport(folder: scratch.path("outbox")), builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: Logger(label: "test"))
        try Self.runEngine(engine) { (try db.queueSummary().byState[.sent] ?? 0) == 5 }
        #expect(try db.queueSummary().byState == [.sent: 5, .failed: 1])
        #expect(try db.relayPause() == nil)
        let failed = try #require(try db.deliveries(states: [.failed], mailing: nil, limit: 10).first)
        #expect(failed.failure == .notSent && failed.reply?.contains("cannot be used") == true)
        let bounces = try db.pool.read { try Int.fetchOne($0, sql: "SELECT sum(hard_bounces) FROM member") }
        #expect(bounces == 0)
    }
}

/// A transport that takes 50 ms a message, so a stop happens mid-mailing.
struct SlowTransport: MailTransport {
    var description: String { "slow test transport" }
    func makeSender() throws -> any MailSender { SlowSender() }
}

final class SlowSender: MailSender {
    func send(_ envelope: Envelope, message: [UInt8], lastCheck: () -> LastCheck) -> SendOutcome {
        Thread.sleep(forTimeInterval: 0.05)
        return lastCheck() == .go ? .accepted(reply: "250 ok") : .withdrawn(reason: "stopped", atRelay: true)
    }
    func close() {}
}

extension DeliveryEngineTests {
    @Test("prepared mailings are bounded: at most eight kept, a finished one let go at once")
    func preparedMailingsAreBounded() throws {
        let scratch = try Scratch()
        let db = try scratch.database()
        for i in 0..<2 {
            _ = try db.addMember(person("m\(i)@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        for n in 0..<10 {
            let request = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "News \(n)", bodyMarkdown: "Text \(n)",
                                           requestedStart: nil, now: Date(), createdBy: "sam")
            _ = try db.enqueue(request, domain: "example.org", now: Date())
        }
        let config = Self.configuration()
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config, key: testKey)
        // Ten mailings built at once: never more than eight kept.
        _ = try db.startDueMailings(now: Date(), lateLimit: 86_400)
        let claims = try db.claimDue(limit: 20, now: Date())
        #expect(Set(claims.map(\.mailingID)).count == 10)
        for claim in claims { _ = try builder.build(claim) }
        #expect(builder.preparedCount <= 8)
        try db.giveBack(claims, now: Date())

        // Sent to the end: each mailing is let go as it finishes.
        let engine = DeliveryEngine(database: db, transport: MaildirTransport(folder: scratch.path("outbox")), builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: Logger(label: "test"))
        try Self.runEngine(engine) { (try db.queueSummary().byState[.sent] ?? 0) == 20 }
        #expect(try db.queueSummary().byState == [.sent: 20])
        #expect(builder.preparedCount == 0, "finished mailings keep nothing prepared")
    }
}
