import ArgumentParser
import CirculateCore

extension Circulate.TopicCommand {
    /// `circulate topic list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List topics, open ones first.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let topics = try context.database().topics()
            if json { return try Terminal.printJSON(topics.map { TopicJSON($0.topic, sessions: $0.sessions, reports: $0.reports) }) }
            guard !topics.isEmpty else { return print("No topics yet. Add one with `circulate topic add \"TITLE\"`.") }
            print(Terminal.table(["ID", "TITLE", "STATE", "SESSIONS", "REPORTS"], topics.map {
                [String($0.topic.id), $0.topic.title, $0.topic.state.rawValue, String($0.sessions), String($0.reports)]
            }))
        }
    }
}
