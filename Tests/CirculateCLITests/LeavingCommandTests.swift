import CirculateTestSupport
import Foundation
import Testing

@Suite("circulate unsubscribe / erase / export")
struct LeavingCommandTests {
    func ready() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        return cli
    }

    @Test("unsubscribe from one stream, then everything; repeating changes nothing")
    func unsubscribe() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "alex@example.org", "--source", "form").status == 0)
        let one = try cli.run("unsubscribe", "alex@example.org", "--stream", "monthly-update", "--json").object()
        #expect(one["outcome"] as? String == "stream-stopped")
        #expect(one["remaining_streams"] as? [String] == ["session-invitations", "reports"])
        let all = try cli.run("unsubscribe", "alex@example.org", "--source", "replied 'please remove me'", "--json").object()
        #expect(all["outcome"] as? String == "unsubscribed")
        let again = try cli.run("unsubscribe", "alex@example.org", "--json").object()
        #expect(again["outcome"] as? String == "already-unsubscribed")
        let shown = try cli.run("member", "show", "alex@example.org", "--json").object()
        #expect(shown["status"] as? String == "unsubscribed")
        #expect(shown["streams"] as? [String] == [])
        #expect((shown["consent_history"] as? [[String: Any]])?.count == 3)
        #expect(try cli.listed("--stream", "reports").isEmpty)
    }

    @Test("unknown addresses: a clear message, exit 67, nothing changed", arguments: [["unsubscribe"], ["erase"], ["export"], ["member", "show"]])
    func unknown(command: [String]) throws {
        let cli = try ready()
        let r = try cli.run(command + ["nobody@example.org"])
        #expect(r.status == 67)
        #expect(r.stderr.contains("nobody with the address nobody@example.org"))
    }

    @Test("erase leaves no trace of the address or name in the database files, and re-adding is refused unless --rejoin")
    func erase() throws {
        let cli = try ready()
        let email = "ottoline.featherstonehaugh@example.org"
        let name = "Ottoline Featherstonehaugh"
        #expect(try cli.run("member", "add", email, "--name", name, "--organisation", "Featherstonehaugh Foundation",
                            "--role", "member", "--source", "sign-in sheet, Ottoline signed on 5 Nov").status == 0)
        #expect(try cli.run("member", "edit", email, "--name", name + " (Otty)").status == 0)
        #expect(try cli.run("unsubscribe", email, "--stream", "reports").status == 0)
        for i in 0..<20 { #expect(try cli.run("member", "add", "other\(i)@example.org", "--name", "Other \(i)", "--source", "form").status == 0) }
        // A queued message holds the address too (the daemon is not running, so it stays queued).
        let queued = try cli.run("send", "--subject", "December update", "--body", try cli.write("body.md", "Hello"), "--stream", "monthly-update")
        #expect(queued.status == 0, "\(queued.stderr)")
        let foundBefore = contains(cli.databaseBytes(), email) && contains(cli.databaseBytes(), "Featherstonehaugh")
        #expect(foundBefore, "the byte search must see the data before erasure")

        let r = try cli.run("erase", email, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "no warning expected: \(r.stderr)")
        let receipt = try r.object()
        #expect((receipt["reference"] as? String)?.hasPrefix("ER-") == true)
        #expect(receipt["log_cleared"] as? Bool == true)
        #expect(!r.stdout.contains(email) && !r.stdout.contains("Featherstonehaugh"))

        let bytes = cli.databaseBytes()
        let left = [email, "ottoline", "Ottoline", "Featherstonehaugh", "Otty"].filter { contains(bytes, $0) }
        #expect(left.isEmpty, "still on disk: \(left)")

        let shown = try cli.run("member", "show", email, "--json")
        #expect(shown.status == 0)
        #expect(try shown.object()["status"] as? String == "erased-suppressed")
        let export = try cli.run("export", email).object()
        #expect(export["status"] as? String == "erased-suppressed")
        #expect(export["person"] == nil)

        let readd = try cli.run("member", "add", email.uppercased(), "--source", "form")
        #expect(readd.status == 65)
        #expect(readd.stderr.contains("was erased at the person's request"))
        #expect(readd.stderr.contains("--rejoin"))
        let sheet = try cli.write("sheet.csv", "Email,Consent\n\(email),yes\n")
        let imported = try cli.run("member", "import", sheet, "--json").object()
        #expect((imported["counts"] as? [String: Int])?["skipped"] == 1)
        #expect(try cli.run("member", "add", email, "--rejoin", "--source", "emailed asking to rejoin, 1 Dec 2026").status == 0)
        #expect(try cli.run("member", "show", email, "--json").object()["status"] as? String == "active")
    }

    @Test("export prints everything held as JSON: details, roles, streams and the whole consent history")
    func export() throws {
        let cli = try ready()
        #expect(try cli.run("member", "add", "alex@example.org", "--name", "Alex Morgan", "--organisation", "Riverside",
                            "--role", "member", "--tag", "north", "--source", "form, 5 Nov").status == 0)
        #expect(try cli.run("unsubscribe", "alex@example.org", "--stream", "reports", "--source", "reply").status == 0)
        let r = try cli.run("export", "alex@example.org")
        #expect(r.status == 0)
        let export = try r.object()
        #expect(export["subject"] as? String == "alex@example.org")
        #expect(export["controller"] as? String == "Our Community of Practice")
        let person = export["person"] as? [String: Any] ?? [:]
        #expect(person["name"] as? String == "Alex Morgan")
        #expect(person["organisation"] as? String == "Riverside")
        #expect(person["roles"] as? [String] == ["member"])
        #expect(person["tags"] as? [String] == ["north"])
        #expect(person["streams"] as? [String] == ["monthly-update", "session-invitations"])
        let history = export["consent_history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["action"] as? String } == ["given", "withdrawn"])
        #expect(history.map { $0["source"] as? String } == ["form, 5 Nov", "reply"])
    }
}
