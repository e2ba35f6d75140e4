import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session apologies SESSION EMAIL`.
    struct Apologies: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "apologies", abstract: "Record apologies: no reminder goes to them, and they get the \"sorry we missed you\" afterwards.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "Their address.") var email: String

        func execute(_ context: CommandContext) throws {
            let database = try context.database()
            let address = try parseAddress(email)
            let now = try database.recordAnswer(session: session, address: address, answer: .apologies, now: context.now)
            try Withdrawals.settle(try database.withdrawalsInFlight(for: address), database: database, context: context)
            print("Session \(session): \(email) \(now == .attended ? "is already recorded as having attended" : "sent apologies").")
        }
    }
}
