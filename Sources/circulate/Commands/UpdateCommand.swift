import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate update ...`: the monthly update, queued ahead for its slot.
    struct UpdateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Queue the monthly update for its slot; list, show, preview or cancel it.",
            discussion: """
                The slot is updates.schedule in the configuration (by default the first Tuesday of each month at 09:00 local time). At the slot the daemon sends the update to every active member opted in to the monthly update, with the sessions coming up and recent reports added at the end. If nothing is queued updates.remind_days_before days before a slot, the coordinator gets a reminder; if a slot passes with nothing queued, nothing is sent and the coordinator is told.
                """,
            subcommands: [Queue.self, List.self, Show.self, Preview.self, Cancel.self])
    }
}

extension Circulate.UpdateCommand {
    /// `circulate update queue FILE.md --subject ...`.
    struct Queue: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Queue the month's update (Markdown) for the next free slot, or --slot.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's content (Markdown file).") var file: String
        @Option(help: "The subject line.") var subject: String
        @Option(help: ArgumentHelp("The slot's day, e.g. 2027-01-05 (default: the next slot with nothing queued).", valueName: "date"))
        var slot: String?
        @Flag(help: "Print the update as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let config = context.configuration
            let zone = config.community.timeZone
            guard let rule = config.updates.schedule else {
                throw ConfigurationError(file: config.sourceFile, "updates.schedule is off, so there is no slot to queue for; set it (e.g. \"FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9\") or use `circulate send` for a one-off message")
            }
            let body = try InputFile.text(file, what: "update file")
            let db = try context.database()
            let slotAt: Date
            if let slot {
                let day = try LocalTime.parse(slot + " 00:00", in: zone, field: "--slot")
                guard let found = rule.nextOccurrence(after: day.addingTimeInterval(-1), in: zone),
                      LocalTime.day(found, in: zone) == LocalTime.day(day, in: zone) else {
                    throw InvalidField(field: "--slot", value: slot, problem: "is not a slot day (\(rule.summary)); the next slots are \(Self.nextSlots(rule, after: context.now, zone: zone))")
                }
                slotAt = found
            } else {
                let taken = try db.takenSlots(from: context.now)
                var candidate = rule.nextOccurrence(after: context.now, in: zone)
                var guardCount = 0
                while let c = candidate, taken.contains(c), guardCount < 36 {
                    candidate = rule.nextOccurrence(after: c, in: zone)
                    guardCount += 1
                }
                guard let c = candidate else { throw WorkflowError("updates.schedule has no slot in the future") }
                slotAt = c
            }
            let update = try db.queueUpdate(subject: subject, bodyMarkdown: body, slot: slotAt, createdBy: context.operatorName, now: context.now)
            if json { return try Terminal.printJSON(UpdateJSON(update, zone: zone)) }
            let audience = try db.audienceSize(Audience(stream: .monthlyUpdate))
            print("Queued update \(update.id) for \(LocalTime.describe(update.slotAt, in: zone)) (about \(audience) people on the monthly update today).")
            print("See it exactly as members will: circulate update preview \(update.id)")
        }

        static func nextSlots(_ rule: RecurrenceRule, after: Date, zone: TimeZone) -> String {
            var out: [String] = []
            var d = after
            for _ in 0..<3 {
                guard let n = rule.nextOccurrence(after: d, in: zone) else { break }
                out.append(LocalTime.day(n, in: zone))
                d = n
            }
            return out.joined(separator: ", ")
        }
    }

    /// `circulate update list`.
    struct List: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "List queued and past updates, and the next slots.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the list as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let updates = try context.database().updates(queuedOnly: false)
            if json { return try Terminal.printJSON(updates.map { UpdateJSON($0, zone: zone) }) }
            if let rule = context.configuration.updates.schedule {
                print("Slot: \(rule.summary). Next: \(Queue.nextSlots(rule, after: context.now, zone: zone)).")
            } else {
                print("No slot configured (updates.schedule is off).")
            }
            guard !updates.isEmpty else { return print("No updates queued. Queue one with `circulate update queue FILE.md --subject \"...\"`.") }
            print(Terminal.table(["ID", "SLOT", "STATE", "SUBJECT"], updates.map {
                [String($0.id), LocalTime.short($0.slotAt, in: zone), $0.state.rawValue + ($0.mailingID.map { " (mailing \($0))" } ?? ""), $0.subject]
            }))
        }
    }

    /// `circulate update show ID`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Show an update's details and content.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @Flag(help: "Print the update as JSON.") var json = false

        struct Output: Encodable {
            var update: UpdateJSON
            var body: String
        }

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let u = try context.database().update(id: update)
            if json { return try Terminal.printJSON(Output(update: UpdateJSON(u, zone: zone), body: u.bodyMarkdown)) }
            print("Update \(u.id) (\(u.state.rawValue)) for \(LocalTime.describe(u.slotAt, in: zone))\(u.mailingID.map { ", mailing \($0)" } ?? "")")
            print("Subject: \(u.subject)")
            print("")
            print(u.bodyMarkdown)
        }
    }

    /// `circulate update preview ID`.
    struct Preview: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Show an update exactly as it will be sent (to a named member or a sample one).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @OptionGroup var target: PreviewTarget

        func execute(_ context: CommandContext) throws {
            let db = try context.database()
            let u = try db.update(id: update)
            let mailing = Mailing.draft(kind: .update, stream: .monthlyUpdate, subject: u.subject, body: u.bodyMarkdown, now: context.now)
            try target.show(mailing, context: context, database: db)
        }
    }

    /// `circulate update cancel ID`.
    struct Cancel: CirculateCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued update (its slot becomes free again).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's number.") var update: Int64
        @Flag(help: "Print the update as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let u = try context.database().cancelUpdate(id: update, now: context.now)
            if json { return try Terminal.printJSON(UpdateJSON(u, zone: context.configuration.community.timeZone)) }
            print("Update \(u.id) is cancelled; its slot is free. Queue another with `circulate update queue FILE.md --subject \"...\"`.")
        }
    }
}
