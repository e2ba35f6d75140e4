import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate send-test ADDRESS`.
    struct SendTest: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-test",
            abstract: "Send one test message through the configured transport now, and say what happened.")

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
            let claim = try db.queueTestMessage(to: to, subject: subject, body: body, createdBy: context.operatorName,
                                                domain: context.configuration.domain, now: context.now)
            let message = try context.messageBuilder(db).build(claim)
            let sender = try transport.makeSender()
            let outcome = sender.send(message.envelope, message: message.bytes) { true }
            sender.close()
            let d = context.configuration.delivery
            try db.record([DeliveryResult(claim: claim, outcome: outcome, finishedAt: context.clock())], retry: RetryPolicy(d),
                          inDoubt: d.inDoubt, bounceLimit: d.bounceLimit, pauseFor: { _, _ in 0 })
            let (name, code, reply, ok): (String, Int?, String, Bool) = switch outcome {
            case .accepted(let r): ("accepted", 250, r, true)
            case .refused(let c, let r, let permanent): (permanent ? "refused" : "deferred", c, r, false)
            case .relayProblem(let p): ("relay-problem", p.code, p.description, false)
            case .inDoubt(let detail): ("in-doubt", nil, detail, false)
            case .withdrawn: ("withdrawn", nil, "", false)
            }
            if json {
                try Terminal.printJSON(Output(recipient: to.description, transport: transport.description, outcome: name,
                                              replyCode: code, reply: reply, messageId: claim.messageID))
            } else if ok {
                print("Sent to \(to) through \(transport.description): \(reply)")
            } else {
                print("Not delivered to \(to) through \(transport.description): \(name)\(code.map { " (\($0))" } ?? ""): \(reply)")
            }
            if !ok { throw ExitCode(ExitStatus.notDelivered) }
        }
    }
}
