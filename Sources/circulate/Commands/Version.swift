import ArgumentParser
import CirculateCore

extension Circulate {
    /// `circulate version`: what this installation runs on.
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the versions of circulate, libcurl and SQLite.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the result as JSON.") var json = false

        struct Output: Encodable {
            var circulate: String
            var libcurl: String
            var libcurlTls: String
            var libcurlSmtp: Bool
            var sqlite: String
        }

        func run() throws {
            // Works without a configuration or database: it is what people run first when something is wrong.
            let output = Output(circulate: Versions.circulate, libcurl: Versions.libcurl, libcurlTls: Versions.libcurlTLS,
                                libcurlSmtp: Versions.libcurlHasSMTP, sqlite: SQLiteInfo.libraryVersion)
            if json { return try Terminal.printJSON(output) }
            print("circulate \(output.circulate)")
            print("libcurl   \(output.libcurl) (\(output.libcurlTls); smtp/smtps \(output.libcurlSmtp ? "available" : "MISSING"))")
            print("SQLite    \(output.sqlite)")
        }
    }
}
