import ArgumentParser
import CirculateCore

extension Circulate.MemberCommand {
    /// `circulate member edit EMAIL`.
    struct Edit: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: "Change a person's details, roles, tags or streams.",
            discussion: """
                Turning a stream on or off is recorded in the consent history. To bring back someone who unsubscribed, record their fresh consent: --resubscribe --source "how and when they asked".
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Their current email address.") var email: String
        @Option(name: .customLong("email"), help: ArgumentHelp("A corrected address.", valueName: "address")) var newEmail: String?
        @Option(help: "A new name.") var name: String?
        @Option(help: "A new organisation.") var organisation: String?
        @Flag(help: "Remove the organisation.") var clearOrganisation = false
        @Option(help: ArgumentHelp("The name they go by, used in greetings instead of their full name.", valueName: "name")) var knownAs: String?
        @Flag(help: "Greet them by their full name again.") var clearKnownAs = false
        @Option(name: .customLong("add-role"), help: ArgumentHelp("Add a role (repeatable).", valueName: "role")) var addRoles: [String] = []
        @Option(name: .customLong("remove-role"), help: ArgumentHelp("Remove a role (repeatable).", valueName: "role")) var removeRoles: [String] = []
        @Option(name: .customLong("add-tag"), help: ArgumentHelp("Add a free tag (repeatable).", valueName: "tag")) var addTags: [String] = []
        @Option(name: .customLong("remove-tag"), help: ArgumentHelp("Remove a free tag (repeatable).", valueName: "tag")) var removeTags: [String] = []
        @Option(name: .customLong("enable"), help: ArgumentHelp("Turn a stream on (repeatable).", valueName: "stream")) var enable: [String] = []
        @Option(name: .customLong("disable"), help: ArgumentHelp("Turn a stream off (repeatable).", valueName: "stream")) var disable: [String] = []
        @Flag(help: "Record fresh consent for someone who unsubscribed or bounced (needs --source).") var resubscribe = false
        @Option(help: ArgumentHelp("Where and when the person asked for this change.", valueName: "text")) var source: String?
        @OptionGroup var consent: ConsentOptions
        @Flag(help: "Print the result as JSON.") var json = false

        func validate() throws {
            if clearOrganisation && organisation != nil {
                throw ValidationError("--organisation and --clear-organisation cannot be used together")
            }
            if clearKnownAs && knownAs != nil {
                throw ValidationError("--known-as and --clear-known-as cannot be used together")
            }
            if resubscribe && (source ?? "").isEmpty {
                throw ValidationError("--resubscribe needs --source saying how and when the person asked to come back")
            }
        }

        func execute(_ context: CommandContext) throws {
            let address = try parseAddress(email)
            let recorder = consent.recorder(context)
            var changes = MemberChanges(source: source ?? "changed with member edit", recordedBy: recorder)
            changes.newAddress = try newEmail.map { try parseAddress($0) }
            changes.name = try name.map { try TextField.clean($0, field: "name") }
            if clearOrganisation {
                changes.organisation = .some(nil)
            } else if let organisation {
                let cleaned = try TextField.clean(organisation, field: "organisation")
                changes.organisation = .some(cleaned.isEmpty ? nil : cleaned)
            }
            if clearKnownAs {
                changes.knownAs = .some(nil)
            } else if let knownAs {
                changes.knownAs = .some(try NewMember.knownAs(knownAs))
            }
            changes.addTags = try addRoles.map { try Tag.role($0) } + addTags.map { try Tag.tag($0) }
            changes.removeTags = try removeRoles.map { try Tag.role($0) } + removeTags.map { try Tag.tag($0) }
            changes.enableStreams = try enable.map { try MailStream(parsing: $0) }
            changes.disableStreams = try disable.map { try MailStream(parsing: $0) }
            if resubscribe { changes.resubscribe = try consent.grant(source: source ?? "", context) }
            guard !changes.isEmpty else {
                throw ValidationError("nothing to change; see `circulate member edit --help` for what can be changed")
            }
            let database = try context.database()
            let profile = try database.edit(address, changes: changes, wordingVersion: consent.wording(context),
                                            key: context.instanceKey(), now: context.now)
            if let current = try? EmailAddress(profile.member.email) {
                try Withdrawals.settle(try database.withdrawalsInFlight(for: current), database: database, context: context)
            }
            if json { return try Terminal.printJSON(MemberJSON(profile)) }
            print("Updated \(profile.member.email).")
            print(MemberText.describe(profile, zone: context.configuration.community.timeZone))
        }
    }
}
