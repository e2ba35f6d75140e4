import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session rsvp SESSION EMAIL yes|no|maybe`.
    struct RSVP: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "rsvp", abstract: "Record someone's answer: yes (coming), no (apologies), maybe.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "Their address.") var email: String
        @Argument(help: "yes, no or maybe.") var answer: String

        func execute(_ context: CommandContext) throws {
            let status: Participation
            switch answer.lowercased() {
            case "yes", "y", "coming": status = .accepted
            case "no", "n", "apologies": status = .apologies
            case "maybe", "?": status = .maybe
            default: throw InvalidField(field: "answer", value: answer, problem: "is not yes, no or maybe")
            }
            let database = try context.database()
            let address = try parseAddress(email)
            let now = try database.recordAnswer(session: session, address: address, answer: status, now: context.now)
            try Withdrawals.settle(try database.withdrawalsInFlight(for: address), database: database, context: context)
            let answered = now == status ? "" : " (already recorded as having attended; attendance stays)"
            print("Session \(session): \(email) is now recorded as \(now.label)\(answered).")
        }
    }
}
