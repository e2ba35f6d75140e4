import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The embedded default when no relay is configured: each message, composed exactly as it would be sent, becomes
/// one file in a Maildir folder that any mail client can open.
public struct MaildirTransport: MailTransport {
    /// The Maildir folder (with tmp/, new/, cur/).
    public let folder: String

    /// A transport writing into `folder`; the subfolders are created if missing.
    public init(folder: String) {
        self.folder = folder
    }

    /// "Maildir FOLDER".
    public var description: String { "Maildir outbox \(folder)" }

    /// A sender; Maildir needs no connection, but each sender numbers its own files.
    public func makeSender() throws -> any MailSender {
        for sub in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        return MaildirSender(folder: folder)
    }
}

/// Writes messages to tmp/ and renames them into new/, so a reader never sees half a message.
final class MaildirSender: MailSender {
    private let folder: String
    private var counter = 0
    private static let host: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Maildir names must not contain "/" or ":"; see the Maildir specification.
        return text.replacingOccurrences(of: "/", with: "\\057").replacingOccurrences(of: ":", with: "\\072")
    }()

    init(folder: String) {
        self.folder = folder
    }

    func send(_ envelope: Envelope, message: [UInt8], lastCheck: () -> LastCheck) -> SendOutcome {
        counter += 1
        var now = timeval()
        gettimeofday(&now, nil)
        let name = "\(now.tv_sec).M\(now.tv_usec)P\(getpid())Q\(counter)T\(pthread_self() % 1_000_000).\(Self.host)"
        let tmp = folder + "/tmp/" + name
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            return .relayProblem(RelayProblem(kind: .configuration, description: "cannot write to the outbox \(folder)/tmp (\(String(cString: strerror(errno)))); check the folder's permissions and free space"))
        }
        let check = lastCheck()
        guard check == .go else {
            Glibc.close(fd)
            unlink(tmp)
            if case .unknown(let detail) = check { return .checkFailed(detail: detail, atRelay: false) }
            if case .stop(let reason) = check { return .withdrawn(reason: reason, atRelay: false) }
            return .withdrawn(reason: "stopped", atRelay: false)
        }
        let written = message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        Glibc.close(fd)
        guard written == message.count, synced else {
            unlink(tmp)
            return .relayProblem(RelayProblem(kind: .configuration, description: "cannot write to the outbox \(folder) (disk full?)"))
        }
        guard rename(tmp, folder + "/new/" + name) == 0 else {
            unlink(tmp)
            return .relayProblem(RelayProblem(kind: .configuration, description: "cannot move a message into \(folder)/new"))
        }
        return .accepted(reply: "written to \(folder)/new/\(name)")
    }

    func close() {}
}
