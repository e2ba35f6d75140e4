import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate topic ...`: the themes the community works on, each a series of sessions ending in a report.
    struct TopicCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "topic", abstract: "Add, list, show and close topics (a topic groups a series of sessions).",
            subcommands: [Add.self, List.self, Show.self, Close.self])
    }
}

extension Circulate.TopicCommand {
    /// `circulate topic add TITLE`.
    struct Add: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Add a topic.")
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

    /// `circulate topic list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "List topics, open ones first.")
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

    /// `circulate topic show TOPIC`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic with its sessions and reports.")
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
            print("Topic \(t.id): \(t.title) (\(t.state.rawValue)\(t.closedAt.map { " on \(LocalTime.day($0, in: zone))" } ?? ""))")
            if !t.description.isEmpty { print(t.description) }
            print("")
            if details.sessions.isEmpty { print("No sessions yet.") }
            for s in details.sessions {
                print("  session \(s.id): \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone)) — \(s.title)\(s.state == .cancelled ? " (cancelled)" : "")")
            }
            for r in details.reports {
                print("  report \(r.id): \(r.title), distributed \(LocalTime.day(r.distributedAt, in: zone))")
            }
        }
    }

    /// `circulate topic close TOPIC`.
    struct Close: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a topic: no more sessions are added to it.",
            discussion: "Then distribute its report: circulate report distribute FILE.pdf --title \"...\" --topic TOPIC")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The topic's number or title.") var topic: String
        @Flag(help: "Print the topic as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let (closed, upcoming) = try context.database().closeTopic(topic, now: context.now)
            if json { return try Terminal.printJSON(TopicJSON(closed)) }
            print("Closed topic \(closed.id): \(closed.title).")
            let zone = context.configuration.community.timeZone
            for s in upcoming {
                print("Note: session \(s.id) (\(LocalTime.describe(s.startsAt, in: zone))) is still planned; cancel it with `circulate session cancel \(s.id)` if it is not going ahead.")
            }
            print("Next: circulate report distribute REPORT.pdf --title \"...\" --topic \(closed.id)")
        }
    }
}
