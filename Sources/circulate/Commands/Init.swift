import ArgumentParser
import CirculateCore

extension Circulate {
    /// `circulate init`: first-run setup.
    struct Init: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the database, the Maildir outbox and the instance key (keeps whatever exists).")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let report = try InstanceSetup.initialise(context.configuration, environment: context.environment)
            if json { return try Terminal.printJSON(report) }
            print("configuration: \(report.configuration ?? "built-in defaults (no configuration file found)")")
            print("database:      \(report.database) (\(report.databaseCreated ? "created" : "already there, schema up to date"))")
            print("outbox:        \(report.outbox) (Maildir)")
            print("instance key:  \(report.instanceKey) (\(report.instanceKeyCreated ? "created, mode 0600 — back it up with the database" : "kept"))")
            print("Next: add people with `circulate member add` or `circulate member import SHEET.csv`.")
        }
    }
}
