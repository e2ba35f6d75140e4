import CirculateTestSupport
import Foundation
import Testing

/// The web pages in a real browser: headless Chromium (Debian's `chromium`, `chromium-driver`, `python3-selenium`,
/// installed by the test command), JavaScript off, a phone-sized window, driving a real `circulate serve`.
@Suite("The web pages in a real browser")
struct WebBrowserTests {
    @Test("from a message's link: a GET changes nothing, the button unsubscribes, the preference page saves, an erasure is requested")
    func unsubscribeAndPreferences() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
                     "chromium-driver is not installed; run scripts/deps test")
        let cli = try CLI()
        let port = try WebCommandTests.freePort(), operatorPort = try WebCommandTests.freePort()
        #expect(try cli.run("init").status == 0)
        #expect(try cli.run("member", "add", "rosa.diaz@example.org", "--name", "Rosa Díaz", "--source", "sign-up form").status == 0)
        _ = try cli.write("body.md", "Our next session is on **9 December**.\n")
        _ = try cli.write("circulate.toml", WebCommandTests.config(web: (port, operatorPort)))
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        let daemon = try WebCommandTests.daemon(cli, log: "serve.log")
        defer { WebCommandTests.stop(daemon) }
        #expect(try cli.run("send", "--subject", "November update", "--body", cli.path("body.md"), "--stream", "monthly-update").status == 0)
        #expect(cli.waitFor(15) { WebCommandTests.outbox(cli).count == 1 }, "\(cli.log())")
        let link = try WebCommandTests.oneClickLink(try #require(WebCommandTests.outbox(cli).first), port: port)

        try FileManager.default.createDirectory(atPath: cli.path("screens"), withIntermediateDirectories: true)
        let (status, steps, errors) = try Self.browser("browser_check.py", [link, cli.path("var/circulate.sqlite"), "rosa.diaz@example.org", cli.path("screens")])
        #expect(status == 0, "\(errors)")
        #expect(steps.count == 4, "\(steps) \(errors)")
        #expect(try cli.run("requests").stdout.contains("circulate erase rosa.diaz@example.org"))
    }

    @Test("joining: the form submitted, the confirmation captured by the test SMTP server, its link opened (nobody added), Confirm (on the list)")
    func join() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
                     "chromium-driver is not installed; run scripts/deps test")
        let server = try SMTPServer()
        let cli = try CLI()
        let port = try WebCommandTests.freePort(), operatorPort = try WebCommandTests.freePort()
        _ = try cli.write("smtp-password", "s3cret\n")
        _ = try cli.write("consent.txt", "Version: 2026-03\n\nI agree that Riverside Practice Network keeps my name and address to send me what I ticked.\n")
        _ = try cli.write("circulate.toml", WebCommandTests.config(web: (port, operatorPort)) + """
            [consent]
            wording_file = "\(cli.path("consent.txt"))"
            [smtp]
            url = "smtp://localhost:\(server.port)"
            ca_file = "\(server.caFile)"
            username = "alice"
            password_file = "smtp-password"

            """)
        cli.environment["CIRCULATE_CONFIG"] = cli.path("circulate.toml")
        #expect(try cli.run("init").status == 0)
        let daemon = try WebCommandTests.daemon(cli, log: "serve.log")
        defer { WebCommandTests.stop(daemon) }
        try FileManager.default.createDirectory(atPath: cli.path("screens"), withIntermediateDirectories: true)
        let (status, steps, errors) = try Self.browser("browser_join.py", [
            "http://127.0.0.1:\(port)/circulate/join", cli.path("var/circulate.sqlite"), "ines.carvalho@example.org",
            cli.path("screens"), server.spool, String(port),
        ])
        #expect(status == 0, "\(errors) \(cli.log())")
        #expect(steps.count == 3, "\(steps) \(errors)")
        let show = try cli.run("member", "show", "ines.carvalho@example.org", "--json").object()
        #expect(show["lawful_basis"] as? String == "consent")
    }

    /// Runs a browser script with Debian's python3 (which has python3-selenium); its exit status, steps and errors.
    static func browser(_ script: String, _ arguments: [String]) throws -> (Int32, [String], String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CLI.fixture(script)] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let steps = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])?["steps"] as? [String] ?? []
        return (process.terminationStatus, steps, errors)
    }
}
