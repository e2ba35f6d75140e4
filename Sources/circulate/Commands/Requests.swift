import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate requests`: what people asked for on the web pages, with the legal deadline and the command that
    /// completes each request.
    struct Requests: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "requests",
            abstract: "List data-subject requests waiting for you (from the preference page), with their deadlines.",
            discussion: "An erasure request is completed by `circulate erase EMAIL`, which removes the request with the person.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        struct Entry: Encodable {
            var id: Int64
            var kind: String
            var email: String
            var name: String
            var source: String
            var requestedAt: Date
            var dueBy: Date
            var overdue: Bool
            var command: String
        }

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let requests = try context.database().pendingRequests()
            if json {
                return try Terminal.printJSON(requests.map {
                    Entry(id: $0.id, kind: $0.kind.rawValue, email: $0.email, name: $0.name, source: $0.source, requestedAt: $0.requestedAt,
                          dueBy: $0.dueBy, overdue: $0.dueBy < context.now, command: $0.command)
                })
            }
            guard !requests.isEmpty else { return print("No requests are waiting.") }
            print(Terminal.table(["ID", "ASKED", "DUE BY", "REQUEST", "PERSON", "TO COMPLETE IT"], requests.map {
                [String($0.id), LocalTime.day($0.requestedAt, in: zone),
                 LocalTime.day($0.dueBy, in: zone) + ($0.dueBy < context.now ? " (overdue)" : ""),
                 $0.kind.rawValue, $0.name.isEmpty ? $0.email : "\($0.name) <\($0.email)>", $0.command]
            }))
        }
    }
}
