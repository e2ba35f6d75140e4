import ArgumentParser
import CirculateCore
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (default: $CIRCULATE_CONFIG, ./config/circulate.toml, /etc/circulate/circulate.toml).", valueName: "path"))
    var config: String?
}

/// What a command needs, loaded on demand: configuration, database, instance key.
struct CommandContext {
    let configuration: CirculateCore.Configuration
    let environment: [String: String]
    let now: Date
    /// The clock (the system's, unless CIRCULATE_NOW sets it for a rehearsal or a test).
    let clock: @Sendable () -> Date

    init(_ options: GlobalOptions) throws {
        environment = ProcessInfo.processInfo.environment
        configuration = try ConfigurationLoader.load(explicitPath: options.config, environment: environment)
        clock = try ProcessClock.from(environment: environment)
        now = clock()
    }

    /// The database, which must already exist (`circulate init` creates it). When an instance key is at hand, it must
    /// be the one the database was set up with (a database from an earlier release records it now, and says so).
    ///
    /// Each commit that changes something wakes a running daemon, so that it acts on work a command queued or changed
    /// (a mailing, a retry, a cancellation) at once rather than at its next poll; reads wake nothing. `serve` itself
    /// passes `wakingDaemon: false`.
    func database(wakingDaemon: Bool = true) throws -> AppDatabase {
        let database = try AppDatabase.open(path: configuration.storage.database, create: false)
        if wakingDaemon {
            let socket = WakeSignal.path(forDatabase: configuration.storage.database)
            database.afterCommittingChanges { WakeSignal.send(path: socket) }
        }
        if let key = try InstanceSetup.loadKey(configuration, environment: environment),
           try database.checkKey(key, source: InstanceSetup.keySource(configuration, environment: environment)) == .adopted {
            Terminal.note("the instance key's fingerprint is now recorded in the database; from now on another key is refused")
        }
        if let report = database.takeAddressNormalisationReport() { Terminal.note(report) }
        return database
    }

    /// The instance key, which must already exist.
    func instanceKey() throws -> InstanceKey {
        guard let key = try InstanceSetup.loadKey(configuration, environment: environment) else {
            if FileManager.default.fileExists(atPath: configuration.storage.database),
               let database = try? AppDatabase.open(path: configuration.storage.database, create: false),
               (try? database.keyFingerprint()) != nil {
                throw MissingKey(path: configuration.secrets.instanceKeyFile)
            }
            return try InstanceSetup.requireKey(configuration, environment: environment)
        }
        return key
    }

    /// The person running the command, for "recorded by".
    var operatorName: String {
        for name in ["SUDO_USER", "USER", "LOGNAME"] {
            if let value = environment[name], !value.isEmpty { return value }
        }
        return "coordinator"
    }
}

/// A command that runs with circulate's error handling: failures print one clear line and exit with their code.
protocol CirculateCommand: ParsableCommand {
    var global: GlobalOptions { get }
    func execute(_ context: CommandContext) throws
}

extension CirculateCommand {
    func run() throws {
        do {
            try execute(try CommandContext(global))
        } catch let exit as ExitCode {
            throw exit
        } catch let failure as any Failure {
            Terminal.error(failure.description)
            throw ExitCode(ExitStatus.code(for: failure.kind))
        } catch let error as ValidationError {
            throw error
        } catch {
            Terminal.error("internal error: \(error). Please report this with the command you ran.")
            throw ExitCode(ExitStatus.internalError)
        }
    }
}

/// Parses an address argument, turning a bad one into an invalid-input failure.
func parseAddress(_ text: String) throws -> EmailAddress {
    try EmailAddress(text)
}
