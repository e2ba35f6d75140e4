import ArgumentParser
import CirculateCore

extension Circulate.QueueCommand {
    /// `circulate queue release MAILING`.
    struct Release: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "release", abstract: "Send a held mailing (one that was too late to go out unasked) now.")
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
