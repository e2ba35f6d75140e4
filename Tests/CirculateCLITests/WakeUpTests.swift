import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Commands wake a running daemon through a socket beside the database; the daemon's poll stays the fallback.
///
/// These are functional checks ("delivered within a few seconds although the daemon would otherwise look only once an
/// hour"); how fast the daemon starts on new work is measured by the benchmark, not here.
@Suite("Commands wake the daemon; the poll is the fallback")
struct WakeUpTests {
    /// The daemon's poll in the tests that need the wake-up: far longer than any test waits.
    static let hour = "3600"

    @Test("with the daemon's poll an hour long, a `send` is delivered at once; the socket is private and gone after a clean stop")
    func sendWakesDelivery() throws {
        let cli = try instance()
        cli.environment["CIRCULATE_POLL_INTERVAL"] = Self.hour
        let daemon = try startServe(cli)
        defer { stop(daemon) }
        let socket = socketPath(cli)
        #expect(isSocket(socket), "serve listens on \(socket)")
        #expect(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int == 0o600)

        let sent = try cli.send()
        #expect(sent.status == 0 && sent.stderr.isEmpty, "\(sent.stderr)")
        #expect(cli.waitFor(5) { outbox(cli) == 3 }, "not delivered within 5 s: the command did not wake the daemon. \(cli.countsText)")

        stop(daemon)
        #expect(daemon.terminationStatus == 0, "\(cli.log())")
        #expect(!FileManager.default.fileExists(atPath: socket), "a clean stop removes the socket")
    }

