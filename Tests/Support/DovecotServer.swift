import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real IMAP server for tests: Dovecot (Debian dovecot-imapd) in its own folder, on loopback ports of its own,
/// with one user, a Maildir, and TLS with a certificate made at start-up. Stopped when released.
public final class DovecotServer: @unchecked Sendable {
    /// The login name and password of the one user.
    public let username = "cop"
    public let password = "imap-s3cret"
    /// The plain IMAP port (STARTTLS offered) and the IMAPS port.
    public let imapPort: Int
    public let imapsPort: Int
    /// The server's self-signed certificate, to trust as the CA file.
    public let caFile: String
    /// The user's Maildir.
    public let maildir: String
    private let folder: String
    private let configFile: String
    private var process: Process

    /// Where Debian installs the delivery agent (not on PATH).
    public static let lda = "/usr/lib/dovecot/dovecot-lda"

    /// Starts a server; `capabilities` replaces the advertised capability list (e.g. to leave MOVE out);
    /// `mechanisms` the SASL mechanisms offered (with "xoauth2", the bearer token is checked like a password, against
    /// the passwd file, which is how a test stands in for Microsoft 365's token check).
    public init(capabilities: String? = nil, mechanisms: String = "plain login") throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot") else {
            throw DovecotError("Dovecot is not installed; `scripts/deps test` installs dovecot-imapd")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dovecot-\(UUID().uuidString.prefix(8))").path
        let fm = FileManager.default
        for sub in ["base", "state", "mail"] { try fm.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true) }
        maildir = "\(folder)/mail/\(username)"
        // The mail user is "nobody"; its folders must be its own or folder creation fails silently.
        chown("\(folder)/mail", 65534, 65534)
        caFile = "\(folder)/cert.pem"
        try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                                          "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                          "-keyout", "\(folder)/key.pem", "-out", caFile])
        try Self.writePasswd("\(folder)/passwd", username: username, secret: password)
        imapPort = try Self.freePort()
        imapsPort = try Self.freePort()
        configFile = "\(folder)/dovecot.conf"
        try """
            protocols = imap
            listen = 127.0.0.1
            base_dir = \(folder)/base
            state_dir = \(folder)/state
            instance_name = dovecot-test-\(UUID().uuidString.prefix(8))
            log_path = \(folder)/dovecot.log
            ssl = yes
            ssl_cert = <\(folder)/cert.pem
            ssl_key = <\(folder)/key.pem
            auth_mechanisms = \(mechanisms)
            lda_mailbox_autocreate = yes
            \(capabilities.map { "imap_capability = \($0)" } ?? "")
            passdb {
              driver = passwd-file
              args = \(folder)/passwd
            }
            userdb {
              driver = static
              args = uid=65534 gid=65534 home=\(folder)/mail/%n
            }
            mail_location = maildir:\(folder)/mail/%n
            service imap-login {
              inet_listener imap {
                port = \(imapPort)
              }
              inet_listener imaps {
                port = \(imapsPort)
                ssl = yes
              }
              chroot =
            }
            service anvil {
              chroot =
            }

            """.write(toFile: configFile, atomically: true, encoding: .utf8)
        process = try Self.launch(configFile: configFile, folder: folder, port: imapPort)
    }

    /// Starts Dovecot on the config file and waits until it greets on `port`.
    private static func launch(configFile: String, folder: String, port: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/dovecot")
        process.arguments = ["-F", "-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.greets(port: port) {
            guard Date() < deadline, process.isRunning else {
                let log = (try? String(contentsOfFile: "\(folder)/dovecot.log", encoding: .utf8)) ?? ""
                process.terminate()
                throw DovecotError("Dovecot did not start: \(log.suffix(2000))")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return process
    }

    /// Stops the server (an outage: connections are refused) until `start()`; the mailbox stays as it is.
    public func stop() {
        Self.stop(process)
    }

    /// Starts the server again on the same ports, with the same mailbox.
    public func start() throws {
        guard !process.isRunning else { return }
        process = try Self.launch(configFile: configFile, folder: folder, port: imapPort)
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(6)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit {
        Self.stop(process)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Replaces the user's password (or, with XOAUTH2, the one token the server accepts): Dovecot reads the passwd
    /// file again when it changes, as a token service would start refusing a token that expired.
    public func accept(secret: String) throws {
        try Self.writePasswd("\(folder)/passwd", username: username, secret: secret)
        // Dovecot looks at the file at most once a second: the next login must come in a later second.
        Thread.sleep(forTimeInterval: 1.1)
    }

    private static func writePasswd(_ path: String, username: String, secret: String) throws {
        try "\(username):{PLAIN}\(secret)::::::\n".write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Delivers a message into a folder of the mailbox (INBOX unless named) with dovecot-lda, as a mail server would.
    public func deliver(_ message: String, folder mailbox: String? = nil, from sender: String = "MAILER-DAEMON@example.org") throws {
        var arguments = ["-c", configFile, "-d", username, "-f", sender]
        if let mailbox { arguments += ["-m", mailbox] }
        try Self.run(Self.lda, arguments, input: Data(message.replacingOccurrences(of: "\r\n", with: "\n").utf8))
    }

    /// The number of messages in a folder ("INBOX" or another), read from the Maildir.
    public func count(in mailbox: String) -> Int {
        let base = mailbox.uppercased() == "INBOX" ? maildir : "\(maildir)/.\(mailbox)"
        return ["new", "cur"].reduce(0) { total, sub in
            total + ((try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(sub)"))?.count ?? 0)
        }
    }

    /// The flags of every message in a folder (the Maildir file names' info part, e.g. "FS").
    public func flags(in mailbox: String) -> [String] {
        let base = mailbox.uppercased() == "INBOX" ? maildir : "\(maildir)/.\(mailbox)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/cur")) ?? []
        return names.map { $0.components(separatedBy: ":2,").last ?? "" }
    }

    /// The server's log, for failure messages.
    public var log: String { (try? String(contentsOfFile: "\(folder)/dovecot.log", encoding: .utf8)) ?? "" }

    private static func run(_ path: String, _ arguments: [String], input: Data? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        let text = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DovecotError("\(path) failed (\(process.terminationStatus)): \(String(decoding: text, as: UTF8.self))")
        }
    }

    /// A loopback port nobody listens on now.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DovecotError("no socket for a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw DovecotError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether the server's greeting ("* OK") arrives on `port`.
    private static func greets(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        return count >= 4 && buffer.starts(with: Array("* OK".utf8))
    }
}

/// Dovecot could not be started or used.
public struct DovecotError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
