import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session cancel SESSION`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a session. People invited get a cancellation that removes it from their calendars; no thank-you is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(help: "A sentence for the people invited, e.g. \"The venue has flooded; we will set a new date soon.\"") var reason: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let result = try context.database().cancelSession(session, reason: reason, createdBy: context.operatorName,
                                                              domain: context.configuration.domain, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(result.session, zone: context.configuration.community.timeZone)) }
            guard result.materialChange else { return print("Session \(session) was already cancelled.") }
            print("Cancelled session \(session).")
            if let notice = result.notice {
                print("Queued a cancellation for the \(notice.added) people invited (mailing \(notice.mailing.id ?? 0)).")
            }
        }
    }
}
