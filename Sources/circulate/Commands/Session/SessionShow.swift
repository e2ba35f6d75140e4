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
                var invitedPersonally: Bool
            }
            var session: SessionJSON
            /// no_reply, coming, maybe, apologies, attended (people on the list), unlisted_attendees, invited_total.
            var counts: [String: Int]
            var people: [Person]
            var thankYouMailings: [Int64]
        }

        func execute(_ context: CommandContext) throws {
            let zone = context.configuration.community.timeZone
            let d = try context.database().sessionDetails(session)
            var counts: [String: Int] = [:]
            for status in Participation.allCases { counts[status.jsonKey] = d.count(status) }
            counts["unlisted_attendees"] = d.session.unlistedAttendees
            counts["invited_total"] = d.invited
            if json {
                return try Terminal.printJSON(Output(session: SessionJSON(d.session, zone: zone), counts: counts,
                                                     people: d.people.map { .init(email: $0.email, name: $0.name, status: $0.status.jsonKey,
                                                                                  mailable: $0.mailable, invitedPersonally: $0.invitedPersonally) },
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
            print("Invited: \(d.invited) · coming: \(d.count(.accepted)) · maybe: \(d.count(.maybe)) · apologies: \(d.count(.apologies))"
                  + " · no reply: \(d.count(.invited))"
                  + " · attended: \(attended)\(s.unlistedAttendees > 0 ? " (\(s.unlistedAttendees) not on the list, counted only)" : "")")
            if let queued = s.followedUpAt {
                let numbers = d.followUpMailings.map(String.init).joined(separator: ", ")
                // Once nothing of it is left to send, it went: "queued" would send a coordinator looking for it.
                let live = d.followUpStates.contains { Mailing.State.live.contains($0) }
                let state = live || d.followUpStates.isEmpty ? "queued" : d.followUpStates.allSatisfy { $0 == .cancelled } ? "cancelled" : "sent"
                print("Thank-you: \(state) (queued \(LocalTime.describe(queued, in: zone)); mailing \(numbers); see `circulate queue status`)")
            } else if s.state == .scheduled {
                print("Thank-you: \(s.followUpWaitingFor.map { "waiting for \(shown($0))" } ?? "goes out \(LocalTime.describe(s.followUpAt, in: zone))")")
            }
            if !d.people.isEmpty {
                print("")
                print(Terminal.table(["STATUS", "EMAIL", "NAME", "MAILED"], d.people.map {
                    [$0.status.label, $0.email, $0.name, Self.mailed($0)]
                }))
            }
        }

        /// The MAILED column: guests and key individuals invited personally, or reached in their role, are mailed
        /// outside the stream.
        static func mailed(_ person: SessionDetails.Person) -> String {
            guard person.mailable else { return "no (left or no consent)" }
            if person.invitedPersonally { return "yes (invited personally)" }
            return person.inRole ? "yes (in their professional role)" : "yes"
        }
    }
}
