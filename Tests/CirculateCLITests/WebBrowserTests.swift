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
        let file = try #require(WebCommandTests.outbox(cli).first)
        let header = try #require(try WebCommandTests.headers(file)["List-Unsubscribe"])
        let https = try #require(header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("<https://") })
        let link = "http://127.0.0.1:\(port)" + String(https.dropFirst("<https://lists.example.org".count).dropLast())

        try FileManager.default.createDirectory(atPath: cli.path("screens"), withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [CLI.fixture("browser_check.py"), link, cli.path("var/circulate.sqlite"), "rosa.diaz@example.org", cli.path("screens")]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(errors)")
        let steps = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])?["steps"] as? [String] ?? []
        #expect(steps.count == 4, "\(output) \(errors)")
        #expect(try cli.run("requests").stdout.contains("circulate erase rosa.diaz@example.org"))
    }
}
