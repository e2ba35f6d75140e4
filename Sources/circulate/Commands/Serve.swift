import ArgumentParser
import CirculateCore
import Foundation
import Logging
import ServiceLifecycle

extension Circulate {
    /// `circulate serve`: the daemon.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the daemon: send what is due, retry what was deferred, until SIGTERM or SIGINT.",
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
            try await group.run()
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

    init(_ global: GlobalOptions, logger: Logger) throws {
        let context = try CommandContext(global)
        let config = context.configuration
        lock = try InstanceLock.acquire(path: DaemonStatus.lockPath(config))
        let database = try context.database()
        let transport = try context.transport()
        transportDescription = transport.description
        // Built here so that a broken template stops the daemon at start-up, naming the file and line.
        let builder = try context.messageBuilder(database)
        let engine = DeliveryEngine(database: database, transport: transport, builder: builder,
                                    settings: DeliveryEngine.Settings(config.delivery), logger: logger, clock: context.clock)
        scheduler = SchedulerService(scheduler: WorkflowScheduler(database: database, configuration: config, logger: logger,
                                                                  clock: context.clock), logger: logger)
        notifier = SystemdNotifier(environment: context.environment)
        service = DeliveryService(engine: engine, notifier: notifier, lock: lock)
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
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try scheduler.tick()
                } catch {
                    // A failed step is retried at the next tick; it changed nothing (each step is one transaction).
                    logger.error("scheduler step failed; trying again shortly", metadata: ["error": "\(error)"])
                }
                let wait = min(60, max(0.2, scheduler.nextWake().timeIntervalSince(scheduler.clock())))
                do { try await Task.sleep(for: .seconds(wait)) } catch { return }
            }
        }
    }
}
