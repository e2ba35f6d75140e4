import Foundation
import Logging

/// Deletes erased people's messages from the list's mailbox: the folder read, the coordinator's folder and the
/// processed folder. Erasure wins over everything else there, a flagged reply the coordinator has not read included.
///
/// Each job (`mailbox_erasure`) is searched for by address (From, To, Cc, and anywhere in the text: a bounce report
/// names the address in its body) and by the Message-IDs of the messages their records named; every match is
/// deleted, and only then does the job's row go. A crash in between leaves the row: the next run searches again,
/// finds nothing left, and removes it. Blocking (libcurl and SQLite).
public struct MailboxEraser: Sendable {
    let settings: Configuration.Inbox
    let database: AppDatabase
    let logger: Logger

    /// Creates an eraser for the configured mailbox.
    public init(settings: Configuration.Inbox, database: AppDatabase, logger: Logger) {
        self.settings = settings
        self.database = database
        self.logger = logger
    }

    /// What one run did.
    public struct Outcome: Sendable, Equatable {
        /// Messages deleted from the mailbox.
        public var deleted = 0
        /// Jobs finished (their rows, and the addresses in them, gone).
        public var finished = 0
        /// Jobs still waiting (the mailbox could not be cleared for them this time).
        public var waiting = 0
        /// The last problem, for the command's warning (no address in it).
        public var problem: String?
    }

    /// Connects and carries out every pending job (the `erase` command, right after its commit).
    public func runNow(environment: [String: String], waitForLog: Bool = true) throws -> Outcome {
        let pending = try database.pendingMailboxErasures()
        guard !pending.isEmpty else { return Outcome() }
        let client: IMAPClient
        do {
            client = try IMAPClient(try settings.clientSettings(environment: environment))
        } catch {
            for job in pending { try database.mailboxErasureFailed(job, problem: "\(error)") }
            return Outcome(waiting: pending.count, problem: "\(error)")
        }
        return try run(client: client, waitForLog: waitForLog)
    }

    /// Carries out every pending job over an open connection (the inbox poller, before it reads new mail). A job
    /// the mailbox refuses is counted and kept for the next run; the others go on.
    func run(client: IMAPClient, waitForLog: Bool) throws -> Outcome {
        var outcome = Outcome()
        for job in try database.pendingMailboxErasures() {
            do {
                outcome.deleted += try deleteMessages(of: job, client: client)
            } catch {
                try database.mailboxErasureFailed(job, problem: "\(error)")
                logger.error("inbox: an erased person's messages could not be deleted from the mailbox yet; trying again at the next poll",
                             metadata: ["error": "\(Redaction.maskingAddresses(in: "\(error)"))"])
                outcome.waiting += 1
                outcome.problem = Redaction.maskingAddresses(in: "\(error)")
                continue
            }
            try database.finishMailboxErasure(job, waitForLog: waitForLog)
            outcome.finished += 1
        }
        if outcome.finished > 0 {
            logger.notice("inbox: \(outcome.deleted) message(s) of \(outcome.finished) erased person(s) deleted from the mailbox")
        }
        return outcome
    }

    /// Deletes every message of the job's person in the mailbox's three folders; returns how many went. The folder
    /// read first, then the two it moves mail to, so that a message moved meanwhile is found in its new place.
    func deleteMessages(of job: MailboxErasureJob, client: IMAPClient) throws -> Int {
        var folders: [String] = []
        for folder in [settings.folder, settings.unmatchedFolder, settings.processedFolder] where !folders.contains(folder) {
            folders.append(folder)
        }
        var deleted = 0
        for folder in folders {
            guard try client.exists(folder) else { continue }  // the poller creates its folders at its first poll
            var uids = Set<Int64>()
            for criteria in Self.searches(for: job) { uids.formUnion(try client.search(criteria, in: folder)) }
            // Their Message-IDs go on the job first (committed), so that the records of these messages (a question of
            // theirs waiting for the coordinator) go with the job even if a crash follows the deletion.
            let ids = try uids.sorted().compactMap { uid in try client.messageID(uid: uid, in: folder) }
            try database.addMailboxErasureMessageIDs(job, ids)
            for uid in uids.sorted() { try client.delete(uid: uid, in: folder) }
            deleted += uids.count
        }
        return deleted
    }

    /// The IMAP searches that find a person's messages: each form of the address (as stored, and with its domain in
    /// ASCII) in From, To, Cc or anywhere in the text, and each Message-ID their records named.
    static func searches(for job: MailboxErasureJob) -> [String] {
        var forms = [job.address]
        if let address = try? EmailAddress(job.address), !forms.contains(address.envelope) { forms.append(address.envelope) }
        var searches = forms.map { form in
            let text = IMAPClient.quoted(form)
            let charset = form.unicodeScalars.allSatisfy(\.isASCII) ? "" : "CHARSET UTF-8 "
            return "\(charset)OR OR OR FROM \(text) TO \(text) CC \(text) TEXT \(text)"
        }
        searches += job.messageIDs.filter { $0.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 } }
            .map { "HEADER Message-ID \(IMAPClient.quoted("<\($0)>"))" }
        return searches
    }
}
