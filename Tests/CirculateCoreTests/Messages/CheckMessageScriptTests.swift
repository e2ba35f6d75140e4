import Foundation
import Testing
@testable import CirculateCore

/// Runs composed messages past an independent parser: Python's `email` package, through Tests/Fixtures/check_message.py
/// (which also makes the byte-level checks Python does not). Skipped where python3 is not installed.
@Suite("Composed messages pass the independent checker", .enabled(if: CheckerScript.python != nil))
struct CheckMessageScriptTests {
    @Test("Python's email parser reads back the headers, bodies and attachments exactly, with no violations")
    func independentParserAgrees() throws {
        let subjects = ["Monthly update", "Zoë Ångström — 日本語", String(repeating: "日本語のテキスト ", count: 10), ""]
        let names: [String?] = ["Ann Example", "Smith, Zoe", "Zoë \"Z\" Ångström", nil]
        let text = "Dear member,\n.\nFrom the session: a = b   \n" + String(repeating: "long ", count: 50)
        let html = "<p>Dear member,</p>\n<p>" + String(repeating: "Ünïcödé ", count: 30) + "</p>"
        let ics = Array("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n".utf8)
        var messages: [OutgoingMessage] = []
        for (index, subject) in subjects.enumerated() {
            let to = Mailbox(displayName: names[index], address: Sample.address(index == 3 ? "jörg@bücher.example.org"
                                                                                   : "m\(index)@example.org"))
            let attachments = index < 2 ? [] : [
                Attachment(filename: "Bericht Übersicht \(index).pdf", contentType: "application/pdf",
                           data: Array(0...255)),
                Attachment(filename: "invite.ics", contentType: "text/calendar", data: ics,
                           extraContentTypeParameters: [.init("method", "REQUEST")]),
            ]
            messages.append(Sample.message(
                replyTo: index == 1 ? [Sample.ann] : [], to: to, subject: subject, extraHeaders: Sample.listHeaders,
                text: text, html: index % 2 == 1 ? html : nil, attachments: attachments))
        }

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("circulate-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (index, message) in messages.enumerated() {
            let url = directory.appendingPathComponent("\(index).eml")
            try Data(try MessageComposer.compose(message, boundarySeed: "c\(index)")).write(to: url)
            paths.append(url.path)
        }

        let (status, output) = try CheckerScript.run(paths)
        let results = try output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(status == 0, "checker output: \(output)")
        try #require(results.count == messages.count)
        for (message, result) in zip(messages, results) {
            #expect(result["ok"] as? Bool == true, "\(result["violations"] ?? "")")
            #expect(result["subject"] as? String == message.subject.trimmingCharacters(in: .whitespaces))
            let to = (result["addresses"] as? [String: Any])?["to"] as? [[String]]
            #expect(to == [[message.to.displayName ?? "", message.to.address.envelope]])
            #expect(result["smtputf8"] as? Bool == MessageComposer.requiresSMTPUTF8(message))
            let parts = try #require(result["parts"] as? [[String: Any]])
            #expect(parts.first?["text"] as? String == MessageReader.crlf(message.textBody))
            if let html = message.htmlBody {
                #expect(parts[1]["text"] as? String == MessageReader.crlf(html))
            }
            let files = parts.filter { $0["disposition"] is String }
            #expect(files.map { $0["filename"] as? String } == message.attachments.map(\.filename))
            #expect(files.map { $0["size"] as? Int } == message.attachments.map(\.data.count))
        }
    }

    @Test("the HTML part's structure is checked: balance, nesting, known tags, handlers, URL schemes, escaping")
    func htmlStructureViolations() throws {
        let cases: [(html: String, code: String)] = [
            ("<p>Open paragraph</p>\n<p>never closed", "html-unbalanced"),
            ("<p>One</p></div>", "html-unbalanced"),
            ("<p>Before<ul><li>item</li></ul></p>", "html-nesting"),
            ("<p><marquee>moving</marquee></p>", "html-unknown-tag"),
            ("<p onclick=\"go()\">Click</p>", "html-attribute"),
            ("<p><a href=\"javascript:alert(1)\">here</a></p>", "html-unsafe-url"),
            ("<p><img src=\"data:image/png;base64,AAAA\" alt=\"x\" /></p>", "html-unsafe-url"),
            ("<p>Write to <kim@example.org> today</p>", "html-unknown-tag"),
            ("<p>Fish & chips for a < b</p>", "html-unescaped"),
        ]
        let good = "<p>Fish &amp; chips for a &lt; b, <a href=\"https://example.org/\">link</a><br><img src=\"https://example.org/i.png\" alt=\"\" /></p>"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("circulate-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (index, html) in ([good] + cases.map(\.html)).enumerated() {
            let url = directory.appendingPathComponent("\(index).eml")
            try Data(try MessageComposer.compose(Sample.message(html: html), boundarySeed: "h\(index)")).write(to: url)
            paths.append(url.path)
        }
        let (_, output) = try CheckerScript.run(paths)
        let results = output.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        try #require(results.count == paths.count, "\(output)")
        #expect(results[0]["ok"] as? Bool == true, "\(results[0]["violations"] ?? "")")
        let htmlPart = (results[0]["parts"] as? [[String: Any]])?.first { $0["content_type"] as? String == "text/html" }
        #expect(htmlPart?["html_text"] as? String == "\nFish & chips for a < b, link\n\n", "the reader's text, references decoded")
        #expect(htmlPart?["html_urls"] as? [String] == ["https://example.org/", "https://example.org/i.png"])
        for (index, expected) in cases.enumerated() {
            let violations = results[index + 1]["violations"] as? [String] ?? []
            #expect(violations.contains { $0.hasPrefix(expected.code + ":") }, "\(expected.html): \(violations)")
        }
    }
}

/// Where the checker script and a Python interpreter are.
enum CheckerScript {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/check_message.py")

    static let python: URL? = {
        guard FileManager.default.fileExists(atPath: script.path) else { return nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").lazy
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("python3") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs the checker on the files; returns its exit status and standard output.
    static func run(_ paths: [String]) throws -> (Int32, String) {
        let process = Process()
        guard let python else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = python
        process.arguments = [script.path] + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
