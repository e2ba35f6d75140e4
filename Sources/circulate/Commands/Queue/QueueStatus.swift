import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.QueueCommand {
    /// `circulate queue status`.
    struct Status: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Counts by state, mailings in progress, and any relay problem.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            struct MailingLine: Encodable {
                var id: Int64
                var subject: String
                var state: String
                var sendAfter: Date
                var heldReason: String?
                var counts: [String: Int]
            }
            var transport: String
            var daemonRunning: Bool
            var counts: [String: Int]
            var paused: Bool
            var pauseReason: String?
            var pausedUntil: Date?
            var nextAttempt: Date?
            var mailings: [MailingLine]
        }

        func execute(_ context: CommandContext) throws {
            let db = try context.database()
            let summary = try db.queueSummary()
            var mailings: [Output.MailingLine] = []
            for m in try db.mailings(activeOnly: true) {
                let s = try db.queueSummary(mailing: m.id)
                mailings.append(.init(id: m.id ?? 0, subject: m.subject, state: m.state.rawValue, sendAfter: m.sendAfter,
                                      heldReason: m.heldReason, counts: Self.counts(s)))
            }
            let transport = context.configuration.smtp.map { "SMTP relay \($0.url.absoluteString)" }
                ?? "Maildir outbox \(context.configuration.outbox.maildir)"
            let now = context.clock()
            let paused = summary.pause.map { $0.until > now } ?? false
            let output = Output(transport: transport, daemonRunning: DaemonStatus.isRunning(context.configuration),
                                counts: Self.counts(summary), paused: paused, pauseReason: summary.pause?.reason,
                                pausedUntil: summary.pause?.until, nextAttempt: summary.nextAttempt, mailings: mailings)
            if json { return try Terminal.printJSON(output) }
            let zone = context.configuration.community.timeZone
            print("Delivery: \(transport); daemon \(output.daemonRunning ? "running" : "NOT running (start it: circulate serve)")")
            if let pause = summary.pause {
                if paused {
                    print("PAUSED since \(Terminal.local(pause.since, in: zone)), next try \(Terminal.local(pause.until, in: zone)): \(pause.reason)")
                } else {
                    print("Last relay problem (\(Terminal.local(pause.since, in: zone))): \(pause.reason)")
                }
            }
            print(Delivery.State.allCases.map { "\($0.rawValue) \(output.counts[$0.rawValue] ?? 0)" }.joined(separator: " · "))
            if let next = summary.nextAttempt { print("Next attempt: \(Terminal.local(next, in: zone))") }
            for m in mailings {
                let c = m.counts
                print("mailing \(m.id) [\(m.state)] \"\(m.subject)\" from \(Terminal.local(m.sendAfter, in: zone)): "
                      + "sent \(c["sent"] ?? 0), waiting \((c["queued"] ?? 0) + (c["sending"] ?? 0)), deferred \(c["deferred"] ?? 0), failed \(c["failed"] ?? 0)")
                if let reason = m.heldReason { print("  held: \(reason)") }
            }
        }

        static func counts(_ s: QueueSummary) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: Delivery.State.allCases.map { ($0.rawValue, s.byState[$0] ?? 0) })
        }
    }
}
