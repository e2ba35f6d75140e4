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

/// The outbox is circulate's own file when it lives beside the database: an erasure removes the person's messages
/// still in it (new/ and cur/), overwriting each before it is unlinked.
public enum MaildirOutbox {
    /// Whether `folder` is circulate's own outbox for the database at `databasePath` (inside the database's folder).
    public static func isOwn(_ folder: String, databasePath: String) -> Bool {
        let outbox = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
        let state = URL(fileURLWithPath: databasePath).deletingLastPathComponent().standardizedFileURL.resolvingSymlinksInPath().path
        return outbox == state || outbox.hasPrefix(state + "/")
    }

    /// Removes every message addressed to `address` from the folder's new/ and cur/; returns how many.
    public static func removeMessages(to address: EmailAddress, in folder: String) throws -> Int {
        var removed = 0
        for sub in ["new", "cur"] {
            let dir = folder + "/" + sub
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names where !name.hasPrefix(".") {
                let path = dir + "/" + name
                guard let recipients = Self.recipients(ofMessageAt: path), recipients.contains(address.key) else { continue }
                try wipe(path)
                removed += 1
            }
        }
        return removed
    }

    /// The addresses in the message's To header, as keys (local part lower-cased, ASCII domain).
    static func recipients(ofMessageAt path: String) -> Set<String>? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // The header ends at the first empty line; 64 KB is far more than circulate writes.
        let head = (try? handle.read(upToCount: 65_536)) ?? Data()
        let text = String(decoding: head, as: UTF8.self)
        let header = text.components(separatedBy: "\r\n\r\n").first ?? text
        // Unfold (RFC 5322 2.2.3), then take the To field.
        let unfolded = header.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
        var keys = Set<String>()
        for line in unfolded.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("to:") {
            for token in line.dropFirst(3).split(whereSeparator: { $0 == " " || $0 == "," || $0 == "<" || $0 == ">" }) where token.contains("@") {
                if let address = try? EmailAddress(String(token)) { keys.insert(address.key) }
            }
        }
        return keys
    }

    /// Overwrites a file with zeros, syncs it, and unlinks it: its bytes should not outlive the erasure in the file.
    private static func wipe(_ path: String) throws {
        let fd = open(path, O_WRONLY)
        if fd >= 0 {
            var info = stat()
            if fstat(fd, &info) == 0, info.st_size > 0 {
                let zeros = [UInt8](repeating: 0, count: Int(info.st_size))
                _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                _ = fsync(fd)
            }
            Glibc.close(fd)
        }
        guard unlink(path) == 0 else {
            throw StorageError(kind: .storage, "cannot remove \(path) from the outbox (\(String(cString: strerror(errno)))); check its permissions")
        }
    }
}
