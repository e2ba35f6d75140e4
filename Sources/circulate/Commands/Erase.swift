import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate erase EMAIL`.
    struct Erase: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase", abstract: "Erase everything held about a person (right to erasure); keeps only a keyed hash of the address.",
            discussion: """
                Deletes the person, their consent history and roles in one transaction, overwrites the deleted data on disk, and empties the database's write-ahead log. A later import or `member add` refuses the address unless the person asks to rejoin (`member add --rejoin`). Cannot be undone.
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
                                             journal: ErasureJournal(path: config.storage.erasureJournal), now: context.now)
            } catch MemberError.erased(_, let erasedAt) {
                // Erased before: nothing about them is held. Finish what that erasure may have left (the log), and say so.
                let cleared = database.finishPendingLogCleanup() ?? database.clearWriteAheadLog()
                if !cleared { Self.warnLog(database) }
                if json { return try Terminal.printJSON(["already_erased": true, "log_cleared": cleared]) }
                return print("\(address) was already erased on \(Terminal.local(erasedAt, in: config.community.timeZone)); nothing about them is held"
                             + (cleared ? ", and the database's write-ahead log is clear." : "."))
            }
            try Withdrawals.settle(receipt.withdrawal, database: database, context: context)
            // The Maildir outbox beside the database is circulate's own file: their messages still in it go too.
            if MaildirOutbox.isOwn(config.outbox.maildir, databasePath: config.storage.database) {
                receipt.outboxMessagesRemoved = try MaildirOutbox.removeMessages(to: address, in: config.outbox.maildir)
            } else if FileManager.default.fileExists(atPath: config.outbox.maildir) {
                Terminal.warning("the outbox \(config.outbox.maildir) is kept outside circulate's folder, so circulate leaves it alone; "
                                 + "delete any messages to this person from it yourself")
            }
            if !receipt.logCleared { Self.warnLog(database) }
            if json { return try Terminal.printJSON(receipt) }
            print("Erased. Reference \(receipt.reference): \(receipt.rowsRemoved) record(s) deleted"
                  + (receipt.outboxMessagesRemoved.map { ", \($0) message(s) removed from the outbox" } ?? "")
                  + "; only a keyed hash of the address is kept, so it will not be added again by accident.")
        }

        static func warnLog(_ database: AppDatabase) {
            Terminal.warning("the erasure is committed, but another process kept the database busy, so an old copy of the person's "
                             + "data may remain in \(database.writeAheadLogPath) until it is cleared: the daemon clears it at its next "
                             + "quiet moment, or run `circulate erase` again later")
        }
    }
}
