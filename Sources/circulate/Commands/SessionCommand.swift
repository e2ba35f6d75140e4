import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate session ...`: the community's meetings, their attendance and notes.
    struct SessionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "session", abstract: "Record sessions, their attendance and notes; move or cancel them.",
            discussion: """
                After a session ends (by default the next morning at 10:00), the daemon thanks everyone recorded as attending, and sends a "sorry we missed you" to those who sent apologies, each with the summary notes if there are any and an invitation (with a calendar file) to the next session.
                """,
            subcommands: [Add.self, List.self, Show.self, Edit.self, Cancel.self, Invite.self, RSVP.self, Apologies.self,
                          Attendance.self, Notes.self])
    }
}

/// Where and when, as options shared by `session add` and `session edit`.
struct SessionDetailsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start, local time: \"2026-12-09 10:00\".", valueName: "time")) var start: String?
    @Option(help: ArgumentHelp("End, local time: \"2026-12-09 12:00\".", valueName: "time")) var end: String?
    @Option(help: ArgumentHelp("Length instead of --end: \"2h\", \"90m\".", valueName: "duration")) var length: String?
    @Option(help: ArgumentHelp("The venue's name.", valueName: "name")) var venue: String?
    @Option(help: ArgumentHelp("The venue's address.", valueName: "text")) var address: String?
    @Option(help: ArgumentHelp("The link to join online.", valueName: "url")) var online: String?
    @Option(help: ArgumentHelp("Who facilitates or presents.", valueName: "name")) var facilitator: String?

    func parseLength() throws -> TimeInterval? {
        guard let length else { return nil }
        let t = length.trimmingCharacters(in: .whitespaces).lowercased()
        let number = Double(t.dropLast()) ?? 0
        let seconds: Double? = t.hasSuffix("h") ? number * 3600 : t.hasSuffix("m") ? number * 60 : nil
        guard let seconds, seconds > 0, seconds <= 24 * 3600 else {
            throw InvalidField(field: "--length", value: length, problem: "is not a length like \"2h\" or \"90m\"")
        }
        return seconds
    }
}

extension Circulate.SessionCommand {
    /// `circulate session add`.
    struct Add: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Add a session.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The topic's number or title.", valueName: "topic")) var topic: String?
        @Option(help: "The session's title (default: the topic's).") var title: String?
        @OptionGroup var details: SessionDetailsOptions
        @Flag(help: "Hold the thank-you until the summary notes are added.") var holdForNotes = false
        @Flag(help: "Print the session as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            guard let startText = details.start else {
                throw ValidationError("Give the start: --start \"YYYY-MM-DD HH:MM\" (local time, \(zone.identifier)).")
            }
            let start = try LocalTime.parse(startText, in: zone, field: "--start")
            let end: Date
            if let endText = details.end {
                end = try LocalTime.parse(endText, in: zone, field: "--end")
            } else {
                end = start.addingTimeInterval(try details.parseLength() ?? context.configuration.sessions.defaultLength)
            }
            let new = try NewSession(topic: topic, title: title, startsAt: start, endsAt: end, venueName: details.venue,
                                     venueAddress: details.address, onlineLink: details.online, facilitator: details.facilitator,
                                     holdForNotes: holdForNotes || context.configuration.sessions.holdForNotes)
            let session = try context.database().addSession(new, followUp: context.configuration.followUpRule, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(session, zone: zone)) }
            print("Added session \(session.id): \(session.title), \(LocalTime.describeRange(start: session.startsAt, end: session.endsAt, in: zone)).")
            if session.location == nil && session.onlineLink == nil {
                print("No venue or online link yet; add one with `circulate session edit \(session.id) --venue ... --address ...` before invitations go out.")
            }
            print("The thank-you goes out \(LocalTime.describe(session.followUpAt, in: zone))\(session.holdForNotes ? ", once its notes are added" : "").")
        }
    }

    /// `circulate session list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "List sessions (those not yet over, or --all).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include past sessions.") var all = false
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let sessions = try context.database().sessions(from: all ? nil : context.now)
            if json { return try Terminal.printJSON(sessions.map { SessionJSON($0, zone: zone) }) }
            guard !sessions.isEmpty else {
                return print(all ? "No sessions yet. Add one with `circulate session add`." : "No sessions to come. See past ones with --all.")
            }
            print(Terminal.table(["ID", "WHEN", "TITLE", "WHERE", "STATE"], sessions.map { s in
                [String(s.id), LocalTime.short(s.startsAt, in: zone), s.title, s.venueName ?? (s.onlineLink != nil ? "online" : "to be confirmed"),
                 s.state.rawValue]
            }))
        }
    }

    /// `circulate session show SESSION`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session: details, who attended or sent apologies, the thank-you.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Flag(help: "Print the session as JSON.") var json = false

        struct Output: Encodable {
            struct Person: Encodable {
                var email: String
                var name: String
                var status: String
                var mailable: Bool
            }
            var session: SessionJSON
            var counts: [String: Int]
            var invited: Int
            var people: [Person]
            var thankYouMailings: [Int64]
        }

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let d = try context.database().sessionDetails(session)
            var counts: [String: Int] = [:]
            for status in Participation.allCases { counts[status.rawValue] = d.count(status) }
            counts["unlisted_attendees"] = d.session.unlistedAttendees
            if json {
                return try Terminal.printJSON(Output(session: SessionJSON(d.session, zone: zone), counts: counts, invited: d.invited,
                                                     people: d.people.map { .init(email: $0.email, name: $0.name, status: $0.status.rawValue, mailable: $0.mailable) },
                                                     thankYouMailings: d.followUpMailings))
            }
            let s = d.session
            print("Session \(s.id): \(s.title)\(s.state == .cancelled ? " — CANCELLED" : "")")
            if let topic = s.topicTitle, topic != s.title { print("Topic: \(topic)") }
            print("When: \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone))")
            print("Where: \(s.location ?? (s.onlineLink == nil ? "to be confirmed" : "online"))")
            if let link = s.onlineLink { print("Online: \(link)") }
            if let f = s.facilitator { print("Facilitator: \(f)") }
            print("Notes: \(s.notesMarkdown == nil ? "none yet (circulate session notes \(s.id) FILE.md)" : "added \(LocalTime.describe(s.notesAddedAt ?? s.updatedAt, in: zone))")")
            let attended = d.count(.attended) + s.unlistedAttendees
            print("Invited: \(d.invited) · coming: \(d.count(.accepted)) · apologies: \(d.count(.apologies)) · no reply: \(d.count(.invited))"
                  + " · attended: \(attended)\(s.unlistedAttendees > 0 ? " (\(s.unlistedAttendees) not on the list, counted only)" : "")")
            if let queued = s.followedUpAt {
                print("Thank-you: queued \(LocalTime.describe(queued, in: zone)) (mailing \(d.followUpMailings.map(String.init).joined(separator: ", ")); see `circulate queue status`)")
            } else if s.state == .scheduled {
                print("Thank-you: \(s.followUpWaitingFor.map { "waiting for \($0)" } ?? "goes out \(LocalTime.describe(s.followUpAt, in: zone))")")
            }
            if !d.people.isEmpty {
                print("")
                print(Terminal.table(["STATUS", "EMAIL", "NAME", "MAILED"], d.people.map {
                    [$0.status.rawValue, $0.email, $0.name, $0.mailable ? "yes" : "no (left or no consent)"]
                }))
            }
        }
    }

    /// `circulate session edit SESSION`.
    struct Edit: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a session. People already invited get an update (their calendars replace the old entry).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(help: "A new title.") var title: String?
        @OptionGroup var details: SessionDetailsOptions
        @Flag(help: "Hold the thank-you until the summary notes are added.") var holdForNotes = false
        @Flag(help: "Do not hold the thank-you for notes.") var noHoldForNotes = false
        @Flag(help: "Change it quietly: send no update to the people invited.") var quiet = false
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            var changes = SessionChanges()
            changes.title = title
            changes.startsAt = try details.start.map { try LocalTime.parse($0, in: zone, field: "--start") }
            changes.endsAt = try details.end.map { try LocalTime.parse($0, in: zone, field: "--end") }
            if let length = try details.parseLength() {
                guard let start = changes.startsAt else { throw ValidationError("--length goes with --start.") }
                changes.endsAt = start.addingTimeInterval(length)
            }
            // An empty value ("--venue ''") clears the field.
            func clearable(_ v: String?) -> String?? {
                guard let v else { return nil }
                return .some(v.isEmpty ? nil : v)
            }
            changes.venueName = clearable(details.venue)
            changes.venueAddress = clearable(details.address)
            changes.onlineLink = clearable(details.online)
            changes.facilitator = clearable(details.facilitator)
            if holdForNotes { changes.holdForNotes = true }
            if noHoldForNotes { changes.holdForNotes = false }
            changes.notify = !quiet
            guard !changes.isEmpty else { throw ValidationError("Nothing to change: give --start, --venue, --online, --title ...") }
            let result = try context.database().editSession(session, changes: changes, followUp: context.configuration.followUpRule,
                                                            createdBy: context.operatorName, domain: context.configuration.domain, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(result.session, zone: zone)) }
            let s = result.session
            print("Session \(s.id) is now: \(s.title), \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone)), \(s.location ?? s.onlineLink ?? "place to be confirmed").")
            if let notice = result.notice {
                print("Queued an update for the \(notice.added) people invited (mailing \(notice.mailing.id ?? 0), calendar sequence \(s.sequence)).")
            } else if result.materialChange {
                print(quiet ? "Nobody was told (--quiet)." : "Nobody has been invited yet, so no update was needed.")
            }
        }
    }

    /// `circulate session cancel SESSION`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a session. People invited get a cancellation that removes it from their calendars; no thank-you is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Option(help: "A sentence for the people invited, e.g. \"The venue has flooded; we will set a new date soon.\"") var reason: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let result = try context.database().cancelSession(session, reason: reason, createdBy: context.operatorName,
                                                              domain: context.configuration.domain, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(result.session, zone: context.configuration.community.timeZone)) }
            guard result.materialChange else { return print("Session \(session) was already cancelled.") }
            print("Cancelled session \(session).")
            if let notice = result.notice {
                print("Queued a cancellation for the \(notice.added) people invited (mailing \(notice.mailing.id ?? 0)).")
            }
        }
    }

    /// `circulate session invite SESSION`.
    struct Invite: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite people to a session: by role/tag, or one guest with --to. Nobody is invited twice.",
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
                                            reason: reason, key: context.instanceKey(), sendAfter: sendAfter, domain: config.domain,
                                            zone: zone, now: context.now)
            } else {
                let all = try roles.map { try Tag.role($0) } + tags.map { try Tag.tag($0) }
                result = try db.invite(session: session, tags: all, sendAfter: sendAfter, createdBy: context.operatorName, dryRun: dryRun,
                                       domain: config.domain, zone: zone, now: context.now)
            }
            if json {
                return try Terminal.printJSON(["session": Int(session), "invited": result.added, "mailing": Int(result.mailing.id ?? 0), "dry_run": dryRun ? 1 : 0])
            }
            if dryRun { return print("Dry run: \(result.added) people would be invited to session \(session) (nobody already invited). Nothing was sent.") }
            print(result.added == 0 ? "Nobody new to invite: everyone in that audience has been invited already (or cannot be mailed)."
                  : "Invited \(result.added) \(result.added == 1 ? "person" : "people") to session \(session) (mailing \(result.mailing.id ?? 0)).")
        }
    }

    /// `circulate session rsvp SESSION EMAIL yes|no|maybe`.
    struct RSVP: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "rsvp", abstract: "Record someone's answer: yes (coming), no (apologies), maybe.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "Their address.") var email: String
        @Argument(help: "yes, no or maybe.") var answer: String

        func execute(_ context: CommandContext) throws {
            let status: Participation
            switch answer.lowercased() {
            case "yes", "y", "coming": status = .accepted
            case "no", "n", "apologies": status = .apologies
            case "maybe", "?": status = .invited
            default: throw InvalidField(field: "answer", value: answer, problem: "is not yes, no or maybe")
            }
            let now = try context.database().recordAnswer(session: session, address: try parseAddress(email), answer: status, now: context.now)
            print("Session \(session): \(email) is now \(now == .accepted ? "coming" : now.rawValue).")
        }
    }

    /// `circulate session apologies SESSION EMAIL`.
    struct Apologies: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Record apologies: no reminder goes to them, and they get the \"sorry we missed you\" afterwards.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "Their address.") var email: String

        func execute(_ context: CommandContext) throws {
            let now = try context.database().recordAnswer(session: session, address: try parseAddress(email), answer: .apologies, now: context.now)
            print("Session \(session): \(email) \(now == .attended ? "is already recorded as having attended" : "sent apologies").")
        }
    }

    /// `circulate session attendance SESSION FILE.csv`.
    struct Attendance: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record who attended (or, with --apologies, who sent apologies) from the session's sign-in sheet.",
            discussion: """
                The sheet is read like `member import`: people are added or updated with the consent the sheet records, and everyone on the list is recorded for the session. People without consent are counted as attendees but not stored and never mailed. One transaction: a rejected row stops it all unless --skip-invalid. Importing the same sheet again changes nothing.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "The sign-in sheet (CSV).") var file: String
        @Flag(help: "The sheet lists people who sent apologies, not attendees.") var apologies = false
        @OptionGroup var consent: ConsentOptions
        @Flag(help: "Show what would happen; change nothing.") var dryRun = false
        @Flag(help: "Record the valid rows even when some are rejected.") var skipInvalid = false
        @Flag(help: "Print the report as JSON.") var json = false

        struct Output: Encodable {
            var session: Int64
            var status: String
            var recorded: Int
            var newlyRecorded: Int
            var unlisted: Int
            var notMailable: Int
            var committed: Bool
            var counts: [String: Int]
            var rows: [MemberCommandImportRow]
        }

        func execute(_ context: CommandContext) throws {
            let sheet = try SignInSheet.parse(try InputFile.data(file, what: "sign-in sheet"))
            let day = context.now.formatted(.iso8601.year().month().day())
            var options = ImportOptions(source: "sign-in sheet for session \(session) (\((file as NSString).lastPathComponent)), imported \(day)",
                                        wordingVersion: nil, recordedBy: consent.recorder(context))
            options.lawfulBasis = try consent.basis()
            options.wordingVersion = options.lawfulBasis == .consent ? consent.wording(context) : consent.wordingVersion
            options.dryRun = dryRun
            options.skipInvalid = skipInvalid
            let report = try context.database().recordAttendance(session: session, sheet: sheet, status: apologies ? .apologies : .attended,
                                                                 options: options, key: context.instanceKey(), now: context.now)
            if json {
                var counts: [String: Int] = [:]
                for outcome in ImportReport.Outcome.allCases { counts[outcome.rawValue] = report.sheet.count(outcome) }
                try Terminal.printJSON(Output(session: session, status: apologies ? "apologies" : "attended", recorded: report.recorded,
                                              newlyRecorded: report.newlyRecorded, unlisted: report.unlisted, notMailable: report.notMailable,
                                              committed: report.sheet.committed, counts: counts,
                                              rows: report.sheet.lines.map { .init(row: $0.row, email: $0.email, outcome: $0.outcome.rawValue, note: $0.note) }))
            } else {
                Circulate.MemberCommand.Import.printReport(report.sheet, file: file)
                if report.sheet.committed || report.sheet.dryRun {
                    let what = apologies ? "sent apologies" : "attended"
                    print("Session \(session): \(report.recorded) on the list recorded as \(what) (\(report.newlyRecorded) new)"
                          + (apologies ? "" : ", \(report.unlisted) more not on the list (counted only)")
                          + (report.notMailable > 0 ? "; \(report.notMailable) of them will not be mailed (left, or no consent)" : "") + ".")
                }
            }
            if report.sheet.hasRejections && !skipInvalid { throw ExitCode(ExitStatus.invalidInput) }
        }
    }

    /// `circulate session notes SESSION FILE.md`.
    struct Notes: CirculateCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the session's summary notes (Markdown); they go into the thank-you.",
            discussion: "A thank-you held for notes (--hold-for-notes) goes out at the next scheduler check once they are added.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session's number.") var session: Int64
        @Argument(help: "The notes (Markdown file).") var file: String
        @Flag(help: "Print the session as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let markdown = try InputFile.text(file, what: "notes file")
            let s = try context.database().setNotes(session, markdown: markdown, now: context.now)
            if json { return try Terminal.printJSON(SessionJSON(s, zone: context.configuration.community.timeZone)) }
            print("Added the notes to session \(s.id).\(s.followedUpAt != nil ? " The thank-you had already been queued, so only messages not yet sent will include them." : "")")
        }
    }
}

/// One import row as printed by `--json`.
struct MemberCommandImportRow: Encodable {
    var row: Int
    var email: String
    var outcome: String
    var note: String?
}
