import CCurl
import Foundation

// MARK: - Configuration

/// How to reach the organisation's SMTP relay, checked once when it is made so that a sender never starts with
/// settings that would leak a password or mail in clear.
public struct SMTPRelayConfiguration: Sendable, CustomStringConvertible {
    /// The relay as configured: `smtp://host:587` (STARTTLS) or `smtps://host:465` (TLS from the first byte).
    public let url: URL
    /// The relay's host name or address, without brackets.
    public let host: String
    /// The relay's port (587 for smtp:// and 465 for smtps:// when the URL names none).
    public let port: Int
    /// Whether TLS starts at connect (smtps://) rather than by STARTTLS.
    public let implicitTLS: Bool
    /// The AUTH user name, if the relay needs one.
    public let username: String?
    /// The AUTH password; only ever handed to libcurl.
    public let password: Secret?
    /// Reads the password again (from its file) for each new connection, so that a corrected password needs no
    /// restart; nil when it cannot change while circulate runs.
    public var passwordReloader: (@Sendable () throws -> Secret?)?
    /// A PEM file of the certificate authorities to trust instead of the system's (for a private CA).
    public let caFile: String?
    /// Whether certificate and host-name checks are off; allowed only for a relay on this machine.
    public let insecureSkipVerify: Bool
    /// Whether plain smtp:// without TLS is used (no STARTTLS at all).
    public let allowPlaintext: Bool
    /// The name circulate gives in EHLO (e.g. the list's domain), not the machine's host name.
    public let ehloDomain: String
    /// Whether the relay supports SMTPUTF8, so recipients with non-ASCII local parts may be sent to.
    public let smtputf8: Bool
    /// Longest wait for the TCP connection and the TLS handshake.
    public let connectTimeout: Duration
    /// Longest wait for any reply to a command (greeting, EHLO, AUTH, MAIL, RCPT, DATA) and for the relay to take
    /// the next piece of the message content.
    public let responseTimeout: Duration
    /// Longest wait for the reply to the final dot (RFC 5321 §4.5.3.2.6: 10 minutes; the relay may be scanning).
    public let endOfDataTimeout: Duration

    /// Whether the relay is on this machine (localhost, 127.0.0.0/8 or ::1).
    public var isLoopback: Bool { Self.isLoopback(host) }

    /// "smtp://relay.example.org:587", for logs.
    public var description: String { "\(implicitTLS ? "smtps" : "smtp")://\(hostForURL):\(port)" }

    /// The URL libcurl gets: libcurl takes the EHLO name from the path, and uses the machine's name without one.
    var curlURL: String { "\(description)/\(ehloDomain)" }

