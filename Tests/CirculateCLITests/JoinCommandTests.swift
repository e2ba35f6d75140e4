import Foundation
import Testing

/// The join page run for real: `circulate serve` with `[web]` and a consent wording file, the form posted with Python's
/// urllib, the confirmation read from the outbox with Python's email parser, and `member show --json` as the proof.
@Suite("Joining with double opt-in, served by the daemon")
struct JoinCommandTests {
    static let wording = "Version: 2026-03\n\nI agree that Riverside Practice Network keeps my name and address to send me what I ticked.\n"

    static func config(port: Int, operatorPort: Int, wordingFile: String) -> String {
        WebCommandTests.config(web: (port, operatorPort)) + "[consent]\nwording_file = \"\(wordingFile)\"\n"
    }

    /// Opens the join page, then posts it with the cookie and guard value the page gave; returns (status, page).
    static func submit(_ url: String, email: String, name: String) throws -> (status: Int, body: String) {
        let out = try CLI.python("""
            import json, re, sys, urllib.error, urllib.parse, urllib.request
            url, email, name = sys.argv[1:4]
            r = urllib.request.urlopen(url, timeout=10)
            cookie = r.headers['Set-Cookie'].split(';')[0]
            guard = re.search(r'name="form" value="([0-9a-f]+)"', r.read().decode()).group(1)
            data = urllib.parse.urlencode([('form', guard), ('name', name), ('email', email), ('organisation', ''),
                                           ('stream', 'monthly-update'), ('stream', 'reports'), ('website', '')]).encode()
            req = urllib.request.Request(url, data=data, method='POST',
                                         headers={'Cookie': cookie, 'Content-Type': 'application/x-www-form-urlencoded'})
            try:
                r = urllib.request.urlopen(req, timeout=10); print(json.dumps([r.status, r.read().decode()]))
            except urllib.error.HTTPError as e:
                print(json.dumps([e.code, e.read().decode()]))
            """, [url, email, name])
        let parsed = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [Any] ?? []
        return ((parsed.first as? Int) ?? -1, (parsed.last as? String) ?? out)
    }

    /// The text part of a message as Python's email parser reads it.
    static func text(_ file: String) throws -> String {
        try CLI.python("""
            import email, email.policy, sys
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
            print(m.get_body(preferencelist=('plain',)).get_content())
            """, [file])
    }

    /// The confirmation link in a message, on the daemon's listener (the proxy passes the path unchanged).
    static func link(in text: String, port: Int) throws -> String {
        let range = try #require(text.range(of: "https://lists.example.org/circulate/j/"))
        let token = text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
        return "http://127.0.0.1:\(port)/circulate/j/\(token)"
    }

    static func guardValue(_ page: String) -> String? {
        page.range(of: "name=\"form\" value=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) }
    }

    @Test("submit the form, read the link from the outbox, Confirm: on the list with consent, 'web form' and the file's version; after a restart the same Confirm adds nothing")
    func endToEnd() throws {
        let cli = try CLI()
        let port = try WebCommandTests.freePort(), operatorPort = try WebCommandTests.freePort()
        #expect(try cli.run("init").status == 0)
        _ = try cli.write("consent.txt", Self.wording)
        _ = try cli.write("circulate.toml", Self.config(port: port, operatorPort: operatorPort, wordingFile: cli.path("consent.txt")))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        var daemon = try WebCommandTests.daemon(cli, log: "serve1.log")
        defer { WebCommandTests.stop(daemon) }

        let join = "http://127.0.0.1:\(port)/circulate/join"
        let answer = try Self.submit(join, email: "ada.mensah@example.org", name: "Ada Mensah")
        #expect(answer.status == 200 && answer.body.contains("Please check your inbox"), "\(answer)")
        #expect(cli.waitFor(15) { WebCommandTests.outbox(cli).count == 1 }, "\(cli.log("serve1.log"))")
        let file = try #require(WebCommandTests.outbox(cli).first)
        let headers = try WebCommandTests.headers(file)
        #expect(headers["To"] == "ada.mensah@example.org" && headers["Subject"] == "Please confirm: joining Riverside Practice Network")
        #expect(headers["List-Unsubscribe"] == nil, "nobody is on a list yet")
        let text = try Self.text(file)
        #expect(text.contains("If you do nothing, you will not be added"), "\(text)")
        let link = try Self.link(in: text, port: port)

        // Opening the link (a mail scanner does) adds nobody.
        let page = try WebCommandTests.http("GET", link)
        #expect(page.status == 200 && page.body.contains("<button type=\"submit\">Confirm</button>"))
        #expect(try cli.run("member", "show", "ada.mensah@example.org", "--json").status != 0, "a GET added the person")

        let guardValue = try #require(Self.guardValue(page.body))
        let confirmed = try WebCommandTests.http("POST", link, form: "form=\(guardValue)")
        #expect(confirmed.status == 200 && confirmed.body.contains("you are now on the list"), "\(confirmed)")
        let shown = try cli.run("member", "show", "ada.mensah@example.org", "--json").object()
        #expect(shown["status"] as? String == "active" && shown["lawful_basis"] as? String == "consent")
        #expect(shown["streams"] as? [String] == ["monthly-update", "reports"])
        let history = shown["consent_history"] as? [[String: Any]] ?? []
        #expect(history.count == 2 && history.allSatisfy {
            $0["source"] as? String == "web form" && $0["wording_version"] as? String == "2026-03" && ($0["wording_hash"] as? String)?.count == 64
        }, "\(history)")

