import CCurl
import Foundation

/// How circulate logs in to the list's mailbox.
public enum IMAPCredential: Sendable {
    /// LOGIN / AUTHENTICATE PLAIN with a password.
    case password(Secret)
    /// AUTHENTICATE XOAUTH2 with an OAuth2 access token (Microsoft 365 accepts nothing else).
    case bearer(Secret)
}

/// A failure talking to the mailbox, in words an operator can act on.
public struct IMAPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to check.
    public let description: String
    /// libcurl's code (0 when the problem was found in the server's answer).
    public let code: UInt32

    init(_ description: String, code: UInt32 = 0) {
        self.description = description
        self.code = code
    }
}

/// The few IMAP commands the mailbox reader needs, over one libcurl handle (one connection, kept between commands).
///
/// libcurl 7.88 has no API for UIDVALIDITY, UID SEARCH or MOVE, so each is a custom request: on the server's root
/// URL libcurl sends only the command; on a mailbox URL it SELECTs the mailbox first (once per connection). A FETCH
/// literal reaches only the header callback, so every server line is captured there and parsed here. Not `Sendable`
/// (it owns a `CURL*`): one poll, on one thread.
final class IMAPClient {
    /// Connection settings, checked like the SMTP relay's.
    struct Settings: Sendable {
        var host: String
        var port: Int
        var implicitTLS: Bool
        var folder: String
        var username: String
        var credential: IMAPCredential
        var caFile: String?
        var allowPlaintext: Bool
        var connectTimeout: Duration = .seconds(30)
        var responseTimeout: Duration = .seconds(120)

