import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session cancel SESSION`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel", abstract: "Cancel a session. People invited get a cancellation that removes it from their calendars; no thank-you is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(help: "A sentence for the people invited, e.g. \"The venue has flooded; we will set a new date soon.\"") var reason: String?
        @Flag(help: "Tell nobody (the session's invitations and reminders not yet sent are cancelled all the same).") var quiet = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let database = try context.database()
            let result = try database.cancelSession(session, reason: reason, notify: !quiet, context: try context.workflowContext(),
                                                    createdBy: context.operatorName, now: context.now)
            try Withdrawals.settle(result.withdrawal, database: database, context: context)
            if json { return try Terminal.printJSON(SessionJSON(result.session, zone: context.configuration.community.timeZone)) }
            guard result.materialChange else { return print("Session \(session) was already cancelled.") }
            print("Cancelled session \(session).")
            let stopped = result.withdrawal.cancelled + result.withdrawal.inFlight.count
            if stopped > 0 { print("\(stopped) invitation(s) and reminder(s) not yet sent are cancelled.") }
            if let notice = result.notice {
                print("Queued a cancellation for the \(notice.added) people invited (mailing \(notice.mailing.id ?? 0)).")
            }
        }
    }
}
