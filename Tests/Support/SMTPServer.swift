import Foundation

/// A real SMTP server for tests: Tests/Fixtures/smtp_fixture.py (aiosmtpd, Debian python3-aiosmtpd) in its own
/// process and folder, stopped when released. Each test starts its own, so tests run in parallel.
public final class SMTPServer: @unchecked Sendable {
    /// The loopback port it listens on.
    public let port: Int
    /// Its self-signed certificate (made at start-up), to trust as the CA file.
    public let caFile: String
    /// Where it writes NNN.eml, NNN.json and events.jsonl.
    public let spool: String
    /// The fault rules it re-reads at every check.
    public let faultsFile: String
    private let folder: String
    private let process: Process

    /// The repository's Tests/Fixtures folder.
    public static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// Starts a server: `starttls` is required, offered or off; `auth` is "user:password" or nil; `faults` is the JSON
    /// list of fault rules described in the script.
    public init(starttls: String = "required", smtps: Bool = false, auth: String? = "alice:s3cret", faults: String = "[]") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        spool = folder + "/spool"
        faultsFile = folder + "/faults.json"
        try Data(faults.utf8).write(to: URL(fileURLWithPath: faultsFile))
        var arguments = [Self.fixtures + "/smtp_fixture.py", "--port", "0", "--spool", spool, "--starttls", starttls,
                         "--faults", faultsFile]
        if smtps { arguments.append("--smtps") }
        if let auth { arguments += ["--auth", auth] }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
              let port = info["port"] as? Int, let ca = info["cafile"] as? String else {
            process.terminate()
            throw SMTPServerError("smtp_fixture.py did not start (is python3-aiosmtpd installed?): \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
        self.caFile = ca
    }

    deinit {
        process.terminate()
        // The script unblocks SIGTERM itself; SIGKILL is the last resort so a test run can never hang here.
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        // No waitUntilExit: on a thread without a run loop it spins a CPU; polling `isRunning` is enough.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Replaces the fault rules atomically.
    public func setFaults(_ json: String) throws {
        try Data(json.utf8).write(to: URL(fileURLWithPath: faultsFile), options: .atomic)
    }

    /// Every event the server logged, in order (optionally only those named `name`: "connect", "ehlo", "auth"...).
    public func events(_ name: String? = nil) -> [[String: Any]] {
        let all = Self.events(spool: spool)
        return name.map { n in all.filter { $0["event"] as? String == n } } ?? all
    }

    /// The events logged in a spool folder (usable from a closure that must not capture the server).
    public static func events(spool: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: spool + "/events.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The captured messages: (envelope metadata, file path), in arrival order.
    public func captured() -> [(meta: [String: Any], path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .compactMap { name -> (Int, [String: Any], String)? in
                guard let seq = Int(name.dropLast(5)),
                      let data = FileManager.default.contents(atPath: spool + "/" + name),
                      let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
                return (seq, meta, "\(spool)/\(seq).eml")
            }
            .sorted { $0.0 < $1.0 }
            .map { ($0.1, $0.2) }
    }

    /// How many messages the server accepted and stored.
    public var capturedCount: Int { captured().count }

    /// The exact DATA bytes of message `seq`.
    public func message(_ seq: Int) -> [UInt8]? {
        FileManager.default.contents(atPath: "\(spool)/\(seq).eml").map(Array.init)
    }

    /// The envelope metadata of message `seq`.
    public func metadata(_ seq: Int) -> [String: Any]? {
        FileManager.default.contents(atPath: "\(spool)/\(seq).json").flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// How many captured messages went to each recipient.
    public func countsByRecipient() -> [String: Int] {
        var counts: [String: Int] = [:]
        for message in captured() {
            for r in message.meta["rcpt_tos"] as? [String] ?? [] { counts[r, default: 0] += 1 }
        }
        return counts
    }
}

/// The server could not be started.
public struct SMTPServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