        /// "imaps://host:993", for URLs and logs.
        var server: String {
            "\(implicitTLS ? "imaps" : "imap")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    private let settings: Settings
    private let easy: CurlEasy
    private var capabilities: Set<String>?

    init(_ settings: Settings) throws(IMAPError) {
        self.settings = settings
        do {
            easy = try CurlEasy()
            try configure()
        } catch {
            throw IMAPError("libcurl cannot be set up for the mailbox: \(error.description)", code: error.code)
        }
    }

    private func configure() throws(CurlSetupError) {
        let s = settings
        try easy.set(CURLOPT_PROTOCOLS_STR, "imap,imaps")
        try easy.set(CURLOPT_MAXCONNECTS, 1)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(s.connectTimeout.components.seconds) * 1000)
        try easy.setServerResponseTimeout(milliseconds: Int(s.responseTimeout.components.seconds) * 1000 + 5000)
        // As for SMTP: CURLUSESSL_ALL refuses to go on in clear when STARTTLS is missing or stripped.
        let plaintext = s.allowPlaintext && !s.implicitTLS && SMTPRelayConfiguration.isLoopback(s.host)
        try easy.set(CURLOPT_USE_SSL, Int(plaintext ? CURLUSESSL_NONE.rawValue : CURLUSESSL_ALL.rawValue))
        try easy.set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = s.caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        try easy.set(CURLOPT_USERNAME, s.username)
        switch s.credential {
        case .password(let secret):
            try easy.set(CURLOPT_PASSWORD, bytes: secret.bytes)
        case .bearer(let token):
            try easy.set(CURLOPT_XOAUTH2_BEARER, bytes: token.bytes)
            try easy.set(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2")
        }
        try easy.set(CURLOPT_SASL_IR, 1)
    }

    // MARK: - Commands

    /// The folder's UIDVALIDITY and UIDNEXT (STATUS, which selects nothing).
    func status(_ folder: String) throws(IMAPError) -> (uidValidity: Int64, uidNext: Int64) {
        let lines = try command("STATUS \(Self.quoted(folder)) (UIDVALIDITY UIDNEXT)", mailbox: nil)
        for line in lines where line.hasPrefix("* STATUS") {
            let validity = Self.number(after: "UIDVALIDITY ", in: line)
            let next = Self.number(after: "UIDNEXT ", in: line)
            if let validity, let next { return (validity, next) }
        }
        throw IMAPError("the mailbox server did not report UIDVALIDITY for \(folder)")
    }

    /// The UIDs of every message in the folder, lowest first.
    func allUIDs(in folder: String) throws(IMAPError) -> [Int64] {
        try search("ALL", in: folder)
    }

    /// UIDs matching an IMAP search (e.g. "BEFORE 1-Jan-2027").
    func search(_ criteria: String, in folder: String) throws(IMAPError) -> [Int64] {
        let lines = try command("UID SEARCH \(criteria)", mailbox: folder)
        var uids: [Int64] = []
        for line in lines where line.hasPrefix("* SEARCH") {
            uids += line.dropFirst("* SEARCH".count).split(separator: " ").compactMap { Int64($0) }
        }
        return uids.sorted()
    }

    /// The message's size in bytes (RFC822.SIZE), nil if it is gone.
    func size(uid: Int64, in folder: String) throws(IMAPError) -> Int? {
        let lines = try command("UID FETCH \(uid) (RFC822.SIZE)", mailbox: folder)
        for line in lines where line.hasPrefix("* ") && line.contains("FETCH") {
            if let size = Self.number(after: "RFC822.SIZE ", in: line) { return Int(size) }
        }
        return nil
    }

    /// The whole message, without setting \Seen (BODY.PEEK); nil if it is gone. At most `limit` bytes are taken.
    func fetch(uid: Int64, in folder: String, limit: Int) throws(IMAPError) -> [UInt8]? {
        let raw = try perform("UID FETCH \(uid) BODY.PEEK[]", mailbox: folder, capture: limit + 65_536)
        return try Self.literal(in: raw)
    }

    /// The message's Message-ID (without brackets), read from its header alone without setting \Seen; nil if it is
    /// gone or has none.
    func messageID(uid: Int64, in folder: String) throws(IMAPError) -> String? {
        let raw = try perform("UID FETCH \(uid) BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", mailbox: folder, capture: 1_000_000)
        guard let header = try Self.literal(in: raw) else { return nil }
        return MIMEEntity.messageID(MIMEEntity(parsing: header).field("message-id"))
    }

    /// Moves a message to another folder: MOVE (RFC 6851) where offered, else COPY, \Deleted and expunge.
    func move(uid: Int64, from folder: String, to target: String) throws(IMAPError) {
        if try capability("MOVE") {
            _ = try command("UID MOVE \(uid) \(Self.quoted(target))", mailbox: folder)
            return
        }
        _ = try command("UID COPY \(uid) \(Self.quoted(target))", mailbox: folder)
        try delete(uid: uid, in: folder)
    }

    /// Marks a message \Deleted and expunges it (only that one where UIDPLUS allows).
    func delete(uid: Int64, in folder: String) throws(IMAPError) {
        try addFlag("\\Deleted", uid: uid, in: folder)
        _ = try command(try capability("UIDPLUS") ? "UID EXPUNGE \(uid)" : "EXPUNGE", mailbox: folder)
    }

    /// Adds a flag (e.g. \Flagged) to a message.
    func addFlag(_ flag: String, uid: Int64, in folder: String) throws(IMAPError) {
        _ = try command("UID STORE \(uid) +FLAGS.SILENT (\(flag))", mailbox: folder)
    }

    /// Creates a folder unless it exists.
    func ensureFolder(_ name: String) throws(IMAPError) {
        if try exists(name) { return }
        _ = try command("CREATE \(Self.quoted(name))", mailbox: nil)
    }

    /// Whether the folder exists (LIST, which selects nothing).
    func exists(_ name: String) throws(IMAPError) -> Bool {
        try command("LIST \"\" \(Self.quoted(name))", mailbox: nil).contains { $0.hasPrefix("* LIST") }
    }

    /// Whether the server offers a capability (asked once per connection).
    func capability(_ name: String) throws(IMAPError) -> Bool {
        if capabilities == nil {
            let lines = try command("CAPABILITY", mailbox: nil)
            capabilities = Set(lines.filter { $0.hasPrefix("* CAPABILITY") }.flatMap { $0.split(separator: " ").map { $0.uppercased() } })
        }
        return capabilities?.contains(name.uppercased()) ?? false
    }

    // MARK: - Transport

    /// Runs one command; returns the server's lines (literals included as they came).
    private func command(_ text: String, mailbox: String?) throws(IMAPError) -> [String] {
        let raw = try perform(text, mailbox: mailbox, capture: 1_000_000)
        return String(decoding: raw, as: UTF8.self).components(separatedBy: "\r\n")
    }

    private func perform(_ text: String, mailbox: String?, capture: Int) throws(IMAPError) -> [UInt8] {
        let url = settings.server + "/" + (mailbox.map(Self.urlPath) ?? "")
        do {
            try easy.set(CURLOPT_URL, url)
            try easy.set(CURLOPT_CUSTOMREQUEST, text)
        } catch {
            throw IMAPError("libcurl refused the IMAP command: \(error.description)", code: error.code)
        }
        let seconds = settings.responseTimeout
        let transfer = CurlTransfer(capturing: capture, watchdog: CurlWatchdog(firstReply: settings.connectTimeout + seconds,
                                                                                reply: seconds, finalReply: seconds))
        let result = easy.perform(transfer)
        if transfer.captureOverflowed {
            throw IMAPError("the mailbox server sent more than \(capture) bytes for one command")
        }
        guard result.code == CURLE_OK else { throw explain(result, command: text) }
        return transfer.captured
    }

    private func explain(_ result: CurlTransferResult, command: String) -> IMAPError {
        let server = settings.server
        let verb = command.split(separator: " ").prefix(2).joined(separator: " ")
        let text: String = switch result.code {
        case CURLE_LOGIN_DENIED:
            switch settings.credential {
            case .password:
                "the mailbox \(server) refused the login for \(settings.username) (\(result.errorText)); check inbox.username and the password"
            case .bearer:
                "the mailbox \(server) refused the OAuth2 token for \(settings.username) (\(result.errorText)); check inbox.username, and that whatever refreshes the token has written a current one to inbox.oauth2_token_file"
            }
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            "cannot connect to the mailbox \(server) (\(result.errorText)); check inbox.url and that a firewall lets this machine reach it"
        case CURLE_PEER_FAILED_VERIFICATION:
            "the mailbox server's certificate is not trusted for \(settings.host) (\(result.errorText)); for a private certificate authority set inbox.ca_file"
        case CURLE_SSL_CONNECT_ERROR:
            "the TLS handshake with the mailbox \(server) failed (\(result.errorText)); imaps:// needs a port that speaks TLS at once (usually 993), imap:// one that offers STARTTLS (usually 143)"
        case CURLE_USE_SSL_FAILED:
            "the mailbox \(server) does not offer STARTTLS, and circulate does not send a password unencrypted; use imaps://"
        case CURLE_QUOTE_ERROR:
            "the mailbox server refused \(verb) (\(result.errorText))"
        case CURLE_REMOTE_FILE_NOT_FOUND, CURLE_REMOTE_ACCESS_DENIED:
            "the mailbox server cannot open the folder for \(verb) (\(result.errorText)); check the folder in inbox.url"
        default:
            result.timedOut ? "the mailbox \(server) did not answer \(verb) in time"
                : "trouble talking to the mailbox \(server) during \(verb) (libcurl error \(result.code.rawValue): \(result.errorText))"
        }
        return IMAPError(text, code: result.code.rawValue)
    }

    // MARK: - Parsing

    /// The bytes of the first literal (`{N}` CR LF, then N bytes) in a FETCH response; nil if the response has
    /// none (the message is gone).
    static func literal(in raw: [UInt8]) throws(IMAPError) -> [UInt8]? {
        // Start at the FETCH response: libcurl's SELECT, answered in the same transfer, comes before it.
        let marker = Array(" FETCH (".utf8)
        guard var index = raw.firstRange(of: marker)?.upperBound else { return nil }
        while index < raw.count {
            guard raw[index] == UInt8(ascii: "{") else { index += 1; continue }
            var end = index + 1
            var length = 0
            while end < raw.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(raw[end]), length < 1 << 40 {
                length = length * 10 + Int(raw[end] - UInt8(ascii: "0"))
                end += 1
            }
            if end > index + 1, end + 2 < raw.count, raw[end] == UInt8(ascii: "}"), raw[end + 1] == 0x0D, raw[end + 2] == 0x0A {
                let start = end + 3
                guard start + length <= raw.count else {
                    throw IMAPError("the mailbox server's answer ended inside a message (\(raw.count - start) of \(length) bytes)")
                }
                return Array(raw[start..<(start + length)])
            }
            index += 1
        }
        return nil
    }

    private static func number(after key: String, in line: String) -> Int64? {
        guard let range = line.range(of: key) else { return nil }
        return Int64(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// An IMAP quoted string (folder names are checked at configuration to hold no quote or backslash).
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A folder name as a URL path (RFC 5092): every byte outside the unreserved set percent-encoded, "/" kept.
    static func urlPath(_ folder: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return folder.addingPercentEncoding(withAllowedCharacters: allowed) ?? folder
    }
}
