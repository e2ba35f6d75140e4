import ArgumentParser
import CirculateCore

extension Circulate {
    /// `circulate member ...`: the consented member list.
    struct MemberCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "member",
            abstract: "Add, import, list, show and edit the people on the list.",
            subcommands: [Add.self, Import.self, List.self, Show.self, Edit.self]
        )
    }
}

/// Options shared by commands that record consent.
struct ConsentOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Lawful basis: consent, or legitimate-interest (key influencers in their professional role).",
                               valueName: "basis"))
    var lawfulBasis: String = "consent"

    @Option(help: ArgumentHelp("Version of the consent wording the person agreed to (default: consent.wording_version).",
                               valueName: "version"))
    var wordingVersion: String?

    @Option(help: ArgumentHelp("Who records this (default: your login name).", valueName: "name"))
    var by: String?

    func basis() throws -> LawfulBasis { try LawfulBasis(parsing: lawfulBasis) }

    func wording(_ context: CommandContext) -> String { wordingVersion ?? context.configuration.consent.wordingVersion }

    func recorder(_ context: CommandContext) -> String { by ?? context.operatorName }

    /// A grant from these options and a source.
    func grant(source: String, _ context: CommandContext) throws -> ConsentGrant {
        let basis = try basis()
        return try ConsentGrant(lawfulBasis: basis, source: source, wordingVersion: basis == .consent ? wording(context) : wordingVersion,
                                recordedBy: recorder(context))
    }
}

/// Roles, tags and streams as options.
struct GroupingOptions: ParsableArguments {
    @Option(name: .customLong("role"), help: ArgumentHelp("A role: member, attendee, core-group, key-influencer, board (repeatable).", valueName: "role"))
    var roles: [String] = []

    @Option(name: .customLong("tag"), help: ArgumentHelp("A free tag, e.g. north-staffs (repeatable).", valueName: "tag"))
    var tags: [String] = []

    @Option(help: ArgumentHelp("Streams, comma-separated: monthly-update, session-invitations, reports "
                               + "(default: all for consent, reports for legitimate-interest).", valueName: "list"))
    var streams: String?

    func allTags() throws -> [String] {
        var result: [String] = []
        for role in roles { result.append(try Tag.role(role)) }
        for tag in tags { result.append(try Tag.tag(tag)) }
        return Array(Set(result)).sorted()
    }

    func streamPreferences() throws -> StreamPreferences? {
        guard let streams else { return nil }
        let parsed = try streams.split(separator: ",").map { (s) throws -> MailStream in try MailStream(parsing: String(s)) }
        guard !parsed.isEmpty else {
            throw InvalidField(field: "streams", value: streams, problem: "is empty; name at least one stream")
        }
        return StreamPreferences(parsed)
    }
}
