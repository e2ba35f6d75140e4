import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.MemberCommand {
    /// `circulate member import FILE.csv`.
    struct Import: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "import", abstract: "Import a sign-in sheet (CSV as a spreadsheet exports it), all of it or none of it.",
            discussion: """
                Columns are matched loosely: Email / E-mail / Email address; Name / Full name (or First name + Last name); Organisation / Organization; Consent (yes/no/y/n/true/false; blank means no); Role / Tags. Rows with a malformed address or unclear consent are rejected, and then nothing is imported unless you pass --skip-invalid. Rows without consent, duplicates and erased addresses are skipped and reported. Re-importing the same sheet changes nothing. Unsubscribed people stay unsubscribed unless their row gives consent and you pass --resubscribe.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file.") var file: String
        @Option(help: ArgumentHelp("Where and when these people agreed (default: \"sign-in sheet FILE, imported DATE\").", valueName: "text"))
        var source: String?
        @OptionGroup var consent: ConsentOptions
        @OptionGroup var grouping: GroupingOptions
        @Flag(help: "Bring back unsubscribed people whose row gives fresh consent.") var resubscribe = false
        @Flag(help: "Show what would happen; change nothing.") var dryRun = false
        @Flag(help: "Import the valid rows even when some are rejected.") var skipInvalid = false
        @Flag(help: "Print the report as JSON.") var json = false

        struct Output: Encodable {
            struct Line: Encodable {
                var row: Int
                var email: String
                var outcome: String
                var note: String?
            }
            var file: String
            var dryRun: Bool
            var committed: Bool
            var counts: [String: Int]
            var ignoredColumns: [String]
            var encodingNote: String?
            var rows: [Line]
        }

        func execute(_ context: CommandContext) throws {
            let sheet = try SignInSheet.parse(try InputFile.data(file, what: "sign-in sheet"))
            let day = context.now.formatted(.iso8601.year().month().day())
            var options = ImportOptions(source: source ?? "sign-in sheet \((file as NSString).lastPathComponent), imported \(day)",
                                        wordingVersion: nil, recordedBy: consent.recorder(context))
            options.lawfulBasis = try consent.basis()
            options.wordingVersion = options.lawfulBasis == .consent ? consent.wording(context) : consent.wordingVersion
            options.tags = try grouping.allTags()
            options.streams = try grouping.streamPreferences()
            options.resubscribe = resubscribe
            options.dryRun = dryRun
            options.skipInvalid = skipInvalid

            let db = try context.database()
            let report = try db.importSheet(sheet, options: options, key: context.instanceKey(), now: context.now)
            if json {
                var counts: [String: Int] = [:]
                for outcome in ImportReport.Outcome.allCases { counts[outcome.rawValue] = report.count(outcome) }
                try Terminal.printJSON(Output(file: file, dryRun: report.dryRun, committed: report.committed, counts: counts,
                                              ignoredColumns: report.ignoredColumns, encodingNote: report.encodingNote,
                                              rows: report.lines.map { .init(row: $0.row, email: $0.email, outcome: $0.outcome.rawValue, note: $0.note) }))
            } else {
                Self.printReport(report, file: file)
            }
            if report.hasRejections && !skipInvalid { throw ExitCode(ExitStatus.invalidInput) }
        }

        /// The report for people. Addresses, notes and column names come from the sheet, so each is made printable.
        static func printReport(_ report: ImportReport, file: String) {
            let file = TextField.printable(file)
            if let note = report.encodingNote { Terminal.warning(note) }
            if !report.ignoredColumns.isEmpty { print("Columns not used: \(TextField.printable(report.ignoredColumns.joined(separator: ", ")))") }
            for line in report.lines where line.outcome != .unchanged || line.note != nil {
                let who = line.email.isEmpty ? "" : " \(TextField.printable(line.email))"
                print("row \(line.row):\(who) \(word(line.outcome, report))\(line.note.map { " — \(TextField.printable($0))" } ?? "")")
            }
            let summary = ImportReport.Outcome.allCases.map { "\(report.count($0)) \(word($0, report))" }.joined(separator: ", ")
            if report.dryRun {
                print("Dry run of \(file): \(summary). Nothing was changed.")
            } else if report.committed {
                print("Imported \(file): \(summary).")
            } else {
                print("Nothing imported from \(file): \(report.count(.rejected)) row(s) rejected (\(summary)). "
                      + "Fix those rows and import again, or pass --skip-invalid to import the rest.")
            }
        }

        /// An outcome in words: an import that wrote nothing (a dry run, or one stopped by rejected rows) says what
        /// "would be" added or updated.
        static func word(_ outcome: ImportReport.Outcome, _ report: ImportReport) -> String {
            guard !report.committed else { return outcome.rawValue }
            switch outcome {
            case .added, .updated: return "would be \(outcome.rawValue)"
            case .unchanged, .skipped, .rejected: return outcome.rawValue
            }
        }
    }
}