    @Test("with the poll an hour long, attendance recorded after the thank-you time is thanked at once: the scheduler is woken too")
    func attendanceWakesScheduler() throws {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00",
                            "--venue", "Riverside Centre").status == 0)
        // The next morning after the thank-you time (10:00): the daemon's first look finds nobody to thank yet.
        cli.at("2026-11-11T10:00:05Z")
        cli.environment["CIRCULATE_POLL_INTERVAL"] = Self.hour
        let daemon = try startServe(cli)
        defer { stop(daemon) }
        let looked = try cli.waitFor(10) {
            let show = try cli.run("session", "show", "1", "--json").object()
            return (show["session"] as? [String: Any])?["thank_you_queued_at"] as? String != nil
        }
        try #require(looked, "the scheduler never looked at session 1: \(cli.log())")

        let sheet = try cli.write("sheet.csv", "Name,Email,Consent\nAnn Example,ann.example@example.org,yes\n")
        let recorded = try cli.run("session", "attendance", "1", sheet)
        #expect(recorded.status == 0 && recorded.stderr.isEmpty, "\(recorded.stderr)")
        // The scheduler queues the thank-you when woken, and wakes delivery in turn.
        #expect(cli.waitFor(5) { outbox(cli) == 1 }, "no thank-you within 5 s: \(cli.countsText) \(cli.log())")
    }

    @Test("with the poll an hour long, a thank-you falling due while the daemon runs goes at once: the workflows wake delivery")
    func workflowsWakeDelivery() throws {
        let cli = try CLI()
        cli.at("2026-11-01T09:00:00Z")
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("session", "add", "--title", "Hospital discharge", "--start", "2026-11-10 10:00",
                            "--venue", "Riverside Centre").status == 0)
        cli.at("2026-11-10T13:00:00Z")
        let sheet = try cli.write("sheet.csv", "Name,Email,Consent\nAnn Example,ann.example@example.org,yes\n")
        #expect(try cli.run("session", "attendance", "1", sheet).status == 0)
        // Two seconds before the thank-you time (10:00 the next morning): no command runs after the daemon starts, so
        // only the scheduler, which queues the thank-you at 10:00, can tell delivery about it before the hour is out.
        cli.at("2026-11-11T09:59:58Z")
        cli.environment["CIRCULATE_POLL_INTERVAL"] = Self.hour
        let daemon = try startServe(cli)
        defer { stop(daemon) }
        #expect(cli.waitFor(10) { outbox(cli) == 1 }, "no thank-you within 10 s: \(cli.countsText) \(cli.log())")
    }

    @Test("with the socket gone while the daemon runs, the normal poll still finds the work")
    func pollIsTheFallback() throws {
        let cli = try instance()
        let daemon = try startServe(cli)
        defer { stop(daemon) }
        let socket = socketPath(cli)
        try #require(isSocket(socket), "serve listens on \(socket)")
        try FileManager.default.removeItem(atPath: socket)

        let sent = try cli.send()
        #expect(sent.status == 0 && sent.stderr.isEmpty, "nothing to say about a missing socket: \(sent.stderr)")
        #expect(cli.waitFor(5) { outbox(cli) == 3 }, "the poll did not find the work: \(cli.countsText) \(cli.log())")
        #expect(daemon.isRunning)
    }

    @Test("a socket left by a daemon killed with SIGKILL does not stop the next serve from starting and being woken")
    func staleSocketAfterKill() throws {
        let cli = try instance()
        cli.environment["CIRCULATE_POLL_INTERVAL"] = Self.hour
        let killed = try startServe(cli, log: "killed.log")
        let socket = socketPath(cli)
        try #require(isSocket(socket), "serve listens on \(socket)")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        try #require(isSocket(socket), "SIGKILL leaves the socket file behind")

        let daemon = try startServe(cli)
        defer { stop(daemon) }
        #expect(isSocket(socket))
        #expect(try cli.send().status == 0)
        #expect(cli.waitFor(5) { outbox(cli) == 3 }, "the new daemon was not woken: \(cli.countsText) \(cli.log())")
    }

    @Test("with no daemon, or only the socket of a killed one, commands that change work succeed and say nothing about it")
    func noDaemonIsSilent() throws {
        let cli = try instance()
        try expectSilent(cli, "no daemon has ever run")

        let killed = try startServe(cli, log: "killed.log")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        try #require(isSocket(socketPath(cli)), "SIGKILL leaves the socket file behind")
        try expectSilent(cli, "a killed daemon's socket")
        try FileManager.default.removeItem(atPath: socketPath(cli))
        _ = FileManager.default.createFile(atPath: socketPath(cli), contents: Data("not a socket\n".utf8))
        try expectSilent(cli, "a plain file where the socket would be")
    }

    @Test("the workflows' blocking database work runs on a thread of its own; SIGTERM ends its hour-long wait at once")
    func schedulerThread() throws {
        let cli = try instance()
        cli.environment["CIRCULATE_POLL_INTERVAL"] = Self.hour
        let daemon = try startServe(cli)
        defer { stop(daemon) }
        // Swift's cooperative pool threads have names of their own; the scheduler's ticks must not block one of them.
        let tasks = "/proc/\(daemon.processIdentifier)/task"
        var names: [String] = []
        // On a busy machine the thread may start a moment after the daemon says it is delivering (seconds, with
        // several builds running alongside).
        let found = try cli.waitFor(15) {
            names = try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap {
                try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return names.contains("circulate-sched")
        }
        #expect(found, "threads: \(names)")

        daemon.terminate()
        // Seconds at most even on a loaded machine, against the hour the scheduler would otherwise sleep.
        #expect(cli.waitFor(15) { !daemon.isRunning }, "SIGTERM must not wait for the scheduler's hour: \(cli.log())")
        stop(daemon)
        #expect(daemon.terminationStatus == 0, "\(cli.log())")
        #expect(cli.log().contains("circulate serve stopped"))
    }

    // MARK: - Helpers

    /// An initialised instance (Maildir outbox) with three consenting members and body.md.
    private func instance() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let sheet = "Name,Email,Consent\nAnn,ann@example.org,yes\nBo,bo@example.org,yes\nCy,cy@example.org,yes\n"
        #expect(try cli.run("member", "import", try cli.write("members.csv", sheet)).status == 0)
        _ = try cli.write("body.md", "# Update\n\nOur next session is on **9 December**.\n")
        return cli
    }

    /// Runs commands that queue, change and cancel work, expecting exit 0 and nothing on standard error but what
    /// each command says anyway without a daemon.
    private func expectSilent(_ cli: CLI, _ situation: String) throws {
        let subject = "Update \(UUID().uuidString)"
        let commands: [[String]] = [
            ["member", "add", "new-\(UUID().uuidString.prefix(8))@example.org", "--source", "test"],
            ["send", "--subject", subject, "--body", cli.path("body.md"), "--stream", "monthly-update"],
            ["queue", "retry"],
            ["queue", "resume"],
            ["unsubscribe", "bo@example.org"],
        ]
        let expected = "circulate: warning: the daemon is not running"
        for command in commands {
            let r = try cli.run(command)
            let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix(expected) }
            #expect(r.status == 0 && lines.isEmpty, "\(situation): \(command.joined(separator: " ")): \(r.status) \(r.stderr)")
        }
    }

    /// Starts `serve` and waits until it delivers (it logs that once it holds the lock and has opened the database).
    private func startServe(_ cli: CLI, log: String = "serve.log") throws -> Process {
        let daemon = try cli.start("serve", log: log)
        let up = cli.waitFor(15) { !daemon.isRunning || cli.log(log).contains("delivering through") }
        guard up && daemon.isRunning else {
            stop(daemon)
            throw CLIError("serve did not start: \(cli.log(log))")
        }
        // A test that lengthens the poll relies on it: without it, the poll alone would pass the test.
        if let poll = cli.environment["CIRCULATE_POLL_INTERVAL"], !cli.log(log).contains("looks for new work every \(poll) s") {
            stop(daemon)
            throw CLIError("serve does not say that it polls every \(poll) s: \(cli.log(log))")
        }
        // Its first look at the queue follows at once; a command after this moment is new work for it.
        Thread.sleep(forTimeInterval: 0.3)
        return daemon
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 15 s: a daemon that hangs fails its test, not the run.
    private func stop(_ daemon: Process) {
        if daemon.isRunning { daemon.terminate() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        while daemon.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        daemon.waitUntilExit()
    }

    /// The daemon's socket: beside the database's real path.
    private func socketPath(_ cli: CLI) -> String {
        URL(fileURLWithPath: cli.path("var")).resolvingSymlinksInPath().path + "/circulate.sqlite.wake"
    }

    private func isSocket(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    /// Messages written to the Maildir outbox.
    private func outbox(_ cli: CLI) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: cli.path("var/outbox/new"))) ?? []).count
    }
}
