import ArgumentParser
import CirculateCore

extension Circulate.SessionCommand {
    /// `circulate session show SESSION`.
    struct Show: CirculateCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a session: details, who attended or sent apologies, the thank-you.")
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
            func shown(_ text: String) -> String { TextField.printable(text) }
            print("Session \(s.id): \(shown(s.title))\(s.state == .cancelled ? " — CANCELLED" : "")")
            if let topic = s.topicTitle, topic != s.title { print("Topic: \(shown(topic))") }
            print("When: \(LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone))")
            print("Where: \(s.location.map(shown) ?? (s.onlineLink == nil ? "to be confirmed" : "online"))")
            if let link = s.onlineLink { print("Online: \(shown(link))") }
            if let f = s.facilitator { print("Facilitator: \(shown(f))") }
            print("Notes: \(s.notesMarkdown == nil ? "none yet (circulate session notes \(s.id) FILE.md)" : "added \(LocalTime.describe(s.notesAddedAt ?? s.updatedAt, in: zone))")")
            let attended = d.count(.attended) + s.unlistedAttendees
            print("Invited: \(d.invited) · coming: \(d.count(.accepted)) · apologies: \(d.count(.apologies)) · no reply: \(d.count(.invited))"
                  + " · attended: \(attended)\(s.unlistedAttendees > 0 ? " (\(s.unlistedAttendees) not on the list, counted only)" : "")")
            if let queued = s.followedUpAt {
                print("Thank-you: queued \(LocalTime.describe(queued, in: zone)) (mailing \(d.followUpMailings.map(String.init).joined(separator: ", ")); see `circulate queue status`)")
            } else if s.state == .scheduled {
                print("Thank-you: \(s.followUpWaitingFor.map { "waiting for \(shown($0))" } ?? "goes out \(LocalTime.describe(s.followUpAt, in: zone))")")
            }
            if !d.people.isEmpty {
                print("")
                print(Terminal.table(["STATUS", "EMAIL", "NAME", "MAILED"], d.people.map {
                    [$0.status.rawValue, $0.email, $0.name, $0.mailable ? "yes" : "no (left or no consent)"]
                }))
            }
        }
    }
}
