import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session notes SESSION FILE.md`.
    struct Notes: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "notes", abstract: "Add the session's summary notes (Markdown); they go into the thank-you.",
            discussion: "A thank-you held for notes (--hold-for-notes) goes out at the next scheduler check once they are added.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "The notes (Markdown file).") var file: String
        @Flag(help: "Print the session as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let markdown = try InputFile.text(file, what: "notes file")
            let s = try context.database().setNotes(session, markdown: markdown, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(s, zone: context.configuration.community.timeZone)) }
            print("Added the notes to session \(s.id).\(s.followedUpAt != nil ? " The thank-you had already been queued, so only messages not yet sent will include them." : "")")
        }
    }
}
