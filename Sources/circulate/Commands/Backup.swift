import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate backup FILE` / `circulate backup --into DIR --keep N`.
    struct Backup: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup", abstract: "Write a consistent copy of the database, also while the daemon runs.",
            discussion: """
                The copy holds only live data (nothing erased travels with it), is private to this user (mode 0600), and is checked with SQLite's integrity_check. The instance key is NOT in it: back the key up separately, once, and keep the erasure journal (storage.erasure_journal) with your backups, copied off the machine more often than they are. With --into DIR the file is named circulate-YYYYMMDD-HHMMSS.sqlite and --keep N removes the oldest beyond N (what the circulate-backup timer runs).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The file to write (must not exist).") var file: String?
        @Option(help: ArgumentHelp("Write a dated file into this folder instead.", valueName: "folder")) var into: String?
        @Option(help: "With --into: keep this many backups, removing the oldest.") var keep: Int?
        @Flag(help: "Print what the backup holds as JSON.") var json = false

        func validate() throws {
            if (file == nil) == (into == nil) { throw ValidationError("Give the backup's file name, or --into FOLDER (not both).") }
            if let keep, keep < 1 { throw ValidationError("--keep must be 1 or more.") }
            if keep != nil && into == nil { throw ValidationError("--keep goes with --into.") }
        }

        func execute(_ context: CommandContext) throws {
            let database = try context.database()
            var path = file ?? ""
            if let into {
                try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                path = into + "/circulate-\(AppDatabase.fileStamp(context.now)).sqlite"
            }
            let summary = try database.backup(to: path)
            var removed: [String] = []
            if let into, let keep {
                let backups = ((try? FileManager.default.contentsOfDirectory(atPath: into)) ?? [])
                    .filter { $0.hasPrefix("circulate-") && $0.hasSuffix(".sqlite") }.sorted()
                for old in backups.dropLast(keep) {
                    try FileManager.default.removeItem(atPath: into + "/" + old)
                    removed.append(old)
                }
            }
            if json { return try Terminal.printJSON(summary) }
            print("Backup written to \(path): \(summary.members) people, \(summary.consentEvents) consent records, \(summary.erasures) erasure receipts (checked).")
            if !removed.isEmpty { print("Removed \(removed.count) older backup(s): \(removed.joined(separator: ", ")).") }
            print("The instance key is not in it: keep a copy of \(context.configuration.secrets.instanceKeyFile) (or its credential) with your backups, "
                  + "and copy the erasure journal \(context.configuration.storage.erasureJournal) off the machine with them.")
        }
    }

    /// `circulate restore FILE`.
    struct Restore: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore", abstract: "Put a backup back in place of the database (the daemon must be stopped).",
            discussion: """
                Checks the backup and that it was made with this instance key, sets the current database aside (as <database>.before-restore-<time>, kept until you delete it), copies the backup in, and applies again every erasure in the erasure journal that the backup does not know of: a restore never brings back someone who asked to be forgotten.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup file.") var file: String
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let config = context.configuration
            guard !DaemonStatus.isRunning(config) else {
                throw StorageError(kind: .busy, "circulate serve is running on \(config.storage.database); stop it first (systemctl stop circulate), then restore")
            }
            let report = try AppDatabase.restore(backup: file, over: config.storage.database, key: try context.instanceKey(),
                                                 journal: ErasureJournal(path: config.storage.erasureJournal), now: context.now)
            if json { return try Terminal.printJSON(report) }
            let r = report.restored
            print("Restored \(file): \(r.members) people, \(r.consentEvents) consent records, \(r.erasures) erasure receipts.")
            if report.erasuresApplied > 0 {
                print("Applied again \(report.erasuresApplied) erasure(s) made after this backup (from \(config.storage.erasureJournal)): \(report.peopleRemoved) person(s) removed.")
            }
            if let aside = report.setAside {
                print("The database it replaced is at \(aside); delete it once you are sure of the restore (it holds personal data).")
            }
        }
    }
}
