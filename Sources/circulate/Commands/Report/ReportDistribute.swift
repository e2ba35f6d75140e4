import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.ReportCommand {
    /// `circulate report distribute FILE.pdf --title ...`.
    struct Distribute: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "distribute", abstract: "Send a report with a personal cover email to its audience.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The report file to attach (leave out with --link only).") var file: String?
        @Option(help: "The report's title (the email's subject).") var title: String
        @Option(help: ArgumentHelp("Where it can be read online.", valueName: "url")) var link: String?
        @Option(help: "The topic it closes (number or title).") var topic: String?
        @Option(help: ArgumentHelp("Roles/tags to send it to, comma-separated (default: reports.audience).", valueName: "list")) var audience: String?
        @Option(help: ArgumentHelp("A Markdown file with your own words for the cover email.", valueName: "file")) var note: String?
        @Flag(help: "Also send a short \"the report is out\" notice, with the link, to members opted in to reports.") var notice = false
        @Option(help: ArgumentHelp("Send at this local time instead of now: \"2026-12-01 09:00\".", valueName: "time")) var at: String?
        @Flag(help: "Distribute it again as a new report, even though the same one (or one with this title) went out before.") var again = false
        @Flag(help: "If the same report was distributed before, send the cover email only to people who joined its audience since.") var newcomers = false
        @Flag(help: "Show who it would reach; send nothing.") var dryRun = false
        @Flag(help: "Print the result as JSON.") var json = false

        func validate() throws {
            if again && newcomers { throw ValidationError("--again and --newcomers contradict each other; choose one") }
        }

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
            let result = try db.distributeReport(request, repeat: again ? .again : newcomers ? .newcomers : .once,
                                                 context: try context.workflowContext(), now: context.now)
            if json { return try Terminal.printJSON(ReportJSON(result.report)) }
            let zone = config.community.timeZone
            if result.repeated {
                print("Already distributed: report \(result.report.id) \"\(TextField.printable(result.report.title))\" went out \(LocalTime.describe(result.report.distributedAt, in: zone)) (mailing \(result.covers.mailing.id ?? 0)).")
                if newcomers {
                    print("Cover email queued for \(result.covers.added) \(result.covers.added == 1 ? "person" : "people") who joined its audience since.")
                } else {
                    print("Nothing was sent. Add --newcomers to send it to people who joined its audience since, or --again to distribute it again.")
                }
                return
            }
            print("Report \(result.report.id): \"\(result.report.title)\" queued for \(result.covers.added) people (mailing \(result.covers.mailing.id ?? 0)).")
            if result.excluded > 0 {
                print("\(result.excluded) more have those roles/tags but may not receive reports (no lawful basis, unsubscribed, or opted out).")
            }
            if let n = result.notice { print("Notice to the list: \(n.added) people (mailing \(n.mailing.id ?? 0)).") }
            print("Follow-up to anyone who has not responded: \(LocalTime.describe(result.report.followUpAt, in: zone)). Record responses with `circulate report responded EMAIL`.")
        }
    }
}