    private var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// Checks and stores the relay settings; every refusal names the setting and what to do.
    public init(url: URL, ehloDomain: String, username: String? = nil, password: Secret? = nil, caFile: String? = nil,
                insecureSkipVerify: Bool = false, allowPlaintext: Bool = false, smtputf8: Bool = false,
                connectTimeout: Duration = .seconds(30), responseTimeout: Duration = .seconds(300),
                endOfDataTimeout: Duration = .seconds(600)) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(file: nil, message) }
        let shown = ConfigurationLoader.shownURL(url.absoluteString)
        guard let scheme = url.scheme?.lowercased(), scheme == "smtp" || scheme == "smtps" else {
            throw fail("smtp.url = \"\(shown)\" must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
        }
        guard let rawHost = url.host, !rawHost.isEmpty else {
            throw fail("smtp.url = \"\(shown)\" has no host; write e.g. smtp://relay.example.org:587")
        }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        guard host.utf8.allSatisfy({ Self.isHostByte($0) || $0 == UInt8(ascii: ":") }) else {
            throw fail("smtp.url = \"\(shown)\": the host must be an ASCII name or an IP address (write an internationalised name as its xn-- form)")
        }
        guard url.user == nil, url.password == nil else {
            throw fail("smtp.url must not contain a user name or password; use smtp.username and smtp.password_file")
        }
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil else {
            throw fail("smtp.url = \"\(shown)\" must be just scheme, host and port; the EHLO name goes in smtp.ehlo_domain")
        }
        let port = url.port ?? (scheme == "smtps" ? 465 : 587)
        guard (1...65_535).contains(port) else { throw fail("smtp.url = \"\(shown)\" has port \(port); ports are 1 to 65535") }
        let implicitTLS = scheme == "smtps"
        let loopback = Self.isLoopback(host)

        guard Self.isDomainName(ehloDomain) else {
            throw fail("smtp.ehlo_domain = \"\(TextField.printable(ehloDomain))\" must be a host name of ASCII letters, digits, hyphens and dots, e.g. \"lists.example.org\"")
        }
        switch (username, password) {
        case (nil, nil):
            break
        case (let user?, _?):
            guard !user.isEmpty, user.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                throw fail("smtp.username must be non-empty text on one line")
            }
        case (_?, nil):
            throw fail("smtp.username is set but no password was found; set smtp.password_file or smtp.password_env")
        case (nil, _?):
            throw fail("a relay password is set but smtp.username is not; set both or neither")
        }
        if let password {
            guard !password.bytes.isEmpty, !password.bytes.contains(0) else {
                throw fail("the relay password is empty or contains a NUL byte; check smtp.password_file")
            }
        }
        if insecureSkipVerify && !loopback {
            throw fail("smtp.insecure_skip_verify is only allowed for a relay on this machine (localhost, 127.0.0.1 or ::1), not \(host); for a relay with a private certificate authority set smtp.ca_file instead")
        }
        if allowPlaintext {
            if implicitTLS {
                throw fail("smtp.allow_plaintext does not fit smtps://, which always uses TLS; remove one of them")
            }
            if username != nil && !loopback {
                throw fail("smtp.allow_plaintext with smtp.username would send the password unencrypted to \(host); use STARTTLS (the default) or smtps://")
            }
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw fail("smtp.ca_file = \"\(TextField.printable(caFile))\" cannot be read; check the path and that this user may read it")
        }
        for (name, value) in [("connect", connectTimeout), ("response", responseTimeout), ("end-of-data", endOfDataTimeout)] {
            guard value >= .milliseconds(1), value <= .seconds(3_600) else {
                throw fail("the SMTP \(name) timeout must be between 1 millisecond and 1 hour")
            }
        }

        self.url = url
        self.host = host
        self.port = port
        self.implicitTLS = implicitTLS
        self.username = username
        self.password = password
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.allowPlaintext = allowPlaintext
        self.ehloDomain = ehloDomain.lowercased()
        self.smtputf8 = smtputf8
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.endOfDataTimeout = endOfDataTimeout
    }

    static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "0:0:0:0:0:0:0:1" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    private static func isDomainName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty && text.utf8.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { isHostByte($0) && $0 != UInt8(ascii: ".") }
        }
    }
}

// MARK: - Transport

/// Delivers through an SMTP relay with libcurl: STARTTLS (or smtps://) with verified certificates, optional AUTH,
/// one recipient per transaction, one connection per sender reused for many messages.
public struct CurlSMTPTransport: MailTransport {
    /// The relay settings.
    public let configuration: SMTPRelayConfiguration

    /// Creates the transport; nothing connects until the first message.
    public init(configuration: SMTPRelayConfiguration) {
        self.configuration = configuration
    }

    /// "smtp://relay.example.org:587".
    public var description: String { configuration.description }

    /// Initialises libcurl (and through it the TLS library) on the calling thread. libcurl asks for this once, at
    /// program start, before other threads run; done lazily, it happened inside the first message on a worker thread,
    /// and a TLS library that cannot start was only found then.
    public func prepare() throws {
        if let problem = CurlGlobal.initialise() {
            throw ConfigurationError(file: nil, "cannot prepare the SMTP relay connection: \(problem)")
        }
        guard Versions.libcurlHasSMTP else {
            throw ConfigurationError(file: nil, "this libcurl (\(Versions.libcurl)) was built without smtp/smtps; install Debian's libcurl4-openssl-dev build of libcurl")
        }
    }

    /// Opens a sender with its own libcurl handle (and so its own connection).
    public func makeSender() throws -> any MailSender {
        guard Versions.libcurlHasSMTP else {
            throw ConfigurationError(file: nil, "this libcurl (\(Versions.libcurl)) was built without smtp/smtps; install Debian's libcurl4-openssl-dev build of libcurl")
        }
        do {
            return try CurlSMTPSender(configuration: configuration)
        } catch {
            throw ConfigurationError(file: nil, "cannot prepare the SMTP relay connection: \(error.description)")
        }
    }
}

// MARK: - Sender

