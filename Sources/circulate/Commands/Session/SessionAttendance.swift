import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.SessionCommand {
    /// `circulate session attendance SESSION FILE.csv`.
    struct Attendance: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "attendance", abstract: "Record who attended (or, with --apologies, who sent apologies) from the session's sign-in sheet.",
            discussion: """
                The sheet is read like `member import`: people are added or updated with the consent the sheet records, and everyone on the list is recorded for the session. People without consent are counted as attendees but not stored and never mailed. With --apologies the sheet needs only an Email column (Name is optional, Consent is not read): nobody is added to the list, and addresses not on it are counted and reported, not stored. One transaction: a rejected row stops it all unless --skip-invalid. Importing the same sheet again changes nothing.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "The sign-in sheet (CSV).") var file: String
        @Flag(help: "The sheet lists people who sent apologies, not attendees.") var apologies = false
        @OptionGroup var consent: ConsentOptions
        @Flag(help: "Show what would happen; change nothing.") var dryRun = false
        @Flag(help: "Record the valid rows even when some are rejected.") var skipInvalid = false
        @Flag(help: "Print the report as JSON.") var json = false

        struct Output: Encodable {
            var session: Int64
            var status: String
            var recorded: Int
            var newlyRecorded: Int
            var newToList: Int
            var alreadyOnList: Int
            var unlisted: Int
            var notMailable: Int
            var committed: Bool
            var counts: [String: Int]
            var rows: [MemberCommandImportRow]
        }

        func execute(_ context: CommandContext) throws {
            let sheet = try SignInSheet.parse(try InputFile.data(file, what: "sign-in sheet"))
            let day = context.now.formatted(.iso8601.year().month().day())
            var options = ImportOptions(source: "sign-in sheet for session \(session) (\((file as NSString).lastPathComponent)), imported \(day)",
                                        wordingVersion: nil, recordedBy: consent.recorder(context))
            options.lawfulBasis = try consent.basis()
            options.wordingVersion = options.lawfulBasis == .consent ? consent.wording(context) : consent.wordingVersion
            options.dryRun = dryRun
            options.skipInvalid = skipInvalid
            let report = try context.database().recordAttendance(session: session, sheet: sheet, status: apologies ? .apologies : .attended,
                                                                 options: options, key: context.instanceKey(), now: context.now)
            if json {
                var counts: [String: Int] = [:]
                for outcome in ImportReport.Outcome.allCases { counts[outcome.rawValue] = report.sheet.count(outcome) }
                try Terminal.printJSON(Output(session: session, status: apologies ? "apologies" : "attended", recorded: report.recorded,
                                              newlyRecorded: report.newlyRecorded, newToList: report.newToList,
                                              alreadyOnList: report.recorded - report.newToList, unlisted: report.unlisted, notMailable: report.notMailable,
                                              committed: report.sheet.committed, counts: counts,
                                              rows: report.sheet.lines.map { .init(row: $0.row, email: $0.email, outcome: $0.outcome.rawValue, note: $0.note) }))
            } else {
                Circulate.MemberCommand.Import.printReport(report.sheet, file: file)
                if report.sheet.committed || report.sheet.dryRun {
                    print(Self.summary(report, session: session, apologies: apologies))
                }
            }
            if report.sheet.hasRejections && !skipInvalid { throw ExitCode(ExitStatus.invalidInput) }
        }

        /// The closing line: how many on the list, how many of them new to it, how many only counted.
        static func summary(_ report: AttendanceReport, session: Int64, apologies: Bool) -> String {
            let would = report.sheet.committed ? "" : "would be "
            var line = "Session \(session): \(report.recorded) on the list \(would)recorded as "
            if apologies {
                line += "having sent apologies (\(report.newlyRecorded) not recorded before)"
                    + (report.unlisted > 0 ? "; \(report.unlisted) not on the list (counted, not stored)" : "")
            } else {
                line += "attended (\(report.newToList) new to the list, \(report.recorded - report.newToList) already on it)"
                    + ", \(report.unlisted) more not on the list (counted only)"
            }
            if report.notMailable > 0 { line += "; \(report.notMailable) of them will not be mailed (left, or no consent)" }
            return line + "."
        }
    }
}

/// One import row as printed by `--json`.
struct MemberCommandImportRow: Encodable {
    var row: Int
    var email: String
    var outcome: String
    var note: String?
}
