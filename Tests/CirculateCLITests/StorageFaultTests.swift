import CirculateTestSupport
import Foundation
import Testing

@Suite("The daemon and its database: a busy database is waited out, a broken invariant stops it")
struct StorageFaultTests {
    /// Seconds elapsed since `instant`, on the monotonic clock.
    func seconds(since instant: ContinuousClock.Instant) -> Double {
        let d = instant.duration(to: .now).components
        return Double(d.seconds) + Double(d.attoseconds) / 1e18
    }

    /// An initialised instance whose relay is `server` (plain SMTP on loopback), with `members` consenting to the update.
    func instance(_ server: SMTPServer, members: [String]) throws -> CLI {
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
        var sheet = "Email,Consent\n"
        for email in members { sheet += "\(email),yes\n" }
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "Hello.\n")
        return cli
    }

    @Test("a database busy for longer than the busy timeout makes the daemon wait and say so, then carry on")
    func busyDatabase() throws {
        // Each message takes a quarter of a second at the relay, so the send is still running when the lock is taken.
        let server = try SMTPServer(starttls: "off", auth: nil, faults: #"[{"when": "data", "action": "delay", "seconds": 0.25}]"#)
        let people = (0..<20).map { "person\($0)@example.org" }
        let cli = try instance(server, members: people)
        let daemon = try cli.start("serve")
        defer {
            if daemon.isRunning {
                daemon.terminate()
                daemon.waitUntilExit()
            }
        }
        let r = try cli.run("send", "--subject", "December update", "--body", cli.path("body.md"), "--stream", "monthly-update")
        try #require(r.status == 0, "\(r.stderr)")
        try #require(cli.waitFor(10) { server.capturedCount >= 1 }, "the send should start")

        // Another process takes the database's write lock (BEGIN IMMEDIATE) while the send runs: every write the daemon
        // tries (recording outcomes, claiming) waits out the 10 s busy timeout and gets SQLITE_BUSY.
        let lock = try WriteLock(database: cli.path("var/circulate.sqlite"))
        defer { lock.release() }
        let lockedAt = ContinuousClock.now

        // The daemon says so in its log and in the state file `queue status` reads, and keeps running. Reads still
        // work in WAL mode, so the CLI answers at once while the lock is held.
        var status: [String: Any] = [:]
        var statusTook: TimeInterval = 0
        _ = try cli.waitFor(20) {
            guard daemon.isRunning else { return true }  // no use waiting for a daemon that is gone (checked below)
            guard Self.log(cli).contains("the database cannot be used") else { return false }
            let started = Date()
            status = try cli.run("queue", "status", "--json").object()
            statusTook = Date().timeIntervalSince(started)
            return (status["daemon_problem"] as? String)?.isEmpty == false
        }
        #expect((status["daemon_problem"] as? String)?.isEmpty == false, "after \(Int(seconds(since: lockedAt))) s: status \(status); log:\n\(Self.log(cli))")
        #expect(lock.isHeld, "the lock was held all along")
        #expect(daemon.isRunning, "the daemon rides out a busy database; log:\n\(Self.log(cli))")
        #expect(seconds(since: lockedAt) >= 9.5, "the daemon waited out the 10 s busy timeout before saying so")
        #expect(statusTook < 5, "queue status reads while another process writes (WAL): it took \(statusTook) s")
        #expect(status["daemon_running"] as? Bool == true)
        let text = try cli.run("queue", "status")
        #expect(text.stdout.contains("THE DAEMON IS WAITING: "), "\(text.stdout)")

        // The lock goes; the daemon notices by itself and finishes the send, each message exactly once.
        lock.release()
        let finished = { (c: [String: Int]) in c["sent"] == people.count && c["sending"] == 0 }
        _ = try cli.waitFor(40) { try !daemon.isRunning || finished(cli.queueCounts()) }
        #expect(try finished(cli.queueCounts()), "queue: \((try? cli.queueCounts()) ?? [:]); log:\n\(Self.log(cli))")
        #expect(daemon.isRunning, "the daemon is still running after the database problem")
        let log = Self.log(cli)
        let problem = try #require(log.range(of: "the database cannot be used"))
        let recovered = try #require(log.range(of: "the database can be used again"), "log:\n\(log)")
        #expect(problem.upperBound <= recovered.lowerBound, "the recovery is logged after the problem")
        #expect(try cli.run("queue", "status", "--json").object()["daemon_problem"] as? String == nil, "the problem is cleared once it is over")
        #expect(server.countsByRecipient() == Dictionary(uniqueKeysWithValues: people.map { ($0, 1) }),
                "every member exactly once: \(server.countsByRecipient())")
        let counts = try cli.queueCounts()
        #expect(counts["queued"] == 0 && counts["deferred"] == 0 && counts["failed"] == 0, "\(counts)")
    }

    @Test("a broken invariant stops the daemon with a non-zero status, promptly")
    func brokenInvariant() throws {
        let server = try SMTPServer(starttls: "off", auth: nil)
        let cli = try instance(server, members: ["ok1@example.org"])
        let daemon = try cli.start("serve")
        defer {
            if daemon.isRunning {
                kill(daemon.processIdentifier, SIGKILL)  // a daemon that hangs here is the failure; never leave it behind
                daemon.waitUntilExit()
            }
        }
        // The daemon is up and idle before the bad row appears.
        try #require(cli.waitFor(10) { Self.log(cli).contains("delivering through") }, "log:\n\(Self.log(cli))")

        // A mailing of a kind the schema does not allow, with one due message to a consenting member: only a bug (or a
        // hand edit) could write it, so the CHECK is switched off to do it. Only columns every schema version has are
        // named, so the same script runs against an older build too.
        let output = try CLI.python("""
            import sqlite3, sys
            con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            con.execute("PRAGMA ignore_check_constraints = ON")
            past = "2000-01-01 00:00:00.000"
            con.execute("BEGIN IMMEDIATE")
            member = con.execute("SELECT id, email FROM member ORDER BY id LIMIT 1").fetchone()
            mailing = con.execute(
                "INSERT INTO mailing (kind, stream, audience, subject, body_markdown, send_after, state, idempotency_key,"
                " created_by, created_at, updated_at) VALUES ('no-such-kind', NULL, 'everyone', 'Broken', 'Hello.', ?,"
                " 'sending', 'broken-invariant-test', 'test', ?, ?)", (past, past, past)).lastrowid
            con.execute(
                "INSERT INTO delivery (mailing_id, member_id, recipient, message_id, state, attempts, next_attempt_at,"
                " queued_at, updated_at) VALUES (?, ?, ?, 'broken-invariant-test@example.org', 'queued', 0, ?, ?, ?)",
                (mailing, member[0], member[1], past, past, past))
            con.execute("COMMIT")
            print("inserted", mailing)
            """, [cli.path("var/circulate.sqlite")])
        try #require(output.hasPrefix("inserted"), "\(output)")
        let insertedAt = Date()

        // The idle daemon polls every second; claiming the row breaks the invariant, and the process must end by
        // itself: every thread stopped, no hang.
        let exited = cli.waitFor(10) { !daemon.isRunning }
        let log = Self.log(cli)
        try #require(exited, "serve still running \(Int(Date().timeIntervalSince(insertedAt))) s after the bad row; log:\n\(log)")
        daemon.waitUntilExit()
        #expect(daemon.terminationReason == .exit)
        #expect(daemon.terminationStatus == 70, "exit status \(daemon.terminationStatus); log:\n\(log)")
        #expect(log.contains("circulate serve stopped on an internal error"), "log:\n\(log)")
        #expect(log.contains("no-such-kind"), "the message says what was broken")
        #expect(server.capturedCount == 0, "nothing of the broken mailing went out")
        // The claim that met the bad row was rolled back: the message is still queued, not left in flight.
        let state = try CLI.python("""
            import sqlite3, sys
            con = sqlite3.connect(sys.argv[1])
            print(con.execute("SELECT state FROM delivery WHERE message_id = 'broken-invariant-test@example.org'").fetchone()[0])
            """, [cli.path("var/circulate.sqlite")])
        #expect(state.trimmingCharacters(in: .whitespacesAndNewlines) == "queued", "\(state)")
    }

    static func log(_ cli: CLI) -> String {
        (try? String(contentsOfFile: cli.path("serve.log"), encoding: .utf8)) ?? ""
    }
}

/// Another process holding the database's write lock: /usr/bin/python3 runs BEGIN IMMEDIATE on the file and keeps the
/// transaction open until `release()` (or until the test process goes away and its standard input closes).
final class WriteLock {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(database: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", """
            import sqlite3, sys
            con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            con.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.readline()
            con.execute("ROLLBACK")
            """, database]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // BEGIN IMMEDIATE waits (up to 30 s) for a write the daemon has in progress; the lock is ours once it says so.
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("locked") else {
            release()
            throw CLIError("the lock holder did not take the lock: \(line)")
        }
    }

    var isHeld: Bool { process.isRunning }

    /// Ends the transaction and waits for the holder to exit; harmless when called again.
    func release() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
