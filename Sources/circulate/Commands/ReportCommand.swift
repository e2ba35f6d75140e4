import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate report ...`: a topic's report to the people who can act on it, with one follow-up.
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "Distribute a report to key influencers, record responses, see who is due a follow-up.",
            discussion: """
                Each recipient gets a personal cover email from the coordinator with the report attached (or linked) and an offer to meet or present. After reports.follow_up_after (14 days by default) everyone who received it and has not responded gets one polite follow-up; `report responded` stops it for that person.
                """,
            subcommands: [Distribute.self, Responded.self, Status.self, List.self])
    }
}

extension Circulate.ReportCommand {
    /// `circulate report distribute FILE.pdf --title ...`.
    struct Distribute: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Send a report with a personal cover email to its audience.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The report file to attach (leave out with --link only).") var file: String?
        @Option(help: "The report's title (the email's subject).") var title: String
        @Option(help: ArgumentHelp("Where it can be read online.", valueName: "url")) var link: String?
        @Option(help: "The topic it closes (number or title).") var topic: String?
        @Option(help: ArgumentHelp("Roles/tags to send it to, comma-separated (default: reports.audience).", valueName: "list")) var audience: String?
        @Option(help: ArgumentHelp("A Markdown file with your own words for the cover email.", valueName: "file")) var note: String?
        @Flag(help: "Also send a short \"the report is out\" notice, with the link, to members opted in to reports.") var notice = false
        @Option(help: ArgumentHelp("Send at this local time instead of now: \"2026-12-01 09:00\".", valueName: "time")) var at: String?
        @Flag(help: "Distribute it even though a report with this title went out before.") var again = false
        @Flag(help: "Show who it would reach; send nothing.") var dryRun = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let config = context.configuration
            let content: ReportRequest.Content
            if let file {
                let data = try InputFile.data(file, what: "report file")
                content = .file(name: (file as NSString).lastPathComponent, data: [UInt8](data), link: link)
            } else if let link {
                content = .link(link)
            } else {
                throw ValidationError("Give the report file to attach, or --link URL (or both).")
            }
            let tags = try audience.map { try Tag.parseList($0) } ?? config.reports.audience
            let sendAfter = try at.map { try LocalTime.parse($0, in: config.community.timeZone, field: "--at") } ?? context.now
            let request = try ReportRequest(title: title, topic: topic, content: content, audienceTags: tags,
                                            coverNote: try note.map { try InputFile.text($0, what: "cover note") },
                                            noticeToList: notice, sendAfter: sendAfter, createdBy: context.operatorName,
                                            attachmentLimit: config.reports.attachmentLimit)
            let db = try context.database()
            if dryRun {
                let n = try db.audienceSize(Audience(stream: .reports, tags: tags))
                return print("Dry run: \"\(request.title)\" would go to \(n) people (roles/tags \(tags.joined(separator: ", ")), who may receive reports). Nothing was sent.")
            }
            let result = try db.distributeReport(request, followUpAfter: config.reports.followUpAfter, again: again,
                                                 domain: config.domain, now: context.now)
            if json { return try Terminal.printJSON(ReportJSON(result.report)) }
            let zone = config.community.timeZone
            print("Report \(result.report.id): \"\(result.report.title)\" queued for \(result.covers.added) people (mailing \(result.covers.mailing.id ?? 0)).")
            if result.excluded > 0 {
                print("\(result.excluded) more have those roles/tags but may not receive reports (no lawful basis, unsubscribed, or opted out).")
            }
            if let n = result.notice { print("Notice to the list: \(n.added) people (mailing \(n.mailing.id ?? 0)).") }
            print("Follow-up to anyone who has not responded: \(LocalTime.describe(result.report.followUpAt, in: zone)). Record responses with `circulate report responded EMAIL`.")
        }
    }

    /// `circulate report responded EMAIL`.
    struct Responded: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Record that a recipient responded; they get no follow-up.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The recipient's address.") var email: String
        @Option(help: "The report (number or title; default: their latest report awaiting a response).") var report: String?
        @Option(help: "A few words on the response, e.g. \"meeting booked for 12 Jan\".") var note: String?

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let (r, cancelled) = try context.database().markResponded(address, report: report, note: note, now: context.now)
            print("Recorded \(address)'s response to report \(r.id) (\"\(r.title)\").\(cancelled ? " Their waiting follow-up is cancelled." : " They will get no follow-up.")")
        }
    }

    /// `circulate report status R`.
    struct Status: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Who received a report, who responded, who is due a follow-up.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The report (number or title).") var report: String
        @Flag(help: "Print the status as JSON.") var json = false

        struct Output: Encodable {
            struct Person: Encodable {
                var email: String
                var name: String
                var stage: String
                var respondedAt: Date?
                var responseNote: String?
                var cover: String?
                var followUp: String?
            }
            var report: ReportJSON
            var counts: [String: Int]
            var recipients: [Person]
        }

        func execute(_ context: CommandContext) throws {
            let s = try context.database().reportStatus(report)
            let zone = context.configuration.community.timeZone
            var counts: [String: Int] = ["recipients": s.recipients.count]
            for stage in [ReportRecipientStatus.Stage.waiting, .notDelivered, .received, .responded, .followedUp] { counts[stage.rawValue] = s.count(stage) }
            if json {
                return try Terminal.printJSON(Output(report: ReportJSON(s.report), counts: counts, recipients: s.recipients.map {
                    .init(email: $0.email, name: $0.name, stage: $0.stage.rawValue, respondedAt: $0.respondedAt, responseNote: $0.responseNote,
                          cover: $0.coverState?.rawValue, followUp: $0.followUpState?.rawValue)
                }))
            }
            let r = s.report
            print("Report \(r.id): \(r.title)")
            print("Sent \(LocalTime.describe(r.distributedAt, in: zone)) to \(r.audience)\(r.filename.map { "; attached \($0)" } ?? "")\(r.link.map { "; link \($0)" } ?? "")")
            if let done = r.followedUpAt {
                print("Follow-up queued \(LocalTime.describe(done, in: zone)).")
            } else {
                print("Follow-up due \(LocalTime.describe(r.followUpAt, in: zone)) to the \(s.count(.received)) who received it and have not responded.")
            }
            print("Received \(s.count(.received) + s.count(.responded) + s.count(.followedUp)) · responded \(s.count(.responded)) · followed up \(s.count(.followedUp)) · waiting \(s.count(.waiting)) · not delivered \(s.count(.notDelivered))")
            print("")
            print(Terminal.table(["STAGE", "EMAIL", "NAME", "NOTE"], s.recipients.map {
                [$0.stage.rawValue, $0.email, $0.name, $0.responseNote ?? ""]
            }))
        }
    }

    /// `circulate report list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "List distributed reports.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let reports = try context.database().reports()
            if json { return try Terminal.printJSON(reports.map(ReportJSON.init)) }
            guard !reports.isEmpty else { return print("No reports yet. Distribute one with `circulate report distribute FILE.pdf --title \"...\"`.") }
            let zone = context.configuration.community.timeZone
            print(Terminal.table(["ID", "DISTRIBUTED", "TITLE", "FOLLOW-UP"], reports.map {
                [String($0.id), LocalTime.short($0.distributedAt, in: zone), $0.title,
                 $0.followedUpAt.map { "queued \(LocalTime.short($0, in: zone))" } ?? "due \(LocalTime.short($0.followUpAt, in: zone))"]
            }))
        }
    }
}
