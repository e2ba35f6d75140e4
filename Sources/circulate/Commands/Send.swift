import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate send`: queue an announcement for an audience.
    struct Send: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "send", abstract: "Queue an announcement (Markdown) for everyone on a stream, or the people with given roles/tags.",
            discussion: """
                Only people who may receive the stream now are queued: active, with a lawful basis, opted in. Each gets their own message. The daemon (circulate serve) does the sending.

                Running the same command again (same subject, body, stream, roles, tags and --at), an hour or a week later, sends nothing: it says the mailing is already queued or already sent, and exits 0. Add --newcomers to send it only to people who joined the audience since, or --again to send it to everyone again as a new mailing.

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
        @Flag(help: "Send it to everyone again as a new mailing, even if the same one was queued or sent before.") var again = false
        @Flag(help: "If the same mailing was queued or sent before, send it only to people who joined the audience since.") var newcomers = false
        @Flag(help: "Leave out the automatic \"Dear NAME,\" (for a body that opens with its own, such as \"Dear friends,\").") var noGreeting = false
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            var mailing: Int64?
            var dryRun: Bool
            var recipients: Int
            var added: Int?
            /// The same mailing was queued before and is not finished.
            var alreadyQueued: Bool?
            /// The same mailing was sent before (finished).
            var alreadySent: Bool?
            var sendAfter: Date
            var lastMessageBy: Date?
        }

        func validate() throws {
            if again && newcomers { throw ValidationError("--again and --newcomers contradict each other; choose one") }
        }

        func execute(_ context: CommandContext) throws {
            var markdown = try InputFile.text(body, what: "body file")
            guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw InvalidField(field: "body", value: body, problem: "is empty")
            }
            if noGreeting { markdown = Greeting.turnedOff(markdown) }
            let audience = Audience(stream: try MailStream(parsing: stream),
                                    tags: try roles.map { try Tag.role($0) } + tags.map { try Tag.tag($0) })
            let now = context.now
            let requested = try at.map { try context.localTime($0) }
            if let requested, requested < now.addingTimeInterval(-60) {
                throw InvalidField(field: "--at", value: at ?? "", problem: "is in the past")
            }
            let announcement = try Announcement(audience: audience, subject: subject, bodyMarkdown: markdown, requestedStart: requested,
                                                now: now, createdBy: context.operatorName,
                                                repeatMode: again ? .again : newcomers ? .newcomers : .once)
            let db = try context.database()
            let zone = context.configuration.community.timeZone

            if dryRun {
                var count = try db.audienceSize(audience)
                let existing = again ? nil : try db.existingMailing(for: announcement)
                if let existing, let id = existing.id {
                    count = newcomers ? try db.newcomers(audience, mailing: id) : 0
                }
                let windows = context.configuration.delivery.rateLimits
                let limiter = try db.rateLimiter(windows: windows, now: now)
                let last = limiter.finishTime(of: count, from: max(announcement.sendAfter, now))
                if json {
                    return try Terminal.printJSON(Output(mailing: existing?.id, dryRun: true, recipients: count,
                                                         alreadyQueued: existing.map { $0.state != .done },
                                                         alreadySent: existing.map { $0.state == .done },
                                                         sendAfter: existing?.sendAfter ?? announcement.sendAfter, lastMessageBy: last))
                }
                if let existing {
                    print(Self.already(existing, zone: zone))
                    if newcomers {
                        print("With --newcomers it would go to \(count) \(count == 1 ? "person" : "people") who joined since.")
                    } else {
                        print("Nothing would be sent. Add --newcomers for people who joined since, or --again for everyone.")
                    }
                } else {
                    print("Would send \"\(announcement.subject)\" to \(count) \(count == 1 ? "person" : "people") (\(audience.description)).")
                }
                if count > 0 {
                    let limits = windows.isEmpty ? "no rate limit configured" : "rate limits " + windows.map(\.summary).joined(separator: ", ")
                    print("Starting \(Terminal.local(max(announcement.sendAfter, now), in: zone)); with \(limits), the last message would go out by \(Terminal.local(last, in: zone)).")
                }
                print("Nothing was queued (dry run).")
                return
            }

            let result = try db.enqueue(announcement, domain: context.configuration.domain, now: now)
            let id = result.mailing.id ?? 0
            let finished = result.mailing.state == .done
            if json && !wait {
                return try Terminal.printJSON(Output(mailing: id, dryRun: false, recipients: result.total, added: result.added,
                                                     alreadyQueued: result.existed && !finished, alreadySent: result.existed && finished,
                                                     sendAfter: result.mailing.sendAfter))
            }
            if result.existed && !newcomers {
                print(Self.already(result.mailing, zone: zone))
                print("Nothing was queued. Add --newcomers to send it to people who joined since, or --again to send it to everyone again.")
                return
            } else if result.existed {
                print("Mailing \(id) \"\(announcement.subject)\" was queued before; \(result.added) \(result.added == 1 ? "person" : "people") who joined since added, \(result.total) in all.")
            } else {
                print("Queued mailing \(id) \"\(announcement.subject)\" for \(result.added) \(result.added == 1 ? "person" : "people"), to start \(Terminal.local(result.mailing.sendAfter, in: zone)).")
            }
            if !DaemonStatus.isRunning(context.configuration) {
                Terminal.warning("the daemon is not running, so nothing will be sent until it is: start it with `circulate serve` (or systemctl start circulate)")
            }
            if wait { try Progress.follow(mailing: id, database: db, configuration: context.configuration, json: json) }
        }

        /// "Already queued (mailing 12, 3 December 2026 09:00)" or "Already sent (...)".
        static func already(_ mailing: Mailing, zone: TimeZone) -> String {
            let id = mailing.id ?? 0
            switch mailing.state {
            case .done: return "Already sent: mailing \(id) (finished \(Terminal.local(mailing.updatedAt, in: zone)))."
            case .held: return "Already queued: mailing \(id), held (\(mailing.heldReason ?? "see circulate queue status"))."
            default: return "Already queued: mailing \(id) (queued \(Terminal.local(mailing.createdAt, in: zone)), starts \(Terminal.local(mailing.sendAfter, in: zone)))."
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
