import Foundation
import Testing

/// The README and the binary agree: every option a `circulate ...` line in README.md shows is one that command takes.
@Suite("README and binary agree")
struct ReadmeAgreementTests {
    /// The binary's command tree: words -> the options its --help lists.
    final class Commands {
        let cli: CLI
        var options: [[String]: Set<String>] = [:]
        var children: [[String]: [String]] = [:]

        init() throws {
            cli = try CLI()
            try load([])
        }

        private func load(_ path: [String]) throws {
            let help = try cli.run(path + ["--help"]).stdout
            var section = ""
            var found: Set<String> = []
            var subs: [String] = []
            for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.isEmpty { section = ""; continue }
                if !line.hasPrefix(" "), line.hasSuffix(":") { section = String(line); continue }
                if section == "OPTIONS:" {
                    for match in line.matches(of: /(?:^|[\s,\/\[])(--?[a-z0-9][a-z0-9-]*)/) where line.hasPrefix("  -") {
                        found.insert(String(match.output.1))
                    }
                } else if section == "SUBCOMMANDS:", line.hasPrefix("  "), !line.hasPrefix("   "),
                          let word = line.split(separator: " ").first, word.wholeMatch(of: /[a-z][a-z-]*/) != nil, path.count < 2 {
                    subs.append(String(word))
                }
            }
            options[path] = found
            children[path] = subs
            for sub in subs { try load(path + [sub]) }
        }

        /// The commands a README command line names (alternatives like `list|show` give several).
        func resolve(_ words: [String]) -> [[String]] {
            var paths: [[String]] = [[]]
            for word in words {
                let alternatives = word.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: "|").map(String.init)
                let next = paths.flatMap { path in alternatives.filter { children[path]?.contains($0) == true }.map { path + [$0] } }
                if next.isEmpty { break }
                paths = next
            }
            return paths.filter { !$0.isEmpty }
        }
    }

    /// Splits a command line into words, keeping quoted text together.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        for c in text {
            if let q = quote { if c == q { quote = nil } else { current.append(c) }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == " " { if !current.isEmpty { words.append(current); current = "" }; continue }
            current.append(c)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func options(_ words: [String]) -> [String] {
        words.filter { $0.hasPrefix("--") && $0.count > 2 }.map { String($0.split(separator: "=").first ?? "") }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "`.,;:)")) }
            // An option is "--" and a letter ("-->" closing an HTML comment in the text is not one).
            .filter { $0.dropFirst(2).first?.isLetter == true }
    }

    @Test("every option a circulate command line in README.md uses is accepted by that command")
    func readmeOptionsExist() throws {
        let commands = try Commands()
        #expect(commands.children[[]]?.contains("session") == true && commands.options[["session", "cancel"]]?.contains("--quiet") == true)
        let readme = try String(contentsOf: CLI.root.appendingPathComponent("README.md"), encoding: .utf8)
        var checks: [(line: Int, text: String, commands: [[String]], options: [String])] = []
        var inCode = false
        var pending = ""
        for (index, raw) in readme.components(separatedBy: "\n").enumerated() {
            let line = index + 1
            if raw.hasPrefix("```") { inCode.toggle(); continue }
            if inCode {
                let text = pending + (raw.components(separatedBy: "  #").first ?? raw)
                if text.hasSuffix("\\") { pending = String(text.dropLast()); continue }
                pending = ""
                let w = Self.words(text.trimmingCharacters(in: .whitespaces))
                if w.first == "circulate" { checks.append((line, text, commands.resolve(Array(w.dropFirst())), Self.options(w))) }
                continue
            }
            let spans = raw.replacingOccurrences(of: "\\|", with: "|").split(separator: "`", omittingEmptySubsequences: false)
                .enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            if raw.hasPrefix("| `circulate ") {
                // A table row: the options anywhere in it belong to one of the commands in its first cell.
                let firstCell = raw.replacingOccurrences(of: "\\|", with: "/").split(separator: "|").first.map(String.init) ?? ""
                let named = firstCell.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                let paths = named.flatMap { span -> [[String]] in
                    let w = Self.words(span.replacingOccurrences(of: "/", with: "|"))
                    return commands.resolve(w.first == "circulate" ? Array(w.dropFirst()) : w)
                }
                let options = spans.flatMap { Self.options(Self.words($0)) }
                checks.append((line, firstCell, paths, options))
            } else {
                for span in spans where span.hasPrefix("circulate ") {
                    let w = Self.words(span)
                    checks.append((line, span, commands.resolve(Array(w.dropFirst())), Self.options(w)))
                }
            }
        }
        #expect(checks.count > 60, "the README's command lines were found")
        for check in checks where !check.options.isEmpty {
            #expect(!check.commands.isEmpty, "README line \(check.line): no circulate command recognised in \(check.text)")
            for option in check.options where !check.commands.contains(where: { commands.options[$0]?.contains(option) == true }) {
                Issue.record("README line \(check.line): \(option) is not an option of \(check.commands.map { "circulate " + $0.joined(separator: " ") }.joined(separator: " or "))")
            }
        }
    }
}
