import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session apologies SESSION EMAIL`.
    struct Apologies: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Record apologies: no reminder goes to them, and they get the \"sorry we missed you\" afterwards.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "Their address.") var email: String

        func execute(_ context: CommandContext) throws {
            let now = try context.database().recordAnswer(session: session, address: try parseAddress(email), answer: .apologies, now: context.now)
            print("Session \(session): \(email) \(now == .attended ? "is already recorded as having attended" : "sent apologies").")
        }
    }
}
