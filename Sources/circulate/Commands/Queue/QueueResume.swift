import ArgumentParser
import CirculateCore

extension Circulate.QueueCommand {
    /// `circulate queue resume`.
    struct Resume: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume", abstract: "End a relay pause now (after fixing its cause: the password file, the CA file, the relay), instead of waiting for it.")
        @OptionGroup var global: GlobalOptions

        func execute(_ context: CommandContext) throws {
            if try context.database().resumeRelay(now: context.now) {
                print("The relay pause is over; the daemon tries one message now, then the rest if the relay takes it.")
            } else {
                print("Delivery is not paused; nothing to resume.")
            }
        }
    }
}
