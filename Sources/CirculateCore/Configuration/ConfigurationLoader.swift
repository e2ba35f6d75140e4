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

    /// "section.key" for the key assigned on line `number` (1-based) of `text`, for the TOML parser's messages, which
    /// give only the line (a number TOML cannot hold, such as 99999999999999999999 or 1e400, fails there). Only a
    /// plain key is returned: nothing else from the line is repeated, since a value may be a secret.
    static func keyOnLine(_ text: String, _ number: Int) -> String? {
        func isPlain(_ s: Substring) -> Bool {
            !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        }
        var section: Substring?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if index + 1 == number {
                guard let equals = line.firstIndex(of: "=") else { return nil }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                guard isPlain(Substring(key)) else { return nil }
                return section.map { "\($0).\(key)" } ?? key
            }
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                section = isPlain(Substring(name)) ? Substring(name) : nil
            }
        }
        return nil
    }

    /// `text` (an smtp.url as written) with any user name and password replaced by "***", for error messages: a
    /// password put in the URL by mistake must not reach the terminal or the journal. Conservative on purpose:
    /// everything from the scheme to the last "@" goes, even where the URL does not parse.
    static func shownURL(_ text: String) -> String {
        guard let at = text.range(of: "@", options: .backwards) else { return TextField.printable(text) }
        let schemeEnd = text.range(of: "://").flatMap { $0.upperBound <= at.lowerBound ? $0.upperBound : nil } ?? text.startIndex
        return TextField.printable(String(text[..<schemeEnd]) + "***" + String(text[at.lowerBound...]))
    }

    /// The mailbox as `circulate inbox` names it: server and folder, never a user name or password.
    public static func shownMailbox(_ inbox: Configuration.Inbox) -> String {
        shownURL(inbox.url.absoluteString)
    }

    /// Every section and the keys it takes (for the example file's test and for error messages).
    static var knownKeys: [String: Set<String>] { TOMLReader.sections }

    /// Parses TOML text into a configuration.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let line = error.source.begin.line
            let key = keyOnLine(text, line).map { " (\($0))" } ?? ""
            throw ConfigurationError(file: file, "line \(line)\(key): \(error.description)")
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
        "coordinator": ["name", "email"],
        "sessions": ["thank_you_days_after", "thank_you_time", "hold_for_notes", "default_length", "thank_no_shows",
                     "reminder_days_before", "reminder_time", "reminder_on_the_day"],
        "updates": ["schedule", "remind_days_before"],
        "reports": ["attachment_limit", "follow_up_after", "audience"],
        "templates": ["directory"],
        "storage": ["database", "erasure_journal"],
        "outbox": ["maildir"],
        "secrets": ["instance_key_file", "instance_key_env"],
        "consent": ["wording_version", "wording_file"],
        "list": ["address", "from_name", "reply_to", "bounce_address", "domain", "list_id", "public_base_url"],
        "delivery": ["connections", "rate_limit", "per_minute", "per_hour", "per_day", "retry_initial", "retry_maximum",
                     "give_up_after", "in_doubt", "in_doubt_resends", "late_limit", "bounce_limit", "relay_pause"],
        "web": ["listen", "metrics_listen", "trusted_proxies"],
        "smtp": ["url", "username", "password_file", "password_env", "ca_file", "smtputf8", "allow_plaintext",
                 "connect_timeout"],
        "inbox": ["url", "username", "password_file", "password_env", "oauth2_token_file", "ca_file", "allow_plaintext",
                  "poll_interval", "processed_folder", "unmatched_folder", "retention_days", "maximum_message_size",
                  "messages_per_poll", "connect_timeout", "verp"],
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
        if let path = try path("storage", "erasure_journal") { config.storage.erasureJournal = path }
        if let path = try path("outbox", "maildir") { config.outbox.maildir = path }
        if let path = try path("secrets", "instance_key_file") { config.secrets.instanceKeyFile = path }
        if let env = try envName("secrets", "instance_key_env") { config.secrets.instanceKeyEnv = env.isEmpty ? nil : env }
        if let wording = try string("consent", "wording_version") {
            guard !wording.isEmpty, wording.count <= 100, !wording.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("consent.wording_version = \"\(TextField.printable(wording))\" must be short text on one line, e.g. \"2026-01\"")
            }
            config.consent.wordingVersion = wording
        }
        if let path = try path("consent", "wording_file") {
            // The file's own version wins: it is the version of the text people actually see.
            let wording = try ConsentWording(path: path)
            config.consent.wording = wording
            config.consent.wordingVersion = wording.version
        }
        try readList(into: &config)
        try readDelivery(into: &config)
        try readWorkflows(into: &config)
        try readWeb(into: &config)
        config.smtp = try smtp()
        config.inbox = try inbox()
    }

    func readWeb(into config: inout Configuration) throws(ConfigurationError) {
        for key in ["listen", "metrics_listen"] {
            guard let text = try string("web", key) else { continue }
            guard let address = ListenAddress(parsing: text.trimmingCharacters(in: .whitespaces)) else {
                throw fail("web.\(key) = \"\(TextField.printable(text))\" must be host:port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"")
            }
            if key == "listen" { config.web.listen = address } else { config.web.metricsListen = address }
        }
        if let text = try string("web", "trusted_proxies") {
            let proxies = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for proxy in proxies where !proxy.utf8.allSatisfy({ SMTPRelayConfiguration.isHostByte($0) || $0 == UInt8(ascii: ":") }) {
                throw fail("web.trusted_proxies: \"\(TextField.printable(proxy))\" is not an IP address; list the proxies' addresses, e.g. \"127.0.0.1, ::1\"")
            }
            config.web.trustedProxies = proxies
        }
        if let listen = config.web.listen, listen == config.web.metricsListen, listen.port != 0 {
            throw fail("web.listen and web.metrics_listen are both \(listen); give the health and metrics pages a port of their own (default 127.0.0.1:8081)")
        }
    }

    func readList(into config: inout Configuration) throws(ConfigurationError) {
        for key in ["address", "reply_to", "bounce_address"] {
            guard let text = try string("list", key) else { continue }
            let address: EmailAddress
            do { address = try EmailAddress(text) } catch {
                throw fail("list.\(key) = \"\(TextField.printable(text))\": \(error.explanation); give an address such as \"community@example.org\"")
            }
            switch key {
            case "address": config.list.address = address.description
            case "reply_to": config.list.replyTo = address.description
            default: config.list.bounceAddress = address.description
            }
        }
        if let name = try string("list", "from_name") {
            guard !name.unicodeScalars.contains(where: TextField.isForbidden), name.count <= 100 else {
                throw fail("list.from_name = \"\(TextField.printable(name))\" must be text on one line, up to 100 characters")
            }
            config.list.fromName = name
        }
        for key in ["domain", "list_id"] {
            guard let text = try string("list", key) else { continue }
            let ok = !text.isEmpty && text.count <= 200 && text.contains(".")
                && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
            guard ok else {
                throw fail("list.\(key) = \"\(TextField.printable(text))\" must be a dotted name of ASCII letters, digits and hyphens, e.g. \"example.org\"")
            }
            if key == "domain" { config.list.domain = text.lowercased() } else { config.list.listID = text.lowercased() }
        }
        if let text = try string("list", "public_base_url") {
            guard let url = URL(string: text), url.scheme == "https", url.host != nil else {
                throw fail("list.public_base_url = \"\(TextField.printable(text))\" must be an https:// URL")
            }
            config.list.publicBaseURL = url
        }
    }

    func readDelivery(into config: inout Configuration) throws(ConfigurationError) {
        if let n = try int("delivery", "connections", in: 1...16) { config.delivery.connections = n }
        if let preset = try string("delivery", "rate_limit") {
            guard let windows = RateWindow.preset(preset) else {
                throw fail("delivery.rate_limit = \"\(TextField.printable(preset))\" is not a preset; use microsoft365, google-workspace or none (or per_minute/per_hour/per_day)")
            }
            config.delivery.rateLimits = windows
        }
        for (key, seconds) in [("per_minute", 60.0), ("per_hour", 3600.0), ("per_day", 86_400.0)] {
            guard let limit = try int("delivery", key, in: 1...10_000_000) else { continue }
            config.delivery.rateLimits.removeAll { $0.seconds == seconds }
            config.delivery.rateLimits.append(RateWindow(limit: limit, seconds: seconds))
        }
        config.delivery.rateLimits.sort { $0.seconds < $1.seconds }
        if let d = try duration("delivery", "retry_initial") { config.delivery.retryInitial = d }
        if let d = try duration("delivery", "retry_maximum") { config.delivery.retryMaximum = d }
        if let d = try duration("delivery", "give_up_after") { config.delivery.giveUpAfter = d }
        if let d = try duration("delivery", "late_limit") { config.delivery.lateLimit = d }
        if let d = try duration("delivery", "relay_pause") { config.delivery.relayPause = d }
        if config.delivery.retryMaximum < config.delivery.retryInitial {
            throw fail("delivery.retry_maximum must not be shorter than delivery.retry_initial")
        }
        if let text = try string("delivery", "in_doubt") {
            guard let policy = Configuration.Delivery.InDoubtPolicy(rawValue: text) else {
                throw fail("delivery.in_doubt = \"\(TextField.printable(text))\" must be \"resend\" or \"assume-sent\"")
            }
            config.delivery.inDoubt = policy
        }
        if let n = try int("delivery", "bounce_limit", in: 1...100) { config.delivery.bounceLimit = n }
        if let n = try int("delivery", "in_doubt_resends", in: 0...10) { config.delivery.inDoubtResends = n }
    }

    func readWorkflows(into config: inout Configuration) throws(ConfigurationError) {
        if let name = try string("coordinator", "name") {
            guard !name.isEmpty, name.count <= 100, !name.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("coordinator.name = \"\(TextField.printable(name))\" must be a name on one line, up to 100 characters")
            }
            config.coordinator.name = name
        }
        if let text = try string("coordinator", "email") {
            do { config.coordinator.email = try EmailAddress(text).description } catch {
                throw fail("coordinator.email = \"\(TextField.printable(text))\": \(error.explanation); give an address such as \"coordinator@example.org\"")
            }
        }
        if let n = try int("sessions", "thank_you_days_after", in: 0...14) { config.sessions.thankYouDaysAfter = n }
        if let text = try string("sessions", "thank_you_time") {
            do { config.sessions.thankYouTime = try TimeOfDay.parse(text, field: "sessions.thank_you_time") } catch {
                throw fail(error.description)
            }
        }
        if let b = try bool("sessions", "hold_for_notes") { config.sessions.holdForNotes = b }
        if let d = try duration("sessions", "default_length") { config.sessions.defaultLength = d }
        if let b = try bool("sessions", "thank_no_shows") { config.sessions.thankNoShows = b }
        if let n = try int("sessions", "reminder_days_before", in: 0...14) { config.sessions.reminderDaysBefore = n }
        if let text = try string("sessions", "reminder_time") {
            do { config.sessions.reminderTime = try TimeOfDay.parse(text, field: "sessions.reminder_time") } catch {
                throw fail(error.description)
            }
        }
        if let text = try string("sessions", "reminder_on_the_day"), !["", "off", "none"].contains(text.lowercased()) {
            do { config.sessions.reminderOnTheDay = try TimeOfDay.parse(text, field: "sessions.reminder_on_the_day") } catch {
                throw fail(error.description)
            }
        }
        if let text = try string("updates", "schedule") {
            if ["", "off", "none"].contains(text.lowercased()) {
                config.updates.schedule = nil
            } else {
                do { config.updates.schedule = try RecurrenceRule(parsing: text) } catch {
                    throw fail("updates.schedule = \"\(TextField.printable(text))\": \(error.description)")
                }
            }
        }
        if let n = try int("updates", "remind_days_before", in: 0...28) { config.updates.remindDaysBefore = n }
        if let v = value("reports", "attachment_limit") {
            guard let bytes = v.int.flatMap({ $0 > 0 ? $0 : nil }) ?? v.string.flatMap(Self.parseSize), bytes <= 50_000_000 else {
                throw fail("reports.attachment_limit = \(v.debugDescription) must be a size such as \"10MB\" or \"500KB\" (at most 50MB: mail servers refuse more)")
            }
            config.reports.attachmentLimit = bytes
        }
        if let d = try duration("reports", "follow_up_after") { config.reports.followUpAfter = d }
        if let text = try string("reports", "audience") {
            let tags: [String]
            do { tags = try Tag.parseList(text) } catch {
                throw fail("reports.audience = \"\(TextField.printable(text))\": \(error.description)")
            }
            guard !tags.isEmpty else { throw fail("reports.audience is empty; give roles/tags such as \"key-influencer,board\"") }
            config.reports.audience = tags
        }
        if let path = try path("templates", "directory") { config.templates.directory = path }
    }

    /// "10MB", "500KB", "2000000" (bytes; 1,000-based, as file managers show sizes). Nil for anything that is not
    /// a whole number of bytes from 1 to a petabyte: Double reads "1e400" as infinity and "nan" as NaN, and
    /// converting those (or anything past Int's range) to Int would stop the process.
    static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        for (suffix, factor) in [("MB", 1_000_000.0), ("KB", 1000.0), ("B", 1.0)] where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n.isFinite else { return nil }
            let bytes = (n * factor).rounded(.down)
            guard bytes >= 1, bytes <= 1e15 else { return nil }
            return Int(bytes)
        }
        return Int(t).flatMap { $0 > 0 ? $0 : nil }
    }

    func int(_ section: String, _ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let v = value(section, key) else { return nil }
        guard let n = v.int, range.contains(n) else {
            throw fail("\(section).\(key) = \(v.debugDescription) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    func bool(_ section: String, _ key: String) throws(ConfigurationError) -> Bool? {
        guard let v = value(section, key) else { return nil }
        guard let b = v.bool else { throw fail("\(section).\(key) = \(v.debugDescription) must be true or false") }
        return b
    }

    /// The longest duration any setting takes: ten years. Far past every sensible value, and small enough that
    /// adding it to a date or counting it in nanoseconds (Swift's Duration) never overflows.
    static let longestDuration: TimeInterval = 3650 * 86_400

    /// "90s", "5m", "4h", "4d", or a number of seconds; at most `longestDuration`.
    func duration(_ section: String, _ key: String) throws(ConfigurationError) -> TimeInterval? {
        guard let v = value(section, key) else { return nil }
        if let n = v.int, n > 0, TimeInterval(n) <= Self.longestDuration { return TimeInterval(n) }
        if let text = v.string, let seconds = Self.parseDuration(text) { return seconds }
        throw fail("\(section).\(key) = \(v.debugDescription) must be a duration such as \"90s\", \"5m\", \"4h\" or \"4d\", at most \"3650d\"")
    }

    /// Nil for anything but a positive, finite duration up to `longestDuration` (Double reads "inf" and "nan").
    static func parseDuration(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = t.last, let number = Double(t.dropLast()), number.isFinite, number > 0 else { return nil }
        let seconds: TimeInterval
        switch unit {
        case "s": seconds = number
        case "m": seconds = number * 60
        case "h": seconds = number * 3600
        case "d": seconds = number * 86_400
        default: return nil
        }
        return seconds <= longestDuration ? seconds : nil
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
            throw fail("smtp.url = \"\(ConfigurationLoader.shownURL(urlText))\" must look like smtp://host:587 (STARTTLS) or smtps://host:465")
        }
        guard url.user == nil, url.password == nil else {
            throw fail("smtp.url must not contain a user name or password; use smtp.username and smtp.password_file")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw fail("smtp.url = \"\(ConfigurationLoader.shownURL(urlText))\" has port \(port); ports are 1 to 65535")
        }
        var smtp = Configuration.SMTP(url: url)
        if let user = try string("smtp", "username") {
            guard !user.isEmpty, !user.unicodeScalars.contains(where: TextField.isForbidden) else {
                throw fail("smtp.username must be non-empty text on one line")
            }
            smtp.username = user
        }
        smtp.passwordFile = try path("smtp", "password_file")
        smtp.caFile = try path("smtp", "ca_file")
        smtp.smtputf8 = try bool("smtp", "smtputf8") ?? false
        smtp.allowPlaintext = try bool("smtp", "allow_plaintext") ?? false
        if let t = try duration("smtp", "connect_timeout") { smtp.connectTimeout = t }
        if smtp.allowPlaintext, let host = url.host, !["localhost", "127.0.0.1", "::1", "[::1]"].contains(host.lowercased()) {
            throw fail("smtp.allow_plaintext = true is only allowed for a relay on this machine (localhost); \(host) must use TLS")
        }
        smtp.passwordEnv = try envName("smtp", "password_env").flatMap { $0.isEmpty ? nil : $0 }
        if smtp.username != nil && smtp.passwordFile == nil && smtp.passwordEnv == nil {
            throw fail("smtp.username is set but neither smtp.password_file nor smtp.password_env says where the password is")
        }
        return smtp
    }

    func inbox() throws(ConfigurationError) -> Configuration.Inbox? {
        guard table["inbox"] != nil else { return nil }
        guard let urlText = try string("inbox", "url") else {
            throw fail("[inbox] is present but inbox.url is missing; set it (e.g. \"imaps://imap.example.org:993/INBOX\") or remove [inbox] to leave the mailbox unread")
        }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), ["imap", "imaps"].contains(scheme),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil else {
            throw fail("inbox.url = \"\(ConfigurationLoader.shownURL(urlText))\" must look like imaps://host:993/INBOX (TLS) or imap://host:143/INBOX (STARTTLS)")
        }
        guard url.user == nil, url.password == nil else {
            throw fail("inbox.url must not contain a user name or password; use inbox.username and inbox.password_file")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw fail("inbox.url = \"\(ConfigurationLoader.shownURL(urlText))\" has port \(port); ports are 1 to 65535")
        }
        guard let user = try string("inbox", "username") else {
            throw fail("inbox.username is missing; give the mailbox's login name, e.g. \"community@example.org\"")
        }
        guard !user.isEmpty, !user.unicodeScalars.contains(where: TextField.isForbidden) else {
            throw fail("inbox.username must be non-empty text on one line")
        }
        var inbox = Configuration.Inbox(url: url, username: user)
        guard Self.isFolderName(inbox.folder) else {
            throw fail("inbox.url names the folder \"\(TextField.printable(inbox.folder))\", which circulate cannot use; give a folder of letters, digits, spaces and - _ . / (e.g. /INBOX)")
        }
        inbox.passwordFile = try path("inbox", "password_file")
        inbox.passwordEnv = try envName("inbox", "password_env").flatMap { $0.isEmpty ? nil : $0 }
        inbox.oauth2TokenFile = try path("inbox", "oauth2_token_file")
        let passwordGiven = inbox.passwordFile != nil || inbox.passwordEnv != nil
        if passwordGiven && inbox.oauth2TokenFile != nil {
            throw fail("inbox.oauth2_token_file and a password (inbox.password_file or inbox.password_env) are both set; keep one: the token for Microsoft 365, the password otherwise")
        }
        if !passwordGiven && inbox.oauth2TokenFile == nil {
            throw fail("[inbox] says neither where the password is (inbox.password_file or inbox.password_env) nor where the OAuth2 token is (inbox.oauth2_token_file)")
        }
        inbox.caFile = try path("inbox", "ca_file")
        inbox.allowPlaintext = try bool("inbox", "allow_plaintext") ?? false
        if inbox.allowPlaintext, !["localhost", "127.0.0.1", "::1", "[::1]"].contains(url.host?.lowercased() ?? "") {
            throw fail("inbox.allow_plaintext = true is only allowed for a server on this machine (localhost); \(url.host ?? "") must use TLS")
        }
        if let d = try duration("inbox", "poll_interval") {
            guard d >= 10 else { throw fail("inbox.poll_interval must be at least \"10s\"; most servers ask for minutes between polls") }
            inbox.pollInterval = d
        }
        for key in ["processed_folder", "unmatched_folder"] {
            guard let name = try string("inbox", key) else { continue }
            guard Self.isFolderName(name) else {
                throw fail("inbox.\(key) = \"\(TextField.printable(name))\" must be a folder name of letters, digits, spaces and - _ . /, e.g. \"circulate-processed\"")
            }
            if key == "processed_folder" { inbox.processedFolder = name } else { inbox.unmatchedFolder = name }
        }
        let folders = [inbox.folder, inbox.processedFolder, inbox.unmatchedFolder].map { $0.lowercased() }
        guard Set(folders).count == 3 else {
            throw fail("inbox.url's folder, inbox.processed_folder and inbox.unmatched_folder must be three different folders")
        }
        if let n = try int("inbox", "retention_days", in: 1...3650) { inbox.retentionDays = n }
        if let v = value("inbox", "maximum_message_size") {
            guard let bytes = v.int.flatMap({ $0 > 0 ? $0 : nil }) ?? v.string.flatMap(Self.parseSize), bytes >= 10_000, bytes <= 50_000_000 else {
                throw fail("inbox.maximum_message_size = \(v.debugDescription) must be a size from \"10KB\" to \"50MB\", such as \"5MB\"")
            }
            inbox.maximumMessageSize = bytes
        }
        if let n = try int("inbox", "messages_per_poll", in: 1...10_000) { inbox.messagesPerPoll = n }
        if let t = try duration("inbox", "connect_timeout") { inbox.connectTimeout = t }
        inbox.verp = try bool("inbox", "verp") ?? false
        return inbox
    }

    /// A folder name circulate can put in an IMAP command and a URL without quoting surprises.
    static func isFolderName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.hasPrefix("/") && !name.hasSuffix("/")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || " -_./".contains($0)) }
    }
}
