/// A readable plain-text rendering of the Markdown a coordinator writes (the text/plain part of every message).
enum PlainText {
    /// Keeps the Markdown's shape (it is meant to be read as text) but turns links into "text (url)", drops image
    /// syntax and emphasis markers, and underlines headings.
    static func fromMarkdown(_ markdown: String) -> String {
        var lines: [String] = []
        var inFence = false
        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            if line.hasPrefix("```") {
                inFence.toggle()
                continue
            }
            if inFence {
                lines.append("    " + line)
                continue
            }
            if let heading = headingText(line) {
                let text = inline(heading.text)
                lines.append(text)
                lines.append(String(repeating: heading.level == 1 ? "=" : "-", count: max(3, text.count)))
                continue
            }
            line = inline(line)
            lines.append(line)
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    private static func headingText(_ line: String) -> (level: Int, text: String)? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return (hashes, String(line.dropFirst(hashes + 1)).trimmingCharacters(in: .whitespaces))
    }

    /// Links, images and emphasis within one line.
    private static func inline(_ line: String) -> String {
        var out = ""
        var rest = Substring(line)
        while let open = rest.firstIndex(of: "[") {
            let isImage = open > rest.startIndex && rest[rest.index(before: open)] == "!"
            guard let close = rest[open...].firstIndex(of: "]"), rest.index(after: close) < rest.endIndex,
                  rest[rest.index(after: close)] == "(",
                  let end = rest[close...].firstIndex(of: ")") else { break }
            var before = rest[..<open]
            if isImage { before = before.dropLast() }
            out += before
            let text = rest[rest.index(after: open)..<close]
            let url = rest[rest.index(close, offsetBy: 2)..<end]
            out += isImage ? String(text) : (text == url ? String(url) : "\(text) (\(url))")
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return out.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "__", with: "")
    }
}

import Foundation
