import CirculateCore
import Foundation

/// A topic as printed by `--json`.
struct TopicJSON: Encodable {
    var id: Int64
    var title: String
    var description: String
    var state: String
    var createdAt: Date
    var closedAt: Date?
    var sessions: Int?
    var reports: Int?

    init(_ t: Topic, sessions: Int? = nil, reports: Int? = nil) {
        (id, title, description, state, createdAt, closedAt) = (t.id, t.title, t.description, t.state.rawValue, t.createdAt, t.closedAt)
        self.sessions = sessions
        self.reports = reports
    }
}

/// A session as printed by `--json` (times in UTC, plus the local wall time for people).
struct SessionJSON: Encodable {
    var id: Int64
    var topic: String?
    var title: String
    var startsAt: Date
    var endsAt: Date
    var localTime: String
    var venue: String?
    var address: String?
    var onlineLink: String?
    var facilitator: String?
    var state: String
    var sequence: Int
    var hasNotes: Bool
    var holdForNotes: Bool
    var thankYouAt: Date
    var thankYouQueuedAt: Date?
    var thankYouWaitingFor: String?
    var unlistedAttendees: Int

    init(_ s: Session, zone: TimeZone) {
        id = s.id
        topic = s.topicTitle
        title = s.title
        startsAt = s.startsAt
        endsAt = s.endsAt
        localTime = LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone)
        venue = s.venueName
        address = s.venueAddress
        onlineLink = s.onlineLink
        facilitator = s.facilitator
        state = s.state.rawValue
        sequence = s.sequence
        hasNotes = s.notesMarkdown != nil
        holdForNotes = s.holdForNotes
        thankYouAt = s.followUpAt
        thankYouQueuedAt = s.followedUpAt
        thankYouWaitingFor = s.followUpWaitingFor
        unlistedAttendees = s.unlistedAttendees
    }
}

/// A report as printed by `--json`.
struct ReportJSON: Encodable {
    var id: Int64
    var title: String
    var link: String?
    var filename: String?
    var fileSize: Int?
    var audience: String
    var distributedAt: Date
    var followUpAt: Date
    var followedUpAt: Date?
    var followUpSentAt: Date?

    init(_ r: Report) {
        (id, title, link, filename, fileSize, audience) = (r.id, r.title, r.link, r.filename, r.fileSize, r.audience)
        (distributedAt, followUpAt, followedUpAt, followUpSentAt) = (r.distributedAt, r.followUpAt, r.followedUpAt, r.followUpSentAt)
    }
}

/// A monthly update as printed by `--json`.
struct UpdateJSON: Encodable {
    var id: Int64
    var slotAt: Date
    var slotLocal: String
    var subject: String
    var state: String
    var mailing: Int64?
    var createdBy: String
    /// `update queue` found the same update already queued or sent, and queued nothing.
    var alreadyQueued: Bool?

    init(_ u: MonthlyUpdate, zone: TimeZone, alreadyQueued: Bool? = nil) {
        (id, slotAt, subject, state, mailing, createdBy) = (u.id, u.slotAt, u.subject, u.state.rawValue, u.mailingID, u.createdBy)
        slotLocal = LocalTime.describe(u.slotAt, in: zone)
        self.alreadyQueued = alreadyQueued
    }
}

/// Reading a file the coordinator names (Markdown, CSV, a report to attach): every command reads its input files
/// here, so that the same rules hold for all of them.
enum InputFile {
    /// The file's bytes. Only a regular file is read, and never through a symbolic link at the end of the path
    /// (O_NOFOLLOW): a link named "shadow.pdf" pointing at /etc/shadow was once attached to a report. A linked folder
    /// on the way is fine. Opening without blocking means a named pipe is refused at once rather than waited on.
    static func data(_ path: String, what: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw UnreadableFile(path: path, what: what, reason: UnreadableFile.reason(errno: errno))
        }
        // The checks and the reading use the same open file, so the path cannot be swapped in between.
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw UnreadableFile(path: path, what: what, reason: UnreadableFile.reason(errno: errno))
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw UnreadableFile(path: path, what: what, reason: "it is a folder; give the file inside it")
        default: throw UnreadableFile(path: path, what: what, reason: "it is not a regular file (a device, pipe or socket); give an ordinary file")
        }
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw UnreadableFile(path: path, what: what, reason: "reading it failed (\(error.localizedDescription))")
        }
    }

    static func text(_ path: String, what: String) throws -> String {
        let data = try data(path, what: what)
        guard let text = String(data: data, encoding: .utf8) else {
            throw InvalidField(field: what, value: path, problem: "is not UTF-8 text; save it as UTF-8 (plain text or Markdown)")
        }
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }
}

/// A file named on the command line that cannot be read, and why.
struct UnreadableFile: Failure {
    let path: String
    let what: String
    let reason: String
    var kind: FailureKind { .unreadableInput }
    var description: String { "cannot read the \(what) \(TextField.printable(path)): \(reason)" }

    /// Why open(2) failed, in words.
    static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: "it does not exist"
        case EACCES, EPERM: "you do not have permission to read it"
        case ELOOP: "it is a symbolic link; give the file itself (circulate does not follow a link at the end of the path, so that it never reads whatever the link points to)"
        case ENOTDIR: "a folder on the way is not a folder"
        default: String(cString: strerror(code))
        }
    }
}
