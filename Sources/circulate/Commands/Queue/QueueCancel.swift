import ArgumentParser
import CirculateCore

extension Circulate.QueueCommand {
    /// `circulate queue cancel MAILING`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a mailing: nothing more of it is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailing's number (see queue status).") var mailing: Int64
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let database = try context.database()
            let withdrawal = try database.cancelMailing(mailing, now: context.now)
            try Withdrawals.settle(withdrawal, database: database, context: context)
            if json { return try Terminal.printJSON(["cancelled": withdrawal.cancelled + withdrawal.inFlight.count]) }
            print("Mailing \(mailing) cancelled; \(withdrawal.cancelled + withdrawal.inFlight.count) unsent message(s) will not go out.")
        }
    }
}
