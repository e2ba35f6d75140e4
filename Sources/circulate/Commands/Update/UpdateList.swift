import ArgumentParser
import CirculateCore

extension Circulate.UpdateCommand {
    /// `circulate update list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List queued and past updates, and the next slots.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let updates = try context.database().updates(queuedOnly: false)
            if json { return try Terminal.printJSON(updates.map { UpdateJSON($0, zone: zone) }) }
            if let rule = context.configuration.updates.schedule {
                print("Slot: \(rule.summary). Next: \(Queue.nextSlots(rule, after: context.now, zone: zone)).")
            } else {
                print("No slot configured (updates.schedule is off).")
            }
            guard !updates.isEmpty else { return print("No updates queued. Queue one with `circulate update queue FILE.md --subject \"...\"`.") }
            print(Terminal.table(["ID", "SLOT", "STATE", "SUBJECT"], updates.map {
                [String($0.id), LocalTime.short($0.slotAt, in: zone), $0.state.rawValue + ($0.mailingID.map { " (mailing \($0))" } ?? ""), $0.subject]
            }))
        }
    }
}
