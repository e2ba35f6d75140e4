import CirculateCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The web pages' templates (templates/web/*.mustache, or the built-in copies), parsed once, and the headers every
/// page carries.
public struct WebPages: Sendable {
    private let templates: [String: MustacheTemplate]

    /// The page names every site needs.
    static let names = ["page", "unsubscribe", "unsubscribed", "link-unknown", "preferences", "preferences-saved",
                        "join", "join-sent", "join-retry", "join-confirm", "join-done"]

    /// Loads `<directory>/web/NAME.html.mustache` where present, else the built-in copy; a template that does not parse
    /// is an error naming the file.
    public init(directory: String) throws(CompositionError) {
        var parsed: [String: MustacheTemplate] = [:]
        for name in Self.names {
            let file = "\(name).html.mustache"
            let path = (directory as NSString).appendingPathComponent("web/\(file)")
            let source = (try? String(contentsOfFile: path, encoding: .utf8)) ?? DefaultPages.files[file] ?? ""
            do {
                parsed[name] = try MustacheTemplate(string: source)
            } catch {
                throw CompositionError(field: FileManager.default.fileExists(atPath: path) ? path : "built-in \(file)",
                                       problem: .other("the template does not parse: \(error)"))
            }
        }
        templates = parsed
    }

    /// A whole page: `name`'s content inside the layout, with the security headers.
    func response(_ name: String, title: String, values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        let body = templates[name]?.render(values) ?? ""
        values["title"] = title
        values["body"] = body
        values["language"] = values["language"] ?? "en"
        let html = templates["page"]?.render(values) ?? body
        return Response(status: status, headers: Self.headers(contentType: "text/html; charset=utf-8"),
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// Plain text (health, metrics) with the same protective headers.
    static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: headers(contentType: contentType), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// No scripts, no framing, no referrer (a token in the URL must not leak to another site), nothing cached.
    static func headers(contentType: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[.cacheControl] = "no-store"
        if let csp = HTTPField.Name("Content-Security-Policy") {
            fields[csp] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        }
        if let referrer = HTTPField.Name("Referrer-Policy") { fields[referrer] = "no-referrer" }
        if let sniff = HTTPField.Name("X-Content-Type-Options") { fields[sniff] = "nosniff" }
        if let frames = HTTPField.Name("X-Frame-Options") { fields[frames] = "DENY" }
        return fields
    }
}
