import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate unsubscribe EMAIL`.
    struct Unsubscribe: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "unsubscribe", abstract: "Stop all mail to a person (or one stream), at once; recorded in their consent history.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their email address.") var email: String
        @Option(help: "Stop only this stream: monthly-update, session-invitations or reports.") var stream: String?
        @Option(help: ArgumentHelp("How they asked, e.g. \"replied to the October update\".", valueName: "text"))
        var source: String = "unsubscribed by the coordinator"
        @Option(help: ArgumentHelp("Who records this (default: your login name).", valueName: "name")) var by: String?
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            var email: String
            var outcome: String
            var stream: String?
            var remainingStreams: [String]?
            var since: Date?
        }

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let parsedStream = try stream.map { try MailStream(parsing: $0) }
            let cleanSource = try TextField.clean(source, field: "source", maxLength: 500)
            let key = try InstanceSetup.loadKey(context.configuration, environment: context.environment)
            let database = try context.database()
            let outcome = try database.unsubscribe(address, stream: parsedStream, source: cleanSource.isEmpty ? "unsubscribed by the coordinator" : cleanSource,
                                                   recordedBy: by ?? context.operatorName, key: key, now: context.now)
            try Withdrawals.settle(try database.withdrawalsInFlight(for: address), database: database, context: context)
            let zone = context.configuration.community.timeZone
            switch outcome {
            case .unsubscribed:
                if json { return try Terminal.printJSON(Output(email: address.description, outcome: "unsubscribed", stream: parsedStream?.rawValue)) }
                print("\(address) is unsubscribed from everything; no further mail will be sent to them.")
            case .streamStopped(let s, let remaining):
                if json {
                    return try Terminal.printJSON(Output(email: address.description, outcome: "stream-stopped", stream: s.rawValue,
                                                         remainingStreams: remaining.map(\.rawValue)))
                }
                print("\(address) no longer receives \(s.rawValue); still receives \(remaining.map(\.rawValue).joined(separator: ", ")).")
            case .alreadyUnsubscribed(let since):
                if json {
                    return try Terminal.printJSON(Output(email: address.description, outcome: "already-unsubscribed",
                                                         stream: parsedStream?.rawValue, since: since))
                }
                print("\(address) was already unsubscribed\(parsedStream.map { " from \($0.rawValue)" } ?? "") (since \(Terminal.local(since, in: zone))); nothing changed.")
            }
        }
    }
}
