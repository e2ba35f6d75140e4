import ArgumentParser
import CirculateCore
#if canImport(Glibc)
import Glibc
#endif
import CirculateWeb
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
            #if canImport(Glibc)
            // glibc hands freed memory at the top of each thread's heap back to the system once 128 KB are free (less
            // when its threshold never grew), and every message then faults the same pages in again: 35 page faults a
            // message, a fifth of the daemon's CPU in the benchmark. Keeping up to 512 KB per heap ends that (0 faults,
            // about 120 µs less CPU a message) for at most that much more memory per sending thread.
            MemoryTuning.keepFreedHeapUpTo(512 * 1024)
            // With the trim threshold set, glibc no longer raises its mapping threshold by itself: libcurl's 128 KB
            // scratch buffer was then mapped and unmapped for every message (two system calls, page faults, and at 4
            // connections a TLB shootdown across cores each time).
            MemoryTuning.mapBlocksFrom(512 * 1024)
            #endif
            // A CIRCULATE_NOW that does not parse falls back to the system clock here; the setup below refuses it.
            let clock: @Sendable () -> Date = (try? ProcessClock.from(environment: ProcessInfo.processInfo.environment)) ?? { @Sendable in Date() }
            LoggingSystem.bootstrap { label in
                var handler = ClockedLogHandler(label: label, clock: clock)
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
                services: [.init(service: setup.service), .init(service: setup.scheduler)]
                    + (setup.inbox.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                    + setup.web.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            setup.notifier.ready(status: "delivering through \(setup.transportDescription)")
            defer {
                setup.wakeUps?.stop()
                setup.state.finish()
            }
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
    /// Commands' wake-ups (nil: the daemon relies on its poll alone).
    let wakeUps: WakeSignal.Listener?
    /// The web pages' servers (none unless `[web] listen` is set).
    let web: [any Service]
    /// The mailbox reader (nil unless `[inbox]` is configured).
    let inbox: InboxService?

    init(_ global: GlobalOptions, logger: Logger) throws {
        let context = try CommandContext(global)
        let config = context.configuration
        let poll = try Self.pollInterval(context.environment)
        lock = try InstanceLock.acquire(path: DaemonStatus.lockPath(config))
        let database = try context.database(wakingDaemon: false)
        try database.limitWriterPageCache(kibibytes: 512)
        let transport = try context.transport()
        try transport.prepare()
        transportDescription = transport.description
        // Parsed here so that a broken template stops the daemon at start-up, naming the file and line.
        let templates = try context.templates()
        let builder = try context.messageBuilder(database, templates: templates)
        state = DaemonStateFile(path: DaemonState.path(forDatabase: config.storage.database), logger: logger)
        var settings = DeliveryEngine.Settings(config.delivery)
        settings.pollInterval = poll ?? settings.pollInterval
        let health = DaemonHealth()
        let metrics = WebMetrics()
        let engine = DeliveryEngine(database: database, transport: transport, builder: builder,
                                    settings: settings, logger: logger, clock: context.clock,
                                    problemObserver: { [state] problem in
                                        state.report(problem)
                                        health.storageProblem(problem)
                                    },
                                    tallyObserver: { tally in metrics.record(tally) })
        let alarm = Alarm()
        scheduler = SchedulerService(scheduler: WorkflowScheduler(database: database, context: try context.workflowContext(templates),
                                                                  logger: logger, clock: context.clock),
                                     alarm: alarm, longestWait: poll ?? 60, queued: { engine.wake() },
                                     ticked: {
                                         health.schedulerTicked()
                                         metrics.schedulerTicked()
                                     }, logger: logger)
        if let listen = config.web.listen {
            try ListenCheck.check(listen, setting: "web.listen")
            try ListenCheck.check(config.web.metricsListen, setting: "web.metrics_listen")
            let site = WebSite(database: database, configuration: config,
                               key: try InstanceSetup.requireKey(config, environment: context.environment),
                               pages: try WebPages(directory: config.templates.directory), metrics: metrics, health: health,
                               clock: context.clock, logger: logger, queued: { engine.wake() })
            web = site.services()
            logger.info("web pages on \(listen)\(site.publicPath); health and metrics on \(config.web.metricsListen)")
        } else {
            web = []
        }
        if let settings = config.inbox {
            let poller = InboxPoller(settings: settings, database: database,
                                     key: try InstanceSetup.requireKey(config, environment: context.environment),
                                     bounceLimit: config.delivery.bounceLimit, timeZone: config.community.timeZone,
                                     calendarDomain: config.domain, environment: context.environment,
                                     logger: logger, clock: context.clock)
            inbox = InboxService(poller: poller, alarm: Alarm(), interval: poll ?? settings.pollInterval, changed: { engine.wake() },
                                 logger: logger)
            logger.info("reading the mailbox \(settings.url.absoluteString) every \(String(format: "%g", poll ?? settings.pollInterval)) s")
        } else {
            inbox = nil
        }
        notifier = SystemdNotifier(environment: context.environment)
        service = DeliveryService(engine: engine, notifier: notifier, lock: lock)
        // Taken only now that the lock is held: a socket file already there was left by a daemon that died.
        let socket = WakeSignal.path(forDatabase: config.storage.database)
        wakeUps = WakeSignal.listen(path: socket, logger: logger) {
            engine.wake()
            alarm.ring()
        }
        if wakeUps != nil {
            logger.info("commands wake the daemon through \(socket); without a wake-up it looks for new work every \(String(format: "%g", settings.pollInterval)) s")
        }
    }

    /// `CIRCULATE_POLL_INTERVAL` (seconds), for tests only: how long an idle daemon goes without looking for work
    /// nobody woke it for, in place of delivery's 1 s and the workflows' 60 s. A test makes it long to show that
    /// commands wake the daemon.
    static func pollInterval(_ environment: [String: String]) throws(ConfigurationError) -> TimeInterval? {
        guard let text = environment["CIRCULATE_POLL_INTERVAL"], !text.isEmpty else { return nil }
        guard let seconds = TimeInterval(text), seconds >= 0.01, seconds <= 86_400 else {
            throw ConfigurationError(file: nil, "CIRCULATE_POLL_INTERVAL = \"\(TextField.printable(text))\" is not a number of seconds from 0.01 to 86400 (it is meant for tests; leave it unset)")
        }
        return seconds
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
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [engine] in
                        do {
                            try engine.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = "circ-delivery"  // Linux keeps 15 characters of a thread name
                    thread.start()
                }
            } onCancel: { [engine] in
                // The scheduler stopped the daemon (a broken invariant): the group cancels rather than shuts down.
                engine.stop()
            }
        } onGracefulShutdown: { [engine, notifier] in
            _ = notifier.stopping()
            engine.stop()
        }
        withExtendedLifetime(lock) {}
    }
}

