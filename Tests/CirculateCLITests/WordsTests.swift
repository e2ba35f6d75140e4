import Foundation
import Testing

/// What the commands say, in the words a coordinator and a member would use (issue 13), checked on the real binary.
@Suite("Words: what the commands say")
struct WordsTests {
    func instance() throws -> CLI {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        return cli
    }

    @Test("an import that wrote nothing says \"would be added\"; one that wrote says \"added\"")
    func wouldBeAdded() throws {
        let cli = try instance()
        let file = try cli.write("sheet.csv", "Name,Email,Consent\nAlex Morgan,alex@example.org,yes\n")
        let dry = try cli.run("member", "import", file, "--dry-run")
        #expect(dry.status == 0 && dry.stdout.contains("row 2: alex@example.org would be added"), "\(dry.stdout)")
        #expect(dry.stdout.contains("1 would be added") && !dry.stdout.contains(" 1 added"), "\(dry.stdout)")
        let bad = try cli.write("bad.csv", "Name,Email,Consent\nAlex Morgan,alex@example.org,yes\nKim,kim@@example.org,yes\n")
        let stopped = try cli.run("member", "import", bad)
        #expect(stopped.status == 65 && stopped.stdout.contains("alex@example.org would be added"), "\(stopped.stdout)")
        let real = try cli.run("member", "import", file)
        #expect(real.stdout.contains("row 2: alex@example.org added") && real.stdout.contains("1 added"), "\(real.stdout)")
    }

    @Test("circulate --help lists every exit code ExitStatus.swift defines")
    func helpListsExitCodes() throws {
        let cli = try CLI()
        let help = try cli.run("--help").stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let source = try String(contentsOf: CLI.root.appendingPathComponent("Sources/circulate/Support/ExitStatus.swift"), encoding: .utf8)
        let codes = try Regex(#"static let \w+: Int32 = (\d+)"#)
        let defined = source.matches(of: codes).compactMap { $0.output[1].substring.map(String.init) }
        #expect(defined.count >= 10 && defined.contains("76"))
        for code in defined {
            #expect(help.contains(" \(code) "), "exit code \(code) is missing from circulate --help: \(help)")
        }
    }

    @Test("an unknown option is named even when a required argument is missing too")
    func unknownOption() throws {
        let cli = try instance()
        let r = try cli.run("member", "add", "--nmae", "Alex", "alex@example.org")
        #expect(r.status == 64 && r.stderr.contains("--nmae") && r.stderr.contains("circulate member add"), "\(r.stderr)")
        #expect(try cli.run("member", "add", "alex@example.org", "--source", "phone call").status == 0, "a valid command still runs")
        #expect(try cli.run("member", "list", "--json").status == 0)
    }

    @Test("preview --subject with a control character or nothing in it is invalid input (65), not an internal error")
    func previewSubject() throws {
        let cli = try instance()
        let file = try cli.write("news.md", "Hello\n")
        let control = try cli.run("preview", "announcement", "--file", file, "--subject", "News\u{1}")
        #expect(control.status == 65 && control.stderr.contains("subject") && !control.stderr.contains("internal"), "\(control.stderr)")
        let empty = try cli.run("preview", "announcement", "--file", file, "--subject", " ")
        #expect(empty.status == 65 && empty.stderr.contains("subject"), "\(empty.stderr)")
        #expect(try cli.run("preview", "announcement", "--file", file, "--subject", "News").status == 0)
    }

    @Test("preview of a message that cannot be made (a custom subject template with a control character) is invalid input (65), named, not an internal error")
    func previewUncomposable() throws {
        let cli = try instance()
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-12-09 10:00").status == 0)
        #expect(try cli.run("preview", "invitation", "--session", "1").status == 0, "the built-in templates make it")
        let subjects = try String(contentsOf: CLI.root.appendingPathComponent("templates/subjects.txt.mustache"), encoding: .utf8)
        let broken = subjects.replacingOccurrences(of: "{{#invitation}}You are invited", with: "{{#invitation}}You are\u{7} invited")
        try #require(broken != subjects)
        try FileManager.default.createDirectory(atPath: cli.path("templates"), withIntermediateDirectories: true)
        _ = try cli.write("templates/subjects.txt.mustache", broken)
        let r = try cli.run("preview", "invitation", "--session", "1")
        #expect(r.status == 65, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("Subject contains a control character (BEL, U+0007)") && r.stderr.contains("templates")
                && !r.stderr.contains("internal error"), "\(r.stderr)")
    }