        // Restarted, the same Confirm is pressed again: nothing more.
        WebCommandTests.stop(daemon)
        daemon = try WebCommandTests.daemon(cli, log: "serve2.log")
        let again = try WebCommandTests.http("POST", link, form: "form=\(guardValue)")
        #expect(again.status == 404, "\(again)")
        let after = try cli.run("member", "show", "ada.mensah@example.org", "--json").object()["consent_history"] as? [[String: Any]] ?? []
        #expect(after.count == 2)
        for log in ["serve1.log", "serve2.log"] { #expect(!cli.log(log).contains("ada.mensah"), "no address in the log") }
    }

    @Test("a pending sign-up and the join page's rate records are in the export, and erasure leaves none of them in any file")
    func erasure() throws {
        let cli = try CLI()
        let port = try WebCommandTests.freePort(), operatorPort = try WebCommandTests.freePort()
        let address = "zoë.brontë@bücher.example", name = "Zoë Brontë-Ångström"
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", address, "--name", name, "--source", "sign-in sheet").status == 0)
        #expect(try cli.run("unsubscribe", address).status == 0)
        _ = try cli.write("consent.txt", Self.wording)
        _ = try cli.write("circulate.toml", Self.config(port: port, operatorPort: operatorPort, wordingFile: cli.path("consent.txt")))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        let daemon = try WebCommandTests.daemon(cli, log: "serve.log")
        // Someone who left asks to come back under another name, and does not confirm.
        let answer = try Self.submit("http://127.0.0.1:\(port)/circulate/join", email: address, name: "Zoë B. Ångström")
        #expect(answer.status == 200, "\(answer)")
        #expect(cli.waitFor(15) { WebCommandTests.outbox(cli).count == 1 })
        WebCommandTests.stop(daemon)

        let export = try cli.run("export", address).object()
        let signUps = export["sign_ups"] as? [[String: Any]] ?? []
        #expect(signUps.count == 1 && signUps.first?["name"] as? String == "Zoë B. Ångström", "\(export)")
        #expect((export["rate_records"] as? Int ?? 0) >= 2, "\(export)")
        #expect((export["messages"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == "join-confirmation" })

        let erased = try cli.run("erase", address)
        #expect(erased.status == 0, "\(erased.stderr)")
        for path in ErasureEverywhereTests.files(cli) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for form in ErasureEverywhereTests.forms + ["Zoë B. Ångström", "Zo\u{0065}\u{0308} B. A\u{030A}ngstro\u{0308}m"] {
                #expect(bytes.range(of: Data(form.utf8)) == nil, "\(form) is still in \(path)")
            }
        }
        let tables = try CLI.python("""
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            print(c.execute("SELECT (SELECT count(*) FROM pending_signup), (SELECT count(*) FROM web_rate WHERE action LIKE '%-address')").fetchone())
            """, [cli.path("var/circulate.sqlite")])
        // The records counting the client (a keyed hash of 127.0.0.1, not of anything the person gave) stay their day.
        #expect(tables.contains("(0, 0)"), "\(tables)")
    }

    @Test("someone who only signed up (not confirmed) and asks to be erased is erased: the sign-up goes, and a later join sends them nothing")
    func erasurePendingOnly() throws {
        let cli = try CLI()
        let port = try WebCommandTests.freePort(), operatorPort = try WebCommandTests.freePort()
        let address = "tomas.reyes@example.org"
        #expect(try cli.run("init").status == 0)
        _ = try cli.write("consent.txt", Self.wording)
        _ = try cli.write("circulate.toml", Self.config(port: port, operatorPort: operatorPort, wordingFile: cli.path("consent.txt")))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        var daemon = try WebCommandTests.daemon(cli, log: "serve.log")
        #expect(try Self.submit("http://127.0.0.1:\(port)/circulate/join", email: address, name: "Tomás Reyes").status == 200)
        #expect(cli.waitFor(15) { WebCommandTests.outbox(cli).count == 1 })
        WebCommandTests.stop(daemon)

        let erased = try cli.run("erase", address)
        #expect(erased.status == 0, "\(erased.stderr)")
        let again = try cli.run("erase", address)
        #expect(again.status != 0 || again.stdout.contains("already"), "a second erase changes nothing: \(again.stdout) \(again.stderr)")
        for path in ErasureEverywhereTests.files(cli) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for form in ["tomas.reyes@example.org", "Tomás Reyes"] {
                #expect(bytes.range(of: Data(form.utf8)) == nil, "\(form) is still in \(path)")
            }
        }
        #expect(try cli.run("export", address).object()["status"] as? String == "erased-suppressed")

        // Joining again later: the same neutral answer, and no mail (they must ask the coordinator).
        daemon = try WebCommandTests.daemon(cli, log: "serve2.log")
        defer { WebCommandTests.stop(daemon) }
        #expect(try Self.submit("http://127.0.0.1:\(port)/circulate/join", email: address, name: "Tomás Reyes").status == 200)
        Thread.sleep(forTimeInterval: 2)
        #expect(WebCommandTests.outbox(cli).isEmpty, "an erased address gets no mail")
    }
}
