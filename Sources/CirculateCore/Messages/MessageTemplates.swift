import Foundation
import Mustache

/// Every template a message is made from: the base layout (HTML and text), the closing line, and each message
/// kind's body (HTML and text). All are parsed when loaded, so a broken one stops `serve` at start-up with its
/// file and line instead of failing at send time.
public struct MessageTemplates: Sendable {
    /// A kind's HTML and plain-text templates.
    struct Pair: Sendable {
        let html: MustacheTemplate
        let text: MustacheTemplate

        /// Renders the HTML or the text template.
        func render(_ values: [String: Any], html: Bool) -> String {
            (html ? self.html : text).render(values)
        }
    }

    let layout: Pair
    let closing: MustacheTemplate
    /// A session's block (title, time, place), rendered into `details` wherever a session appears.
    let sessionDetails: Pair
    /// The summary and next invitation shared by the thank-you, missed-you and no-show kinds.
    let followUp: Pair
    let kinds: [Mailing.Kind: Pair]
    /// The subjects circulate writes itself, one section per message (`subjects.txt.mustache`).
    let subjects: MustacheTemplate
    /// The Markdown of notes to the coordinator, by name (`notice-NAME.md.mustache`).
    let notices: [String: MustacheTemplate]
    /// Where they came from ("built-in", or a folder and which of its files were used), for logs.
    public let origin: String

    /// Every template file name, in a stable order.
    public static var fileNames: [String] {
        ["message.html.mustache", "message.txt.mustache", "closing.txt.mustache",
         "session-details.html.mustache", "session-details.txt.mustache", "session-follow-up.html.mustache", "session-follow-up.txt.mustache"]
            + Mailing.Kind.allCases.flatMap { ["\($0.rawValue).html.mustache", "\($0.rawValue).txt.mustache"] }
            + ["subjects.txt.mustache"] + noticeNames.map { "notice-\($0).md.mustache" }
    }

    /// The sections of `subjects.txt.mustache`: every subject circulate writes itself.
    public static let subjectNames = ["thank-you", "missed-you", "no-show", "session-notes", "invitation", "reminder", "session-moved", "session-changed",
                                      "session-cancelled", "report-follow-up", "report-notice", "slot-reminder", "slot-missed"]
    /// The notes to the coordinator.
    public static let noticeNames = ["slot-reminder", "slot-missed"]

    /// Loads each template from `directory` where it holds that file, else the built-in copy, and checks each one
    /// (see `MessageTemplates+Checks.swift`): a problem names the file and stops start-up.
    public static func load(directory: String?) throws(ConfigurationError) -> MessageTemplates {
        var fromFolder: [String] = []
        var rehearsals: [(origin: String, template: MustacheTemplate, size: Int)] = []
        func template(_ name: String) throws(ConfigurationError) -> MustacheTemplate {
            let fm = FileManager.default
            var source: String
            var origin: String
            if let directory, fm.fileExists(atPath: directory + "/" + name) {
                let path = directory + "/" + name
                let size = (try? fm.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
                guard size <= maximumSize else {
                    throw ConfigurationError(file: path, "is more than 1 MB; a template lays out one message, so keep it small")
                }
                guard let data = fm.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    throw ConfigurationError(file: path, "cannot be read as UTF-8 text")
                }
                source = text
                origin = path
                fromFolder.append(name)
            } else {
                guard let builtIn = DefaultTemplates.files[name] else {
                    throw ConfigurationError(file: nil, "the built-in template \(name) is missing from this build")
                }
                source = builtIn
                origin = "built-in \(name)"
            }
            if let problem = structureProblem(in: source) {
                throw ConfigurationError(file: origin, problem)
            }
            do {
                let parsed = try MustacheTemplate(string: source)
                rehearsals.append((origin, parsed, source.utf8.count))
                return parsed
            } catch let error as MustacheTemplate.ParserError {
                let c = error.context
                throw ConfigurationError(file: origin, "line \(c.lineNumber), column \(c.columnNumber): \(Self.explain(error.error)) in \"\(TextField.printable(c.line.trimmingCharacters(in: .whitespaces)))\"")
            } catch {
                throw ConfigurationError(file: origin, "is not a valid Mustache template (\(error))")
            }
        }
        let layout = Pair(html: try template("message.html.mustache"), text: try template("message.txt.mustache"))
        let closing = try template("closing.txt.mustache")
        let sessionDetails = Pair(html: try template("session-details.html.mustache"), text: try template("session-details.txt.mustache"))
        let followUp = Pair(html: try template("session-follow-up.html.mustache"), text: try template("session-follow-up.txt.mustache"))
        var kinds: [Mailing.Kind: Pair] = [:]
        for kind in Mailing.Kind.allCases {
            kinds[kind] = Pair(html: try template("\(kind.rawValue).html.mustache"), text: try template("\(kind.rawValue).txt.mustache"))
        }
        let subjects = try template("subjects.txt.mustache")
        var notices: [String: MustacheTemplate] = [:]
        for name in noticeNames { notices[name] = try template("notice-\(name).md.mustache") }
        let origin = fromFolder.isEmpty ? "built-in" : "\(directory ?? "") (\(fromFolder.count) of \(fileNames.count) files; the rest built-in)"
        let templates = MessageTemplates(layout: layout, closing: closing, sessionDetails: sessionDetails, followUp: followUp,
                                         kinds: kinds, subjects: subjects, notices: notices, origin: origin)
        // A subjects file that lost a section would make messages without a subject: refuse it now.
        for name in subjectNames where templates.renderSubject(name, [:]) == nil {
            throw ConfigurationError(file: fromFolder.contains("subjects.txt.mustache") ? (directory ?? "") + "/subjects.txt.mustache" : "built-in subjects.txt.mustache",
                                     "has no {{#\(name)}}...{{/\(name)}} line; every subject circulate writes needs one")
        }
        for rehearsal in rehearsals {
            if let problem = rehearsalProblem(rehearsal.template, sourceSize: rehearsal.size) {
                throw ConfigurationError(file: rehearsal.origin, problem)
            }
        }
        return templates
    }

    /// The subject `name` (a section of `subjects.txt.mustache`) with `values` filled in.
    public func subject(_ name: String, _ values: [String: Any]) -> String {
        renderSubject(name, values) ?? name
    }

    private func renderSubject(_ name: String, _ values: [String: Any]) -> String? {
        var context = values
        context[name] = true
        return subjects.render(context).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }

    /// The Markdown of the note to the coordinator `name` with `values` filled in.
    public func notice(_ name: String, _ values: [String: Any]) -> String {
        notices[name]?.render(values) ?? ""
    }

    private static func explain(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect?: "a section is closed ({{/...}}) with a different name from the one opened ({{#...}})"
        case .unfinishedName?: "a tag is not finished (missing }})"
        case .expectedSectionEnd?: "a section ({{#...}} or {{^...}}) is never closed with {{/...}}"
        case .invalidSetDelimiter?: "a set-delimiter tag is badly formed"
        default: "\(error)"
        }
    }
}
