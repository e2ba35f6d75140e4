import ArgumentParser

extension Circulate {
    /// `circulate update ...`: the monthly update, queued ahead for its slot.
    struct UpdateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Queue the monthly update for its slot; list, show, preview or cancel it.",
            discussion: """
                The slot is updates.schedule in the configuration (by default the first Tuesday of each month at 09:00 local time). At the slot the daemon sends the update to every active member opted in to the monthly update, with the sessions coming up and recent reports added at the end. If nothing is queued updates.remind_days_before days before a slot, the coordinator gets a reminder; if a slot passes with nothing queued, nothing is sent and the coordinator is told.
                """,
            subcommands: [Queue.self, List.self, Show.self, Preview.self, Cancel.self])
    }
}
