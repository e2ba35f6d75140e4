import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's web pages, run for real: `circulate serve` with `[web]`, messages read from the outbox by Python's
/// email parser, and the links used by independent HTTP clients (Python's urllib, curl) as a mailbox provider would.
@Suite("The web side: one-click unsubscribe served by the daemon, health and metrics")
struct WebCommandTests {
    @Test("a message's one-click link, posted form-encoded and multipart, unsubscribes once, also after a restart; GET changes nothing")
    func oneClickEndToEnd() throws {
        let cli = try CLI()
        let port = try Self.freePort(), operatorPort = try Self.freePort()
        #expect(try cli.run("init").status == 0)
        let sheet = "Name,Email,Consent\nKim Okafor,kim.okafor@example.org,yes\nLee Adams,lee.adams@example.org,yes\n"
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "# November\n\nOur next session is on **9 December**.\n")

        // public_base_url alone: nothing serves the link, so messages carry the mailto link only.
        _ = try cli.write("circulate.toml", Self.config(web: nil))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        #expect(try cli.run("send", "--subject", "Before the web", "--body", cli.path("body.md"), "--stream", "monthly-update").status == 0)
        let first = try Self.daemon(cli, log: "serve0.log")
        #expect(cli.waitFor(15) { Self.outbox(cli).count == 2 }, "\(cli.log("serve0.log"))")
        Self.stop(first)
        for file in Self.outbox(cli) {
            let headers = try Self.headers(file)
            #expect(headers["List-Unsubscribe"]?.hasPrefix("<mailto:") == true && headers["List-Unsubscribe"]?.contains("https") == false)
            #expect(headers["List-Unsubscribe-Post"] == nil)
        }
        for file in Self.outbox(cli) { try FileManager.default.removeItem(atPath: file) }

        // With [web]: the daemon serves the pages, and messages offer one-click unsubscribe.
        _ = try cli.write("circulate.toml", Self.config(web: (port, operatorPort)))
        var daemon = try Self.daemon(cli, log: "serve1.log")
        defer { Self.stop(daemon) }
        #expect(cli.log("serve1.log").contains("web pages on 127.0.0.1:\(port)/circulate"))
        #expect(try cli.run("send", "--subject", "November update", "--body", cli.path("body.md"), "--stream", "monthly-update").status == 0)
        #expect(cli.waitFor(15) { Self.outbox(cli).count == 2 }, "\(cli.log("serve1.log"))")
        var links: [String: String] = [:]
        for file in Self.outbox(cli) {
            let headers = try Self.headers(file)
            #expect(headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            let value = try #require(headers["List-Unsubscribe"])
            let https = try #require(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("<https://lists.example.org/circulate/u/") })
            #expect(value.contains("<mailto:riverside@example.org?subject=unsubscribe%20"))
            // The proxy passes the path unchanged: the same path on the daemon's listener.
            let path = String(https.dropFirst("<https://lists.example.org".count).dropLast())
            links[headers["To"] ?? ""] = "http://127.0.0.1:\(port)\(path)"
        }
        let kimLink = try #require(links.first { $0.key.contains("kim.okafor") }?.value)
        let leeLink = try #require(links.first { $0.key.contains("lee.adams") }?.value)

        // A mail scanner opening the link changes nothing.
        let page = try Self.http("GET", kimLink)
        #expect(page.status == 200 && page.body.contains("<button type=\"submit\">Unsubscribe</button>"), "\(page)")
        #expect(try Self.streams(cli, "kim.okafor@example.org") == ["monthly-update", "session-invitations", "reports"])

        // A mailbox provider's POST, form-encoded (Python) and multipart (curl -F, as RFC 8058's example).
        let posted = try Self.http("POST", kimLink, form: "List-Unsubscribe=One-Click")
        #expect(posted.status == 200 && posted.body.contains("you will no longer receive the monthly update"), "\(posted)")
        let curl = try Self.curlMultipart(leeLink)
        #expect(curl.hasPrefix("200"), "\(curl)")
        #expect(try Self.streams(cli, "kim.okafor@example.org") == ["session-invitations", "reports"])
        #expect(try Self.streams(cli, "lee.adams@example.org") == ["session-invitations", "reports"])

