import ArgumentParser
import CirculateCore

extension Circulate {
    /// `circulate export EMAIL`.
    struct Export: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Print everything held about a person as JSON (subject access request).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their email address.") var email: String
        @Flag(help: "Accepted for consistency; the export is always JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let key = try InstanceSetup.loadKey(context.configuration, environment: context.environment)
            let export = try context.database().export(address, key: key, controller: context.configuration.community.name,
                                                       now: context.now)
            try Terminal.printJSON(export)
        }
    }
}
