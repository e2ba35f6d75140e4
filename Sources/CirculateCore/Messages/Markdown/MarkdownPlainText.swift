import Foundation
import CCmarkGFM

/// The text/plain rendering of a parsed Markdown document, written to be read as it is: emphasis markers are dropped
/// (bold and italics alike), links read "text (URL)", headings are underlined, list items keep their "-" or "1."
/// markers, quotes keep "> ", code is indented and tables are aligned in columns. Strikethrough keeps its "~~", since
/// without it the struck words would read as meant. Lines are not re-wrapped: mail programs wrap text themselves.
///
/// cmark-gfm has a plain-text renderer of its own, but it drops link URLs; this one walks the tree with cmark's
/// iterator (no recursion, so deeply nested quotes or lists cannot exhaust a thread's stack).
struct MarkdownPlainText {
    /// A quote or list item the current line is inside: its first line starts with `first`, the others with `rest`.
    private struct Container {
        var first: String
        var rest: String
        var started = false
    }

    private var lines: [String] = []
    private var containers: [Container] = []
    /// The next list item's number, one per open list.
    private var itemNumbers: [Int] = []
    /// Whether a blank line goes before the next block.
    private var blankPending = false
    /// The inline text of the paragraph, heading, table cell or link being read.
    private var inline = ""
    /// The text before each open link or image, put back when it closes.
    private var outerInline: [String] = []
    private var tableRows: [[String]] = []
    private var row: [String] = []

    /// The plain text of the document whose root is `root`.
    static func render(_ root: OpaquePointer) -> String {
        var renderer = MarkdownPlainText()
        guard let iterator = cmark_iter_new(root) else { return "" }
        defer { cmark_iter_free(iterator) }
        while case let event = cmark_iter_next(iterator), event != CMARK_EVENT_DONE {
            guard let node = cmark_iter_get_node(iterator) else { continue }
            renderer.visit(node, entering: event == CMARK_EVENT_ENTER)
        }
        return renderer.lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    private mutating func visit(_ node: OpaquePointer, entering: Bool) {
        let type = cmark_node_get_type(node)
        switch type {
        case CMARK_NODE_PARAGRAPH:
            if entering { startBlock(); inline = "" } else { emitLines(inline); endBlock(node) }
        case CMARK_NODE_HEADING:
            if entering {
                startBlock()
                inline = ""
            } else {
                emitLines(inline)
                let width = inline.split(separator: "\n").map(\.count).max() ?? 0
                emit(String(repeating: cmark_node_get_heading_level(node) == 1 ? "=" : "-", count: max(3, width)))
                endBlock(node)
            }
        case CMARK_NODE_BLOCK_QUOTE:
            if entering {
                startBlock()
                containers.append(Container(first: "> ", rest: "> "))
            } else {
                containers.removeLast()
                endBlock(node)
            }
        case CMARK_NODE_LIST:
            if entering {
                startBlock()
                itemNumbers.append(Int(cmark_node_get_list_start(node)))
            } else {
                itemNumbers.removeLast()
                endBlock(node)
            }
        case CMARK_NODE_ITEM:
            if entering {
                startBlock()
                let ordered = cmark_node_parent(node).map { cmark_node_get_list_type($0) == CMARK_ORDERED_LIST } ?? false
                var marker = "- "
                if ordered, let number = itemNumbers.last {
                    marker = "\(number). "
                    itemNumbers[itemNumbers.count - 1] = number + 1
                }
                containers.append(Container(first: marker, rest: String(repeating: " ", count: marker.count)))
            } else {
                if containers.last?.started == false { emit("") }  // an empty item still shows its marker
                containers.removeLast()
            }
        case CMARK_NODE_CODE_BLOCK:
            startBlock()
            var code = literal(node)
            if code.hasSuffix("\n") { code.removeLast() }
            for line in code.split(separator: "\n", omittingEmptySubsequences: false) {
                emit(line.isEmpty ? "" : "    " + line)
            }
            endBlock(node)
        case CMARK_NODE_THEMATIC_BREAK:
            startBlock()
            emit("----------")
            endBlock(node)
        case CMARK_NODE_TEXT, CMARK_NODE_CODE:
            inline += literal(node)
        case CMARK_NODE_SOFTBREAK, CMARK_NODE_LINEBREAK:
            inline += "\n"
        case CMARK_NODE_LINK, CMARK_NODE_IMAGE:
            if entering {
                outerInline.append(inline)
                inline = ""
            } else {
                let words = inline
                inline = (outerInline.popLast() ?? "") + words + Self.target(cmark_node_get_url(node).map { String(cString: $0) } ?? "",
                                                                            after: words)
            }
        default:
            extensionNode(node, type: cmark_node_get_type_string(node).map { String(cString: $0) } ?? "", entering: entering)
        }
    }

    /// The GitHub extensions' nodes, known by name (their type numbers are assigned when they register).
    private mutating func extensionNode(_ node: OpaquePointer, type: String, entering: Bool) {
        switch type {
        case "strikethrough":
            inline += "~~"
        case "table":
            if entering {
                startBlock()
                tableRows = []
            } else {
                emitTable()
                endBlock(node)
            }
        case "table_header", "table_row":
            if entering { row = [] } else { tableRows.append(row) }
        case "table_cell":
            if entering { inline = "" } else { row.append(inline) }
        default:
            break  // emphasis, strong and anything unknown: their text arrives through their children
        }
    }

    /// What follows a link's words: " (URL)", unless the words already are the URL (an autolink, a bare address).
    static func target(_ url: String, after words: String) -> String {
        guard !url.isEmpty else { return "" }
        let shown = url.hasPrefix("mailto:") && !url.contains("?") ? String(url.dropFirst("mailto:".count)) : url
        if words == url || words == shown || "http://" + words == url || "https://" + words == url { return "" }
        return words.isEmpty ? shown : " (\(shown))"
    }

    /// The header row, a rule under it, then the rows, each column as wide as its widest cell.
    private mutating func emitTable() {
        let columns = tableRows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in tableRows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            (0..<columns).map { index in
                let cell = index < cells.count ? cells[index] : ""
                return index == columns - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: " | ")
        }
        for (index, row) in tableRows.enumerated() {
            emit(line(row))
            if index == 0 { emit(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")) }
        }
    }

    private func literal(_ node: OpaquePointer) -> String {
        cmark_node_get_literal(node).map { String(cString: $0) } ?? ""
    }

    /// Before a block: the blank line that separates it from the one before, if one is due.
    private mutating func startBlock() {
        if blankPending, !lines.isEmpty {
            lines.append(trimmed(containers.map(\.rest).joined()))
        }
        blankPending = false
    }

    /// After a block: a blank line is due, except between the items of a tight list.
    private mutating func endBlock(_ node: OpaquePointer) {
        var tight = false
        if let parent = cmark_node_parent(node), cmark_node_get_type(parent) == CMARK_NODE_ITEM,
           let list = cmark_node_parent(parent) {
            tight = cmark_node_get_list_tight(list) != 0
        }
        blankPending = !tight
    }

    private mutating func emitLines(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { emit(String(line)) }
    }

    /// One line, behind the markers of the quotes and list items it is in.
    private mutating func emit(_ line: String) {
        var prefix = ""
        for index in containers.indices {
            prefix += containers[index].started ? containers[index].rest : containers[index].first
            containers[index].started = true
        }
        lines.append(trimmed(prefix + line))
    }

    private func trimmed(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }
}
