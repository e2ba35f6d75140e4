import ArgumentParser

extension Circulate {
    /// `circulate topic ...`: the themes the community works on, each a series of sessions ending in a report.
    struct TopicCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "topic", abstract: "Add, list, show and close topics (a topic groups a series of sessions).",
            subcommands: [Add.self, List.self, Show.self, Close.self])
    }
}
