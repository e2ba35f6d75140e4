import Foundation
import Testing

@Suite("circulate init, version, configuration and exit codes")
struct SetupCommandTests {
    @Test("version prints circulate, libcurl and SQLite versions, also as JSON")
    func version() throws {
        let cli = try CLI()
        let text = try cli.run("version")
        #expect(text.status == 0)
        #expect(text.stdout.contains("circulate 0.1.0"))
        #expect(text.stdout.contains("libcurl   7."))
        #expect(text.stdout.contains("SQLite    3."))
        let json = try cli.run("version", "--json").object()
        #expect((json["libcurl"] as? String)?.hasPrefix("7.") == true)
        #expect((json["sqlite"] as? String)?.hasPrefix("3.") == true)
        #expect(json["libcurl_smtp"] as? Bool == true)
    }

    @Test("commands before init say to run init, with their own exit code")
    func notInitialised() throws {
        let cli = try CLI()
        let r = try cli.run("member", "list")
        #expect(r.status == 69)
        #expect(r.stderr.contains("circulate init"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("var/circulate.sqlite")))
    }

    @Test("init creates the database, the Maildir outbox and a 0600 instance key, and never replaces the key")
    func initialise() throws {
        let cli = try CLI()
        let first = try cli.run("init", "--json").object()
        #expect(first["database_created"] as? Bool == true)
        #expect(first["instance_key_created"] as? Bool == true)
        for folder in ["var/outbox/new", "var/outbox/cur", "var/outbox/tmp"] {
            var isDir: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: cli.path(folder), isDirectory: &isDir) && isDir.boolValue)
        }
        let keyPath = cli.path("var/instance.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let key = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(key.trimmingCharacters(in: .newlines).count == 64)
        #expect(!first.description.contains(key.trimmingCharacters(in: .newlines)), "init must not print the key")

        let second = try cli.run("init", "--json").object()
        #expect(second["database_created"] as? Bool == false)
        #expect(second["instance_key_created"] as? Bool == false)
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == key)
    }

    @Test("an invalid configuration value fails with the key, the value and what is allowed (exit 78)")
    func badConfiguration() throws {
        let cli = try CLI()
        let file = try cli.write("bad.toml", "[community]\ntimezone = \"Europe/Londn\"\n")
        let r = try cli.run("--config", file, "member", "list")
        #expect(r.status == 78)
        #expect(r.stderr.contains("community.timezone"))
        #expect(r.stderr.contains("Europe/Londn"))
        #expect(r.stderr.contains("Europe/London"))

        let missing = try cli.run("member", "list", "--config", cli.path("nope.toml"))
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("nope.toml"))

        cli.environment["CIRCULATE_CONFIG"] = cli.path("also-missing.toml")
        #expect(try cli.run("member", "list").status == 78)
    }

    @Test("a configuration file moves the database; ./config/circulate.toml is found by default")
    func configurationFile() throws {
        let cli = try CLI()
        try FileManager.default.createDirectory(atPath: cli.path("config"), withIntermediateDirectories: true)
        _ = try cli.write("config/circulate.toml", """
            [community]
            name = "Riverside CoP"
            [storage]
            database = "data/list.sqlite"
            """)
        #expect(try cli.run("init").status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.path("data/list.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: cli.path("var/circulate.sqlite")))
    }

    @Test("the instance key can come from an environment variable; a weak one is refused and never echoed")
    func keyFromEnvironment() throws {
        let cli = try CLI()
        let key = String(repeating: "ab", count: 32)
        cli.environment["CIRCULATE_INSTANCE_KEY"] = key
        let r = try cli.run("init")
        #expect(r.status == 0)
        #expect(r.stdout.contains("environment variable CIRCULATE_INSTANCE_KEY"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("var/instance.key")))
        #expect(try cli.run("member", "add", "alex@example.org", "--source", "form").status == 0)

        cli.environment["CIRCULATE_INSTANCE_KEY"] = "hunter2-weak"
        let weak = try cli.run("member", "add", "kim@example.org", "--source", "form")
        #expect(weak.status == 78)
        #expect(!weak.stderr.contains("hunter2"))
        #expect(!(weak.stdout + weak.stderr).contains(key))
    }

    @Test("usage errors exit 64", arguments: [["frobnicate"], ["member", "add"], ["member", "add", "alex@example.org"],
                                              ["member", "edit", "alex@example.org", "--organisation", "x", "--clear-organisation"]])
    func usage(arguments: [String]) throws {
        let cli = try CLI()
        _ = try cli.run("init")
        let r = try cli.run(arguments)
        #expect(r.status == 64, "\(arguments): \(r.stderr)")
    }
}