/// Sends messages over one libcurl handle, so one connection (one EHLO, one AUTH) serves many messages.
///
/// `send` blocks in `curl_easy_perform` for the whole SMTP transaction (up to the end-of-data timeout), so it must
/// run on a dedicated `Thread`, never on Swift's cooperative thread pool (an async task), where a blocked thread
/// starves every other task. The sender is not `Sendable`: create it, use it and close it on that one thread.
/// After any transfer that fails, the handle is thrown away, so the next message starts on a fresh connection.
public final class CurlSMTPSender: MailSender {
    private let configuration: SMTPRelayConfiguration
    private let watchdog: CurlWatchdog
    private var easy: CurlEasy?
    /// What CURLOPT_MAIL_FROM is set to on `easy`; the bounce address rarely changes, so it is set once.
    private var mailFrom: String?
    private var closed = false

    init(configuration: SMTPRelayConfiguration) throws(CurlSetupError) {
        self.configuration = configuration
        watchdog = CurlWatchdog(firstReply: configuration.connectTimeout + configuration.responseTimeout,
                                reply: configuration.responseTimeout, finalReply: configuration.endOfDataTimeout)
        easy = try makeHandle()
    }

    /// Hands one message for one recipient to the relay; see `MailSender.send`.
    public func send(_ envelope: Envelope, message: [UInt8], lastCheck: () -> LastCheck) -> SendOutcome {
        if closed {
            return .relayProblem(RelayProblem(kind: .configuration, description: "this SMTP sender was already closed (a bug in circulate)"))
        }
        if let refusal = checkEnvelope(envelope) { return refusal }
        if message.isEmpty {
            return .notSent(reason: "the message is empty (circulate's own check; nothing reached the relay)")
        }
        let easy: CurlEasy
        do {
            easy = try handle()
            if mailFrom != envelope.from {
                try easy.set(CURLOPT_MAIL_FROM, envelope.from)
                mailFrom = envelope.from
            }
            try easy.setForNextTransfer(CURLOPT_MAIL_RCPT, list: [envelope.to])
            try easy.set(CURLOPT_INFILESIZE_LARGE, size: Int64(message.count))
        } catch {
            discardConnection()
            return .relayProblem(RelayProblem(kind: .configuration, description: error.description))
        }
        let result = message.withUnsafeBytes { content in
            withoutActuallyEscaping(lastCheck) { lastCheck in
                easy.perform(CurlTransfer(content: content, beforeContent: lastCheck, watchdog: watchdog))
            }
        }
        if result.code != CURLE_OK {
            // libcurl already closes the connection after most errors; dropping the handle makes that certain, so a
            // half-finished SMTP conversation can never carry over into the next message.
            discardConnection()
        }
        return SMTPOutcome(result: result, envelope: envelope, configuration: configuration).outcome
    }

    /// Ends the session: `curl_easy_cleanup` says QUIT on a connection that is still open.
    public func close() {
        closed = true
        easy = nil
    }

    private func handle() throws(CurlSetupError) -> CurlEasy {
        if let easy { return easy }
        let fresh = try makeHandle()
        easy = fresh
        return fresh
    }

    private func discardConnection() {
        easy = nil
        mailFrom = nil
    }

