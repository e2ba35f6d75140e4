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
            case "maybe", "?": status = .invited
            default: throw InvalidField(field: "answer", value: answer, problem: "is not yes, no or maybe")
            }
            let now = try context.database().recordAnswer(session: session, address: try parseAddress(email), answer: status, now: context.now)
            print("Session \(session): \(email) is now \(now == .accepted ? "coming" : now.rawValue).")
        }
    }
}
