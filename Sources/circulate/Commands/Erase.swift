import ArgumentParser
import CirculateCore
import Foundation
import Logging

extension Circulate {
    /// `circulate erase EMAIL`.
    struct Erase: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase", abstract: "Erase everything held about a person (right to erasure); keeps only a keyed hash of the address.",
            discussion: """
                Deletes the person, their consent history and roles in one transaction, overwrites the deleted data on disk, and empties the database's write-ahead log. A later import or `member add` refuses the address unless the person asks to rejoin (`member add --rejoin`). With an [inbox] section, the person's messages in the list's mailbox (the folder read, the processed folder and the coordinator's folder, flagged replies included) are deleted too: at once if the mailbox answers, else by the daemon at its next poll; until then the address is kept in one row for that alone. Cannot be undone.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their email address.") var email: String
        @Option(help: ArgumentHelp("Who carries out the erasure (default: your login name).", valueName: "name")) var by: String?
        @Flag(help: "Print the receipt as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let erasedBy = try TextField.clean(by ?? context.operatorName, field: "by", maxLength: 100)
            let database = try context.database()
            let config = context.configuration
            var receipt: ErasureReceipt
            do {
                receipt = try database.erase(address, key: context.instanceKey(), erasedBy: erasedBy,
                                             journal: ErasureJournal(path: config.storage.erasureJournal),
                                             mailbox: config.inbox != nil, now: context.now)
            } catch MemberError.erased(_, let erasedAt) {
                // Erased before: nothing about them is held. Finish what that erasure may have left (the log), and say so.
                // A message of theirs may have reached the mailbox since: look again (a job still waiting gains no twin).
                var mailbox: MailboxEraser.Outcome?
                if let inbox = config.inbox {
                    try database.queueMailboxErasure(address, now: context.now)
                    mailbox = try Self.clearMailbox(inbox, database: database, context: context)
                }
                let cleared = database.finishPendingLogCleanup() ?? database.clearWriteAheadLog()
                if !cleared { Self.warnLog(database) }
                if json {
                    if let mailbox, mailbox.waiting > 0 { Self.describe(mailbox) }
                    return try Terminal.printJSON(AlreadyErased(logCleared: cleared, mailboxPending: mailbox.map { $0.waiting > 0 },
                                                                mailboxMessagesRemoved: mailbox.flatMap { $0.waiting == 0 ? $0.deleted : nil }))
                }
                print("\(address) was already erased on \(Terminal.local(erasedAt, in: config.community.timeZone)); nothing about them is held"
                      + (cleared ? ", and the database's write-ahead log is clear." : "."))
                if let mailbox { Self.describe(mailbox) }
                return
            }
            try Withdrawals.settle(receipt.withdrawal, database: database, context: context)
            // The Maildir outbox beside the database is circulate's own file: their messages still in it go too.
            if MaildirOutbox.isOwn(config.outbox.maildir, databasePath: config.storage.database) {
                receipt.outboxMessagesRemoved = try MaildirOutbox.removeMessages(to: address, in: config.outbox.maildir)
            } else if FileManager.default.fileExists(atPath: config.outbox.maildir) {
                Terminal.warning("the outbox \(config.outbox.maildir) is kept outside circulate's folder, so circulate leaves it alone; "
                                 + "delete any messages to this person from it yourself")
            }
            var mailbox: MailboxEraser.Outcome?
            if let inbox = config.inbox {
                let outcome = try Self.clearMailbox(inbox, database: database, context: context)
                receipt.mailboxPending = outcome.waiting > 0
                receipt.mailboxMessagesRemoved = outcome.waiting == 0 ? outcome.deleted : nil
                mailbox = outcome
            }
            if !receipt.logCleared { Self.warnLog(database) }
            if json {
                if let mailbox, mailbox.waiting > 0 { Self.describe(mailbox) }  // the warning goes to standard error
                return try Terminal.printJSON(receipt)
            }
            print("Erased. Reference \(receipt.reference): \(receipt.rowsRemoved) record(s) deleted"
                  + (receipt.outboxMessagesRemoved.map { ", \($0) message(s) removed from the outbox" } ?? "")
                  + "; only a keyed hash of the address is kept, so it will not be added again by accident.")
            if let mailbox { Self.describe(mailbox) }
        }

        /// Deletes the person's messages from the list's mailbox now, if it answers; a job it cannot finish stays
        /// for the daemon's inbox poller.
        static func clearMailbox(_ inbox: CirculateCore.Configuration.Inbox, database: AppDatabase,
                                 context: CommandContext) throws -> MailboxEraser.Outcome {
            let quiet = Logger(label: "circulate.erase") { _ in SwiftLogNoOpLogHandler() }
            return try MailboxEraser(settings: inbox, database: database, logger: quiet).runNow(environment: context.environment)
        }

        /// What happened in the mailbox, and, if it could not be reached, exactly what is kept and until when.
        static func describe(_ outcome: MailboxEraser.Outcome) {
            if outcome.waiting == 0 {
                print("\(outcome.deleted) message(s) of theirs deleted from the list's mailbox (the folder read, the processed folder "
                      + "and the coordinator's folder).")
            } else {
                Terminal.warning("their messages in the list's mailbox could not be deleted now (\(outcome.problem ?? "the mailbox did not answer")); "
                                 + "the daemon deletes them at its next look at the mailbox (`circulate serve` with [inbox]). Until the "
                                 + "mailbox confirms, their address is kept in one row of the database for that alone (mailbox_erasure), "
                                 + "and then deleted; or run `circulate erase` again later")
            }
        }

        /// The JSON answer for someone erased before.
        struct AlreadyErased: Encodable {
            var alreadyErased = true
            var logCleared: Bool
            var mailboxPending: Bool?
            var mailboxMessagesRemoved: Int?
        }

        static func warnLog(_ database: AppDatabase) {
            Terminal.warning("the erasure is committed, but another process kept the database busy, so an old copy of the person's "
                             + "data may remain in \(database.writeAheadLogPath) until it is cleared: the daemon clears it at its next "
                             + "quiet moment, or run `circulate erase` again later")
        }
    }
}
