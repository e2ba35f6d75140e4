import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate queue ...`: what is waiting, deferred, failed, and why.
    struct QueueCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue", abstract: "See and steer the outbound queue.",
            subcommands: [Status.self, List.self, Retry.self, Cancel.self, Release.self], defaultSubcommand: Status.self)
    }
}

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

    /// `circulate queue list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "List messages by state (default: deferred and failed), with the relay's reply.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "States, comma-separated: queued, sending, sent, deferred, failed, cancelled.") var state: String = "deferred,failed"
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
            var inDoubt: Bool
        }

        func execute(_ context: CommandContext) throws {
            var states: [Delivery.State] = []
            for name in state.split(separator: ",") {
                guard let s = Delivery.State(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw InvalidField(field: "state", value: String(name), problem: "is not a state; use queued, sending, sent, deferred, failed or cancelled")
                }
                states.append(s)
            }
            let rows = try context.database().deliveries(states: states, mailing: mailing, limit: max(1, limit))
            let lines = rows.map { Line(id: $0.id, mailing: $0.mailingID, recipient: $0.recipient, messageId: $0.messageID, state: $0.state.rawValue,
                                        attempts: $0.attempts, nextAttemptAt: $0.nextAttemptAt, replyCode: $0.replyCode, reply: $0.reply, inDoubt: $0.inDoubt) }
            if json { return try Terminal.printJSON(lines) }
            guard !lines.isEmpty else { return print("No messages in \(states.map(\.rawValue).joined(separator: "/")).") }
            let zone = context.configuration.community.timeZone
            print(Terminal.table(["MAILING", "RECIPIENT", "STATE", "TRIES", "NEXT TRY", "REPLY"], lines.map {
                [String($0.mailing), $0.recipient, $0.state, String($0.attempts),
                 $0.state == "deferred" || $0.state == "queued" ? Terminal.local($0.nextAttemptAt, in: zone) : "-",
                 $0.reply ?? ""]
            }))
        }
    }

    /// `circulate queue retry`.
    struct Retry: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Try deferred messages now (and failed ones with --failed).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this mailing.") var mailing: Int64?
        @Flag(help: "Also retry permanently failed messages.") var failed = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let n = try context.database().retryNow(mailing: mailing, includeFailed: failed, now: context.now)
            if json { return try Terminal.printJSON(["requeued": n]) }
            print("\(n) message(s) put back in the queue for now.")
        }
    }

    /// `circulate queue cancel MAILING`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a mailing: nothing more of it is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailing's number (see queue status).") var mailing: Int64
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let n = try context.database().cancelMailing(mailing, now: context.now)
            if json { return try Terminal.printJSON(["cancelled": n]) }
            print("Mailing \(mailing) cancelled; \(n) unsent message(s) will not go out.")
        }
    }

    /// `circulate queue release MAILING`.
    struct Release: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Send a held mailing (one that was too late to go out unasked) now.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailing's number (see queue status).") var mailing: Int64

        func execute(_ context: CommandContext) throws {
            guard try context.database().releaseMailing(mailing, now: context.now) else {
                throw InvalidField(field: "mailing", value: String(mailing), problem: "is not held; see `circulate queue status`")
            }
            print("Mailing \(mailing) released; the daemon sends it now.")
        }
    }
}
