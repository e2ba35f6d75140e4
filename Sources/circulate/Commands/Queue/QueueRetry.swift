import ArgumentParser
import CirculateCore

extension Circulate.QueueCommand {
    /// `circulate queue retry`.
    struct Retry: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Try deferred messages now (and failed ones with --failed).")
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
}
