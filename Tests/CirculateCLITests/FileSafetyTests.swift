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
}
