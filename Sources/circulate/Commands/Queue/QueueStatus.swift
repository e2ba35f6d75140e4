import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.QueueCommand {
    /// `circulate queue status`.
    struct Status: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Counts by state, mailings in progress, and why mail waits: a relay pause, a rate limit, held mailings, messages in doubt.")
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
            /// What keeps the daemon from working (the database busy or failing), if anything.
            var daemonProblem: String?
            var counts: [String: Int]
            var paused: Bool
            var pauseReason: String?
            var pausedSince: Date?
            var pausedUntil: Date?
            var rateLimitedUntil: Date?
            /// Messages whose fate was unknown: counted as probably delivered, or waiting to be sent again.
            var probablyDelivered: Int
            var inDoubtWaiting: Int
            var heldMailings: [Int64]
            var nextAttempt: Date?
            /// What the next attempt waits for: schedule, pause or rate-limit.
            var nextAttemptWaitsFor: String?
            var mailings: [MailingLine]
        }

        func execute(_ context: CommandContext) throws {
            let db = try context.database()
            let config = context.configuration
            let now = context.clock()
            // The mailings first: the outlook, read after them, counts every message of each.
            let active = try db.mailings(activeOnly: true)
            let outlook = try db.outlook(windows: config.delivery.rateLimits, now: now)
            let summary = outlook.summary
            let mailings = active.map { m in
                Output.MailingLine(id: m.id ?? 0, subject: m.subject, state: m.state.rawValue, sendAfter: m.sendAfter,
                                   heldReason: m.heldReason, counts: Self.counts(outlook.countsByMailing[m.id ?? 0] ?? [:]))
            }
            let transport = config.smtp.map { "SMTP relay \($0.url.absoluteString)" } ?? "Maildir outbox \(config.outbox.maildir)"
            let running = DaemonStatus.isRunning(config)
            let problem = running ? DaemonState.read(path: DaemonState.path(forDatabase: config.storage.database))?.problem : nil
            let output = Output(transport: transport, daemonRunning: running, daemonProblem: problem, counts: Self.counts(summary),
                                paused: outlook.pause != nil, pauseReason: summary.pause?.reason, pausedSince: summary.pause?.since,
                                pausedUntil: summary.pause?.until, rateLimitedUntil: outlook.rateLimitedUntil,
                                probablyDelivered: summary.probablyDelivered, inDoubtWaiting: summary.inDoubtWaiting,
                                heldMailings: outlook.held.compactMap(\.id), nextAttempt: outlook.nextAttempt?.at,
                                nextAttemptWaitsFor: outlook.nextAttempt?.waitingFor.rawValue, mailings: mailings)
            if json { return try Terminal.printJSON(output) }
            let zone = config.community.timeZone
            print("Delivery: \(transport); daemon \(running ? "running" : "NOT running (start it: circulate serve)")")
            if let problem { print("THE DAEMON IS WAITING: \(TextField.printable(problem))") }
            if let pause = outlook.pause {
                print("PAUSED since \(Terminal.local(pause.since, in: zone)), next try \(Terminal.local(pause.until, in: zone)) (try \(pause.failures) of this outage): \(TextField.printable(pause.reason))")
                print("  Once the cause is fixed, `circulate queue resume` tries again at once.")
            } else if let pause = summary.pause {
                print("Last relay problem (\(Terminal.local(pause.since, in: zone))): \(TextField.printable(pause.reason))")
            }
            if let until = outlook.rateLimitedUntil {
                let limits = config.delivery.rateLimits.map(\.summary).joined(separator: ", ")
                print("Rate limit reached (\(limits)): the next message may go at \(Terminal.local(until, in: zone)).")
            }
            print(Delivery.State.allCases.map { "\($0.rawValue) \(output.counts[$0.rawValue] ?? 0)" }.joined(separator: " · "))
            if summary.probablyDelivered + summary.inDoubtWaiting > 0 {
                print("In doubt (the connection broke after a whole message was sent): \(summary.inDoubtWaiting) to be sent again with the same Message-ID, "
                      + "\(summary.probablyDelivered) counted as probably delivered and not sent again.")
            }
            if let next = outlook.nextAttempt {
                let why = switch next.waitingFor {
                case .schedule: ""
                case .pause: " (after the pause)"
                case .rateLimit: " (when the rate limit allows)"
                }
                print("Next attempt: \(Terminal.local(next.at, in: zone))\(why)")
            }
            for m in mailings {
                let c = m.counts
                print("mailing \(m.id) [\(m.state)] \"\(TextField.printable(m.subject))\" from \(Terminal.local(m.sendAfter, in: zone)): "
                      + "sent \(c["sent"] ?? 0), waiting \((c["queued"] ?? 0) + (c["sending"] ?? 0) + (c["held"] ?? 0)), deferred \(c["deferred"] ?? 0), failed \(c["failed"] ?? 0)")
                if let reason = m.heldReason { print("  held: \(TextField.printable(reason))") }
            }
        }

        static func counts(_ s: QueueSummary) -> [String: Int] {
            counts(s.byState)
        }

        static func counts(_ byState: [Delivery.State: Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: Delivery.State.allCases.map { ($0.rawValue, byState[$0] ?? 0) })
        }
    }
}
