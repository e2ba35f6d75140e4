import ArgumentParser

extension Circulate {
    /// `circulate report ...`: a topic's report to the people who can act on it, with one follow-up.
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "Distribute a report to key influencers, record responses, see who is due a follow-up.",
            discussion: """
                Each recipient gets a personal cover email from the coordinator with the report attached (or linked) and an offer to meet or present. After reports.follow_up_after (14 days by default) everyone who received it and has not responded gets one polite follow-up; `report responded` stops it for that person.
                """,
            subcommands: [Distribute.self, Responded.self, Status.self, List.self])
    }
}
