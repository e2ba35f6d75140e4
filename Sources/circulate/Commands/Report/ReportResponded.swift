import ArgumentParser
import CirculateCore

extension Circulate.ReportCommand {
    /// `circulate report responded EMAIL`.
    struct Responded: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "responded", abstract: "Record that a recipient responded; they get no follow-up.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The recipient's address.") var email: String
        @Option(help: "The report (number or title; default: their latest report awaiting a response).") var report: String?
        @Option(help: "A few words on the response, e.g. \"meeting booked for 12 Jan\".") var note: String?

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let database = try context.database()
            let result = try database.markResponded(address, report: report, note: note, now: context.now)
            try Withdrawals.settle(result.withdrawal, database: database, context: context)
            let r = result.report
            print("Recorded \(address)'s response to report \(r.id) (\"\(r.title)\").\(result.followUpCancelled ? " Their waiting follow-up is cancelled." : " They will get no follow-up.")")
        }
    }
}
