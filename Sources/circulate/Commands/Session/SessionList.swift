import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List sessions (those not yet over, or --all).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include past sessions.") var all = false
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let sessions = try context.database().sessions(from: all ? nil : context.now)
            if json { return try Terminal.printJSON(sessions.map { SessionJSON($0, zone: zone) }) }
            guard !sessions.isEmpty else {
                return print(all ? "No sessions yet. Add one with `circulate session add`." : "No sessions to come. See past ones with --all.")
            }
            print(Terminal.table(["ID", "WHEN", "TITLE", "WHERE", "STATE"], sessions.map { s in
                [String(s.id), LocalTime.short(s.startsAt, in: zone), s.title, s.venueName ?? (s.onlineLink != nil ? "online" : "to be confirmed"),
                 s.state.rawValue]
            }))
        }
    }
}
