import Foundation
import Logging

/// Works the queue: claims due messages in bounded batches, hands them to worker threads (one transport sender,
/// one connection, per thread), and records every recipient's outcome.
///
/// Durability: a message is marked `sending` in the database before any SMTP traffic, and outcomes are committed
/// in small batches (at most `window` messages are ever claimed and unrecorded). After a crash those are the
/// only messages whose fate is unknown; `recoverInFlight` deals with them on the next start.
public final class DeliveryEngine: @unchecked Sendable {
    /// Tunables, with defaults.
    public struct Settings: Sendable {
        /// Worker threads, each with its own connection.
        public var connections: Int
        /// The most messages claimed but not yet recorded; bounds duplicates after a crash.
        public var window: Int
        public var retry: RetryPolicy
        public var inDoubt: Configuration.Delivery.InDoubtPolicy
        public var bounceLimit: Int
        public var lateLimit: TimeInterval
        public var rateLimits: [RateWindow]
        /// How often an idle engine looks for new work queued by the CLI.
        public var pollInterval: TimeInterval = 1
        /// Outcomes are committed when this many are waiting, or `recordDelay` after the first, whichever is sooner.
        public var recordBatch: Int
        /// See `recordBatch`.
        public var recordDelay: TimeInterval = 0.02
        /// The first pause after a relay problem.
        public var relayPause: TimeInterval

        /// Settings from the configuration.
        public init(_ delivery: Configuration.Delivery) {
            connections = delivery.connections
            // Each committed batch costs an fsync (synchronous=FULL); a window of 64 per connection keeps that a small
            // share of a message's cost, and it is also the most messages a crash can leave in doubt.
            window = max(8, delivery.connections * 64)
            recordBatch = max(4, window / 2)
            relayPause = delivery.relayPause
            retry = RetryPolicy(delivery)
            inDoubt = delivery.inDoubt
            bounceLimit = delivery.bounceLimit
            lateLimit = delivery.lateLimit
            rateLimits = delivery.rateLimits
        }
    }

    private let database: AppDatabase
    private let transport: any MailTransport
    private let builder: any MessageBuilder
    private let settings: Settings
    private let logger: Logger
    private let clock: @Sendable () -> Date

    private let jobs = BlockingQueue<Claim>()
    private let results = BlockingQueue<DeliveryResult>()
    private let state = NSCondition()
    private var stopping = false
    private var workersLeft = 0

    /// Creates an engine; nothing runs until `run()`.
    public init(database: AppDatabase, transport: any MailTransport, builder: any MessageBuilder, settings: Settings,
                logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.transport = transport
        self.builder = builder
        self.settings = settings
        self.logger = logger
        self.clock = clock
    }

    /// Asks `run()` to finish: no new claims; messages being sent finish and are recorded; claimed messages that
    /// no worker has started are put back in the queue.
    public func stop() {
        state.lock()
        stopping = true
        state.broadcast()
        state.unlock()
    }

    private var isStopping: Bool {
        state.lock()
        defer { state.unlock() }
        return stopping
    }

