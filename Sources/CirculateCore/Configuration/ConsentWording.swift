import Crypto
import Foundation

/// The consent wording shown on the join page, read from the file `consent.wording_file` names. The file says its own
/// version on its first line (`Version: 2026-03`), which wins over `consent.wording_version`, so that the version
/// recorded with a consent is always the one of the text the person saw.
public struct ConsentWording: Sendable, Equatable {
    /// The version the file states.
    public let version: String
    /// The wording itself, shown in full (everything after the version line).
    public let text: String
    /// SHA-256 of the whole file, in hex: recorded with each consent given on the join page.
    public let hash: String

    /// Longest wording read (a page of text, not a policy document).
    static let maximumBytes = 32 * 1024

    /// Reads and checks the file at `path`.
    public init(path: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, "the consent wording file (consent.wording_file) cannot be read; check the path and its permissions")
        }
        try self.init(data: data, path: path)
    }

    /// Parses the file's bytes; `path` names it in errors.
    public init(data: Data, path: String) throws(ConfigurationError) {
        guard data.count <= Self.maximumBytes else {
            throw ConfigurationError(file: path, "the consent wording is \(data.count) bytes; keep it under \(Self.maximumBytes) (it is shown in full on the join page)")
        }
        guard let contents = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, "the consent wording is not UTF-8 text; save it as UTF-8")
        }
        var lines = contents.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.first.map(String.init) ?? ""
        let prefix = "version:"
        guard first.lowercased().hasPrefix(prefix) else {
            throw ConfigurationError(file: path, "the consent wording must start with a line naming its version, e.g. \"Version: 2026-03\"")
        }
        let version = first.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        guard !version.isEmpty, version.count <= 100, !version.unicodeScalars.contains(where: TextField.isForbidden) else {
            throw ConfigurationError(file: path, "the version line \"\(TextField.printable(first))\" must name a short version, e.g. \"Version: 2026-03\"")
        }
        lines.removeFirst()
        let text = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw ConfigurationError(file: path, "the consent wording has a version line but no text; write what people agree to below it")
        }
        self.version = version
        self.text = text
        hash = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
