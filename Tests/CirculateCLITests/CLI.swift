import Foundation

/// Runs the built `circulate` binary against a private temporary instance, as a coordinator would.
final class CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Standard output parsed as JSON (Foundation's parser, independent of the encoder that wrote it).
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        func object() throws -> [String: Any] { (try json() as? [String: Any]) ?? [:] }
    }

    let directory: URL
    var environment: [String: String]

    /// The binary next to the test bundle (`swift build` puts both in .build/debug), or $CIRCULATE_BIN.
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["CIRCULATE_BIN"] { return explicit }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("circulate").path
    }()

    /// The repository root, for fixtures.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/\(name)").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("circulate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        environment = ["PATH": "/usr/bin:/bin", "HOME": directory.path, "USER": "sam.coordinator", "LANG": "C.UTF-8"]
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Runs `circulate ARGS` in the instance's directory (so the default ./var/ paths land there).
    @discardableResult
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String]) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw CLIError("no circulate binary at \(Self.binary); run `swift build` before `swift test`")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        // Output goes to files, so a large output can never block the child on a full pipe.
        let id = UUID().uuidString
        let outPath = path(".out-\(id)")
        let errPath = path(".err-\(id)")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let stdout = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let stderrData = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Starts a long-running `circulate ARGS` (the daemon); its standard error goes to `log`.
    func start(_ arguments: String..., log: String = "serve.log") throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        _ = FileManager.default.createFile(atPath: path(log), contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path(log)))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until `condition` holds, checking every 100 ms, for at most `seconds`.
    func waitFor(_ seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        // A monotonic clock: a wall-clock step on the machine must not end (or stretch) the wait.
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    /// Sets the instant the next commands (and a daemon started next) take as now (CIRCULATE_NOW).
    func at(_ instant: String) { environment["CIRCULATE_NOW"] = instant }

    /// Runs the daemon from `instant` until `done` holds (at most 30 s), then stops it with SIGTERM; returns whether
    /// `done` held, and the daemon's log for the failure message.
    func runDaemon(from instant: String, until done: () throws -> Bool) throws -> (finished: Bool, log: String) {
        at(instant)
        let log = "serve-\(instant).log"
        let process = try start("serve", log: log)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let finished = try waitFor(30, done)
        return (finished, (try? String(contentsOfFile: path(log), encoding: .utf8)) ?? "")
    }

    /// Runs a Python script with Debian's /usr/bin/python3 (which has python3-icalendar); standard output and error.
    static func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `queue status --json` counts by state.
    func queueCounts() throws -> [String: Int] {
        (try run("queue", "status", "--json").object()["counts"] as? [String: Int]) ?? [:]
    }

    /// `member list --json FILTERS`, parsed; throws unless the output is a JSON array.
    func listed(_ filters: String...) throws -> [[String: Any]] {
        let r = try run(["member", "list", "--json"] + filters)
        guard r.status == 0, let people = try r.json() as? [[String: Any]] else {
            throw CLIError("member list failed: \(r.status) \(r.stderr)")
        }
        return people
    }

    /// All bytes of the default database and its -wal/-shm files.
    func databaseBytes() -> [UInt8] {
        ["var/circulate.sqlite", "var/circulate.sqlite-wal", "var/circulate.sqlite-shm"].flatMap {
            FileManager.default.contents(atPath: path($0)).map(Array.init) ?? []
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

