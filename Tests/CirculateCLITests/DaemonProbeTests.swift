import Foundation
import Testing

@Suite("Asking whether the daemon runs never gets in its way")
struct DaemonProbeTests {
    @Test("serve started 20 times while queue status asks back to back: it always starts, and status sees it running")
    func serveStartsBesideStatus() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let asker = StatusLoop(cli)
        Thread { asker.loop() }.start()
        defer { asker.stop() }
        // Let the first answers come in, so every start below races with a `queue status` already under way.
        #expect(wait(10) { asker.answers > 0 }, "queue status never answered")

        var problems: [String] = []
        for round in 1...20 {
            let log = "serve-\(round).log"
            let daemon = try cli.start("serve", log: log)
            // Running: it logs "delivering through" only after it holds the lock and has opened the database.
            let up = wait(15) { !daemon.isRunning || text(cli, log).contains("delivering through") }
            let stayed = daemon.isRunning
            if up && stayed {
                // Stopped only once a `queue status` begun after it was up has said it runs, which both checks the
                // probe and keeps the wait as short as one or two answers.
                let since = Date()
                if !wait(15, { asker.sawRunning(startedAfter: since) }) {
                    problems.append("round \(round): queue status never reported daemon_running while serve ran")
                }
            } else if stayed {
                problems.append("round \(round): serve did not say it was delivering within 15 s: " + text(cli, log))
            }
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
            if !stayed || daemon.terminationStatus == 75 {
                problems.append("round \(round): serve exited \(daemon.terminationStatus) before it was stopped: "
                    + text(cli, log))
            }
        }
        asker.stop()

        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        #expect(asker.failures.isEmpty, "queue status failed: \(asker.failures.prefix(3))")
        #expect(asker.runningAnswers >= 20, "\(asker.runningAnswers) of \(asker.answers) answers said daemon_running")
    }

    @Test("a second serve reaching the database through a symlink exits 75, naming the one that runs")
    func symlinkedSecondServe() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let first = try cli.start("serve", log: "first.log")
        defer { first.terminate(); first.waitUntilExit() }
        try #require(wait(15) { !first.isRunning || text(cli, "first.log").contains("delivering through") } && first.isRunning,
                     "serve did not start: \(text(cli, "first.log"))")

        try FileManager.default.createSymbolicLink(atPath: cli.path("alias.sqlite"), withDestinationPath: "var/circulate.sqlite")
        cli.environment["CIRCULATE_CONFIG"] = try cli.write("alias.toml", "[storage]\ndatabase = \"alias.sqlite\"\n")
        // Started rather than run: were it not refused it would run until stopped.
        let second = try cli.start("serve", log: "second.log")
        let exited = wait(15) { !second.isRunning }
        if !exited { second.terminate() }
        second.waitUntilExit()
        #expect(exited && second.terminationStatus == 75, "second serve: \(second.terminationStatus) \(text(cli, "second.log"))")
        #expect(text(cli, "second.log").contains("(pid \(first.processIdentifier)) is already running"))
        #expect(try cli.run("queue", "status", "--json").object()["daemon_running"] as? Bool == true,
                "asked through the symlink, queue status sees the daemon too")
    }

    /// Waits until `condition` holds, checking every 10 ms (the daemon is up within a few hundred), for at most `seconds`.
    private func wait(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        // A monotonic clock: a wall-clock step on the machine must not end (or stretch) the wait.
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    private func text(_ cli: CLI, _ name: String) -> String {
        (try? String(contentsOfFile: cli.path(name), encoding: .utf8)) ?? ""
    }
}

/// Runs `circulate queue status --json` back to back on its own thread until stopped, remembering each answer.
private final class StatusLoop: @unchecked Sendable {
    // Why @unchecked Sendable is sound: CLI.run only reads the instance's directory and environment, which nothing
    // changes while the loop runs, and names its output files uniquely; everything else here is under `mutex`.
    private let cli: CLI
    private let mutex = NSLock()
    private var stopping = false
    private var joined = false
    private var log: [(started: Date, running: Bool)] = []
    private var failed: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ cli: CLI) { self.cli = cli }

    var answers: Int { mutex.withLock { log.count } }
    var runningAnswers: Int { mutex.withLock { log.filter(\.running).count } }
    var failures: [String] { mutex.withLock { failed } }

    func sawRunning(startedAfter instant: Date) -> Bool {
        mutex.withLock { log.contains { $0.running && $0.started >= instant } }
    }

    func loop() {
        defer { done.signal() }
        while !mutex.withLock({ stopping }) {
            let started = Date()
            do {
                let r = try cli.run("queue", "status", "--json")
                let running = r.status == 0 ? try r.object()["daemon_running"] as? Bool : nil
                mutex.withLock {
                    if let running { log.append((started, running)) } else { failed.append("\(r.status): \(r.stderr)") }
                }
            } catch {
                mutex.withLock { failed.append("\(error)") }
            }
        }
    }

    /// Ends the loop and waits for its last command (once), so the instance's folder outlives it.
    func stop() {
        let first = mutex.withLock { () -> Bool in
            stopping = true
            defer { joined = true }
            return !joined
        }
        if first { done.wait() }
    }
}
