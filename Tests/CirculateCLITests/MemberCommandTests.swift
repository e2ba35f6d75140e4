import Foundation
import Testing

@Suite("circulate member add / list / show / edit")
struct MemberCommandTests {
    func ready() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        return cli
    }

    @Test("add records the lawful basis, source, wording and recorder; show --json returns it")
    func addAndShow() throws {
        let cli = try ready()
        let add = try cli.run("member", "add", "Alex.Morgan@Example.org", "--name", "Alex Morgan", "--organisation", "Riverside Housing",
                              "--role", "member", "--role", "Core group", "--tag", "north-staffs",
                              "--source", "sign-up form, 5 Nov 2026 session", "--wording-version", "2026-01")
        #expect(add.status == 0, "\(add.stderr)")
        let shown = try cli.run("member", "show", "alex.morgan@example.org", "--json").object()
        #expect(shown["email"] as? String == "Alex.Morgan@example.org")
        #expect(shown["name"] as? String == "Alex Morgan")
        #expect(shown["status"] as? String == "active")
        #expect(shown["lawful_basis"] as? String == "consent")
        #expect(shown["roles"] as? [String] == ["member", "core-group"])
        #expect(shown["tags"] as? [String] == ["north-staffs"])
        #expect(shown["streams"] as? [String] == ["monthly-update", "session-invitations", "reports"])
        let history = shown["consent_history"] as? [[String: Any]] ?? []
        #expect(history.count == 1)
        #expect(history.first?["source"] as? String == "sign-up form, 5 Nov 2026 session")
        #expect(history.first?["wording_version"] as? String == "2026-01")
        #expect(history.first?["recorded_by"] as? String == "sam.coordinator")

        let text = try cli.run("member", "show", "alex.morgan@example.org")
        #expect(text.stdout.contains("Alex Morgan <Alex.Morgan@example.org>"))
        #expect(text.stdout.contains("sign-up form, 5 Nov 2026 session"))
    }

    @Test("a key influencer under legitimate interest gets reports only by default")
    func legitimateInterest() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "cllr.jones@example.org", "--name", "Cllr Dana Jones", "--role", "key-influencer",
                            "--lawful-basis", "legitimate-interest", "--source", "council website, cabinet member for housing").status == 0)
        let shown = try cli.run("member", "show", "cllr.jones@example.org", "--json").object()
        #expect(shown["lawful_basis"] as? String == "legitimate-interest")
        #expect(shown["streams"] as? [String] == ["reports"])
    }

    @Test("bad input is refused with a clear message, exit 65, and nothing stored", arguments: [
        (["member", "add", "alex.example.org", "--source", "form"], "has no @"),
        (["member", "add", "alex@example.org", "--name", "Alex\r\nBcc: all@example.org", "--source", "form"], "a line break (CR, U+000D)"),
        (["member", "add", "alex@example.org", "--organisation", "Riverside\u{1B}[2J", "--source", "form"], "U+001B"),
        (["member", "add", "alex@example.org", "--role", "chair", "--source", "form"], "is not a role"),
        (["member", "add", "alex@example.org", "--streams", "newsletters", "--source", "form"], "is not a stream"),
        (["member", "add", "alex@example.org", "--lawful-basis", "vibes", "--source", "form"], "is not a lawful basis"),
        (["member", "add", "alex@example.org", "--source", "  "], "source"),
    ])
    func badInput(arguments: [String], message: String) throws {
        let cli = try ready()
        let r = try cli.run(arguments)
        #expect(r.status == 65, "\(arguments) → \(r.status) \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!r.stderr.contains("\r"))
        #expect(try cli.listed().isEmpty)
    }

    @Test("the same person in another case is refused as a duplicate")
    func duplicate() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "alex@example.org", "--source", "form").status == 0)
        let again = try cli.run("member", "add", "ALEX@EXAMPLE.ORG", "--source", "form")
        #expect(again.status == 65)
        #expect(again.stderr.contains("already on the list"))
    }

    @Test("list filters and prints JSON an independent parser reads")
    func list() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "alex@example.org", "--name", "Alex", "--role", "member", "--source", "form").status == 0)
        #expect(try cli.run("member", "add", "cllr@example.org", "--name", "Cllr Jones", "--organisation", "Borough Council",
                            "--role", "key-influencer", "--lawful-basis", "legitimate-interest", "--source", "council site").status == 0)
        let all = try cli.run("member", "list", "--json").json() as? [[String: Any]] ?? []
        #expect(all.map { $0["email"] as? String } == ["alex@example.org", "cllr@example.org"])
        let influencers = try cli.run("member", "list", "--role", "key influencers", "--json").json() as? [[String: Any]] ?? []
        #expect(influencers.map { $0["email"] as? String } == ["cllr@example.org"])
        let updates = try cli.run("member", "list", "--stream", "monthly-update", "--json").json() as? [[String: Any]] ?? []
        #expect(updates.map { $0["email"] as? String } == ["alex@example.org"])
        let search = try cli.run("member", "list", "--search", "borough")
        #expect(search.stdout.contains("cllr@example.org") && !search.stdout.contains("alex@example.org"))
        #expect(try cli.run("member", "list", "--status", "gone").status == 65)
    }

    @Test("edit changes details, roles and streams, recording stream changes as consent events")
    func edit() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "alex@example.org", "--role", "member", "--source", "form").status == 0)
        let r = try cli.run("member", "edit", "alex@example.org", "--name", "Alex Morgan", "--email", "alex.morgan@example.org",
                            "--add-role", "board", "--remove-role", "member", "--disable", "reports", "--source", "asked by phone", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let shown = try r.object()
        #expect(shown["email"] as? String == "alex.morgan@example.org")
        #expect(shown["roles"] as? [String] == ["board"])
        #expect(shown["streams"] as? [String] == ["monthly-update", "session-invitations"])
        let last = (shown["consent_history"] as? [[String: Any]])?.last
        #expect(last?["action"] as? String == "withdrawn")
        #expect(last?["stream"] as? String == "reports")
        #expect(last?["source"] as? String == "asked by phone")
        #expect(try cli.run("member", "show", "alex@example.org").status == 67)
        #expect(try cli.run("member", "edit", "nobody@example.org", "--name", "X").status == 67)
        #expect(try cli.run("member", "edit", "alex.morgan@example.org").status == 64)
    }
}