    @Test("rsvp maybe records maybe: not coming, not no reply; session show names guests and key influencers invited personally")
    func maybeAndPersonalInvitations() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", "Name,Email,Consent\nAnn,ann@example.org,yes\nSian,sian@example.org,yes\n"),
                            "--role", "member").status == 0)
        #expect(try cli.run("member", "add", "cllr@example.org", "--name", "Cllr Jones", "--role", "key-influencer",
                            "--lawful-basis", "legitimate-interest", "--source", "public register").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-12-09 10:00").status == 0)
        #expect(try cli.run("session", "invite", "1", "--role", "member", "--role", "key-influencer").status == 0)
        #expect(try cli.run("session", "invite", "1", "--to", "priya@example.org", "--name", "Dr Priya Example", "--reason", "presenter").status == 0)
        let maybe = try cli.run("session", "rsvp", "1", "sian@example.org", "maybe")
        #expect(maybe.status == 0 && maybe.stdout.contains("maybe"), "\(maybe.stdout) \(maybe.stderr)")
        #expect(try cli.run("session", "rsvp", "1", "ann@example.org", "yes").stdout.contains("coming"))

        let show = try cli.run("session", "show", "1", "--json").object()
        let counts = show["counts"] as? [String: Int] ?? [:]
        #expect(counts == ["no_reply": 2, "coming": 1, "maybe": 1, "apologies": 0, "attended": 0, "unlisted_attendees": 0,
                           "invited_total": 4], "\(show)")
        let people = show["people"] as? [[String: Any]] ?? []
        func person(_ email: String) -> [String: Any] { people.first { $0["email"] as? String == email } ?? [:] }
        #expect(person("sian@example.org")["status"] as? String == "maybe")
        #expect(person("cllr@example.org")["mailable"] as? Bool == true && person("cllr@example.org")["invited_personally"] as? Bool == true)
        #expect(person("priya@example.org")["mailable"] as? Bool == true && person("priya@example.org")["invited_personally"] as? Bool == true)
        let text = try cli.run("session", "show", "1").stdout
        #expect(text.contains("coming: 1 · maybe: 1 · apologies: 0 · no reply: 2"), "\(text)")
        #expect(!text.contains("left or no consent") && text.components(separatedBy: "yes (invited personally)").count == 3, "\(text)")
    }

    @Test("session show: a key influencer reached in their role and a guest who came are shown as mailed, and the thank-you as sent once it went")
    func showAfterTheThankYou() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", "Name,Email,Consent\nAnn,ann@example.org,yes\n"), "--role", "member").status == 0)
        // Reached in their role, and not invited personally to this session: thanked outside the stream all the same.
        #expect(try cli.run("member", "add", "cllr@example.org", "--name", "Cllr Jones", "--role", "key-influencer",
                            "--lawful-basis", "legitimate-interest", "--source", "public register").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00").status == 0)
        #expect(try cli.run("session", "invite", "1", "--to", "priya@example.org", "--name", "Dr Priya Example", "--reason", "presenter").status == 0)
        cli.at("2026-11-10T13:00:00Z")
        #expect(try cli.run("session", "attendance", "1", try cli.write("sheet.csv", """
            Name,Email,Consent
            Ann,ann@example.org,yes
            Cllr Jones,cllr@example.org,
            Dr Priya Example,priya@example.org,
            """)).status == 0)
        let people = try cli.run("session", "show", "1", "--json").object()["people"] as? [[String: Any]] ?? []
        for email in ["ann@example.org", "cllr@example.org", "priya@example.org"] {
            #expect(people.first { $0["email"] as? String == email }?["mailable"] as? Bool == true, "\(email): \(people)")
        }
        var text = try cli.run("session", "show", "1").stdout
        #expect(!text.contains("left or no consent") && text.contains("yes (in their professional role)")
                && text.contains("yes (invited personally)") && text.contains("Thank-you: goes out"), "\(text)")

        func thanked(_ email: String) throws -> Bool {
            let messages = try cli.run("export", email).object()["messages"] as? [[String: Any]] ?? []
            return messages.contains { $0["kind"] as? String == "thank-you" && $0["state"] as? String == "sent" }
        }
        let run = try cli.runDaemon(from: "2026-11-11T10:00:05Z") {
            try ["ann@example.org", "cllr@example.org", "priya@example.org"].allSatisfy(thanked)
        }
        #expect(run.finished, "all three are thanked: \(run.log)")
        _ = cli.waitFor(10) { (try? cli.run("session", "show", "1").stdout.contains("Thank-you: sent")) == true }
        text = try cli.run("session", "show", "1").stdout
        #expect(text.contains("Thank-you: sent (queued ") && !text.contains("Thank-you: queued"), "\(text)")
    }

    @Test("update queue --no-greeting leaves out \"Dear NAME,\" as send --no-greeting does; queued again an hour later it is already queued")
    func updateWithoutGreeting() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", "Name,Email,Consent\nAnn Example,ann@example.org,yes\n")).status == 0)
        let own = try cli.write("december.md", "Dear friends,\n\nOur next session is on 9 December.\n")
        let queued = try cli.run("update", "queue", own, "--subject", "December news", "--no-greeting")
        #expect(queued.status == 0 && queued.stdout.contains("Queued update 1"), "\(queued.stdout) \(queued.stderr)")
        let plain = try cli.write("january.md", "Our January session is on 13 January.\n")
        #expect(try cli.run("update", "queue", plain, "--subject", "January news").status == 0)

        let withoutGreeting = try cli.run("update", "preview", "1", "--member", "ann@example.org").stdout
        #expect(withoutGreeting.contains("Dear friends,") && !withoutGreeting.contains("Dear Ann")
                && !withoutGreeting.contains("no greeting"), "\(withoutGreeting)")
        let eml = cli.path("december.eml")
        #expect(try cli.run("update", "preview", "1", "--member", "ann@example.org", "--eml", eml).status == 0)
        let bytes = String(decoding: FileManager.default.contents(atPath: eml) ?? Data(), as: UTF8.self)
        #expect(bytes.contains("Dear friends,") && !bytes.contains("Dear Ann") && !bytes.contains("no greeting"), "both parts: \(bytes)")
        #expect(try cli.run("update", "preview", "2", "--member", "ann@example.org").stdout.contains("Dear Ann Example,"),
                "an update without the flag greets as always")

        cli.at("2026-11-01T10:00:00Z")
        let again = try cli.run("update", "queue", own, "--subject", "December news", "--no-greeting")
        #expect(again.status == 0 && again.stdout.contains("Already queued: update 1"), "\(again.stdout)")
    }

    @Test("a session cancelled --quiet, as the README shows, is accepted and tells nobody")
    func cancelQuiet() throws {
        let cli = try instance()
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-12-09 10:00").status == 0)
        let r = try cli.run("session", "cancel", "1", "--quiet")
        #expect(r.status == 0 && r.stdout.contains("Cancelled session 1") && !r.stdout.contains("Queued a cancellation"), "\(r.stdout) \(r.stderr)")
    }

    @Test("attendance says how many were new to the list and how many were on it already")
    func attendanceNewAndKnown() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", """
            Name,Email,Consent
            Ann,ann@example.org,yes
            Sian,sian@example.org,yes
            Dana,dana@example.org,yes
            """)).status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-01 10:00").status == 0)
        cli.at("2026-11-01T14:00:00Z")
        let sheet = try cli.write("sheet.csv", """
            Name,Email,Consent
            Ann,ann@example.org,yes
            Sian,sian@example.org,yes
            Dana,dana@example.org,yes
            Chris,chris@example.org,yes
            """)
        let r = try cli.run("session", "attendance", "1", sheet)
        #expect(r.status == 0 && r.stdout.contains("4 on the list recorded as attended (1 new to the list, 3 already on it)"), "\(r.stdout)")
        let json = try cli.run("session", "attendance", "1", sheet, "--json").object()
        #expect(json["new_to_list"] as? Int == 0 && json["already_on_list"] as? Int == 4 && json["newly_recorded"] as? Int == 0, "\(json)")
    }

    @Test("a key influencer who ticks yes on a sheet gets every stream the consent event names")
    func consentGrantsWhatItSays() throws {
        let cli = try instance()
        #expect(try cli.run("member", "add", "cllr@example.org", "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                            "--source", "public register").status == 0)
        var shown = try cli.run("member", "show", "cllr@example.org", "--json").object()
        var history = shown["consent_history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["stream"] as? String } == ["reports"], "a reports-only grant says so: \(history)")
        #expect(try cli.run("member", "import", try cli.write("s.csv", "Name,Email,Consent\nCllr Jones,cllr@example.org,yes\n")).status == 0)
        shown = try cli.run("member", "show", "cllr@example.org", "--json").object()
        history = shown["consent_history"] as? [[String: Any]] ?? []
        #expect(shown["lawful_basis"] as? String == "consent")
        #expect(shown["streams"] as? [String] == ["monthly-update", "session-invitations", "reports"], "\(shown)")
        #expect(history.last?["stream"] as? String == "all" && history.last?["action"] as? String == "given", "\(history)")
        #expect(try cli.run("member", "show", "cllr@example.org").stdout.contains("given (all streams), consent"))
    }

    @Test("an explicit no on a later sheet unsubscribes (a blank cell does not); --streams limits it to those streams")
    func laterNoWithdraws() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("a.csv", """
            Name,Email,Consent
            Ann,ann@example.org,yes
            Sian,sian@example.org,yes
            Dana,dana@example.org,yes
            """)).status == 0)
        let later = try cli.write("b.csv", """
            Name,Email,Consent
            Ann,ann@example.org,no
            Sian,sian@example.org,
            """)
        let dry = try cli.run("member", "import", later, "--dry-run")
        #expect(dry.stdout.contains("ann@example.org would be updated — said no to emails on this sheet"), "\(dry.stdout)")
        #expect(try cli.run("member", "show", "ann@example.org", "--json").object()["status"] as? String == "active", "a dry run changes nothing")
        let r = try cli.run("member", "import", later, "--source", "sign-in sheet, 9 Dec 2026", "--json")
        let rows = try r.object()["rows"] as? [[String: Any]] ?? []
        #expect(rows.first?["outcome"] as? String == "updated" && (rows.first?["note"] as? String)?.contains("unsubscribed") == true, "\(rows)")
        let ann = try cli.run("member", "show", "ann@example.org", "--json").object()
        #expect(ann["status"] as? String == "unsubscribed")
        let last = (ann["consent_history"] as? [[String: Any]])?.last ?? [:]
        #expect(last["action"] as? String == "withdrawn" && last["source"] as? String == "sign-in sheet, 9 Dec 2026", "\(last)")
        #expect(try cli.run("member", "show", "sian@example.org", "--json").object()["status"] as? String == "active", "blank is not a withdrawal")

        let streams = try cli.run("member", "import", try cli.write("c.csv", "Name,Email,Consent\nDana,dana@example.org,no\n"),
                                  "--streams", "monthly-update")
        #expect(streams.status == 0 && streams.stdout.contains("stopped monthly-update"), "\(streams.stdout)")
        let dana = try cli.run("member", "show", "dana@example.org", "--json").object()
        #expect(dana["status"] as? String == "active" && dana["streams"] as? [String] == ["session-invitations", "reports"], "\(dana)")
    }

    @Test("attendance --apologies takes Email (and Name) without Consent; unknown addresses are counted, not stored")
    func apologiesSheet() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", "Name,Email,Consent\nAnn,ann@example.org,yes\n")).status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-12-09 10:00").status == 0)
        let sheet = try cli.write("apologies.csv", "Email,Name\nann@example.org,Ann\nnew.person@example.org,New Person\n")
        let r = try cli.run("session", "attendance", "1", sheet, "--apologies", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let json = try r.object()
        #expect(json["recorded"] as? Int == 1 && json["unlisted"] as? Int == 1, "\(json)")
        #expect(try cli.listed().count == 1, "apologies add nobody to the list")
        #expect(try cli.run("member", "show", "new.person@example.org").status == 67)
        let show = try cli.run("session", "show", "1", "--json").object()
        #expect((show["counts"] as? [String: Int])?["apologies"] == 1, "\(show)")
    }

    @Test("report list and status say sent once the follow-up went; the daemon's log times follow CIRCULATE_NOW")
    func followUpSentAndLogTimes() throws {
        let cli = try instance()
        #expect(try cli.run("member", "add", "cllr@example.org", "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                            "--source", "public register").status == 0)
        cli.at("2026-11-02T09:00:00Z")
        #expect(try cli.run("report", "distribute", "--link", "https://example.org/discharge.pdf", "--title", "Hospital discharge",
                            "--audience", "key-influencer").status == 0)
        func state(_ kind: String) throws -> Bool {
            let messages = try cli.run("export", "cllr@example.org").object()["messages"] as? [[String: Any]] ?? []
            return messages.contains { $0["kind"] as? String == kind && $0["state"] as? String == "sent" }
        }
        let first = try cli.runDaemon(from: "2026-11-02T09:01:00Z") { try state("report") }
        #expect(first.finished, "\(first.log)")
        let logLines = first.log.split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect(!logLines.isEmpty && logLines.allSatisfy { $0.hasPrefix("2026-11-02T09:0") }, "\(first.log)")
        #expect(try cli.run("report", "list").stdout.contains("due "), "before the follow-up")

        let second = try cli.runDaemon(from: "2026-11-16T09:05:00Z") { try state("report-follow-up") }
        #expect(second.finished, "\(second.log)")
        #expect(try cli.waitFor(10) { try cli.run("report", "list").stdout.contains("sent ") })
        let list = try cli.run("report", "list").stdout
        #expect(list.contains("sent ") && !list.contains("queued"), "\(list)")
        let status = try cli.run("report", "status", "1").stdout
        #expect(status.contains("Follow-up sent") && !status.contains("Follow-up queued"), "\(status)")
        let json = try cli.run("report", "list", "--json").json() as? [[String: Any]] ?? []
        #expect(json.first?["follow_up_sent_at"] is String, "\(json)")
    }
}
