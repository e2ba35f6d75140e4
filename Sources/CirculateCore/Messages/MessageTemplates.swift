import Foundation
import Mustache

/// The HTML and plain-text layouts every message is wrapped in.
public struct MessageTemplates: Sendable {
    let html: MustacheTemplate
    let text: MustacheTemplate
    /// Where they came from ("built-in" or a folder), for logs.
    public let origin: String

    /// Loads templates/message.html.mustache and message.txt.mustache from `directory` if it holds them, else the
    /// built-in copies.
    public static func load(directory: String?) throws(ConfigurationError) -> MessageTemplates {
        let fm = FileManager.default
        if let directory, fm.fileExists(atPath: directory + "/message.html.mustache") {
            func read(_ name: String) throws(ConfigurationError) -> MustacheTemplate {
                let path = directory + "/" + name
                guard let data = fm.contents(atPath: path), let source = String(data: data, encoding: .utf8) else {
                    throw ConfigurationError(file: path, "cannot be read as UTF-8 text")
                }
                do { return try MustacheTemplate(string: source) } catch {
                    throw ConfigurationError(file: path, "is not a valid Mustache template (\(error))")
                }
            }
            return MessageTemplates(html: try read("message.html.mustache"), text: try read("message.txt.mustache"), origin: directory)
        }
        do {
            return MessageTemplates(html: try MustacheTemplate(string: DefaultTemplates.html),
                                    text: try MustacheTemplate(string: DefaultTemplates.text), origin: "built-in")
        } catch {
            throw ConfigurationError(file: nil, "the built-in templates do not parse: \(error)")
        }
    }
}
