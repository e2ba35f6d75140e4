import ArgumentParser
import CirculateCore

extension Circulate.MemberCommand {
    /// `circulate member add EMAIL`.
    struct Add: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add one person, with the lawful basis for mailing them.",
            discussion: """
                Example: circulate member add alex.morgan@example.org --name "Alex Morgan" --organisation "Riverside Housing" \\
                           --role member --source "sign-up form at the 5 Nov 2026 session"
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their email address.") var email: String
        @Option(help: "Their name as they like it shown.") var name: String = ""
        @Option(help: "Their organisation.") var organisation: String?
        @Option(help: ArgumentHelp("The name they go by, used in greetings (\"Dear Sam,\") instead of their full name.", valueName: "name"))
        var knownAs: String?
        @OptionGroup var grouping: GroupingOptions
        @Option(help: ArgumentHelp("Where and when they agreed (required), e.g. \"sign-in sheet, 5 Nov 2026 session\".", valueName: "text"))
        var source: String
        @OptionGroup var consent: ConsentOptions
        @Flag(help: "Re-add an address that was erased, because the person asked to rejoin.") var rejoin = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let new = try NewMember(address: address, name: name, organisation: organisation, knownAs: knownAs, tags: grouping.allTags(),
                                    streams: grouping.streamPreferences())
            let grant = try consent.grant(source: source, context)
            let db = try context.database()
            let profile = try db.addMember(new, grant: grant, key: context.instanceKey(), rejoin: rejoin, now: context.now)
            if json { return try Terminal.printJSON(MemberJSON(profile)) }
            print("Added \(profile.member.email) (\(grant.lawfulBasis.rawValue); streams: \(profile.member.streams.enabled.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
