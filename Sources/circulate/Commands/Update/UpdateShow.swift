import ArgumentParser
import CirculateCore

extension Circulate.UpdateCommand {
    /// `circulate update show ID`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an update's details and content.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @Flag(help: "Print the update as JSON.") var json = false

        struct Output: Encodable {
            var update: UpdateJSON
            var body: String
        }

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let u = try context.database().update(id: update)
            if json { return try Terminal.printJSON(Output(update: UpdateJSON(u, zone: zone), body: u.bodyMarkdown)) }
            print("Update \(u.id) (\(u.state.rawValue)) for \(LocalTime.describe(u.slotAt, in: zone))\(u.mailingID.map { ", mailing \($0)" } ?? "")")
            print("Subject: \(TextField.printable(u.subject))")
            print("")
            print(TextField.printable(u.bodyMarkdown, keepingLineBreaks: true))
        }
    }
}
