import Foundation
import Testing

@Suite("Files circulate reads and writes")
struct FileSafetyTests {
    /// The permission bits of a file (not following a symbolic link).
    static func mode(_ path: String) -> Int {
        var status = stat()
        guard lstat(path, &status) == 0 else { return -1 }
        return Int(status.st_mode & 0o7777)
    }

    @Test("a zero-length database is refused (exit 74, naming the file and what to do), never replaced by an empty list")
    func zeroLengthDatabase() throws {
        let cli = try CLI()
        try FileManager.default.createDirectory(atPath: cli.path("var"), withIntermediateDirectories: true)
        let database = cli.path("var/circulate.sqlite")
        #expect(FileManager.default.createFile(atPath: database, contents: Data()))
        for command in [["member", "list"], ["init"], ["member", "add", "alex@example.org", "--source", "form"]] {
            let r = try cli.run(command)
            #expect(r.status == 74, "\(command): \(r.status) \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("var/circulate.sqlite") && r.stderr.contains("empty (0 bytes)") && r.stderr.contains("backup"),
                    "\(command): \(r.stderr)")
            #expect(!r.stdout.contains("No one matches"))
        }
        #expect((try FileManager.default.attributesOfItem(atPath: database)[.size] as? NSNumber)?.intValue == 0)
        // init stopped at the database: it made neither an outbox nor a key around a list it could not trust.
        #expect(!FileManager.default.fileExists(atPath: cli.path("var/instance.key")))
    }

    @Test("a file that is not SQLite at the database path is refused by init and every command (exit 74)")
    func notSQLiteDatabase() throws {
        let cli = try CLI()
        try FileManager.default.createDirectory(atPath: cli.path("var"), withIntermediateDirectories: true)
        let sheet = try String(contentsOfFile: CLI.fixture("sign-in-sheet.csv"), encoding: .utf8)
        _ = try cli.write("var/circulate.sqlite", sheet)
        for command in [["init"], ["member", "list"]] {
            let r = try cli.run(command)
            #expect(r.status == 74, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("var/circulate.sqlite is not an SQLite database"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("storage.database"))
        }
        #expect(try String(contentsOfFile: cli.path("var/circulate.sqlite"), encoding: .utf8) == sheet)
    }

    /// Every file and folder under `folder` whose mode lets the group or others in, with its mode.
    static func openToOthers(under folder: String) -> [String] {
        let entries = (FileManager.default.subpaths(atPath: folder) ?? []).map { folder + "/" + $0 } + [folder]
        return entries.filter { mode($0) & 0o077 != 0 }.map { "\($0) \(String(mode($0), radix: 8))" }
    }

    /// The umask of a running process, from /proc (Linux 4.7 and later).
    static func umask(of process: Process) throws -> String? {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        return status.split(separator: "\n").first { $0.hasPrefix("Umask:") }?.split(separator: "\t").last.map(String.init)
    }

    @Test("files holding personal data are 0600 from the moment they exist: after init, while the daemon runs, and preview --eml")
    func modes() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        #expect(Self.mode(cli.path("var/circulate.sqlite")) == 0o600)
        #expect(Self.mode(cli.path("var/instance.key")) == 0o600)
        #expect(Self.mode(cli.path("var/outbox")) == 0o700)
        #expect(Self.openToOthers(under: cli.path("var")) == [])
        #expect(try cli.run("member", "add", "alex@example.org", "--name", "Alex Morgan", "--source", "form").status == 0)

        // The daemon holds the database open, so its -wal and -shm exist, and it creates a lock, a state file and,
        // for send-test, a message in the outbox; whatever it creates is closed to others because of its umask.
        let daemon = try cli.start("serve")
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(cli.waitFor(10) { FileManager.default.fileExists(atPath: cli.path("var/circulate.sqlite.daemon")) })
        let umask = try Self.umask(of: daemon)
        #expect(umask == "0077", "the daemon runs with umask \(umask ?? "?")")
        #expect(try cli.run("send-test", "alex@example.org").status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.path("var/circulate.sqlite-wal")))
        #expect(FileManager.default.fileExists(atPath: cli.path("var/circulate.sqlite-shm")))
        #expect((FileManager.default.subpaths(atPath: cli.path("var/outbox/new")) ?? []).count == 1)
        #expect(Self.openToOthers(under: cli.path("var")) == [])

        // An .eml preview holds a member's name and address: 0600, also when it replaces a file that was 0644.
        _ = try cli.write("update.md", "Our December news.")
        let eml = cli.path("preview.eml")
        let r = try cli.run("preview", "announcement", "--file", "update.md", "--subject", "December", "--member", "alex@example.org", "--eml", eml)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.mode(eml) == 0o600)
        let replaced = try cli.write("old.eml", "an older preview")
        #expect(chmod(replaced, 0o644) == 0)
        #expect(try cli.run("preview", "announcement", "--file", "update.md", "--subject", "December", "--eml", replaced).status == 0)
        #expect(Self.mode(replaced) == 0o600)
        #expect(try String(contentsOfFile: replaced, encoding: .utf8).contains("Subject: December"))
        // A symbolic link is refused: the message never goes into the file it points to.
        let target = try cli.write("target.txt", "keep me")
        try FileManager.default.createSymbolicLink(atPath: cli.path("link.eml"), withDestinationPath: target)
        let linked = try cli.run("preview", "announcement", "--file", "update.md", "--subject", "December", "--eml", cli.path("link.eml"))
        #expect(linked.status != 0 && linked.stderr.contains("symbolic link"), "\(linked.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
    }

    /// An instance with one member who receives reports, and a private file standing for /etc/shadow.
    static func reportInstance() throws -> (CLI, secret: String) {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", "kim@example.org", "--role", "key-influencer", "--lawful-basis", "legitimate-interest",
                            "--source", "council website").status == 0)
        let secret = try cli.write("shadow", "root:$6$hash-of-a-password:19000:0:99999:7:::\n")
        return (cli, secret)
    }

    @Test("a report file that is a symbolic link, or not a regular file, is refused (exit 66) and nothing is sent")
    func reportNotARegularFile() throws {
        let (cli, secret) = try Self.reportInstance()
        try FileManager.default.createSymbolicLink(atPath: cli.path("shadow.pdf"), withDestinationPath: secret)
        try FileManager.default.createDirectory(atPath: cli.path("folder.pdf"), withIntermediateDirectories: true)
        for (file, why) in [("shadow.pdf", "is a symbolic link"), ("folder.pdf", "is a folder")] {
            let r = try cli.run("report", "distribute", cli.path(file), "--title", "Findings", "--audience", "key-influencer")
            #expect(r.status == 66, "\(file): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("report file \(cli.path(file))") && r.stderr.contains(why), "\(file): \(r.stderr)")
        }
        #expect((try cli.run("report", "list", "--json").json() as? [Any])?.isEmpty == true)
        #expect(try cli.queueCounts().values.reduce(0, +) == 0)
        #expect(!cli.databaseBytes().contains(subsequence: Array("hash-of-a-password".utf8)))
    }

    @Test("a report file read through a symbolically linked folder is fine; the file itself is what counts")
    func reportThroughLinkedFolder() throws {
        let (cli, _) = try Self.reportInstance()
        try FileManager.default.createDirectory(atPath: cli.path("reports/2026"), withIntermediateDirectories: true)
        try Data("%PDF-1.4 findings".utf8).write(to: URL(fileURLWithPath: cli.path("reports/2026/findings.pdf")))
        try FileManager.default.createSymbolicLink(atPath: cli.path("latest"), withDestinationPath: cli.path("reports/2026"))
        let r = try cli.run("report", "distribute", cli.path("latest/findings.pdf"), "--title", "Findings", "--audience", "key-influencer")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("queued for 1 people"), "\(r.stdout)")
    }

    @Test("a named pipe given as a report file is refused at once (exit 66), not waited on")
    func reportPipe() throws {
        let (cli, _) = try Self.reportInstance()
        #expect(mkfifo(cli.path("report.pdf"), 0o600) == 0)
        let r = try cli.run("report", "distribute", cli.path("report.pdf"), "--title", "Findings", "--audience", "key-influencer")
        #expect(r.status == 66 && r.stderr.contains("is not a regular file"), "\(r.stderr)")
    }

    @Test("a templates folder with a bad template stops serve at start-up with the file named (exit 78), never a crash later",
          arguments: [
        ("message.html.mustache", String(repeating: "{{#session}}", count: 20_000) + String(repeating: "{{/session}}", count: 20_000), "nested more than 32"),
        ("update.txt.mustache", "{{> footer}}", "partials"),
        ("update.txt.mustache", String(repeating: "{{#upcoming_sessions}}", count: 30) + "{{{content}}}" + String(repeating: "{{/upcoming_sessions}}", count: 30), "more than 1 MB"),
    ])
    func badTemplates(file: String, source: String, problem: String) throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        try FileManager.default.createDirectory(atPath: cli.path("custom"), withIntermediateDirectories: true)
        _ = try cli.write("custom/\(file)", source)
        _ = try cli.write("circulate.toml", "[templates]\ndirectory = \"custom\"\n")
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        let daemon = try cli.start("serve", log: "serve.log")
        let stopped = cli.waitFor(20) { !daemon.isRunning }
        if !stopped { daemon.terminate() }
        daemon.waitUntilExit()
        let log = (try? String(contentsOfFile: cli.path("serve.log"), encoding: .utf8)) ?? ""
        #expect(stopped && daemon.terminationReason == .exit && daemon.terminationStatus == 78,
                "serve: \(daemon.terminationReason == .exit ? "exit" : "signal") \(daemon.terminationStatus), log: \(log.prefix(500))")
        #expect(log.contains("custom/\(file)") && log.contains(problem), "\(log.prefix(500))")
        // Any command that renders messages says the same.
        _ = try cli.write("news.md", "News.")
        let preview = try cli.run("preview", "update", "--file", "news.md", "--subject", "News")
        #expect(preview.status == 78 && preview.stderr.contains("custom/\(file)"), "\(preview.stderr.prefix(500))")
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