        // Health and metrics on their own listener.
        let health = try Self.http("GET", "http://127.0.0.1:\(operatorPort)/healthz")
        #expect(health.status == 200 && health.body == "ok\n", "\(health)")
        let metrics = try Self.http("GET", "http://127.0.0.1:\(operatorPort)/metrics")
        #expect(metrics.body.contains("circulate_messages_total{outcome=\"sent\"} 2"), "\(metrics.body)")
        #expect(metrics.body.contains("circulate_web_unsubscribes_total 2"), "\(metrics.body)")
        #expect(try Self.http("GET", "http://127.0.0.1:\(port)/healthz").status == 404, "health is not on the public listener")

        // Restarted, the provider posts again: nothing more is recorded.
        Self.stop(daemon)
        daemon = try Self.daemon(cli, log: "serve2.log")
        let again = try Self.http("POST", kimLink, form: "List-Unsubscribe=One-Click")
        #expect(again.status == 200 && again.body.contains("already stopped receiving"), "\(again)")
        let history = try cli.run("member", "show", "kim.okafor@example.org", "--json").object()["consent_history"] as? [[String: Any]] ?? []
        #expect(history.filter { $0["source"] as? String == "one-click unsubscribe" }.count == 1, "\(history)")
        #expect(!cli.log("serve1.log").contains("kim.okafor") && !cli.log("serve2.log").contains("kim.okafor"), "no address in the log")
    }

    @Test("'please erase my data' on the preference page waits in `circulate requests` with its deadline until `erase` completes it")
    func erasureRequest() throws {
        let cli = try CLI()
        let port = try Self.freePort(), operatorPort = try Self.freePort()
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", "ana.lima@example.org", "--name", "Ana Lima", "--source", "sign-up form").status == 0)
        _ = try cli.write("body.md", "Our next session is on **9 December**.\n")
        _ = try cli.write("circulate.toml", Self.config(web: (port, operatorPort)))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        var daemon = try Self.daemon(cli, log: "serve.log")
        defer { Self.stop(daemon) }
        #expect(try cli.run("send", "--subject", "November update", "--body", cli.path("body.md"), "--stream", "monthly-update").status == 0)
        #expect(cli.waitFor(15) { Self.outbox(cli).count == 1 }, "\(cli.log())")
        let unsubscribe = try Self.oneClickLink(try #require(Self.outbox(cli).first), port: port)

        // From the unsubscribe page to the preference page, as a person would click.
        let page = try Self.http("GET", unsubscribe).body
        let preferencesPath = try #require(page.range(of: "href=\"/circulate/p/").map { String(page[$0.lowerBound...].dropFirst(6).prefix { $0 != "\"" }) })
        let preferences = "http://127.0.0.1:\(port)\(preferencesPath)"
        let form = try Self.http("GET", preferences).body
        let guardValue = try #require(form.range(of: "name=\"form\" value=\"").map { String(form[$0.upperBound...].prefix { $0 != "\"" }) })
        let saved = try Self.http("POST", preferences, form: "form=\(guardValue)&erase=yes&save=1")
        #expect(saved.status == 200 && saved.body.contains("Your request to erase your data is recorded"), "\(saved)")

        let listed = try cli.run("requests", "--json")
        #expect(listed.status == 0, "\(listed.stderr)")
        let requests = try listed.json() as? [[String: Any]] ?? []
        #expect(requests.count == 1)
        #expect(requests.first?["kind"] as? String == "erasure" && requests.first?["email"] as? String == "ana.lima@example.org")
        #expect(requests.first?["command"] as? String == "circulate erase ana.lima@example.org")
        #expect(try cli.run("requests").stdout.contains("circulate erase ana.lima@example.org"))
        #expect(try Self.streams(cli, "ana.lima@example.org").isEmpty, "no more mail while the request waits")

        // The daemon restarted, the same form posted again (a reload): still one request.
        Self.stop(daemon)
        daemon = try Self.daemon(cli, log: "serve2.log")
        let again = try Self.http("POST", preferences, form: "form=\(guardValue)&erase=yes&save=1")
        #expect(again.status == 200, "\(again)")
        #expect((try cli.run("requests", "--json").json() as? [[String: Any]] ?? []).count == 1)

        let erased = try cli.run("erase", "ana.lima@example.org")
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(try cli.run("requests").stdout.contains("No requests are waiting."))
    }

    @Test("a port already in use stops serve at start with the setting named, and nothing else running")
    func portInUse() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 && listen(holder, 1) == 0 && getsockname(holder, $0, &length) == 0 }
        }
        try #require(bound)
        let busy = Int(UInt16(bigEndian: address.sin_port))
        _ = try cli.write("circulate.toml", Self.config(web: (busy, try Self.freePort())))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        let daemon = try cli.start("serve", log: "busy.log")
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 78, "\(cli.log("busy.log"))")
        #expect(cli.log("busy.log").contains("web.listen = \"127.0.0.1:\(busy)\" cannot be used"), "\(cli.log("busy.log"))")
    }

    // MARK: - Helpers

    static func config(web: (Int, Int)?) -> String {
        var text = """
            [community]
            name = "Riverside Practice Network"
            [list]
            address = "riverside@example.org"
            public_base_url = "https://lists.example.org/circulate"

            """
        if let (port, operatorPort) = web {
            text += "[web]\nlisten = \"127.0.0.1:\(port)\"\nmetrics_listen = \"127.0.0.1:\(operatorPort)\"\n"
        }
        return text
    }

    static func daemon(_ cli: CLI, log: String) throws -> Process {
        let process = try cli.start("serve", log: log)
        guard cli.waitFor(20, { !process.isRunning || cli.log(log).contains("delivering through") }), process.isRunning else {
            stop(process)
            throw CLIError("serve did not start: \(cli.log(log))")
        }
        return process
    }

    static func stop(_ daemon: Process) {
        if daemon.isRunning { daemon.terminate() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        while daemon.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        daemon.waitUntilExit()
    }

    static func outbox(_ cli: CLI) -> [String] {
        let folder = cli.path("var/outbox/new")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().map { "\(folder)/\($0)" }
    }

    /// Headers as Python's email parser reads them (unfolded).
    static func headers(_ file: String) throws -> [String: String] {
        let out = try CLI.python("""
            import email, email.policy, json, sys
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
            print(json.dumps({k: str(v) for k, v in m.items()}))
            """, [file])
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: String]) ?? [:]
    }

    /// One request with Python's urllib; an HTTP error status is an answer, not a failure.
    static func http(_ method: String, _ url: String, form: String? = nil) throws -> (status: Int, body: String) {
        let out = try CLI.python("""
            import json, sys, urllib.request, urllib.error
            data = sys.argv[3].encode() if len(sys.argv) > 3 else None
            req = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1])
            if data is not None: req.add_header('Content-Type', 'application/x-www-form-urlencoded')
            try:
                r = urllib.request.urlopen(req, timeout=10); print(json.dumps([r.status, r.read().decode()]))
            except urllib.error.HTTPError as e:
                print(json.dumps([e.code, e.read().decode()]))
            """, [method, url] + (form.map { [$0] } ?? []))
        let parsed = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [Any] ?? []
        return ((parsed.first as? Int) ?? -1, (parsed.last as? String) ?? out)
    }

    /// `curl -F List-Unsubscribe=One-Click URL`: a multipart/form-data POST; returns "STATUS BODY".
    static func curlMultipart(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-w", "%{http_code} ", "-o", "/dev/null", "-F", "List-Unsubscribe=One-Click", url]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The streams `member show --json` lists for a person.
    static func streams(_ cli: CLI, _ address: String) throws -> [String] {
        try cli.run("member", "show", address, "--json").object()["streams"] as? [String] ?? []
    }

    /// A message's https List-Unsubscribe link, on the daemon's own listener (the proxy passes the path unchanged).
    static func oneClickLink(_ file: String, port: Int) throws -> String {
        let header = try #require(try headers(file)["List-Unsubscribe"])
        let https = try #require(header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("<https://") })
        return "http://127.0.0.1:\(port)" + String(https.dropFirst("<https://lists.example.org".count).dropLast())
    }

    /// A TCP port nothing listens on now.
    static func freePort() throws -> Int {
        Int(try CLI.python("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])", [])
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
