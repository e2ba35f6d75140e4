import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate send`: queue an announcement for an audience.
    struct Send: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue an announcement (Markdown) for everyone on a stream, or the people with given roles/tags.",
            discussion: """
                Only people who may receive the stream now are queued: active, with a lawful basis, opted in. Each gets their own message. Running the same command again adds nobody twice (use --again to send the same text as a new mailing). The daemon (circulate serve) does the sending.

                Example: circulate send --subject "December session: hospital discharge" --body december.md --stream session-invitations --role member --at "2026-12-01 09:00"
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "The subject line.") var subject: String
        @Option(help: ArgumentHelp("The message, as a Markdown file.", valueName: "file.md")) var body: String
        @Option(help: "The stream whose consent covers it: monthly-update, session-invitations or reports.") var stream: String
        @Option(name: .customLong("role"), help: "Only people with this role (repeatable: any of them).") var roles: [String] = []
        @Option(name: .customLong("tag"), help: "Only people with this tag (repeatable: any of them).") var tags: [String] = []
        @Option(help: ArgumentHelp("When to send, local time \"YYYY-MM-DD HH:MM\" (default: now).", valueName: "time")) var at: String?
        @Flag(help: "Say how many people it would reach and when the last message would go out; queue nothing.") var dryRun = false
        @Flag(help: "Follow the sending to the end with a progress line.") var wait = false
        @Flag(help: "Queue it as a new mailing even if the same one was queued before.") var again = false
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            var mailing: Int64?
            var dryRun: Bool
            var recipients: Int
            var added: Int?
            var alreadyQueued: Bool?
            var sendAfter: Date
            var lastMessageBy: Date?
        }

        func execute(_ context: CommandContext) throws {
            guard FileManager.default.fileExists(atPath: body), let data = FileManager.default.contents(atPath: body) else {
                throw StorageError(kind: .unreadableInput, "the file \(body) does not exist or cannot be read")
            }
            guard let markdown = String(data: data, encoding: .utf8) else {
                throw InvalidField(field: "body", value: body, problem: "is not UTF-8 text; save it as UTF-8")
            }
            guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw InvalidField(field: "body", value: body, problem: "is empty")
            }
            let audience = Audience(stream: try MailStream(parsing: stream),
                                    tags: try roles.map { try Tag.role($0) } + tags.map { try Tag.tag($0) })
            let now = context.now
            let sendAfter = try at.map { try context.localTime($0) } ?? now
            if sendAfter < now.addingTimeInterval(-60) {
                throw InvalidField(field: "--at", value: at ?? "", problem: "is in the past")
            }
            let request = try MailingRequest(kind: .announcement, audience: audience, subject: subject, bodyMarkdown: markdown,
                                             sendAfter: sendAfter, createdBy: context.operatorName, again: again)
            let db = try context.database()
            let zone = context.configuration.community.timeZone

            if dryRun {
                let count = try db.audienceSize(audience)
                let windows = context.configuration.delivery.rateLimits
                let longest = windows.map(\.seconds).max() ?? 0
                let limiter = RateLimiter(windows: windows, history: longest > 0 ? try db.recentAttempts(within: longest, now: now) : [])
                let last = limiter.finishTime(of: count, from: max(sendAfter, now))
                if json { return try Terminal.printJSON(Output(dryRun: true, recipients: count, sendAfter: sendAfter, lastMessageBy: last)) }
                print("Would send \"\(request.subject)\" to \(count) \(count == 1 ? "person" : "people") (\(audience.description)).")
                let limits = windows.isEmpty ? "no rate limit configured" : "rate limits " + windows.map(Self.describe).joined(separator: ", ")
                print("Starting \(Terminal.local(max(sendAfter, now), in: zone)); with \(limits), the last message would go out by \(Terminal.local(last, in: zone)).")
                print("Nothing was queued (dry run).")
                return
            }

            let result = try db.enqueue(request, domain: context.configuration.domain, now: now)
            let id = result.mailing.id ?? 0
            if json && !wait {
                return try Terminal.printJSON(Output(mailing: id, dryRun: false, recipients: result.total, added: result.added,
                                                     alreadyQueued: result.existed, sendAfter: result.mailing.sendAfter))
            }
            if result.existed {
                print("This mailing was already queued (mailing \(id), \(result.mailing.state.rawValue)); \(result.added) newly eligible \(result.added == 1 ? "person" : "people") added, \(result.total) in all. Use --again to send it as a new mailing.")
            } else {
                print("Queued mailing \(id) \"\(request.subject)\" for \(result.added) \(result.added == 1 ? "person" : "people"), to start \(Terminal.local(result.mailing.sendAfter, in: zone)).")
            }
            if !DaemonStatus.isRunning(context.configuration) {
                Terminal.warning("the daemon is not running, so nothing will be sent until it is: start it with `circulate serve` (or systemctl start circulate)")
            }
            if wait { try Progress.follow(mailing: id, database: db, configuration: context.configuration, json: json) }
        }

        static func describe(_ w: RateWindow) -> String {
            switch w.seconds {
            case 60: "\(w.limit)/minute"
            case 3600: "\(w.limit)/hour"
            case 86_400: "\(w.limit)/day"
            default: "\(w.limit) per \(Int(w.seconds)) s"
            }
        }
    }
}

/// `send --wait`: one progress line until the mailing is finished.
enum Progress {
    static func follow(mailing: Int64, database: AppDatabase, configuration: CirculateCore.Configuration, json: Bool) throws {
        let tty = isatty(STDOUT_FILENO) == 1
        var lastLine = ""
        while true {
            let s = try database.queueSummary(mailing: mailing)
            let sent = s.byState[.sent] ?? 0, deferred = s.byState[.deferred] ?? 0, failed = s.byState[.failed] ?? 0
            let remaining = (s.byState[.queued] ?? 0) + (s.byState[.sending] ?? 0)
            let cancelled = s.byState[.cancelled] ?? 0
            var line = "sent \(sent) · deferred \(deferred) · failed \(failed) · remaining \(remaining)"
            if cancelled > 0 { line += " · cancelled \(cancelled)" }
            if let pause = s.pause, pause.until > Date() { line += " — paused: \(pause.reason)" }
            if line != lastLine {
                if json {
                    try Terminal.printJSON(["mailing": Int(mailing), "sent": sent, "deferred": deferred, "failed": failed,
                                            "remaining": remaining, "cancelled": cancelled])
                } else if tty {
                    print("\r\u{1B}[2K" + line, terminator: "")
                    fflush(nil)
                } else {
                    print(line)
                }
                lastLine = line
            }
            if remaining == 0 && deferred == 0 { break }
            if let held = try database.mailing(id: mailing), held.state == .held || held.state == .cancelled {
                if tty { print("") }
                print("mailing \(mailing) is \(held.state.rawValue)\(held.heldReason.map { ": \($0)" } ?? "")")
                return
            }
            Thread.sleep(forTimeInterval: 1)
        }
        if tty && !json { print("") }
        if !json { print("Finished.") }
    }
}
