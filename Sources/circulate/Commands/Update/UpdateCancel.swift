import ArgumentParser
import CirculateCore

extension Circulate.UpdateCommand {
    /// `circulate update cancel ID`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued update (its slot becomes free again).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @Flag(help: "Print the update as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let u = try context.database().cancelUpdate(id: update, now: context.now)
            if json { return try Terminal.printJSON(UpdateJSON(u, zone: context.configuration.community.timeZone)) }
            print("Update \(u.id) is cancelled; its slot is free. Queue another with `circulate update queue FILE.md --subject \"...\"`.")
        }
    }
}