/// The workflow scheduler as a service: it looks for due work whenever something may be due, when a command wakes it,
/// and at least once a minute, until shutdown. Its steps are blocking SQLite transactions, so they run on a thread of
/// their own rather than on Swift's cooperative pool, where they would hold up every other task for their duration.
struct SchedulerService: Service, CustomStringConvertible {
    let scheduler: WorkflowScheduler
    /// Rung by commands' wake-ups; stopped at shutdown.
    let alarm: Alarm
    /// The longest wait between two looks (60 s, unless a test sets `CIRCULATE_POLL_INTERVAL`).
    let longestWait: TimeInterval
    /// Called when a step queued mail: the delivery engine need not wait for its own poll.
    let queued: @Sendable () -> Void
    /// Called after each look for due work (health and metrics).
    let ticked: @Sendable () -> Void
    let logger: Logger

    var description: String { "SchedulerService" }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [self] in
                        // Set from inside the thread, where Foundation hands the name to the kernel (`top -H`,
                        // /proc); at most 15 bytes, or Linux refuses it.
                        Thread.current.name = "circulate-sched"
                        do {
                            try loop()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.start()
                }
            } onCancel: { [alarm] in
                alarm.stop()  // delivery stopped the daemon (a broken invariant)
            }
        } onGracefulShutdown: { [alarm] in
            alarm.stop()  // a step under way finishes (each is one short transaction); no new one starts
        }
    }

    /// Ticks until the alarm is stopped; throws only for a broken invariant.
    private func loop() throws {
        while !alarm.isStopped {
            do {
                let report = try scheduler.tick()
                let steps = [report.updates, report.notices, report.sessionFollowUps, report.reminders, report.reportFollowUps]
                if steps.joined().contains(where: { $0.added > 0 }) { queued() }
                ticked()
            } catch let error as StorageError where !error.isTransient {
                throw error  // a broken invariant: the daemon stops (systemd restarts it)
            } catch let failure as any Failure {
                // A failed step changed nothing (each step is one transaction); it is tried again shortly.
                logger.error("scheduler step failed; trying again shortly", metadata: ["error": "\(failure)"])
            }
            alarm.wait(seconds: max(0.2, scheduler.nextWake(atMost: longestWait).timeIntervalSince(scheduler.clock())))
        }
    }
}

/// The mailbox reader as a service: one poll, then a wait that shutdown cuts short. Its IMAP calls and SQLite
/// transactions block, so it runs on a thread of its own like the scheduler.
struct InboxService: Service, CustomStringConvertible {
    let poller: InboxPoller
    /// Stopped at shutdown.
    let alarm: Alarm
    /// Seconds between polls (`inbox.poll_interval`).
    let interval: TimeInterval
    /// Called after a poll that handled something (a bounce or an unsubscribe may have cancelled queued mail).
    let changed: @Sendable () -> Void
    let logger: Logger

    var description: String { "InboxService" }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [self] in
                        Thread.current.name = "circulate-inbox"
                        loop()
                        continuation.resume()
                    }
                    thread.start()
                }
            } onCancel: { [alarm] in
                alarm.stop()
            }
        } onGracefulShutdown: { [alarm] in
            alarm.stop()  // a message under way finishes (its transaction, then its move); no new poll starts
        }
    }

    /// Polls until stopped. A failed poll (the server away, a wrong password) is logged and tried again at the
    /// next interval: the mailbox keeps every message until it is handled, so nothing is lost meanwhile.
    private func loop() {
        var lastProblem: String?
        while !alarm.isStopped {
            do {
                let report = try poller.poll()
                poller.note(.success(report))
                if lastProblem != nil { logger.notice("inbox: the mailbox can be read again") }
                lastProblem = nil
                if report.handled + report.forCoordinator + report.failed + report.leftFlagged > 0 {
                    logger.info("inbox: \(report.handled) handled, \(report.forCoordinator) left for the coordinator, \(report.leftFlagged) replies to a report left flagged, \(report.failed) failed, \(report.waiting) waiting")
                    changed()
                } else if report.alreadyRecorded > 0 {
                    logger.info("inbox: \(report.alreadyRecorded) already on record, only moved")
                }
            } catch {
                let problem = "\(error)"
                poller.note(.failure(error))
                if problem != lastProblem { logger.error("inbox: cannot read the mailbox; trying again at the next poll", metadata: ["error": "\(problem)"]) }
                lastProblem = problem
            }
            alarm.wait(seconds: interval)
        }
    }
}
