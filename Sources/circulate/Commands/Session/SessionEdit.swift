import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.SessionCommand {
    /// `circulate session edit SESSION`.
    struct Edit: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: "Change a session. People already invited get an update (their calendars replace the old entry).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(help: "A new title.") var title: String?
        @OptionGroup var details: SessionDetailsOptions
        @Flag(help: "Hold the thank-you until the summary notes are added.") var holdForNotes = false
        @Flag(help: "Do not hold the thank-you for notes.") var noHoldForNotes = false
        @Flag(help: "Change it quietly: send no update to the people invited.") var quiet = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            var changes = SessionChanges()
            changes.title = title
            changes.startsAt = try details.start.map { try LocalTime.parse($0, in: zone, field: "--start") }
            changes.endsAt = try details.end.map { try LocalTime.parse($0, in: zone, field: "--end") }
            if let length = try details.parseLength() {
                guard let start = changes.startsAt else { throw ValidationError("--length goes with --start.") }
                changes.endsAt = start.addingTimeInterval(length)
            }
            // An empty value ("--venue ''") clears the field.
            func clearable(_ v: String?) -> String?? {
                guard let v else { return nil }
                return .some(v.isEmpty ? nil : v)
            }
            changes.venueName = clearable(details.venue)
            changes.venueAddress = clearable(details.address)
            changes.onlineLink = clearable(details.online)
            changes.facilitator = clearable(details.facilitator)
            if holdForNotes { changes.holdForNotes = true }
            if noHoldForNotes { changes.holdForNotes = false }
            changes.notify = !quiet
            guard !changes.isEmpty else { throw ValidationError("Nothing to change: give --start, --venue, --online, --title ...") }
            let result = try context.database().editSession(session, changes: changes, context: try context.workflowContext(),
                                                            createdBy: context.operatorName, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(result.session, zone: zone)) }
            let s = result.session
            print("Session \(s.id) is now: \(TextField.printable(s.title)), \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone)), \(TextField.printable(s.location ?? s.onlineLink ?? "place to be confirmed")).")
            if let notice = result.notice {
                print("Queued an update for the \(notice.added) people invited (mailing \(notice.mailing.id ?? 0), calendar sequence \(s.sequence)).")
            } else if result.materialChange {
                print(quiet ? "Nobody was told (--quiet)." : "Nobody has been invited yet, so no update was needed.")
            }
        }
    }
}
