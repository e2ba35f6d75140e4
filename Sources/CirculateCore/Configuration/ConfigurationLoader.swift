import Foundation
import TOMLKit

/// Finds and reads the configuration file, checking every value.
public enum ConfigurationLoader {
    /// The places searched, in order, when no path is given on the command line.
    public static func candidates(environment: [String: String]) -> [(path: String, origin: String)] {
        var list: [(String, String)] = []
        if let env = environment["CIRCULATE_CONFIG"], !env.isEmpty { list.append((env, "$CIRCULATE_CONFIG")) }
        list.append(("config/circulate.toml", "the default location"))
        list.append(("/etc/circulate/circulate.toml", "the system location"))
        return list
    }

    /// Loads `--config PATH` if given (it must exist), else `$CIRCULATE_CONFIG` (it must exist), else the first
    /// existing default location, else the built-in defaults.
    /// Relative default locations are looked up in `workingDirectory` (the process's, unless a test says otherwise).
    public static func load(explicitPath: String?, environment: [String: String],
                            workingDirectory: String = FileManager.default.currentDirectoryPath) throws(ConfigurationError) -> Configuration {
        if let explicitPath {
            return try load(file: explicitPath, origin: "--config")
        }
        for (path, origin) in candidates(environment: environment) {
            let located = path.hasPrefix("/") || origin == "$CIRCULATE_CONFIG" ? path : workingDirectory + "/" + path
            if origin == "$CIRCULATE_CONFIG" || FileManager.default.fileExists(atPath: located) {
                return try load(file: path, origin: origin)
            }
        }
        return Configuration()
    }

    /// Reads and checks one file.
    public static func load(file path: String, origin: String) throws(ConfigurationError) -> Configuration {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(file: nil, "\(path) (from \(origin)) does not exist; "
                + "copy config/circulate.example.toml there, or leave it out to use the defaults")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, "cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, "is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses TOML text into a configuration.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: file, "line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigurationError(file: file, "is not valid TOML")
        }
        var reader = TOMLReader(table: table, file: file)
        var config = Configuration()
        config.sourceFile = file
        try reader.read(into: &config)
        return config
    }
}

/// Walks the parsed TOML, so that every key is checked and an unknown one (a typo) is reported.
private struct TOMLReader {
    let table: TOMLTable
    let file: String

    static let sections: [String: Set<String>] = [
        "community": ["name", "timezone"],
        "storage": ["database"],
        "outbox": ["maildir"],
        "secrets": ["instance_key_file", "instance_key_env"],
        "consent": ["wording_version"],
        "smtp": ["url", "username", "password_file", "password_env"],
    ]

    func fail(_ message: String) -> ConfigurationError { ConfigurationError(file: file, message) }

    mutating func read(into config: inout Configuration) throws(ConfigurationError) {
        for key in table.keys {
            guard let allowed = Self.sections[key] else {
                throw fail("unknown section or key \"\(key)\"; known sections: \(Self.sections.keys.sorted().joined(separator: ", "))")
            }
            guard let section = table[key]?.table else {
                throw fail("\"\(key)\" must be a section ([\(key)]), not a single value")
            }
            for inner in section.keys where !allowed.contains(inner) {
                throw fail("unknown key \"\(key).\(inner)\"; [\(key)] takes: \(allowed.sorted().joined(separator: ", "))")
            }
        }

        if let name = try string("community", "name") {
            guard !name.isEmpty, !name.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("community.name = \"\(TextField.printable(name))\" must be non-empty text on one line")
            }
            config.community.name = name
        }
        if let zone = try string("community", "timezone") {
            guard let tz = TimeZone(identifier: zone) else {
                throw fail("community.timezone = \"\(zone)\" is not a time zone; use an IANA name such as \"Europe/London\"")
            }
            config.community.timeZone = tz
        }
        if let path = try path("storage", "database") { config.storage.database = path }
        if let path = try path("outbox", "maildir") { config.outbox.maildir = path }
        if let path = try path("secrets", "instance_key_file") { config.secrets.instanceKeyFile = path }
        if let env = try envName("secrets", "instance_key_env") { config.secrets.instanceKeyEnv = env.isEmpty ? nil : env }
        if let wording = try string("consent", "wording_version") {
            guard !wording.isEmpty, wording.count <= 100, !wording.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("consent.wording_version = \"\(TextField.printable(wording))\" must be short text on one line, e.g. \"2026-01\"")
            }
            config.consent.wordingVersion = wording
        }
        config.smtp = try smtp()
    }

    func value(_ section: String, _ key: String) -> (any TOMLValueConvertible)? {
        table[section]?.table?[key]
    }

    func string(_ section: String, _ key: String) throws(ConfigurationError) -> String? {
        guard let v = value(section, key) else { return nil }
        guard let s = v.string else {
            throw fail("\(section).\(key) = \(v.debugDescription) must be a quoted string")
        }
        return s
    }

    func path(_ section: String, _ key: String) throws(ConfigurationError) -> String? {
        guard let p = try string(section, key) else { return nil }
        guard !p.isEmpty, !p.unicodeScalars.contains(where: TextField.isForbidden) else {
            throw fail("\(section).\(key) = \"\(TextField.printable(p))\" must be a file path")
        }
        return p
    }

    func envName(_ section: String, _ key: String) throws(ConfigurationError) -> String? {
        guard let name = try string(section, key) else { return nil }
        let ok = name.isEmpty || (name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } ?? false)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard ok else {
            throw fail("\(section).\(key) = \"\(TextField.printable(name))\" is not an environment variable name (letters, digits, _)")
        }
        return name
    }

    func smtp() throws(ConfigurationError) -> Configuration.SMTP? {
        guard table["smtp"] != nil else { return nil }
        guard let urlText = try string("smtp", "url") else {
            throw fail("[smtp] is present but smtp.url is missing; set it (e.g. \"smtp://relay.example.org:587\") or remove [smtp] to use the Maildir outbox")
        }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw fail("smtp.url = \"\(TextField.printable(urlText))\" must look like smtp://host:587 (STARTTLS) or smtps://host:465")
        }
        guard url.user == nil, url.password == nil else {
            throw fail("smtp.url must not contain a user name or password; use smtp.username and smtp.password_file")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw fail("smtp.url = \"\(urlText)\" has port \(port); ports are 1 to 65535")
        }
        var smtp = Configuration.SMTP(url: url)
        if let user = try string("smtp", "username") {
            guard !user.isEmpty, !user.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("smtp.username must be non-empty text on one line")
            }
            smtp.username = user
        }
        smtp.passwordFile = try path("smtp", "password_file")
        smtp.passwordEnv = try envName("smtp", "password_env").flatMap { $0.isEmpty ? nil : $0 }
        if smtp.username != nil && smtp.passwordFile == nil && smtp.passwordEnv == nil {
            throw fail("smtp.username is set but neither smtp.password_file nor smtp.password_env says where the password is")
        }
        return smtp
    }
}
