import ArgumentParser
import CirculateCore
import Foundation
import Logging
import ServiceLifecycle

extension Circulate {
    /// `circulate serve`: the daemon.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Run the daemon: send what is due, retry what was deferred, until SIGTERM or SIGINT.",
            discussion: """
                Only one daemon may run per database. Under systemd it reports readiness (Type=notify). Log lines go to standard error (the journal); they never contain message bodies, passwords or recipients' addresses.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = ProcessInfo.processInfo.environment["CIRCULATE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
                return handler
            }
            let logger = Logger(label: "circulate")
            let setup: DaemonSetup
            do {
                setup = try DaemonSetup(global, logger: logger)
            } catch let failure as any Failure {
                Terminal.error(failure.description)
                throw ExitCode(ExitStatus.code(for: failure.kind))
            }
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: setup.service), .init(service: setup.scheduler)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            setup.notifier.ready(status: "delivering through \(setup.transportDescription)")
            defer { setup.state.finish() }
            do {
                try await group.run()
            } catch {
                // A broken invariant (a bug): stop with a non-zero status so that systemd restarts the daemon.
                Terminal.error("circulate serve stopped on an internal error (a bug; please report it): \(error)")
                throw ExitCode(ExitStatus.internalError)
            }
            logger.info("circulate serve stopped")
        }
    }
}

/// Everything `serve` opens before it reports ready: configuration, the lock, the database, the transport.
struct DaemonSetup {
    let service: DeliveryService
    let scheduler: SchedulerService
    let notifier: SystemdNotifier
    let transportDescription: String
    let lock: InstanceLock
    let state: DaemonStateFile

    init(_ global: GlobalOptions, logger: Logger) throws {
        let context = try CommandContext(global)
        let config = context.configuration
        lock = try InstanceLock.acquire(path: DaemonStatus.lockPath(config))
        let database = try context.database()
        let transport = try context.transport()
        transportDescription = transport.description
        // Parsed here so that a broken template stops the daemon at start-up, naming the file and line.
        let templates = try context.templates()
        let builder = try context.messageBuilder(database, templates: templates)
        state = DaemonStateFile(path: DaemonState.path(forDatabase: config.storage.database), logger: logger)
        let engine = DeliveryEngine(database: database, transport: transport, builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: logger, clock: context.clock,
                                    problemObserver: { [state] problem in state.report(problem) })
        scheduler = SchedulerService(scheduler: WorkflowScheduler(database: database, context: try context.workflowContext(templates),
                                                                  logger: logger, clock: context.clock), logger: logger)
        notifier = SystemdNotifier(environment: context.environment)
        service = DeliveryService(engine: engine, notifier: notifier, lock: lock)
    }
}

/// The daemon's state file (see `DaemonState`): written at start, on each database problem and its end, removed at
/// a clean stop.
final class DaemonStateFile: Sendable {
    private let path: String
    private let logger: Logger
    private let started = Date()

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
        report(nil)
    }

    /// Records the problem the daemon is riding out (nil: none).
    func report(_ problem: String?) {
        do {
            try DaemonState(pid: getpid(), startedAt: started, problem: problem, problemSince: problem == nil ? nil : Date()).write(to: path)
        } catch {
            logger.warning("cannot write the daemon's state file \(path) (\(error)); `queue status` will not show the daemon's problems")
        }
    }

    /// A clean stop: nothing to report.
    func finish() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The delivery engine as a service: it runs on its own thread (its SMTP calls block) and stops gracefully.
struct DeliveryService: Service, CustomStringConvertible {
    let engine: DeliveryEngine
    let notifier: SystemdNotifier
    let lock: InstanceLock

    var description: String { "DeliveryService" }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [engine] in
                    do {
                        try engine.run()
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "circulate-delivery"
                thread.start()
            }
        } onGracefulShutdown: { [engine, notifier] in
            _ = notifier.stopping()
            engine.stop()
        }
        withExtendedLifetime(lock) {}
    }
}

/// The workflow scheduler as a service: it looks for due work whenever something may be due, and at least once a
/// minute, until shutdown.
struct SchedulerService: Service, CustomStringConvertible {
    let scheduler: WorkflowScheduler
    let logger: Logger

    var description: String { "SchedulerService" }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try scheduler.tick()
                } catch let error as StorageError where !error.isTransient {
                    throw error  // a broken invariant: the daemon stops (systemd restarts it)
                } catch let failure as any Failure {
                    // A failed step changed nothing (each step is one transaction); it is tried again shortly.
                    logger.error("scheduler step failed; trying again shortly", metadata: ["error": "\(failure)"])
                }
                let wait = min(60, max(0.2, scheduler.nextWake().timeIntervalSince(scheduler.clock())))
                do { try await Task.sleep(for: .seconds(wait)) } catch { return }
            }
        }
    }
}