    /// Options that hold for every message, set once per handle to keep the per-message cost to three options.
    private func makeHandle() throws(CurlSetupError) -> CurlEasy {
        let c = configuration
        let easy = try CurlEasy()
        try easy.set(CURLOPT_URL, c.curlURL)
        try easy.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        try easy.set(CURLOPT_UPLOAD, 1)
        // One connection per sender: a second one would only be opened after the first had failed.
        try easy.set(CURLOPT_MAXCONNECTS, 1)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(c.connectTimeout))
        // libcurl has one limit for every reply; the watchdog enforces the per-phase limits, so libcurl's own is a
        // backstop just past the longest of them (its default, 120 s, would cut the 10-minute end-of-data wait short).
        try easy.setServerResponseTimeout(milliseconds: milliseconds(max(c.responseTimeout, c.endOfDataTimeout)) + 5_000)
        // CURLUSESSL_ALL fails unless TLS is up before anything else is said; CURLUSESSL_TRY would fall back to
        // plain text when an attacker strips STARTTLS from the EHLO reply.
        let plaintext = c.allowPlaintext && !c.implicitTLS
        try easy.set(CURLOPT_USE_SSL, Int(plaintext ? CURLUSESSL_NONE.rawValue : CURLUSESSL_ALL.rawValue))
        try easy.set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        try easy.set(CURLOPT_SSL_VERIFYPEER, c.insecureSkipVerify ? 0 : 1)
        try easy.set(CURLOPT_SSL_VERIFYHOST, c.insecureSkipVerify ? 0 : 2)
        if let caFile = c.caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        // The certificate authorities are read again for each new connection (no cached store), so a corrected
        // smtp.ca_file needs no restart either.
        try easy.set(CURLOPT_CA_CACHE_TIMEOUT, 0)
        if let username = c.username, let password = try currentPassword() {
            try easy.set(CURLOPT_USERNAME, username)
            try easy.set(CURLOPT_PASSWORD, bytes: password.bytes)
            try easy.set(CURLOPT_SASL_IR, 1)  // AUTH PLAIN with the initial response: one round trip, not two
        }
        return easy
    }

    /// The password as its file holds it now (see `SMTPRelayConfiguration.passwordReloader`).
    private func currentPassword() throws(CurlSetupError) -> Secret? {
        guard let reload = configuration.passwordReloader else { return configuration.password }
        do {
            return try reload() ?? configuration.password
        } catch {
            throw CurlSetupError(code: CURLE_LOGIN_DENIED.rawValue, description: "the relay password cannot be read again (\(error)); check smtp.password_file")
        }
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// libcurl puts MAIL_FROM and MAIL_RCPT on the wire as they are (a CR LF inside one starts a new command), so
    /// every address is checked here first.
    private func checkEnvelope(_ envelope: Envelope) -> SendOutcome? {
        if !envelope.from.isEmpty,
           let problem = EnvelopeAddress.problem(in: envelope.from, smtputf8: configuration.smtputf8, needsSMTPUTF8: false) {
            return .relayProblem(RelayProblem(kind: .configuration, description:
                "the sender (bounce) address \"\(TextField.printable(envelope.from))\" cannot be used in SMTP: \(problem); check the list's bounce address"))
        }
        guard let problem = EnvelopeAddress.problem(in: envelope.to, smtputf8: configuration.smtputf8,
                                                    needsSMTPUTF8: envelope.needsSMTPUTF8) else { return nil }
        // A permanent refusal, as the relay itself would give (RFC 6531 §3.5 for SMTPUTF8): it concerns this one
        // recipient, and pausing the whole relay for it would hold up everyone else's mail.
        if problem == .needsSMTPUTF8 {
            return .notSent(reason: "\(problem); set smtp.smtputf8 = true if the relay supports SMTPUTF8 (circulate's own check; nothing reached the relay)")
        }
        return .notSent(reason: "the recipient address \(problem) (circulate's own check; nothing reached the relay)")
    }
}

// MARK: - Envelope addresses

/// Why an envelope address cannot go to libcurl.
enum EnvelopeAddress: Equatable, CustomStringConvertible {
    case empty
    case forbidden(UInt8)
    case noAt
    case severalAts
    case badLocalPart(UInt8)
    case nonASCIIDomain
    case badDomain(UInt8)
    case tooLong
    case needsSMTPUTF8

