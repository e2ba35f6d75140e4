import ArgumentParser

/// Finds an option the command does not take. ArgumentParser reports a missing required argument before an unknown
/// option, so `member add --nmae Alex x@example.org` would say "--source is missing" and never name the typo.
enum UnknownOption {
    /// The first option in `arguments` that the subcommand they name does not accept, with that subcommand's words.
    static func find(in arguments: [String]) -> (option: String, command: String)? {
        var command: any ParsableCommand.Type = Circulate.self
        var words = ["circulate"]
        var index = 0
        while index < arguments.count, !arguments[index].hasPrefix("-"),
              let sub = command.configuration.subcommands.first(where: { $0.configuration.commandName == arguments[index] }) {
            command = sub
            words.append(arguments[index])
            index += 1
        }
        let help = Circulate.helpMessage(for: command)
        for argument in arguments[index...] {
            if argument == "--" { break }
            guard argument.hasPrefix("-"), argument.count > 1, !argument.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) else { continue }
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if !accepts(help, name) { return (name, words.joined(separator: " ")) }
        }
        return nil
    }

    /// Whether the help text lists the option (as `--name`, `-n` or `--[no-]name` spellings).
    private static func accepts(_ help: String, _ name: String) -> Bool {
        let boundaries: Set<Character> = [" ", ",", "\n", "/", "[", "<", "=", ")", "|"]
        var searchFrom = help.startIndex
        while let range = help.range(of: name, range: searchFrom..<help.endIndex) {
            let before = range.lowerBound == help.startIndex ? " " : help[help.index(before: range.lowerBound)]
            let after = range.upperBound == help.endIndex ? " " : help[range.upperBound]
            if (before == " " || before == "/" || before == "[" || before == ",") && boundaries.contains(after) { return true }
            searchFrom = range.upperBound
        }
        return false
    }
}
