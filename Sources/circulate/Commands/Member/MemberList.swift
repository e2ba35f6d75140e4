import ArgumentParser
import CirculateCore

extension Circulate.MemberCommand {
    /// `circulate member list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the people on the list, optionally filtered.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this status: active, unsubscribed, bounced.") var status: String?
        @Option(name: .customLong("role"), help: "Only people with this role (repeatable; all must match).") var roles: [String] = []
        @Option(name: .customLong("tag"), help: "Only people with this tag (repeatable; all must match).") var tags: [String] = []
        @Option(help: "Only people who would receive this stream now.") var stream: String?
        @Option(help: "Only people whose address, name or organisation contains this text.") var search: String?
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            var filter = MemberFilter()
            if let status {
                guard let parsed = MemberStatus(rawValue: status.lowercased()), parsed != .erasedSuppressed else {
                    throw InvalidField(field: "status", value: status, problem: "is not a status; use active, unsubscribed or bounced")
                }
                filter.status = parsed
            }
            filter.tags = try roles.map { try Tag.role($0) } + tags.map { try Tag.tag($0) }
            filter.stream = try stream.map { try MailStream(parsing: $0) }
            filter.search = search
            let listings = try context.database().members(filter)
            if json { return try Terminal.printJSON(listings.map { MemberJSON($0.member, tags: $0.tags) }) }
            guard !listings.isEmpty else { return print("No one matches.") }
            // Eight combinations of streams for 10,000 people: each spelled once.
            var streams: [StreamPreferences: String] = [:]
            let rows = listings.map { l in
                let enabled = streams[l.member.streams] ?? {
                    let text = l.member.streams.enabled.map(\.rawValue).joined(separator: ",")
                    streams[l.member.streams] = text
                    return text
                }()
                return [l.member.email, l.member.name, l.member.organisation ?? "", l.member.status.rawValue, enabled,
                        l.tags.joined(separator: ",")]
            }
            print(Terminal.table(["EMAIL", "NAME", "ORGANISATION", "STATUS", "STREAMS", "ROLES/TAGS"], rows))
            print("\(listings.count) \(listings.count == 1 ? "person" : "people")")
        }
    }
}
