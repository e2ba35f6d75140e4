import Foundation
import Testing
@testable import CirculateCore

@Suite("Templates from a folder are checked at start-up")
struct MessageTemplatesTests {
    /// A templates folder holding `files` (name -> source); every other template comes from the built-in copies.
    static func folder(_ files: [String: String]) throws -> Scratch {
        let scratch = try Scratch()
        for (name, source) in files {
            try source.write(toFile: scratch.path(name), atomically: true, encoding: .utf8)
        }
        return scratch
    }

    /// The error loading `files` gives, or nil if they load.
    static func refusal(_ files: [String: String]) throws -> ConfigurationError? {
        let scratch = try folder(files)
        do {
            _ = try MessageTemplates.load(directory: scratch.url.path)
            return nil
        } catch {
            return error
        }
    }

    static func nested(_ depth: Int, _ name: String = "session", body: String = "x") -> String {
        String(repeating: "{{#\(name)}}", count: depth) + body + String(repeating: "{{/\(name)}}", count: depth)
    }

    @Test("the built-in templates, and the repository's templates folder, pass every check")
    func builtIn() throws {
        _ = try MessageTemplates.load(directory: nil)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let templates = try MessageTemplates.load(directory: root.appendingPathComponent("templates").path)
        #expect(templates.origin.contains("\(MessageTemplates.fileNames.count) of \(MessageTemplates.fileNames.count) files"))
    }

    @Test("sections nested 32 deep are fine; 33 deep is refused with the file and line")
    func nestingLimit() throws {
        #expect(try Self.refusal(["announcement.txt.mustache": Self.nested(32)]) == nil)
        let error = try #require(try Self.refusal(["announcement.txt.mustache": "Hello\n" + Self.nested(33)]))
        #expect(error.file?.hasSuffix("/announcement.txt.mustache") == true)
        #expect(error.message.contains("line 2") && error.message.contains("more than 32"), "\(error.message)")
    }

    @Test("nesting is counted through inverted sections, blocks and changed delimiters too")
    func nestingInOtherForms() throws {
        let inverted = String(repeating: "{{^a}}", count: 20) + String(repeating: "{{#b}}", count: 20) + "x"
            + String(repeating: "{{/b}}", count: 20) + String(repeating: "{{/a}}", count: 20)
        #expect(try Self.refusal(["test.txt.mustache": inverted])?.message.contains("more than 32") == true)
        let blocks = String(repeating: "{{$a}}", count: 40) + String(repeating: "{{/a}}", count: 40)
        #expect(try Self.refusal(["test.txt.mustache": blocks])?.message.contains("more than 32") == true)
        let delimiters = "{{=<% %>=}}" + String(repeating: "<%#a%>", count: 40) + String(repeating: "<%/a%>", count: 40)
        #expect(try Self.refusal(["test.txt.mustache": delimiters])?.message.contains("more than 32") == true)
        // A comment or a triple mustache that merely mentions "{{#" does not count.
        let harmless = "{{! " + String(repeating: "{{#a ", count: 40) + "}}{{{content}}}"
        #expect(try Self.refusal(["test.txt.mustache": harmless]) == nil)
    }

    @Test("very deep nesting is refused at start-up instead of crashing the parser")
    func veryDeepNesting() throws {
        let error = try #require(try Self.refusal(["message.html.mustache": Self.nested(20_000)]))
        #expect(error.file?.hasSuffix("/message.html.mustache") == true)
        #expect(error.message.contains("more than 32"))
    }

    @Test("partials are refused: circulate renders templates without a library, so a partial would silently vanish",
          arguments: ["Before {{> message.txt}} after", "{{<message.txt}}{{$body}}x{{/body}}{{/message.txt}}", "{{>*name}}"])
    func partials(source: String) throws {
        let error = try #require(try Self.refusal(["update.txt.mustache": source]))
        #expect(error.file?.hasSuffix("/update.txt.mustache") == true)
        #expect(error.message.contains("partial"), "\(error.message)")
    }

    @Test("a template whose output with sample data passes 1 MB is refused, and the check itself stays quick", arguments: [
        // A list repeated inside itself: 2^30 copies with two sample sessions.
        ("update.txt.mustache", nested(30, "upcoming_sessions")),
        // The same with the missed slots a note to the coordinator lists.
        ("notice-slot-missed.md.mustache", nested(30, "slots")),
        // The same through a transform on a session's values.
        ("invitation.html.mustache", nested(12, "enumerated(session)")),
        // The message body, repeated a thousand times.
        ("message.html.mustache", String(repeating: "{{{body}}}", count: 1000)),
        // The message's content, repeated inside a subject's section.
        ("subjects.txt.mustache", (DefaultTemplates.files["subjects.txt.mustache"] ?? "") + String(repeating: "{{#thank-you}}{{{content}}}{{/thank-you}}", count: 2000)),
    ])
    func outputCap(name: String, source: String) throws {
        let started = Date()
        let error = try #require(try Self.refusal([name: source]))
        // Not a timing floor: without the cap, the first case alone renders 2^30 copies and never finishes. The bound
        // is loose so that a loaded machine cannot fail it.
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(error.file?.hasSuffix("/\(name)") == true)
        #expect(error.message.contains("more than 1 MB"), "\(error.message)")
    }

    @Test("a template file over 1 MB is refused before it is parsed")
    func fileSize() throws {
        let error = try #require(try Self.refusal(["closing.txt.mustache": String(repeating: "a", count: 1_000_001)]))
        #expect(error.file?.hasSuffix("/closing.txt.mustache") == true && error.message.contains("1 MB"), "\(error.message)")
    }

    @Test("an ordinary customised template with loops and transforms is accepted and renders as before")
    func ordinary() throws {
        let update = """
            {{% CONTENT_TYPE: TEXT}}
            {{content}}
            {{#has_upcoming}}
            Coming up:
            {{#upcoming_sessions}}
            - {{title}}, {{when}}{{#location}}, {{location}}{{/location}}
            {{/upcoming_sessions}}
            {{/has_upcoming}}
            {{#recent_reports}}{{#first}}Latest report: {{title}}{{/first}}{{/recent_reports}} {{uppercased(community)}}
            """
        #expect(try Self.refusal(["update.txt.mustache": update]) == nil)
    }
}
