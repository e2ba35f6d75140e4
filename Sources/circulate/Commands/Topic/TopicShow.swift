import ArgumentParser
import CirculateCore

extension Circulate.TopicCommand {
    /// `circulate topic show TOPIC`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a topic with its sessions and reports.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic's number or title.") var topic: String
        @Flag(help: "Print the topic as JSON.") var json = false

        struct Output: Encodable {
            var topic: TopicJSON
            var sessions: [SessionJSON]
            var reports: [ReportJSON]
        }

        func execute(_ context: CommandContext) throws {
            let details = try context.database().topicDetails(topic)
            let zone = context.configuration.community.timeZone
            if json {
                return try Terminal.printJSON(Output(topic: TopicJSON(details.topic), sessions: details.sessions.map { SessionJSON($0, zone: zone) },
                                                     reports: details.reports.map(ReportJSON.init)))
            }
            let t = details.topic
            print("Topic \(t.id): \(TextField.printable(t.title)) (\(t.state.rawValue)\(t.closedAt.map { " on \(LocalTime.day($0, in: zone))" } ?? ""))")
            if !t.description.isEmpty { print(TextField.printable(t.description, keepingLineBreaks: true)) }
            print("")
            if details.sessions.isEmpty { print("No sessions yet.") }
            for s in details.sessions {
                print("  session \(s.id): \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone)) — \(TextField.printable(s.title))\(s.state == .cancelled ? " (cancelled)" : "")")
            }
            for r in details.reports {
                print("  report \(r.id): \(TextField.printable(r.title)), distributed \(LocalTime.day(r.distributedAt, in: zone))")
            }
        }
    }
}
