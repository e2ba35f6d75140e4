import ArgumentParser
import CirculateCore

extension Circulate.UpdateCommand {
    /// `circulate update preview ID`.
    struct Preview: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "preview", abstract: "Show an update exactly as it will be sent (to a named member or a sample one).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @OptionGroup var target: PreviewTarget

        func execute(_ context: CommandContext) throws {
            let db = try context.database()
            let u = try db.update(id: update)
            let mailing = Mailing.draft(kind: .update, stream: .monthlyUpdate, subject: u.subject, body: u.bodyMarkdown, now: context.now)
            try target.show(mailing, context: context, database: db)
        }
    }
}
