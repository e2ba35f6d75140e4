import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Entry point: lets the global `--config PATH` stand anywhere on the line, before or after the subcommand.
@main
enum Entry {
    static func main() async {
        // Nearly everything circulate writes holds personal data (the database and its -wal and -shm, previews,
        // outbox messages). With this umask a file is never readable by others, not even for the moment between
        // its creation and a chmod, and a file a library creates for us (SQLite's) is covered too.
        umask(0o077)
        if let position = GlobalArguments.firstInvalidUTF8() {
            // Swift would turn the bad bytes into U+FFFD, and a mangled address could then be stored or erased wrongly.
            Terminal.error("argument \(position) is not valid UTF-8 text; check the terminal's or the script's encoding (nothing was done)")
            exit(ExitStatus.invalidInput)
        }
        let arguments = GlobalArguments.hoistingConfig(Array(CommandLine.arguments.dropFirst()))
        if (try? Circulate.parseAsRoot(arguments)) == nil, let unknown = UnknownOption.find(in: arguments) {
            Terminal.error("unknown option '\(unknown.option)' for `\(unknown.command)`; see `\(unknown.command) --help` for the options it takes")
            exit(ExitStatus.usage)
        }
        await Circulate.main(arguments)
    }
}

/// The `circulate` command: the coordinator's and operator's control panel.
///
/// Every command names itself (`commandName:`). Without a name ArgumentParser derives one from the type with
/// `String(describing:)`, whose dynamic casts search all of the binary's protocol conformances, for each of the fifty
/// commands, at every start: a fifth of a read command's time.
struct Circulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circulate",
        abstract: "Mailing lists and dissemination for Communities of Practice.",
        discussion: """
            Keeps a consented member list, handles leaving and erasure, and (with the daemon) sends the community's mail. Every command takes --config PATH (default: $CIRCULATE_CONFIG, ./config/circulate.toml, /etc/circulate/circulate.toml). \(ExitStatus.summary)
            """,
        version: "circulate 0.1.0",
        subcommands: [Init.self, Version.self, MemberCommand.self, Unsubscribe.self, Erase.self, Export.self,
                      Send.self, QueueCommand.self, SendTest.self, TopicCommand.self, SessionCommand.self,
                      UpdateCommand.self, ReportCommand.self, Preview.self, Backup.self, Restore.self, Requests.self, Inbox.self, Serve.self]
    )
}

/// Argument rewriting for options that belong to every command.
enum GlobalArguments {
    /// The position (1 for the first after the program's name) of the first argument that is not valid UTF-8, if any.
    static func firstInvalidUTF8() -> Int? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
            if String(validating: bytes, as: UTF8.self) == nil { return index }
        }
        return nil
    }

    /// Moves `--config PATH` / `--config=PATH` found before the subcommand to the end (before any `--`), where the
    /// subcommand's own `--config` option parses it.
    static func hoistingConfig(_ arguments: [String]) -> [String] {
        var rest: [String] = []
        var hoisted: [String] = []
        var index = 0
        var seenSubcommand = false
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            if !seenSubcommand && argument == "--config" && index + 1 < arguments.count {
                hoisted += [argument, arguments[index + 1]]
                index += 2
                continue
            }
            if !seenSubcommand && argument.hasPrefix("--config=") {
                hoisted.append(argument)
                index += 1
                continue
            }
            if !argument.hasPrefix("-") { seenSubcommand = true }
            rest.append(argument)
            index += 1
        }
        if let dashes = rest.firstIndex(of: "--") {
            rest.insert(contentsOf: hoisted, at: dashes)
            return rest
        }
        return rest + hoisted
    }
}
