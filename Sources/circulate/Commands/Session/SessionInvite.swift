import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session invite SESSION`.
    struct Invite: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "invite", abstract: "Invite people to a session: by role/tag, or one guest with --to. Nobody is invited twice.",
            discussion: """
                Members need a lawful basis and the session-invitations stream. A guest given with --to who is not on the list is recorded with the lawful basis of legitimate interest (the --reason, and who invited them) and no mailing stream: they get this invitation and its reminders, nothing else.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(name: .customLong("role"), help: ArgumentHelp("Invite people with this role (repeatable; any of them).", valueName: "role")) var roles: [String] = []
        @Option(name: .customLong("tag"), help: ArgumentHelp("Invite people with this tag (repeatable).", valueName: "tag")) var tags: [String] = []
        @Option(help: ArgumentHelp("Invite one guest by address instead.", valueName: "email")) var to: String?
        @Option(help: "The guest's name.") var name = ""
        @Option(help: "Why the guest is invited (recorded as the lawful basis' source).") var reason = "invited as presenter"
        @Option(help: ArgumentHelp("Send at this local time instead of now: \"2026-12-01 09:00\".", valueName: "time")) var at: String?
        @Flag(help: "Say how many people it would reach; send nothing.") var dryRun = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let config = context.configuration
            let zone = config.community.timeZone
            let sendAfter = try at.map { try LocalTime.parse($0, in: zone, field: "--at") } ?? context.now
            let db = try context.database()
            let result: QueueingResult
            if let to {
                guard roles.isEmpty && tags.isEmpty else { throw ValidationError("--to invites one guest; leave out --role and --tag.") }
                guard !dryRun else { return print("Dry run: would invite \(to).") }
                result = try db.inviteGuest(session: session, address: try parseAddress(to), name: name, invitedBy: context.operatorName,
                                            reason: reason, key: context.instanceKey(), sendAfter: sendAfter,
                                            context: try context.workflowContext(), now: context.now)
            } else {
                let all = try roles.map { try Tag.role($0) } + tags.map { try Tag.tag($0) }
                result = try db.invite(session: session, tags: all, sendAfter: sendAfter, createdBy: context.operatorName, dryRun: dryRun,
                                       context: try context.workflowContext(), now: context.now)
            }
            if json {
                return try Terminal.printJSON(["session": Int(session), "invited": result.added, "mailing": Int(result.mailing.id ?? 0), "dry_run": dryRun ? 1 : 0])
            }
            if dryRun { return print("Dry run: \(result.added) people would be invited to session \(session) (nobody already invited). Nothing was sent.") }
            print(result.added == 0 ? "Nobody new to invite: everyone in that audience has been invited already (or cannot be mailed)."
                  : "Invited \(result.added) \(result.added == 1 ? "person" : "people") to session \(session) (mailing \(result.mailing.id ?? 0)).")
        }
    }
}
