import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.ReportCommand {
    /// `circulate report status R`.
    struct Status: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Who received a report, who responded, who is due a follow-up.")
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
            func shown(_ text: String) -> String { TextField.printable(text) }
            print("Report \(r.id): \(shown(r.title))")
            print("Sent \(LocalTime.describe(r.distributedAt, in: zone)) to \(shown(r.audience))\(r.filename.map { "; attached \(shown($0))" } ?? "")\(r.link.map { "; link \(shown($0))" } ?? "")")
            if let sent = r.followUpSentAt {
                print("Follow-up sent \(LocalTime.describe(sent, in: zone)).")
            } else if let done = r.followedUpAt {
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
}
