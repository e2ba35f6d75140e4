import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.SessionCommand {
    /// `circulate session add`.
    struct Add: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a session.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The topic's number or title.", valueName: "topic")) var topic: String?
        @Option(help: "The session's title (default: the topic's).") var title: String?
        @OptionGroup var details: SessionDetailsOptions
        @Flag(help: "Hold the thank-you until the summary notes are added.") var holdForNotes = false
        @Flag(help: "Print the session as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            guard let startText = details.start else {
                throw ValidationError("Give the start: --start \"YYYY-MM-DD HH:MM\" (local time, \(zone.identifier)).")
            }
            let start = try LocalTime.parse(startText, in: zone, field: "--start")
            let end: Date
            if let endText = details.end {
                end = try LocalTime.parse(endText, in: zone, field: "--end")
            } else {
                end = start.addingTimeInterval(try details.parseLength() ?? context.configuration.sessions.defaultLength)
            }
            let new = try NewSession(topic: topic, title: title, startsAt: start, endsAt: end, venueName: details.venue,
                                     venueAddress: details.address, onlineLink: details.online, facilitator: details.facilitator,
                                     holdForNotes: holdForNotes || context.configuration.sessions.holdForNotes)
            let session = try context.database().addSession(new, followUp: context.configuration.followUpRule, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(session, zone: zone)) }
            print("Added session \(session.id): \(session.title), \(LocalTime.describeRange(start: session.startsAt, end: session.endsAt, in: zone)).")
            if session.location == nil && session.onlineLink == nil {
                print("No venue or online link yet; add one with `circulate session edit \(session.id) --venue ... --address ...` before invitations go out.")
            }
            print("The thank-you goes out \(LocalTime.describe(session.followUpAt, in: zone))\(session.holdForNotes ? ", once its notes are added" : "").")
        }
    }
}
