import Foundation
import Testing

@Suite("The instance key cannot be replaced by accident")
struct InstanceKeyTests {
    static let otherKey = String(repeating: "ab", count: 32)

    @Test("a different key (a new file, or the environment overriding the file) stops every command with exit 78 and the way back")
    func differentKey() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let original = try String(contentsOfFile: cli.path("var/instance.key"), encoding: .utf8)
        #expect(try cli.run("member", "add", "ann@example.org", "--source", "sign-up form").status == 0)
        #expect(try cli.run("erase", "ann@example.org").status == 0)

        // The environment variable overrides the file: a different key there is refused too.
        cli.environment["CIRCULATE_INSTANCE_KEY"] = Self.otherKey
        for command in [["member", "list"], ["queue", "status"], ["member", "add", "ann@example.org", "--source", "sheet"], ["init"]] {
            let r = try cli.run(command)
            #expect(r.status == 78, "\(command): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("does not match this database") && r.stderr.contains("environment variable CIRCULATE_INSTANCE_KEY"),
                    "\(command): \(r.stderr)")
        }
        let serve = try cli.run("serve")
        #expect(serve.status == 78, "the daemon refuses to start with another key: \(serve.stderr)")
        cli.environment["CIRCULATE_INSTANCE_KEY"] = nil

        // A new key file: refused; the erased person is still recognised once the right key is back.
        try (Self.otherKey + "\n").write(toFile: cli.path("var/instance.key"), atomically: true, encoding: .utf8)
        #expect(try cli.run("member", "list").status == 78)
        try original.write(toFile: cli.path("var/instance.key"), atomically: true, encoding: .utf8)
        let again = try cli.run("member", "add", "ann@example.org", "--source", "a later sign-in sheet")
        #expect(again.status == 65 && again.stderr.contains("erased"), "\(again.stderr)")
    }

    @Test("with the key gone, init makes no new one for a database set up with a key, and no error advises init")
    func missingKey() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        try FileManager.default.removeItem(atPath: cli.path("var/instance.key"))
        let initAgain = try cli.run("init")
        #expect(initAgain.status == 78 && initAgain.stderr.contains("Restore that key"), "\(initAgain.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.path("var/instance.key")), "no new key was made")
        let add = try cli.run("member", "add", "bo@example.org", "--source", "sign-up form")
        #expect(add.status == 78 && add.stderr.contains("Restore that key") && !add.stderr.contains("run `circulate init`"), "\(add.stderr)")
    }

    @Test("a database from an earlier release gets its fingerprint at the first start, and says so")
    func upgrade() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        // As an earlier release left it: no fingerprint on record.
        let python = try CLI.python("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"DELETE FROM setting\"); c.commit()",
                                    [cli.path("var/circulate.sqlite")])
        #expect(python.isEmpty, "\(python)")
        let first = try cli.run("member", "list")
        #expect(first.status == 0 && first.stderr.contains("fingerprint is now recorded"), "\(first.stderr)")
        #expect(!(try cli.run("member", "list").stderr.contains("fingerprint")), "said once")
        cli.environment["CIRCULATE_INSTANCE_KEY"] = Self.otherKey
        #expect(try cli.run("member", "list").status == 78)
    }
}

@Suite("Arguments")
struct ArgumentEncodingTests {
    @Test("an argument that is not valid UTF-8 is refused, not turned into U+FFFD")
    func invalidUTF8() throws {
        let cli = try CLI()
        #expect(try cli.run("init").status == 0)
        let out = try CLI.python("""
            import subprocess, sys
            r = subprocess.run([sys.argv[1], b'member', b'add', b'zo\\xeb@example.org', b'--source', b'sheet'], cwd=sys.argv[2],
                               env={'PATH': '/usr/bin:/bin', 'HOME': sys.argv[2], 'LANG': 'C.UTF-8'}, capture_output=True)
            print(r.returncode, r.stderr.decode('utf-8', 'replace').strip())
            """, [CLI.binary, cli.directory.path])
        #expect(out.hasPrefix("65 ") && out.contains("not valid UTF-8"), "\(out)")
        #expect((try cli.listed()).isEmpty, "nothing was added")
    }
}