    var description: String {
        switch self {
        case .empty: "is empty"
        case .forbidden(0x0D), .forbidden(0x0A): "contains a line break"
        case .forbidden(0): "contains a NUL byte"
        case .forbidden(0x20): "contains a space"
        case .forbidden(let byte) where byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">"): "contains \"<\" or \">\""
        case .forbidden: "contains a control character"
        case .noAt: "has no @"
        case .severalAts: "has more than one @"
        case .badLocalPart(let byte): "has \"\(Character(Unicode.Scalar(byte)))\" before the @, which SMTP does not allow unquoted"
        case .nonASCIIDomain: "has a non-ASCII domain (it must be sent in its xn-- form)"
        case .badDomain(let byte): "has \"\(Character(Unicode.Scalar(byte)))\" in its domain"
        case .tooLong: "is too long for SMTP (64 characters before the @, 254 in all)"
        case .needsSMTPUTF8: "the recipient's address has a non-ASCII part before the @ and the relay is not configured for SMTPUTF8"
        }
    }

    /// The first problem with `address`, or nil if it can be handed to libcurl. A non-ASCII local part is accepted
    /// only for an SMTPUTF8 relay (libcurl then adds SMTPUTF8 to MAIL FROM itself when the relay offers it).
    static func problem(in address: String, smtputf8: Bool, needsSMTPUTF8: Bool) -> EnvelopeAddress? {
        let bytes = address.utf8
        guard !bytes.isEmpty else { return .empty }
        var at: Int?
        var nonASCIILocalPart = false
        var index = 0
        for byte in bytes {
            switch byte {
            case 0..<0x21, 0x7F, UInt8(ascii: "<"), UInt8(ascii: ">"):
                return .forbidden(byte)
            case UInt8(ascii: "@"):
                if at != nil { return .severalAts }
                at = index
            case 0x80...:
                if at != nil { return .nonASCIIDomain }
                nonASCIILocalPart = true
            default:
                if at == nil {
                    if !isAtext(byte) { return .badLocalPart(byte) }
                } else if !SMTPRelayConfiguration.isHostByte(byte) {
                    return .badDomain(byte)
                }
            }
            index += 1
        }
        guard let at else { return .noAt }
        guard at > 0, at < bytes.count - 1 else { return .noAt }
        guard at <= 64, bytes.count <= 254 else { return .tooLong }
        if (nonASCIILocalPart || needsSMTPUTF8) && !smtputf8 { return .needsSMTPUTF8 }
        return nil
    }

    /// RFC 5322 atext plus the dot: what a dot-atom local part may hold.
    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-/=?^_`{|}~.".utf8.contains(byte)
        }
    }
}

// MARK: - Outcomes

/// Turns what libcurl reported for one transaction into a `SendOutcome`.
///
/// libcurl 7.88 reports SMTP failures like this (response code = the last reply, CURLINFO_RESPONSE_CODE):
/// greeting not 2xx → 8 (WEIRD_SERVER_REPLY); EHLO refused → 9; no STARTTLS → 64; AUTH refused → 67;
/// MAIL/RCPT/DATA refused → 55 (SEND_ERROR) with "MAIL failed: 550" etc. in the error text; reply to the final dot
/// not 250 → 8; connection lost → 55/56; certificate → 60; handshake → 35; refused connection → 7.
struct SMTPOutcome {
    let result: CurlTransferResult
    let envelope: Envelope
    let configuration: SMTPRelayConfiguration

    /// The command whose reply ended a transaction with CURLE_SEND_ERROR, from libcurl's error text.
    private enum Command { case mail, rcpt, data, unknown }

    var outcome: SendOutcome {
        let code = result.responseCode
        if result.code == CURLE_OK { return .accepted(reply: reply) }
        switch result.withheld {
        case .stop(let reason)?: return .withdrawn(reason: reason, atRelay: true)
        case .unknown(let detail)?: return .checkFailed(detail: detail, atRelay: true)
        case .go?, nil: break
        }
        if result.contentComplete { return afterContent(code) }
        if result.contentStarted {
            // No final dot went out, so the relay discards the partial message: safe to retry as a relay problem.
            if isTimeout {
                return problem(.timeout, "the relay stopped taking the message content for more than \(seconds(configuration.responseTimeout)) (\(result.errorText)); nothing was delivered")
            }
            return problem(.cannotConnect, "the connection to the relay broke while the message was being sent (\(result.errorText)); nothing was delivered")
        }
        return beforeContent(code)
    }

    /// The whole message was handed to libcurl: only a reply to the final dot says what happened to it.
    private func afterContent(_ code: Int) -> SendOutcome {
        switch code {
        case 200..<300:
            return .accepted(reply: reply)  // e.g. 251, which libcurl counts as an error
        case 400..<600:
            return .refused(SMTPReply(code: code, text: reply, stage: .endOfData))
        default:
            let why = isTimeout ? "no reply within \(seconds(configuration.endOfDataTimeout))" : result.errorText
            return .inDoubt(detail: "the whole message was sent but the relay did not confirm it (\(why)); it may or may not have been accepted")
        }
    }

    private func beforeContent(_ code: Int) -> SendOutcome {
        if isTimeout {
            return problem(.timeout, "the relay \(configuration) did not answer in time (\(result.errorText)); it may be overloaded, or a firewall may be dropping the connection")
        }
        switch result.code {
        case CURLE_SEND_ERROR where code >= 400:
            return commandRefused(code)
        case CURLE_WEIRD_SERVER_REPLY where code >= 400:
            return problem(.unavailable, "the relay refused the connection (\(reply)); delivery will pause and retry", code: code)
        case CURLE_REMOTE_ACCESS_DENIED where (400..<500).contains(code):
            return problem(.unavailable, "the relay is not accepting mail right now (\(reply))", code: code)
        case CURLE_REMOTE_ACCESS_DENIED:
            return problem(.protocolError, "the relay refused EHLO \(configuration.ehloDomain) (\(replyOrError)); check smtp.ehlo_domain", code: nonZero(code))
        case CURLE_USE_SSL_FAILED where code >= 400:
            return problem(.tls, "the relay refused STARTTLS (\(reply)); circulate does not send mail or passwords unencrypted", code: code)
        case CURLE_USE_SSL_FAILED:
            return problem(.configuration, "the relay \(configuration) does not offer STARTTLS, and circulate does not send mail or passwords unencrypted; use smtps:// if the relay offers TLS on connect (usually port 465), or enable STARTTLS on the relay")
        case CURLE_LOGIN_DENIED where (400..<500).contains(code):
            return problem(.unavailable, "the relay cannot check the password right now (\(reply)); delivery will pause and retry", code: code)
        case CURLE_LOGIN_DENIED where code >= 500:
            return problem(.authentication, "the relay refused the user name or password (\(code)); check smtp.username and the password file", code: code)
        case CURLE_LOGIN_DENIED:
            return problem(.authentication, "the relay offers no login method libcurl can use (\(result.errorText)); check the relay's AUTH settings")
        case CURLE_COULDNT_RESOLVE_HOST:
            return problem(.cannotConnect, "cannot find the relay \(configuration.host) (\(result.errorText)); check smtp.url and this machine's DNS")
        case CURLE_COULDNT_CONNECT:
            return problem(.cannotConnect, "cannot connect to the relay \(configuration) (\(result.errorText)); check smtp.url, that the relay is running, and that a firewall lets this machine reach it")
        case CURLE_SSL_CONNECT_ERROR:
            return problem(.tls, "the TLS handshake with the relay \(configuration) failed (\(result.errorText)); with smtps:// the port must speak TLS at once (usually 465), for STARTTLS use smtp:// (usually 587)")
        case CURLE_PEER_FAILED_VERIFICATION:
            return problem(.tls, "the relay's certificate is not trusted for \(configuration.host) (\(result.errorText)); if the relay uses a private certificate authority, set smtp.ca_file to its certificate")
        case CURLE_SSL_CACERT_BADFILE:
            return problem(.configuration, "the certificate authority file cannot be used (\(result.errorText)); check smtp.ca_file")
        case CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED:
            return problem(.tls, "TLS with the relay \(configuration) failed (\(result.errorText))")
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING:
            return problem(.cannotConnect, "the connection to the relay \(configuration) broke (\(result.errorText)); nothing was delivered")
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT,
             CURLE_UNKNOWN_OPTION, CURLE_FAILED_INIT, CURLE_OUT_OF_MEMORY:
            return problem(.configuration, "libcurl cannot use these relay settings (\(result.errorText)); check the [smtp] settings")
        default:
            return problem(.protocolError, "unexpected trouble talking to the relay \(configuration) (libcurl error \(result.code.rawValue): \(replyOrError))", code: nonZero(code))
        }
    }

    /// MAIL, RCPT or DATA got a 4xx/5xx reply (CURLE_SEND_ERROR); `ReplyClassification` decides what it means.
    private func commandRefused(_ code: Int) -> SendOutcome {
        let stage: SMTPStage = switch command {
        case .mail: .mail
        case .rcpt: .recipient
        // A refusal libcurl does not name is treated as one of the whole message, which never counts as a bounce.
        case .data, .unknown: .data
        }
        return .refused(SMTPReply(code: code, text: reply, stage: stage))
    }

    private var command: Command {
        let text = result.errorText
        if text.hasPrefix("MAIL failed") { return .mail }
        if text.hasPrefix("RCPT failed") { return .rcpt }
        if text.hasPrefix("DATA failed") { return .data }
        return .unknown
    }

    /// Whether a limit ran out: the watchdog, or one of libcurl's own timeouts.
    private var isTimeout: Bool { result.timedOut || result.code == CURLE_OPERATION_TIMEDOUT }

    /// The relay's reply with the last code, or at least the code.
    private var reply: String {
        if !result.reply.isEmpty { return result.reply }
        return result.responseCode == 0 ? "" : String(result.responseCode)
    }

    private var replyOrError: String { reply.isEmpty ? result.errorText : reply }

    private func nonZero(_ code: Int) -> Int? { code == 0 ? nil : code }

    private func problem(_ kind: RelayProblem.Kind, _ description: String, code: Int? = nil) -> SendOutcome {
        .relayProblem(RelayProblem(kind: kind, code: code, description: description))
    }

    private func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return fraction == 0 ? "\(whole) s" : "\(Double(whole) + Double(fraction) / 1e18) s"
    }
}
