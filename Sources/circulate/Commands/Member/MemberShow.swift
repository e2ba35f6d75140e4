import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.MemberCommand {
    /// `circulate member show EMAIL`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one person, with their consent history.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their email address.") var email: String
        @Flag(help: "Print the result as JSON.") var json = false

        struct Erased: Encodable {
            var email: String
            var status = MemberStatus.erasedSuppressed.rawValue
            var erasedAt: Date
        }

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let key = try InstanceSetup.loadKey(context.configuration, environment: context.environment)
            switch try context.database().lookup(address, key: key) {
            case .found(let profile):
                if json { return try Terminal.printJSON(MemberJSON(profile)) }
                print(MemberText.describe(profile, zone: context.configuration.community.timeZone))
            case .erased(let erasedAt):
                if json { return try Terminal.printJSON(Erased(email: address.description, erasedAt: erasedAt)) }
                print("\(address) was erased on request on \(Terminal.local(erasedAt, in: context.configuration.community.timeZone)); "
                      + "only a keyed hash of the address is held (status: erased-suppressed).")
            case .unknown:
                throw MemberError.unknown(address: address.description)
            }
        }
    }
}

