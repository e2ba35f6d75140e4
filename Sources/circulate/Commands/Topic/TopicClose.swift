import ArgumentParser
import CirculateCore

extension Circulate.TopicCommand {
    /// `circulate topic close TOPIC`.
    struct Close: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "close", abstract: "Close a topic: no more sessions are added to it.",
            discussion: "Then distribute its report: circulate report distribute FILE.pdf --title \"...\" --topic TOPIC")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic's number or title.") var topic: String
        @Flag(help: "Print the topic as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let (closed, upcoming) = try context.database().closeTopic(topic, now: context.now)
            if json { return try Terminal.printJSON(TopicJSON(closed)) }
            print("Closed topic \(closed.id): \(TextField.printable(closed.title)).")
            let zone = context.configuration.community.timeZone
            for s in upcoming {
                print("Note: session \(s.id) (\(LocalTime.describe(s.startsAt, in: zone))) is still planned; cancel it with `circulate session cancel \(s.id)` if it is not going ahead.")
            }
            print("Next: circulate report distribute REPORT.pdf --title \"...\" --topic \(closed.id)")
        }
    }
}
