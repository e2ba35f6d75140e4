import ArgumentParser

/// The `circulate` command: the coordinator's and operator's control panel.
@main
struct Circulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circulate",
        abstract: "Mailing lists and dissemination for Communities of Practice.",
        discussion: """
            Keeps a consented member list, handles leaving and erasure, and (with the daemon) sends the community's mail.
            Exit codes: 0 ok, 64 usage, 65 invalid input, 66 unreadable file, 67 unknown person, 69 not initialised,
            70 internal error, 74 storage failure, 75 busy (try again), 78 configuration error.
            """,
        version: "circulate 0.1.0",
        subcommands: [Init.self, Version.self, MemberCommand.self, Unsubscribe.self, Erase.self, Export.self]
    )
}
