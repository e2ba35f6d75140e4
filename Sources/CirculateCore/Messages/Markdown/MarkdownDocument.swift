import CCmarkGFM
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A coordinator's Markdown, parsed by cmark-gfm (GitHub Flavored Markdown) and rendered for both parts of a message:
/// HTML for text/html and a readable plain-text rendering of the same document for text/plain.
///
/// Raw HTML is left out of both (the coordinator writes Markdown; mail from a list is no place for scripts, forms or
/// styles that the list's own layout does not set), and a link or image whose URL is not http, https or mailto keeps
/// its words but loses the link. Safe to use from any thread: parsing is serialised (see `parsing`).
struct MarkdownDocument: Sendable {
    /// The HTML fragment (paragraphs, headings, lists, tables...), to be placed inside the layout's body.
    let html: String
    /// The same document as plain text: links as "text (URL)", headings underlined, list markers kept.
    let text: String

    /// The URL schemes a link or image may use.
    static let allowedSchemes: Set<String> = ["http", "https", "mailto"]

    /// The GitHub extensions in use. The tag filter only matters if raw HTML were ever let through; it stays attached
    /// so that such a change could not bring `<script>` or `<iframe>` with it.
    private static let extensionNames = ["autolink", "table", "strikethrough", "tagfilter"]

    /// Safe rendering (cmark-gfm's default), and strikethrough only with `~~`: a single tilde ("~20 people") is how
    /// coordinators write "about".
    private static let options = CMARK_OPT_DEFAULT | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE

    /// cmark-gfm's registration of its extensions mutates a global list without a lock, so it happens once, here
    /// (a static's initialiser runs exactly once even when first reached from several threads at the same time).
    private static let extensionsRegistered: Bool = {
        cmark_gfm_core_extensions_ensure_registered()
        return true
    }()

    /// One document at a time: cmark-gfm 0.29 keeps the inline parser's special characters in a process-wide table;
    /// finishing a document adds its extensions' characters (strikethrough's "~") and takes them out again at the end,
    /// so a document finished on one thread could make another thread's lose its strikethrough (seen in the test
    /// "many threads rendering at once"). Documents are rendered once per
    /// mailing, never per recipient, so the wait costs nothing that matters.
    private static let parsing = Mutex(())

    /// Parses and renders `markdown`.
    init(_ markdown: String) {
        (html, text) = Self.parsing.withLock { _ in Self.render(markdown) }
    }

    /// Parses and renders `markdown`; called with `parsing` held.
    private static func render(_ markdown: String) -> (html: String, text: String) {
        _ = Self.extensionsRegistered
        let html: String
        // cmark-gfm's allocator aborts rather than return NULL, so these guards are for a broken library only; the
        // fallback still shows the words, escaped.
        guard let parser = cmark_parser_new(Self.options) else {
            return ("<p>" + SlottedText.escapeHTML(markdown) + "</p>", markdown)
        }
        defer { cmark_parser_free(parser) }
        for name in Self.extensionNames {
            if let syntax = cmark_find_syntax_extension(name) {
                cmark_parser_attach_syntax_extension(parser, syntax)
            }
        }
        cmark_parser_feed(parser, markdown, markdown.utf8.count)
        guard let root = cmark_parser_finish(parser) else {
            return ("<p>" + SlottedText.escapeHTML(markdown) + "</p>", markdown)
        }
        defer { cmark_node_free(root) }
        Self.sanitise(root)
        // The extension list must be passed (and the parser still alive) for the extensions' own rendering to apply.
        if let rendered = cmark_render_html(root, Self.options, cmark_parser_get_syntax_extensions(parser)) {
            html = String(cString: rendered).trimmingTrailingNewlines()
            free(rendered)
        } else {
            html = "<p>" + SlottedText.escapeHTML(markdown) + "</p>"
        }
        return (html, MarkdownPlainText.render(root))
    }

    /// Whether a link or image may point at `url`: an http, https or mailto URL. Anything else (javascript:, data:,
    /// file:, a relative path that means nothing in a mailbox) is refused.
    static func allows(url: String) -> Bool {
        guard let colon = url.firstIndex(of: ":") else { return false }
        return allowedSchemes.contains(url[..<colon].lowercased())
    }

    /// Removes raw HTML and unwraps links and images whose URL is refused (their words stay, as plain text).
    private static func sanitise(_ root: OpaquePointer) {
        var rawHTML: [OpaquePointer] = []
        var seen: Set<OpaquePointer> = []
        var refused: [OpaquePointer] = []
        guard let iterator = cmark_iter_new(root) else { return }
        while case let event = cmark_iter_next(iterator), event != CMARK_EVENT_DONE {
            guard event == CMARK_EVENT_ENTER, let node = cmark_iter_get_node(iterator) else { continue }
            let type = cmark_node_get_type(node)
            if type == CMARK_NODE_HTML_BLOCK || type == CMARK_NODE_HTML_INLINE {
                for removed in [node] + scriptContent(after: node) where seen.insert(removed).inserted {
                    rawHTML.append(removed)
                }
            } else if type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE {
                let url = cmark_node_get_url(node).map { String(cString: $0) } ?? ""
                if !allows(url: url) { refused.append(node) }
            }
        }
        cmark_iter_free(iterator)
        // The tree is changed only after the walk, which a change would otherwise confuse.
        for node in rawHTML { cmark_node_free(node) }
        for node in refused {
            while let child = cmark_node_first_child(node) {
                cmark_node_insert_before(node, child)
            }
            cmark_node_free(node)
        }
    }
}

extension MarkdownDocument {
    /// After an inline `<script>` or `<style>` tag, the nodes up to its closing tag: cmark-gfm sees only the two tags
    /// as raw HTML and would keep the code between them as words. (A block starting with such a tag is raw HTML whole.)
    fileprivate static func scriptContent(after node: OpaquePointer) -> [OpaquePointer] {
        guard cmark_node_get_type(node) == CMARK_NODE_HTML_INLINE else { return [] }
        let tag = (cmark_node_get_literal(node).map { String(cString: $0) } ?? "").lowercased()
        guard let name = ["script", "style"].first(where: { tag.hasPrefix("<\($0)") }) else { return [] }
        var content: [OpaquePointer] = []
        var next = cmark_node_next(node)
        while let sibling = next {
            content.append(sibling)
            if cmark_node_get_type(sibling) == CMARK_NODE_HTML_INLINE,
               (cmark_node_get_literal(sibling).map { String(cString: $0) } ?? "").lowercased().hasPrefix("</\(name)") {
                return content
            }
            next = cmark_node_next(sibling)
        }
        return []  // never closed in this paragraph: the words stay, as cmark-gfm's own tag filter would keep them
    }
}

extension String {
    /// The string without the line breaks at its end.
    fileprivate func trimmingTrailingNewlines() -> String {
        var end = endIndex
        while end > startIndex, self[index(before: end)].isNewline { end = index(before: end) }
        return String(self[..<end])
    }
}
