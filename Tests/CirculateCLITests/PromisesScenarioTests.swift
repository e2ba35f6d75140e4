import CirculateTestSupport
import Foundation
import Testing

/// What the messages promise is kept, through the real daemon and a real SMTP server on a shifted clock: a guest
/// presenter who came is thanked (without the stream's mail), notes that come after the thank-you go once to everyone
/// it reached and never again, a member's "known as" name greets them, and a body with its own salutation gets no
/// second one.
@Suite("Promises scenario: guests thanked, late notes once, known-as greetings")
struct PromisesScenarioTests {
    @Test("a guest is thanked but gets no stream mail; late notes go once, not after an edit or a restart; Dear Sam, not twice")
    func promisesKept() throws {
        let server = try SMTPServer()
        let cli = try CLI()
        _ = try cli.write("smtp-password", "s3cret\n")
        _ = try cli.write("circulate.toml", """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [updates]
            schedule = "off"
            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        func ok(_ arguments: String...) throws -> CLI.Result {
            let r = try cli.run(arguments)
            #expect(r.status == 0, "circulate \(arguments.joined(separator: " ")): \(r.stderr)")
            return r
        }
        func daemon(from instant: String, until done: () throws -> Bool) throws {
            let run = try cli.runDaemon(from: instant, until: done)
            #expect(run.finished, "daemon from \(instant): \(run.log)")
        }
        /// (subject, recipient, whole message) of everything the relay took, in order.
        func messages() -> [(subject: String, to: String, text: String)] {
            server.captured().map { message in
                let text = String(decoding: FileManager.default.contents(atPath: message.path) ?? Data(), as: UTF8.self)
                let subject = text.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") }.map { String($0.dropFirst(9)) } ?? "?"
                return (subject, (message.meta["rcpt_tos"] as? [String])?.first ?? "?", text)
            }
        }
        func recipients(_ subject: String) -> [String] { messages().filter { $0.subject == subject }.map(\.to).sorted() }

        cli.at("2026-11-01T09:00:00Z")
        _ = try ok("init")
        // The sign-up sheet's "Known as" column gives the name Samantha goes by.
        _ = try ok("member", "import", try cli.write("members.csv", """
            Name,Known as,Email,Consent
            Samantha Example,Sammie-Jo,sam@example.org,yes
            Ann Example,,ann.example@example.org,yes
            """), "--role", "member")
        _ = try ok("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00", "--venue", "Riverside Centre")
        _ = try ok("session", "add", "--title", "After the first night", "--start", "2026-12-09 10:00", "--venue", "Riverside Centre")
        _ = try ok("session", "invite", "1", "--to", "priya@example.org", "--name", "Dr Priya Example")
        try daemon(from: "2026-11-01T09:00:05Z") { server.capturedCount >= 1 }

        // Samantha and the guest came (the guest left the consent cell blank: she stays a guest, since ticking yes would
        // put her on the list); Ann sent apologies. No notes yet, and the session is not held for them.
        cli.at("2026-11-10T13:00:00Z")
        _ = try ok("session", "attendance", "1", try cli.write("sheet.csv", """
            Name,Email,Consent
            Samantha Example,sam@example.org,yes
            Dr Priya Example,priya@example.org,
            """))
        _ = try ok("session", "attendance", "1", try cli.write("apologies.csv", "Name,Email,Consent\nAnn Example,ann.example@example.org,yes\n"),
                   "--apologies")
        try daemon(from: "2026-11-11T09:59:55Z") { server.capturedCount >= 1 + 3 }
        #expect(recipients("Thank you for coming: Hospital discharge") == ["priya@example.org", "sam@example.org"])
        #expect(recipients("Sorry we missed you: Hospital discharge") == ["ann.example@example.org"])

        // The notes come at noon: one "notes from the session" to each of the three, once.
        cli.at("2026-11-11T12:00:00Z")
        _ = try ok("session", "notes", "1", try cli.write("notes.md", "We agreed to ask for **a named link worker** on each ward.\n"))
        try daemon(from: "2026-11-11T12:00:05Z") { server.capturedCount >= 4 + 3 }
        // Edited an hour later, with the daemon running and after a restart: nothing more.
        cli.at("2026-11-11T13:00:00Z")
        _ = try ok("session", "notes", "1", try cli.write("notes.md", "We agreed to ask for **a named link worker** on each ward, and a call the day after.\n"))
        try daemon(from: "2026-11-11T13:00:05Z") { Thread.sleep(forTimeInterval: 3); return true }
        try daemon(from: "2026-11-11T14:00:00Z") { Thread.sleep(forTimeInterval: 3); return true }
        #expect(recipients("Notes from the session: Hospital discharge") == ["ann.example@example.org", "priya@example.org", "sam@example.org"])
        #expect(server.capturedCount == 7, "\(messages().map { "\($0.subject) -> \($0.to)" })")

        // An announcement whose body has its own salutation: no automatic greeting on top; the guest is not on the stream.
        cli.at("2026-11-12T09:00:00Z")
        _ = try ok("send", "--subject", "December session: after the first night", "--body",
                   try cli.write("news.md", "Dear friends,\n\nOur next session is on 9 December.\n"),
                   "--stream", "session-invitations", "--no-greeting")
        try daemon(from: "2026-11-12T09:00:05Z") { server.capturedCount >= 7 + 2 }
        #expect(recipients("December session: after the first night") == ["ann.example@example.org", "sam@example.org"],
                "the guest gets no stream mail")
        #expect(!messages().contains { $0.to == "priya@example.org" && ![
            "You are invited: Hospital discharge, Tuesday 10 November", "Thank you for coming: Hospital discharge",
            "Notes from the session: Hospital discharge"].contains($0.subject) }, "the guest got something besides her own session's mail")

        let all = messages()
        for message in all where message.subject == "December session: after the first night" {
            #expect(message.text.contains("Dear friends,") && message.text.components(separatedBy: "Dear ").count == 3,
                    "one salutation, the body's own (once in text, once in HTML): \(message.text)")
        }
        let samThanks = try #require(all.first { $0.to == "sam@example.org" && $0.subject.hasPrefix("Thank you") }).text
        #expect(samThanks.contains("Dear Sammie-Jo,"), "greeted by the name she goes by: \(samThanks)")
        #expect(samThanks.contains("To: Samantha Example <sam@example.org>"), "addressed by her full name: \(samThanks)")
        let guestThanks = try #require(all.first { $0.to == "priya@example.org" && $0.subject.hasPrefix("Thank you") }).text
        #expect(!guestThanks.contains("After the first night") && !guestThanks.contains("text/calendar"),
                "the guest is not invited to the next session, so her thank-you does not carry it")
        let notes = try #require(all.first { $0.to == "ann.example@example.org" && $0.subject.hasPrefix("Notes from") }).text
        #expect(notes.contains("named link worker") && !notes.contains("a call the day after"), "\(notes)")

        // Every message parses and keeps the byte rules.
        let checked = try CLI.python("""
            import json, subprocess, sys
            out = subprocess.run([sys.executable, sys.argv[1]] + sys.argv[2:], capture_output=True, text=True).stdout
            print(all(json.loads(line)['ok'] for line in out.splitlines()) and len(out.splitlines()) == len(sys.argv) - 2)
            """, [CLI.fixture("check_message.py")] + server.captured().map(\.path))
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "True", "\(checked)")

        // The known-as name is in the subject access export, and erasure leaves it nowhere.
        let person = try ok("export", "sam@example.org").object()["person"] as? [String: Any]
        #expect(person?["known_as"] as? String == "Sammie-Jo", "\(person ?? [:])")
        _ = try ok("member", "edit", "ann.example@example.org", "--known-as", "Annie-Lou")
        #expect(try ok("member", "show", "ann.example@example.org").stdout.contains("known as:      Annie-Lou"))
        _ = try ok("erase", "sam@example.org")
        #expect(!contains(cli.databaseBytes(), "Sammie-Jo"), "the known-as name survived erasure")
    }
}
