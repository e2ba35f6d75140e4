import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.QueueCommand {
    /// `circulate queue list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List messages by state (default: deferred and failed), with the relay's reply.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "States, comma-separated: queued, held, sending, sent, deferred, failed, cancelled.") var state: String = "deferred,failed"
        @Option(help: "Only this mailing.") var mailing: Int64?
        @Option(help: "At most this many.") var limit: Int = 100
        @Flag(help: "Print the list as JSON.") var json = false

        struct Line: Encodable {
            var id: Int64
            var mailing: Int64
            var recipient: String
            var messageId: String
            var state: String
            var attempts: Int
            var nextAttemptAt: Date
            var replyCode: Int?
            var reply: String?
            /// Its fate was unknown at least once (the relay may hold two copies, or none).
            var inDoubt: Bool
            /// Why it failed: bounce (counts against the person), rejected, gave-up or not-sent.
            var failure: String?
        }

        func execute(_ context: CommandContext) throws {
            var states: [Delivery.State] = []
            for name in state.split(separator: ",") {
                guard let s = Delivery.State(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw InvalidField(field: "state", value: String(name), problem: "is not a state; use \(Delivery.State.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                states.append(s)
            }
            let rows = try context.database().deliveries(states: states, mailing: mailing, limit: max(1, limit))
            let lines = rows.map { Line(id: $0.id, mailing: $0.mailingID, recipient: $0.recipient, messageId: $0.messageID, state: $0.state.rawValue,
                                        attempts: $0.attempts, nextAttemptAt: $0.nextAttemptAt, replyCode: $0.replyCode, reply: $0.reply, inDoubt: $0.inDoubt,
                                        failure: $0.failure?.rawValue) }
            if json { return try Terminal.printJSON(lines) }
            guard !lines.isEmpty else { return print("No messages in \(states.map(\.rawValue).joined(separator: "/")).") }
            let zone = context.configuration.community.timeZone
            print(Terminal.table(["MAILING", "RECIPIENT", "STATE", "TRIES", "NEXT TRY", "REPLY"], lines.map {
                [String($0.mailing), $0.recipient, $0.state + ($0.failure.map { " (\($0))" } ?? "") + ($0.inDoubt ? " (in doubt)" : ""),
                 String($0.attempts),
                 $0.state == "deferred" || $0.state == "queued" ? Terminal.local($0.nextAttemptAt, in: zone) : "-",
                 $0.reply ?? ""]
            }))
        }
    }
}
