import Foundation
import Testing

/// Issue 13's behaviours on the time axis: the same command again an hour later, and a daemon started again, do
/// what they did once and no more.
@Suite("Time axis: the same again later changes nothing more")
struct TimeAxisTests {
    func instance() throws -> CLI {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        return cli
    }

    @Test("the same sheet with an explicit no, imported again an hour later, withdraws once")
    func laterNoTwice() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("a.csv", "Name,Email,Consent\nAnn,ann@example.org,yes\n")).status == 0)
        let later = try cli.write("b.csv", "Name,Email,Consent\nAnn,ann@example.org,no\n")
        cli.at("2026-12-09T14:00:00Z")
        let first = try cli.run("member", "import", later, "--source", "sign-in sheet, 9 Dec 2026", "--json")
        #expect((try first.object()["rows"] as? [[String: Any]])?.first?["outcome"] as? String == "updated", "\(first.stdout)")
        cli.at("2026-12-09T15:00:00Z")
        let second = try cli.run("member", "import", later, "--source", "sign-in sheet, 9 Dec 2026", "--json")
        #expect(second.status == 0)
        #expect((try second.object()["rows"] as? [[String: Any]])?.first?["outcome"] as? String == "unchanged", "\(second.stdout)")
        let history = try cli.run("member", "show", "ann@example.org", "--json").object()["consent_history"] as? [[String: Any]] ?? []
        #expect(history.filter { $0["action"] as? String == "withdrawn" }.count == 1, "one withdrawal, not two: \(history)")
    }

    @Test("rsvp maybe repeated an hour later stays one maybe")
    func maybeTwice() throws {
        let cli = try instance()
        #expect(try cli.run("member", "import", try cli.write("m.csv", "Name,Email,Consent\nSian,sian@example.org,yes\n"),
                            "--role", "member").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-12-09 10:00").status == 0)
        #expect(try cli.run("session", "invite", "1", "--role", "member").status == 0)
        for instant in ["2026-11-02T09:00:00Z", "2026-11-02T10:00:00Z"] {
            cli.at(instant)
            let r = try cli.run("session", "rsvp", "1", "sian@example.org", "maybe")
            #expect(r.status == 0 && r.stdout.contains("sian@example.org is now recorded as maybe."), "\(r.stdout) \(r.stderr)")
        }
        let counts = try cli.run("session", "show", "1", "--json").object()["counts"] as? [String: Int] ?? [:]
        #expect(counts["maybe"] == 1 && counts["no_reply"] == 0 && counts["coming"] == 0 && counts["invited_total"] == 1, "\(counts)")
    }

    @Test("a daemon off for months, started twice, sends one slots-missed note listing the slots, not two")
    func missedSlotsOnce() throws {
        let cli = try instance()
        _ = try cli.write("circulate.toml", """
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [coordinator]
            email = "morgan@example.org"
            [updates]
            remind_days_before = 0
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        func notes() -> [String] {
            let folder = cli.path("var/outbox/new")
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return files.map { String(decoding: FileManager.default.contents(atPath: "\(folder)/\($0)") ?? Data(), as: UTF8.self) }
                .filter { $0.contains("Subject: No monthly update went out") }
        }
        // The daemon runs once in May, so that it knows where it stopped looking, then not until September.
        let may = try cli.runDaemon(from: "2026-05-10T12:00:00Z") { Thread.sleep(forTimeInterval: 2); return true }
        #expect(notes().isEmpty, "\(may.log)")
        let september = try cli.runDaemon(from: "2026-09-10T12:00:00Z") { !notes().isEmpty }
        #expect(september.finished, "\(september.log)")
        let again = try cli.runDaemon(from: "2026-09-10T13:00:00Z") { Thread.sleep(forTimeInterval: 3); return true }
        let sent = notes()
        #expect(sent.count == 1, "one note, however often the daemon starts: \(again.log)")
        for day in ["2 June", "7 July", "4 August", "1 September"] {
            #expect(sent.first?.contains(day) == true, "\(day) is listed: \(sent)")
        }
    }
}
