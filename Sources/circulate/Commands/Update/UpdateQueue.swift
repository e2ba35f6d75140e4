import ArgumentParser
import CirculateCore
import Foundation

extension Circulate.UpdateCommand {
    /// `circulate update queue FILE.md --subject ...`.
    struct Queue: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue", abstract: "Queue the month's update (Markdown) for the next free slot, or --slot.",
            discussion: "Running it again with the same subject and text finds the update already queued (or sent) and queues nothing, so one update never fills two months; --again queues it for another slot all the same.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The update's content (Markdown file).") var file: String
        @Option(help: "The subject line.") var subject: String
        @Option(help: ArgumentHelp("The slot's day, e.g. 2027-01-05 (default: the next slot with nothing queued).", valueName: "date"))
        var slot: String?
        @Flag(help: "Queue it even if the same subject and text are already queued or were sent recently.") var again = false
        @Flag(help: "Leave out the automatic \"Dear NAME,\" (for a body that opens with its own, such as \"Dear friends,\").") var noGreeting = false
        @Flag(help: "Print the update as JSON.") var json = false

        func execute(_ context: CommandContext) throws {
            let config = context.configuration
            let zone = config.community.timeZone
            guard let rule = config.updates.schedule else {
                throw ConfigurationError(file: config.sourceFile, "updates.schedule is off, so there is no slot to queue for; set it (e.g. \"FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9\") or use `circulate send` for a one-off message")
            }
            var body = try InputFile.text(file, what: "update file")
            if noGreeting { body = Greeting.turnedOff(body) }
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
            let (update, existed) = try db.queueUpdate(subject: subject, bodyMarkdown: body, slot: slotAt, slotNamed: slot != nil, again: again,
                                                       createdBy: context.operatorName, now: context.now)
            if json { return try Terminal.printJSON(UpdateJSON(update, zone: zone, alreadyQueued: existed)) }
            if existed {
                let what = update.state == .sent ? "Already sent" : "Already queued"
                print("\(what): update \(update.id) with this subject and text, for \(LocalTime.describe(update.slotAt, in: zone)). Nothing was queued; add --again to queue it for another slot too.")
                return
            }
            let audience = try db.audienceSize(Audience(stream: .monthlyUpdate))
            print("Queued update \(update.id) for \(LocalTime.describe(update.slotAt, in: zone)) (about \(audience) people on the monthly update today).")
            print("See it exactly as members will: circulate update preview \(update.id)")
        }
    }
}
