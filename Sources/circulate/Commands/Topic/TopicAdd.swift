import ArgumentParser
import CirculateCore

extension Circulate.TopicCommand {
    /// `circulate topic add TITLE`.
    struct Add: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a topic.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic's title, e.g. \"Hospital discharge\".") var title: String
        @Option(help: "A sentence or two about it.") var description = ""
        @Flag(help: "Print the topic as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let topic = try context.database().addTopic(title: title, description: description, now: context.now)
            if json { return try Terminal.printJSON(TopicJSON(topic)) }
            print("Added topic \(topic.id): \(topic.title). Add its sessions with `circulate session add --topic \(topic.id) --start \"YYYY-MM-DD HH:MM\" ...`")
        }
    }
}
