import ArgumentParser
import CirculateCore

extension Circulate {
    /// `circulate erase EMAIL`.
    struct Erase: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase everything held about a person (right to erasure); keeps only a keyed hash of the address.",
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
            let receipt = try database.erase(address, key: context.instanceKey(), erasedBy: erasedBy, now: context.now)
            try Withdrawals.settle(receipt.withdrawal, database: database, context: context)
            if !receipt.logCleared {
                Terminal.warning("the erasure is committed, but another process (the daemon?) kept the database busy, so an old copy "
                                 + "may remain in the -wal file until its next checkpoint; run `circulate erase` again later to clear it")
            }
            if json { return try Terminal.printJSON(receipt) }
            print("Erased. Reference \(receipt.reference): \(receipt.rowsRemoved) record(s) deleted; "
                  + "only a keyed hash of the address is kept, so it will not be added again by accident.")
        }
    }
}
