import CirculateTestSupport
import Foundation
import Testing

@Suite("Crash recovery: kill -9 at several moments of a send, with relay faults")
struct CrashRecoveryTests {
    /// Members who get a "451 4.3.0" at RCPT for their first try or two: deferred, then sent on the retry schedule.
    static let flaky = ["flaky1@example.org": 1, "flaky2@example.org": 2, "flaky3@example.org": 2]
    /// Refused for good at RCPT: a bounce, never captured.
    static let gone = "gone@example.org"
    /// The relay drops the connection after this one's final dot (once): in doubt, sent again with the same Message-ID.
    static let dropped = "drop@example.org"

    @Test("a crash at several moments of a send with faults mixed in loses nothing and bounds duplicates")
    func crashesWithFaults() throws {
        let faults = Self.flaky.map { address, times in
            #"{"when": "rcpt", "match": "\#(address)", "reply": "451 4.3.0 Try again later", "times": \#(times)}"#
        } + [#"{"when": "rcpt", "match": "\#(Self.gone)", "reply": "550 5.1.1 No such user"}"#,
             #"{"when": "data", "match": "\#(Self.dropped)", "action": "disconnect", "times": 1}"#]
        let server = try SMTPServer(starttls: "off", auth: nil, faults: "[" + faults.joined(separator: ",") + "]")
        let cli = try CLI()
        _ = try cli.write("circulate.toml", """
            [list]
            address = "cop@example.org"
            [smtp]
            url = "smtp://127.0.0.1:\(server.port)"
            allow_plaintext = true
            [delivery]
            connections = 2
            retry_initial = "1s"
            retry_maximum = "2s"
            relay_pause = "1s"
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        #expect(try cli.run("init").status == 0)

        // The faulty addresses are spread through the list, so their faults fall between the crashes.
        var people = (0..<2000).map { "person\($0)@example.org" }
        let special = Array(Self.flaky.keys).sorted() + [Self.gone, Self.dropped]
        for (index, address) in special.enumerated() { people.insert(address, at: 100 + index * 350) }
        var sheet = "Email,Consent\n"
        for email in people { sheet += "\(email),yes\n" }
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "Hello.\n")
        let r = try cli.run("send", "--subject", "December update", "--body", cli.path("body.md"), "--stream", "monthly-update")
        try #require(r.status == 0, "\(r.stderr)")

        // Every daemon this test starts is stopped at the end, whatever happens in between.
        var daemons: [Process] = []
        defer {
            for daemon in daemons where daemon.isRunning {
                daemon.terminate()
                daemon.waitUntilExit()
            }
        }
        // kill -9 once the server has captured 10 %, 40 % and 70 % of the list (counting its own spool), so that the
        // crashes fall early, in the middle and late, each with messages claimed and unrecorded.
        // Messages recovered after a crash, and retries, are due at or after the restart, later than everything still
        // queued, so they go out after the rest of the list: no message is in flight at two of these crashes, and each
        // is sent again once. (One caught in flight at two crashes is sent again each time, since a crash alone never
        // counts a message as delivered; QueueTests "after a crash, messages left sending are sent again..." covers it.)
        var inFlightAtCrashes: [Int] = []
        for (crash, share) in [0.1, 0.4, 0.7].enumerated() {
            let daemon = try cli.start("serve", log: "serve\(crash + 1).log")
            daemons.append(daemon)
            let target = Int(Double(people.count) * share)
            let reached = cli.waitFor(30) { Self.capturedCount(server.spool) >= target }
            try #require(reached, "crash \(crash + 1): only \(Self.capturedCount(server.spool)) of \(target) captured; log: \(Self.log(cli, crash + 1))")
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
            let inFlight = try cli.queueCounts()["sending"] ?? -1
            #expect((0...(2 * 64)).contains(inFlight), "crash \(crash + 1): claimed-but-unrecorded messages are bounded by the window (2 × 64): \(inFlight)")
            inFlightAtCrashes.append(inFlight)
        }

        // The last start finds what the third crash left in flight and finishes the send, retries included.
        let last = try cli.start("serve", log: "serve4.log")
        daemons.append(last)
        let total = people.count
        let finished = try cli.waitFor(60) {
            let c = try cli.queueCounts()
            return (c["sent"] ?? 0) + (c["failed"] ?? 0) == total
        }
        let counts = try cli.queueCounts()
        #expect(finished, "queue: \(counts)")
        #expect(last.isRunning, "the daemon keeps running after the send")

        // The queue ends settled: nothing in flight, nothing waiting, only the bounce failed.
        #expect(counts["sending"] == 0 && counts["queued"] == 0 && counts["deferred"] == 0 && counts["held"] == 0, "\(counts)")
        #expect(counts["sent"] == total - 1 && counts["failed"] == 1, "\(counts)")

        // What the relay received (its spool, not the queue's word): every consenting member except the bounce.
        let captured = server.captured()
        var copies: [String: [String]] = [:]  // recipient -> the Message-ID of each copy, in arrival order
        for message in captured {
            let recipients = message.meta["rcpt_tos"] as? [String] ?? []
            #expect(recipients.count == 1, "one recipient per message")
            let id = Self.messageID(message.path)
            for recipient in recipients { copies[recipient, default: []].append(id ?? "(none)") }
        }
        let expected = Set(people).subtracting([Self.gone])
        let missing = expected.subtracting(copies.keys)
        #expect(missing.isEmpty, "\(missing.count) member(s) never received the message: \(missing.sorted().prefix(10))")
        #expect(copies[Self.gone] == nil, "the 550 address must receive nothing")

        // Duplicates: bounded by what was in flight at the crashes (at most 3 × 2 × 64), plus the injected disconnect.
        let duplicates = copies.values.reduce(0) { $0 + $1.count - 1 }
        #expect(duplicates <= 3 * 2 * 64 + 1, "duplicates: \(duplicates)")
        #expect(duplicates <= inFlightAtCrashes.reduce(0, +) + 1,
                "duplicates (\(duplicates)) within the messages in flight at the crashes (\(inFlightAtCrashes)) plus the disconnect")
        // A copy sent again is recognisably the same message: the same Message-ID as the first.
        let changed = copies.filter { Set($0.value).count != 1 }
        #expect(changed.isEmpty, "copies with another Message-ID than the first: \(changed.prefix(5))")

        // The queue's record agrees: the bounce is failed, and whatever arrived twice is marked in doubt.
        let failed = try #require(try cli.run("queue", "list", "--state", "failed", "--json").json() as? [[String: Any]])
        #expect(failed.count == 1)
        #expect(failed.first?["recipient"] as? String == Self.gone)
        #expect(failed.first?["failure"] as? String == "bounce")
        #expect((failed.first?["reply"] as? String)?.hasPrefix("550") == true)
        let sent = try #require(try cli.run("queue", "list", "--state", "sent", "--limit", "100000", "--json").json() as? [[String: Any]])
        #expect(sent.count == total - 1)
        let byRecipient = Dictionary(sent.map { ($0["recipient"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let unmarked = copies.filter { $0.value.count > 1 && byRecipient[$0.key]?["in_doubt"] as? Bool != true }.keys
        #expect(unmarked.isEmpty, "delivered more than once but not marked in doubt: \(unmarked.sorted().prefix(10))")
        let wrongID = copies.filter { recipient, ids in
            byRecipient[recipient].map { "<\($0["message_id"] as? String ?? "?")>" != ids.first } ?? false
        }
        #expect(wrongID.isEmpty, "the relay's Message-ID differs from the queue's: \(wrongID.prefix(5))")

        // The faults really happened, by the relay's own transcript, and each ended as it should.
        let faultEvents = server.events("fault")
        for (address, times) in Self.flaky {
            #expect(faultEvents.filter { $0["address"] as? String == address }.count == times, "\(address) refused \(times) time(s)")
            #expect(copies[address]?.isEmpty == false)
        }
        #expect(faultEvents.contains { $0["address"] as? String == Self.gone })
        #expect(faultEvents.filter { $0["address"] as? String == Self.dropped && $0["action"] as? String == "disconnect" }.count == 1)
        #expect(byRecipient[Self.dropped]?["in_doubt"] as? Bool == true, "the disconnect after the final dot left it in doubt")
        #expect(copies[Self.dropped]?.isEmpty == false, "the message in doubt was sent again")

        // Each restart said what it found in flight.
        for restart in 2...4 where inFlightAtCrashes[restart - 2] > 0 {
            #expect(Self.log(cli, restart).contains("in flight when circulate last stopped"), "serve\(restart).log")
        }
    }

    /// How many messages the server has captured: its NNN.json files (cheaper than parsing them, for polling).
    static func capturedCount(_ spool: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).count { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    /// The Message-ID header's value (with its angle brackets) of a captured message.
    static func messageID(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }  // the end of the header
            if line.lowercased().hasPrefix("message-id:") {
                return line.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func log(_ cli: CLI, _ number: Int) -> String {
        (try? String(contentsOfFile: cli.path("serve\(number).log"), encoding: .utf8)) ?? ""
    }
}
