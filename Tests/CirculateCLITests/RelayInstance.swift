import CirculateTestSupport
import Foundation

extension CLI {
    /// An initialised instance with `members` (all consenting), configured for the test relay `server`:
    /// STARTTLS required and AUTH unless `plain` (then a plaintext relay on loopback), fast retries, and `extra`
    /// lines in [delivery].
    static func relayInstance(_ server: SMTPServer, members: [String], password: String = "s3cret", plain: Bool = false,
                              extra: String = "", top: String = "", caFile: String? = nil) throws -> CLI {
        let cli = try CLI()
        // Fast retries and pauses, unless `extra` sets its own.
        let defaults = ["connections = 2", "retry_initial = \"1s\"", "retry_maximum = \"2s\"", "relay_pause = \"1s\""]
        _ = try cli.write("smtp-password", password + "\n")
        let smtp = plain
            ? "url = \"smtp://127.0.0.1:\(server.port)\"\nallow_plaintext = true"
            : "url = \"smtp://localhost:\(server.port)\"\nca_file = \"\(caFile ?? server.caFile)\"\nusername = \"alice\"\npassword_file = \"smtp-password\""
        _ = try cli.write("circulate.toml", """
            \(top)
            [community]
            name = "Riverside Community of Practice"
            [list]
            address = "cop@example.org"
            [smtp]
            \(smtp)
            [delivery]
            \(defaults.filter { line in !extra.contains(line.prefix { $0 != " " } + " =") }.joined(separator: "\n"))
            \(extra)
            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        guard try cli.run("init").status == 0 else { throw CLIError("init failed") }
        var sheet = "Name,Email,Consent\n"
        for (i, email) in members.enumerated() { sheet += "Member \(i),\(email),yes\n" }
        let imported = try cli.run("member", "import", try cli.write("members.csv", sheet))
        guard imported.status == 0 else { throw CLIError("import failed: \(imported.stderr)") }
        _ = try cli.write("body.md", "# Update\n\nOur next session is on **9 December**.\n")
        return cli
    }

    /// `circulate send` of body.md to the monthly update; the result.
    @discardableResult
    func send(subject: String = "December update", _ more: String...) throws -> Result {
        try run(["send", "--subject", subject, "--body", path("body.md"), "--stream", "monthly-update"] + more)
    }

    /// `queue list --json` for the given states.
    func deliveries(_ states: String = "queued,held,sending,sent,deferred,failed,cancelled") throws -> [[String: Any]] {
        (try run("queue", "list", "--state", states, "--json", "--limit", "10000").json() as? [[String: Any]]) ?? []
    }

    /// `queue status` counts, for a failure message.
    var countsText: String { "\((try? queueCounts()) ?? [:])" }

    /// Every message's row, for a failure message.
    var deliveriesText: String { "\((try? deliveries()) ?? [])" }

    /// The daemon's log so far.
    func log(_ name: String = "serve.log") -> String {
        (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? ""
    }
}

extension SMTPServer {
    /// Transcript events for one address (the `arg` of MAIL/RCPT mentions it, or a DATA event's recipients include it).
    func events(about address: String) -> [[String: Any]] {
        events().filter { event in
            if let arg = event["arg"] as? String, arg.lowercased().contains(address.lowercased()) { return true }
            if let rcpts = event["rcpt_tos"] as? [String], rcpts.contains(where: { $0.lowercased() == address.lowercased() }) { return true }
            return false
        }
    }
}
