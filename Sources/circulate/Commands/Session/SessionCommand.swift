import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate session ...`: the community's meetings, their attendance and notes.
    struct SessionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "session", abstract: "Record sessions, their attendance and notes; move or cancel them.",
            discussion: """
                After a session ends (by default the next morning at 10:00), the daemon thanks everyone recorded as attending, and sends a "sorry we missed you" to those who sent apologies, each with the summary notes if there are any and an invitation (with a calendar file) to the next session.
                """,
            subcommands: [Add.self, List.self, Show.self, Edit.self, Cancel.self, Invite.self, RSVP.self, Apologies.self,
                          Attendance.self, Notes.self])
    }
}

/// Where and when, as options shared by `session add` and `session edit`.
struct SessionDetailsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start, local time: \"2026-12-09 10:00\".", valueName: "time")) var start: String?
    @Option(help: ArgumentHelp("End, local time: \"2026-12-09 12:00\".", valueName: "time")) var end: String?
    @Option(help: ArgumentHelp("Length instead of --end: \"2h\", \"90m\".", valueName: "duration")) var length: String?
    @Option(help: ArgumentHelp("The venue's name.", valueName: "name")) var venue: String?
    @Option(help: ArgumentHelp("The venue's address.", valueName: "text")) var address: String?
    @Option(help: ArgumentHelp("The link to join online.", valueName: "url")) var online: String?
    @Option(help: ArgumentHelp("Who facilitates or presents.", valueName: "name")) var facilitator: String?

    func parseLength() throws -> TimeInterval? {
        guard let length else { return nil }
        let t = length.trimmingCharacters(in: .whitespaces).lowercased()
        let number = Double(t.dropLast()) ?? 0
        let seconds: Double? = t.hasSuffix("h") ? number * 3600 : t.hasSuffix("m") ? number * 60 : nil
        guard let seconds, seconds > 0, seconds <= 24 * 3600 else {
            throw InvalidField(field: "--length", value: length, problem: "is not a length like \"2h\" or \"90m\"")
        }
        return seconds
    }
}
