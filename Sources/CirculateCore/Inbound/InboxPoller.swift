import Foundation
import Logging

/// One look at the list's mailbox: every message in the folder (up to the per-poll limit) is handled once and moved
/// to the processed folder or the coordinator's.
///
/// Blocking (libcurl and SQLite): run it on a thread of its own, never on Swift's cooperative pool.
public struct InboxPoller: Sendable {
    /// A failed message is tried at this many polls, then left for a person.
    public static let attemptLimit = 3

    let settings: Configuration.Inbox
    let processor: InboxProcessor
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date

    /// Creates a poller for the configured mailbox.
    public init(settings: Configuration.Inbox, database: AppDatabase, key: InstanceKey, bounceLimit: Int, timeZone: TimeZone,
                calendarDomain: String? = nil, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date) {
        self.settings = settings
        processor = InboxProcessor(database: database, key: key, bounceLimit: bounceLimit, timeZone: timeZone, calendarDomain: calendarDomain)
        self.environment = environment
        self.logger = logger
        self.clock = clock
    }

    /// What one poll did.
    public struct Report: Sendable, Equatable {
        /// Messages acted on in this poll.
        public var handled = 0
        /// Messages moved to the coordinator's folder in this poll.
        public var forCoordinator = 0
        /// Replies to a report left in the folder, flagged, in this poll (see `InboundRecord.staysInFolder`).
        public var leftFlagged = 0
        /// Messages found already on record (a crash or restart between commit and move) and only moved now.
        public var alreadyRecorded = 0
        /// Messages whose handling failed this time.
        public var failed = 0
        /// Messages left in the folder for the next poll (over the per-poll limit).
        public var waiting = 0
        /// Handled messages deleted from the processed folder after `inbox.retention_days`.
        public var expired = 0
        /// Erased people's messages deleted from the mailbox (see `MailboxEraser`).
        public var erased = 0
    }

    /// Reads the mailbox once. Throws only for trouble with the mailbox itself (connection, login, folders); a
    /// message that cannot be handled is recorded and tried again at later polls.
    public func poll() throws -> Report {
        let client = try IMAPClient(try clientSettings())
        let folder = settings.folder
        try client.ensureFolder(settings.processedFolder)
        try client.ensureFolder(settings.unmatchedFolder)
        // Erasures first: an erased person's new messages go before anything reads them.
        let erasure = try MailboxEraser(settings: settings, database: processor.database, logger: logger).run(client: client, waitForLog: false)
        let validity = try client.status(folder).uidValidity
        // Report replies left here by earlier polls are skipped unread and uncounted, so they never hold up new mail.
        let left = try processor.database.reportRepliesLeft(in: folder, uidValidity: validity)
        let uids = try client.allUIDs(in: folder).filter { !left.contains($0) }
        var report = Report()
        report.erased = erasure.deleted
        report.waiting = max(0, uids.count - settings.messagesPerPoll)
        for uid in uids.prefix(settings.messagesPerPoll) {
            let place = InboundRecord.Place(folder: folder, uidValidity: validity, uid: uid)
            try handle(uid, at: place, client: client, report: &report)
        }
        report.expired = try expire(client: client)
        return report
    }

    /// Notes, for `circulate inbox`, that a poll read the mailbox to the end, or why it could not. A database too
    /// busy to take the note loses nothing but the note: the next poll writes it again.
    public func note(_ outcome: Result<Report, any Error>) {
        do {
            switch outcome {
            case .success: try processor.database.recordMailboxRead(at: clock())
            case .failure(let error): try processor.database.recordMailboxProblem("\(error)", at: clock())
            }
        } catch {
            logger.warning("inbox: could not note how the poll went", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes handled messages that arrived more than `inbox.retention_days` ago: they name people, and what was
    /// done with them is on record. By arrival date (IMAP's internal date, which a move keeps), whole days in UTC.
    private func expire(client: IMAPClient) throws -> Int {
        let cutoff = clock().addingTimeInterval(-Double(settings.retentionDays) * 86_400)
        let old = try client.search("BEFORE \(Self.imapDate(cutoff))", in: settings.processedFolder)
        for uid in old.prefix(settings.messagesPerPoll) { try client.delete(uid: uid, in: settings.processedFolder) }
        return min(old.count, settings.messagesPerPoll)
    }

    /// An IMAP search date (RFC 3501 date: "1-Feb-2027"), in UTC.
    static func imapDate(_ date: Date) -> String {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let civil = CivilDate(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
        return "\(civil.day)-\(months[max(0, min(11, civil.month - 1))])-\(civil.year)"
    }

    private func handle(_ uid: Int64, at place: InboundRecord.Place, client: IMAPClient, report: inout Report) throws {
        let folder = settings.folder
        // Already on record under this UID: move it without reading it again (a crash came between commit and move).
        if let known = try processor.database.inboundRecord(at: place, messageID: nil), known.state.isFinal {
            try move(known, client: client)
            report.alreadyRecorded += 1
            return
        }
        guard let size = try client.size(uid: uid, in: folder) else { return }  // expunged meanwhile
        let result: InboxProcessor.Result
        if size > settings.maximumMessageSize {
            result = try processor.recordTooLarge(at: place, size: size, now: clock())
        } else {
            guard let bytes = try client.fetch(uid: uid, in: folder, limit: settings.maximumMessageSize) else { return }
            // Flagged before the record that makes later polls skip it: a crash between the two cannot leave it unflagged.
            if try processor.leavesInFolder(bytes) { try client.addFlag("\\Flagged", uid: uid, in: folder) }
            do {
                result = try processor.handle(bytes, at: place, now: clock())
            } catch {
                report.failed += 1
                let messageID = MIMEEntity.messageID(MIMEEntity(parsing: bytes).field("message-id"))
                let record = try processor.database.recordInboundFailure(at: place, messageID: messageID, kind: "other",
                                                                        problem: "\(error)", limit: Self.attemptLimit, now: clock())
                logger.error("inbox: message \(uid) could not be handled (try \(record.attempts) of \(Self.attemptLimit))",
                             metadata: ["error": "\(error)"])
                if record.state.isFinal { try move(record, client: client) }
                return
            }
        }
        if result.actedNow {
            logger.notice("inbox: message \(uid): \(result.record.kind): \(result.record.action)")
        } else {
            report.alreadyRecorded += 1
        }
        try move(result.record, client: client)
        if result.record.staysInFolder { report.leftFlagged += 1 }
        else if result.record.state == .handled { report.handled += 1 } else { report.forCoordinator += 1 }
    }

    /// The message goes to the processed folder, or, flagged, to the coordinator's; a reply to a report stays, flagged.
    private func move(_ record: InboundRecord, client: IMAPClient) throws {
        let folder = settings.folder
        if record.staysInFolder {
            try client.addFlag("\\Flagged", uid: record.uid, in: folder)
        } else if record.state == .handled {
            try client.move(uid: record.uid, from: folder, to: settings.processedFolder)
        } else {
            try client.addFlag("\\Flagged", uid: record.uid, in: folder)
            try client.move(uid: record.uid, from: folder, to: settings.unmatchedFolder)
        }
    }

    /// The connection settings, with the password or token read now (a refreshed token needs no restart).
    func clientSettings() throws -> IMAPClient.Settings {
        try settings.clientSettings(environment: environment)
    }
}

extension IMAPCredential {
    /// The secret's bytes, for checks.
    var bytes: [UInt8] {
        switch self {
        case .password(let secret), .bearer(let secret): secret.bytes
        }
    }
}