    /// Runs until `stop()`; blocking, so call it on a dedicated thread.
    public func run() throws {
        let recovered = try database.recoverInFlight(policy: settings.inDoubt, now: clock())
        if recovered > 0 {
            logger.warning("\(recovered) message(s) were in flight when circulate last stopped; delivery.in_doubt = \(settings.inDoubt.rawValue)")
        }
        let longest = settings.rateLimits.map(\.seconds).max() ?? 0
        var limiter = RateLimiter(windows: settings.rateLimits,
                                  history: longest > 0 ? try database.recentAttempts(within: longest, now: clock()) : [])
        startWorkers()
        logger.info("delivering through \(transport.description) with \(settings.connections) connection(s)")

        var inFlight = 0
        var pending: [DeliveryResult] = []   // outcomes received, not yet committed
        var firstPendingAt = Date.distantFuture
        var checkAt = Date.distantPast  // when the database next needs looking at
        while !isStopping {
            let now = clock()
            var claimed: [Claim] = []
            // Claim when at least half the window is free (fewer, larger claim transactions).
            if (now >= checkAt || inFlight > 0) && settings.window - inFlight >= max(1, settings.window / 2) {
                for mailing in try database.startDueMailings(now: now, lateLimit: settings.lateLimit) {
                    logger.warning("mailing \(mailing.id ?? 0) \"\(mailing.subject)\" is held: it was due at \(mailing.sendAfter) and is too late to send unasked")
                }
                if let pause = try database.relayPause(), pause.until > now {
                    checkAt = min(pause.until, now.addingTimeInterval(settings.pollInterval))
                } else {
                    let room = min(settings.window - inFlight, limiter.allowance(now: now))
                    claimed = try database.claimDue(limit: room, now: now)
                    limiter.record(claimed.count, at: now)
                    inFlight += claimed.count
                    jobs.push(claimed)
                    if claimed.isEmpty {
                        let next = try database.nextWakeUp() ?? .distantFuture
                        checkAt = max(now, min(next, limiter.isUnlimited ? next : limiter.nextSlot(now: now)))
                    } else {
                        checkAt = now
                    }
                }
            }
            // Collect outcomes; wait for them only when there is nothing else to do.
            let wait: TimeInterval = inFlight > pending.count && claimed.isEmpty
                ? (pending.isEmpty ? 0.05 : max(0, firstPendingAt.timeIntervalSince(clock()) + settings.recordDelay)) : 0
            // Wake when a batch is ready (or the delay passes), not once per message.
            let wanted = max(1, min(settings.recordBatch, inFlight) - pending.count)
            let finished = results.drain(waitingUpTo: wait, atLeast: wanted)
            if !finished.isEmpty && pending.isEmpty { firstPendingAt = clock() }
            pending += finished
            let relayTrouble = finished.contains { if case .relayProblem = $0.outcome { true } else { false } }
            let due = pending.count >= settings.recordBatch || pending.count == inFlight || relayTrouble
                || clock().timeIntervalSince(firstPendingAt) >= settings.recordDelay
            if !pending.isEmpty && due {
                try record(pending)
                inFlight -= pending.count
                pending.removeAll(keepingCapacity: true)
                if relayTrouble {
                    // The relay is in trouble: take back what the workers have not started.
                    let unstarted = jobs.removeAll()
                    try database.release(unstarted, now: clock())
                    inFlight -= unstarted.count
                }
            }
            if claimed.isEmpty && finished.isEmpty && inFlight == 0 {
                idle(until: min(checkAt, clock().addingTimeInterval(settings.pollInterval)))
                // New work queued by the CLI shows in the queue's next due time (a cheap indexed read).
                if let next = try database.nextWakeUp(), next <= clock() { checkAt = clock() }
            }
        }

        // Graceful stop: put back what was not started, let the workers finish, record everything.
        let unstarted = jobs.removeAll()
        try database.release(unstarted, now: clock())
        inFlight -= unstarted.count
        jobs.close()
        try record(pending)
        inFlight -= pending.count
        while inFlight > 0 {
            let finished = results.drain(waitingUpTo: 0.5)
            try record(finished)
            inFlight -= finished.count
            if finished.isEmpty && workersRunning == 0 { break }
        }
        waitForWorkers()
        logger.info("delivery stopped")
    }

    private func record(_ finished: [DeliveryResult]) throws {
        guard !finished.isEmpty else { return }
        try database.record(finished, retry: settings.retry, inDoubt: settings.inDoubt, bounceLimit: settings.bounceLimit,
                            pauseFor: { [settings] _, failures in Self.relayBackoff(initial: settings.relayPause, failures: failures) })
        for result in finished {
            if case .relayProblem(let problem) = result.outcome {
                logger.error("relay problem, delivery paused: \(problem.description)")
                break
            }
        }
    }

    /// How long to pause after the n-th relay problem in a row: the initial pause, doubling, at most 30 minutes.
    static func relayBackoff(initial: TimeInterval, failures: Int) -> TimeInterval {
        min(max(1800, initial), initial * pow(2, Double(min(failures - 1, 20))))
    }

    /// Sleeps until `deadline` on the engine's clock. The condition variable waits on the system clock, so the wait
    /// is turned into a duration first (the engine's clock may be shifted, for rehearsals and tests).
    private func idle(until deadline: Date) {
        state.lock()
        if !stopping { _ = state.wait(until: Date().addingTimeInterval(max(0, deadline.timeIntervalSince(clock())))) }
        state.unlock()
    }

    // MARK: - Workers

    private var workersRunning: Int {
        state.lock()
        defer { state.unlock() }
        return workersLeft
    }

    private func startWorkers() {
        state.lock()
        workersLeft = settings.connections
        state.unlock()
        for index in 0..<settings.connections {
            let thread = Thread { [self] in
                work()
                state.lock()
                workersLeft -= 1
                state.broadcast()
                state.unlock()
            }
            thread.name = "circulate-sender-\(index + 1)"
            thread.start()
        }
    }

    private func waitForWorkers() {
        state.lock()
        while workersLeft > 0 { state.wait() }
        state.unlock()
    }

    /// One worker: one sender (connection), reused for every message until a relay problem.
    private func work() {
        var sender: (any MailSender)?
        let checker = try? database.makeDeliverabilityChecker()
        while let claim = jobs.pop() {
            let outcome: SendOutcome
            do {
                let message = try builder.build(claim)
                if sender == nil { sender = try transport.makeSender() }
                if let sender {
                    outcome = sender.send(message.envelope, message: message.bytes) { [database] in
                        checker?.stillDeliverable(claim.deliveryID) ?? database.stillDeliverable(claim.deliveryID)
                    }
                } else {
                    outcome = .relayProblem(RelayProblem(kind: .configuration, description: "no sender"))
                }
            } catch let error as CompositionError {
                outcome = .refused(code: 554, reply: "circulate could not compose this message: \(error)", permanent: true)
            } catch {
                outcome = .relayProblem(RelayProblem(kind: .configuration, description: "\(error)"))
            }
            if case .relayProblem = outcome {
                sender?.close()
                sender = nil
            }
            results.push([DeliveryResult(claim: claim, outcome: outcome, finishedAt: clock())])
        }
        sender?.close()
    }
}
