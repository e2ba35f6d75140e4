import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate send-test ADDRESS`.
    struct SendTest: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-test",
            abstract: "Send one test message through the configured transport now, and say what happened.",
            discussion: """
                A test message is a one-off: it is sent now or not at all (never left for the daemon to try later), never pauses delivery, and never counts as a bounce. When the address is on the list, the message is recorded with the person, so that `export` shows it and `erase` removes it. With rate limits configured, it counts toward them like any message; if the limit is used up, it says when the next message may go and sends nothing (exit 75).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Where to send it.") var address: String
        @Option(help: "The subject line.") var subject = "circulate test message"
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            var recipient: String
            var transport: String
            var outcome: String
            var replyCode: Int?
            var reply: String
            var messageId: String
        }

        func execute(_ context: CommandContext) throws {
            let to = try parseAddress(address)
            let db = try context.database()
            let transport = try context.transport()
            let body = """
                This is a test message from circulate, sent with `circulate send-test` through \(transport.description).

                If you can read this, messages from \(context.configuration.community.name) reach this address.
                """
            let config = context.configuration
            let claim = try db.startTestMessage(to: to, subject: subject, body: body, createdBy: context.operatorName, domain: config.domain,
                                                windows: config.delivery.rateLimits, now: context.now)
            var outcome: SendOutcome
            var startedAt: Date?
            do {
                let message = try context.messageBuilder(db).build(claim)
                let sender = try transport.makeSender()
                startedAt = context.clock()
                outcome = sender.send(message.envelope, message: message.bytes) { .go }
                sender.close()
            } catch {
                outcome = .notSent(reason: "\(error)")
            }
            try db.record([DeliveryResult(claim: claim, outcome: outcome, startedAt: startedAt, finishedAt: context.clock())],
                          policy: RecordingPolicy(config.delivery))
            let (name, code, reply, ok): (String, Int?, String, Bool) = switch outcome {
            case .accepted(let r): ("accepted", 250, r, true)
            case .refused(let r): (r.code >= 500 ? "refused" : "deferred", r.code, r.description, false)
            case .relayProblem(let p): ("relay-problem", p.code, p.description, false)
            case .inDoubt(let detail): ("in-doubt", nil, detail, false)
            case .withdrawn(let reason, _): ("withdrawn", nil, reason, false)
            case .notSent(let reason): ("not-sent", nil, reason, false)
            case .checkFailed(let detail, _): ("not-sent", nil, detail, false)
            }
            if json {
                try Terminal.printJSON(Output(recipient: to.description, transport: transport.description, outcome: name,
                                              replyCode: code, reply: reply, messageId: claim.messageID))
            } else if ok {
                // The reply is the relay's own text.
                print("Sent to \(to) through \(transport.description): \(TextField.printable(reply))")
            } else {
                print("Not delivered to \(to) through \(transport.description): \(name)\(code.map { " (\($0))" } ?? ""): \(TextField.printable(reply))")
            }
            if !ok { throw ExitCode(ExitStatus.notDelivered) }
        }
    }
}
