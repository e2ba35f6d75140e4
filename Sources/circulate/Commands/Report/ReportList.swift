import ArgumentParser
import CirculateCore

extension Circulate.ReportCommand {
    /// `circulate report list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List distributed reports.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let reports = try context.database().reports()
            if json { return try Terminal.printJSON(reports.map(ReportJSON.init)) }
            guard !reports.isEmpty else { return print("No reports yet. Distribute one with `circulate report distribute FILE.pdf --title \"...\"`.") }
            let zone = context.configuration.community.timeZone
            print(Terminal.table(["ID", "DISTRIBUTED", "TITLE", "FOLLOW-UP"], reports.map {
                [String($0.id), LocalTime.short($0.distributedAt, in: zone), $0.title,
                 $0.followUpSentAt.map { "sent \(LocalTime.short($0, in: zone))" }
                    ?? $0.followedUpAt.map { "queued \(LocalTime.short($0, in: zone))" } ?? "due \(LocalTime.short($0.followUpAt, in: zone))"]
            }))
        }
    }
}
