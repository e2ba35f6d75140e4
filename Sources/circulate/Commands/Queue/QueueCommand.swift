import ArgumentParser

extension Circulate {
    /// `circulate queue ...`: what is waiting, deferred, failed, and why.
    struct QueueCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue", abstract: "See and steer the outbound queue.",
            subcommands: [Status.self, List.self, Retry.self, Cancel.self, Release.self, Resume.self], defaultSubcommand: Status.self)
    }
}
