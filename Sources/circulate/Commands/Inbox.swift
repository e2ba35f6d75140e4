import ArgumentParser
import CirculateCore
import Foundation

extension Circulate {
    /// `circulate inbox`: what the daemon did with the list's mailbox, and what waits for a person.
    struct Inbox: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "inbox", abstract: "What the daemon read in the list's mailbox: what it did, and what waits for you.",
            discussion: """
                Bounce reports count against the message they name; unsubscribe emails with a valid token unsubscribe; everything else (a plain "please remove me", an automatic reply, a question) is moved to the coordinator's folder (inbox.unmatched_folder) and listed here as waiting. No message's content is kept, only what was done.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the result as JSON.") var json = false
        @Option(help: "How many handled messages to show, newest first.") var limit = 50

        struct Line: Encodable {
            var handledAt: Date
            var firstSeenAt: Date
            var kind: String
            var state: String
            var action: String
            var delivery: Int64?
            var member: String?
            var attempts: Int
            var folder: String
            var uid: Int64
        }

        struct Output: Encodable {
            var configured: Bool
            var mailbox: String?
            /// When the daemon last read the mailbox to the end.
            var lastReadAt: Date?
            /// Why the daemon's polls fail, and since when (both nil when the last poll worked).
            var problem: String?
            var problemSince: Date?
            var handled: [Line]
            var awaitingPerson: [Line]
        }

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func execute(_ context: CommandContext) throws {
            let listing = try context.database().inbox(limit: limit)
            let settings = context.configuration.inbox
            func line(_ entry: InboxListing.Entry) -> Line {
                let r = entry.record
                return Line(handledAt: r.handledAt, firstSeenAt: r.firstSeenAt, kind: r.kind, state: r.state.rawValue, action: r.action,
                            delivery: r.deliveryID, member: entry.memberAddress, attempts: r.attempts, folder: r.folder, uid: r.uid)
            }
            let status = try context.database().mailboxStatus()
            let output = Output(configured: settings != nil, mailbox: settings.map { ConfigurationLoader.shownMailbox($0) },
                                lastReadAt: status.lastReadAt, problem: status.problem, problemSince: status.problemSince,
                                handled: listing.handled.map(line), awaitingPerson: listing.awaiting.map(line))
            if json { return try Terminal.printJSON(output) }
            let zone = context.configuration.community.timeZone
            if let settings {
                let every = "every \(Int(settings.pollInterval)) s"
                if let problem = status.problem {
                    let since = status.problemSince.map { " since \(LocalTime.short($0, in: zone))" } ?? ""
                    print("The daemon cannot read the mailbox\(since): \(problem)")
                    print("It tries again \(every); the mailbox keeps every message meanwhile, so nothing is lost.")
                } else if let last = status.lastReadAt {
                    print("The daemon last read the mailbox at \(LocalTime.short(last, in: zone)) (it reads it \(every)).")
                } else {
                    print("The daemon has not read the mailbox yet; it reads it \(every) while `circulate serve` runs.")
                }
            } else {
                print("The mailbox is not read: add an [inbox] section to the configuration (see README.md, \"Inbound mail\").")
            }
            func rows(_ lines: [Line]) -> [[String]] {
                lines.map { [LocalTime.short($0.handledAt, in: zone), $0.kind, $0.member ?? "", $0.delivery.map(String.init) ?? "", $0.action] }
            }
            if output.awaitingPerson.isEmpty {
                print("Nothing waits for you in the mailbox.")
            } else {
                print("Waiting for you (in \(settings?.unmatchedFolder ?? "the coordinator's folder")):")
                print(Terminal.table(["WHEN", "KIND", "MEMBER", "MESSAGE", "WHY"], rows(output.awaitingPerson)))
            }
            if output.handled.isEmpty {
                print("Nothing handled yet.")
            } else {
                print("Handled (newest first):")
                print(Terminal.table(["WHEN", "KIND", "MEMBER", "MESSAGE", "WHAT WAS DONE"], rows(output.handled)))
            }
        }
    }
}
