import Foundation
import Logging

/// Works the queue: claims due messages in bounded batches, hands them to worker threads (one transport sender,
/// one connection, per thread), and records every recipient's outcome through `OutboundQueue.record`.
///
/// Durability: a message is marked `sending` in the database before any SMTP traffic, and outcomes are committed
/// in small batches (at most `window` messages are ever claimed and unrecorded). After a crash those are the
/// only messages whose fate is unknown; `recoverInFlight` deals with them on the next start.
///
/// Faults: a relay problem is one pause per outage (the other claimed messages go back untouched, and after a pause
/// one message probes the relay before the others follow); a database that is busy or failing makes the engine
/// back off and try again, saying so; only a broken invariant (a bug) ends `run()` with an error, after the workers
/// have stopped.
public final class DeliveryEngine: @unchecked Sendable {
    // Why @unchecked Sendable is sound: the mutable fields (`stopping`, `workersLeft`, `wakeRequested`) are only
    // touched under `state`; everything else is immutable or itself thread-safe (BlockingQueue, AppDatabase).

    /// Tunables, with defaults.
    public struct Settings: Sendable {
        /// Worker threads, each with its own connection.
        public var connections: Int
        /// The most messages claimed but not yet recorded; bounds duplicates after a crash.
        public var window: Int
        /// How outcomes become states (retry, in doubt, bounces, the relay pause, rate accounting).
        public var policy: RecordingPolicy
        public var lateLimit: TimeInterval
        public var rateLimits: [RateWindow]
        /// How often an idle engine looks for new work queued by the CLI.
        public var pollInterval: TimeInterval = 1
        /// Outcomes are committed when this many are waiting, or `recordDelay` after the first, whichever is sooner.
        public var recordBatch: Int
        /// See `recordBatch`.
        public var recordDelay: TimeInterval = 0.02
        /// The first wait after the database was busy or failing; doubles up to `storageBackoffLimit`.
        public var storageBackoff: TimeInterval = 1
        public var storageBackoffLimit: TimeInterval = 30

        /// Settings from the configuration.
        public init(_ delivery: Configuration.Delivery) {
            connections = delivery.connections
            // Each committed batch costs an fsync (synchronous=FULL); a window of 64 per connection keeps that a small
            // share of a message's cost, and it is also the most messages a crash can leave in doubt.
            window = max(8, delivery.connections * 64)
            recordBatch = max(4, window / 2)
            policy = RecordingPolicy(delivery)
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
    /// Told when the engine starts and stops riding out a database problem (nil: it is over), for `queue status`.
    private let problemObserver: @Sendable (String?) -> Void
    /// Told how each batch of attempts ended (for the operator's metrics).
    private let tallyObserver: @Sendable (DeliveryTally) -> Void

    private let jobs = BlockingQueue<Claim>()
    private let results = BlockingQueue<DeliveryResult>()
    private let state = NSCondition()
    private var stopping = false
    private var workersLeft = 0
    /// A command queued or changed work since the engine last idled (see `wake()`).
    private var wakeRequested = false

    /// Creates an engine; nothing runs until `run()`.
    public init(database: AppDatabase, transport: any MailTransport, builder: any MessageBuilder, settings: Settings,
                logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
                problemObserver: @escaping @Sendable (String?) -> Void = { _ in },
                tallyObserver: @escaping @Sendable (DeliveryTally) -> Void = { _ in }) {
        self.database = database
        self.transport = transport
        self.builder = builder
        self.settings = settings
        self.logger = logger
        self.clock = clock
        self.problemObserver = problemObserver
        self.tallyObserver = tallyObserver
    }

    /// Asks `run()` to finish: no new claims; messages being sent finish and are recorded; claimed messages that
    /// no worker has started are put back in the queue.
    public func stop() {
        state.lock()
        stopping = true
        state.broadcast()
        state.unlock()
    }

    /// Ends the engine's idle wait at once, so that it looks at the queue now rather than at its next poll (a
    /// command queued or changed work). A wake-up that comes while the engine is busy ends its next idle wait.
    public func wake() {
        state.lock()
        wakeRequested = true
        state.broadcast()
        state.unlock()
    }

    private var isStopping: Bool {
        state.lock()
        defer { state.unlock() }
        return stopping
    }

    /// The loop's state between turns.
    private struct Loop {
        var inFlight = 0
        /// Outcomes received, not yet committed.
        var pending: [DeliveryResult] = []
        var firstPendingAt = Date.distantFuture
        /// Messages to give back (a relay problem) once the database takes it.
        var giveBack: [Claim] = []
        /// Messages failed earlier in a run of the same policy refusal, to give back with the next record.
        var reopen: [Int64] = []
        var streak = PolicyStreak()
        /// When the database next needs looking at.
        var checkAt = Date.distantPast
        /// Whether the relay has answered since the start or the last relay problem. Until it has, one message at a
        /// time: an outage ends with one probe, not with every connection failing its AUTH at once.
        var relayAnswered = false
        /// The outcomes waiting include a relay problem: the next turn records them (and the pause) at once.
        var relayTrouble = false
        var lastPrune = Date.distantPast
        /// The database problem being ridden out, and the current wait.
        var storageProblem: (since: Date, wait: TimeInterval)?
    }

    /// Runs until `stop()`; blocking, so call it on a dedicated thread. Throws only for a broken invariant (a bug).
    public func run() throws {
        var loop = Loop()
        try untilDatabaseWorks(&loop) { try recover() }
        startWorkers()
        logger.info("delivering through \(transport.description) with \(settings.connections) connection(s)")
        do {
            while !isStopping {
                do {
                    try turn(&loop)
                    if loop.storageProblem != nil {
                        loop.storageProblem = nil
                        logger.notice("the database can be used again; delivery goes on")
                        problemObserver(nil)
                    }
                } catch let error as StorageError where error.isTransient {
                    rideOut(error, &loop)
                }
            }
        } catch {
            logger.critical("delivery stopped by an internal error (a bug in circulate; systemd restarts the daemon): \(error)")
            shutDown(&loop)
            throw error
        }
        shutDown(&loop)
        logger.info("delivery stopped")
    }

    /// One turn: one transaction records the outcomes that are due, gives back what the workers will not send and
    /// claims what is due (if there is room); then outcomes are collected, or the engine idles.
    private func turn(_ loop: inout Loop) throws {
        let now = clock()
        let window = loop.relayAnswered ? settings.window : 1
        let recording = !loop.pending.isEmpty && (loop.relayTrouble || loop.pending.count >= settings.recordBatch
            || loop.pending.count == loop.inFlight - loop.giveBack.count
            || now.timeIntervalSince(loop.firstPendingAt) >= settings.recordDelay)
        let unrecorded = loop.inFlight - loop.giveBack.count - (recording ? loop.pending.count : 0)
        // Claim when at least half the window is free (fewer, larger claims), and not while relay trouble is being
        // recorded (the pause it writes would stop the claim anyway).
        let claiming = !loop.relayTrouble && (now >= loop.checkAt || unrecorded > 0)
            && window - unrecorded >= max(1, window / 2)
        var claimed: [Claim] = []
        if recording || claiming || !loop.giveBack.isEmpty {
            var step = DeliveryTurn(now: now, lateLimit: settings.lateLimit)
            step.giveBack = loop.giveBack
            if recording {
                step.results = loop.pending
                step.reopen = loop.reopen
            }
            if claiming {
                step.claimRoom = window - unrecorded
                step.rateLimits = settings.rateLimits
                step.pruneRateLog = !settings.rateLimits.isEmpty && now.timeIntervalSince(loop.lastPrune) > 600
            }
            let outcome = try database.deliveryTurn(step, policy: settings.policy)
            // Committed: only now does the loop's state follow.
            if step.pruneRateLog { loop.lastPrune = now }
            loop.inFlight -= loop.giveBack.count
            loop.giveBack.removeAll()
            if recording {
                loop.inFlight -= loop.pending.count
                loop.pending.removeAll(keepingCapacity: true)
                loop.reopen.removeAll()
                loop.relayTrouble = false
            }
            log(outcome.events)
            for mailing in outcome.held {
                logger.warning("mailing \(mailing.id ?? 0) is held: it was due at \(mailing.sendAfter) and is too late to send unasked; see `circulate queue status`")
            }
            if let pause = outcome.pause {
                loop.checkAt = min(pause.until, now.addingTimeInterval(settings.pollInterval))
                loop.relayAnswered = false
            } else if claiming {
                claimed = outcome.claimed
                loop.inFlight += claimed.count
                if !claimed.isEmpty {
                    jobs.resume()
                    jobs.push(claimed)
                }
                loop.checkAt = outcome.nextCheck ?? now
            }
        }
        // Collect outcomes; wait for them only when there is nothing else to do.
        let wait: TimeInterval = loop.inFlight > loop.pending.count && claimed.isEmpty
            ? (loop.pending.isEmpty ? 0.05 : max(0, loop.firstPendingAt.timeIntervalSince(clock()) + settings.recordDelay)) : 0
        // Wake when a batch is ready (or the delay passes), not once per message.
        let wanted = max(1, min(settings.recordBatch, loop.inFlight) - loop.pending.count)
        var finished = results.drain(waitingUpTo: wait, atLeast: wanted)
        var relayTrouble = false
        var tally = DeliveryTally()
        for index in finished.indices {
            let result = finished[index]
            if let run = loop.streak.observe(result.outcome, recipient: result.claim.recipient, delivery: result.claim.deliveryID) {
                finished[index].outcome = .relayProblem(run.problem)
                loop.reopen += run.reopen
            }
            let disposition = Disposition.of(finished[index].outcome)
            tally.count(disposition)
            switch disposition {
            case .pause: relayTrouble = true
            case .sent, .deferred, .inDoubt: loop.relayAnswered = true
            case .failed(let failure, _) where failure != .notSent: loop.relayAnswered = true
            default: break
            }
        }
        if relayTrouble {
            // One outage, one pause: what the workers have not started goes back untouched, with the next turn's
            // record (which writes the pause).
            loop.relayAnswered = false
            loop.relayTrouble = true
            jobs.hold()
            loop.giveBack += jobs.removeAll()
        }
        if !tally.isEmpty { tallyObserver(tally) }
        if !finished.isEmpty && loop.pending.isEmpty { loop.firstPendingAt = clock() }
        loop.pending += finished
        if claimed.isEmpty && finished.isEmpty && loop.inFlight == 0 {
            // A quiet moment: finish clearing the write-ahead log if an erasure could not (another process was reading).
            if database.finishPendingLogCleanup(wait: false) == true {
                logger.notice("the write-ahead log left by an earlier erasure is now cleared (\(database.writeAheadLogPath))")
            }
            if idle(until: min(loop.checkAt, clock().addingTimeInterval(settings.pollInterval))) { loop.checkAt = clock() }
            // New work queued by the CLI shows in the queue's next due time (a cheap indexed read).
            if let next = try database.nextWakeUp(), next <= clock() { loop.checkAt = clock() }
        }
    }

    /// Backs off after a database problem that may pass (busy, disk full, I/O), saying so once and then every so often.
    private func rideOut(_ error: StorageError, _ loop: inout Loop) {
        let now = clock()
        var problem = loop.storageProblem ?? (since: now, wait: settings.storageBackoff)
        if loop.storageProblem == nil {
            logger.error("the database cannot be used (\(error.description)); delivery waits and tries again")
            problemObserver("the database cannot be used since \(now.formatted(.iso8601)) (\(error.description)); the daemon tries again every \(Int(settings.storageBackoffLimit)) s at most")
        } else {
            logger.warning("the database still cannot be used; trying again in \(Int(problem.wait)) s")
        }
        idle(until: now.addingTimeInterval(problem.wait))
        problem.wait = min(settings.storageBackoffLimit, problem.wait * 2)
        loop.storageProblem = problem
    }

    /// Runs `step` until the database lets it, riding out transient problems (used before the workers start).
    private func untilDatabaseWorks(_ loop: inout Loop, _ step: () throws -> Void) throws {
        while !isStopping {
            do {
                try step()
                if loop.storageProblem != nil { problemObserver(nil) }
                loop.storageProblem = nil
                return
            } catch let error as StorageError where error.isTransient {
                rideOut(error, &loop)
            }
        }
    }

    /// The restart step: messages a crash left in flight, and the rate log made whole.
    private func recover() throws {
        let now = clock()
        let r = try database.recoverInFlight(policy: settings.policy.inDoubt, resends: settings.policy.inDoubtResends, now: now)
        if r.resent + r.probablyDelivered + r.cancelled + r.interruptedTests > 0 {
            logger.warning("\(r.resent + r.probablyDelivered + r.cancelled + r.interruptedTests) message(s) were in flight when circulate last stopped: \(r.resent) will be sent again (same Message-ID), \(r.probablyDelivered) counted as probably delivered, \(r.cancelled) had been cancelled, \(r.interruptedTests) were test messages (never sent again)")
        }
        if !settings.rateLimits.isEmpty { try database.rebuildRateLog(windows: settings.rateLimits, now: now) }
    }

    /// Graceful stop: put back what was not started, let the workers finish, record everything that can be.
    private func shutDown(_ loop: inout Loop) {
        loop.giveBack += jobs.removeAll()
        jobs.close()
        var attempts = 0
        while attempts < 50 {
            let finished = results.drain(waitingUpTo: loop.inFlight > loop.pending.count + loop.giveBack.count ? 0.2 : 0)
            loop.pending += finished
            do {
                try database.giveBack(loop.giveBack, now: clock())
                loop.inFlight -= loop.giveBack.count
                loop.giveBack.removeAll()
                log(try database.record(loop.pending, reopen: loop.reopen, policy: settings.policy))
                loop.inFlight -= loop.pending.count
                loop.pending.removeAll()
                loop.reopen.removeAll()
            } catch {
                // What cannot be recorded now stays `sending` and is recovered at the next start.
                logger.error("could not record the last outcomes before stopping (\(error)); they are recovered at the next start")
                attempts += 10
            }
            if loop.inFlight <= 0 || (workersRunning == 0 && finished.isEmpty && loop.pending.isEmpty) { break }
            attempts += 1
        }
        waitForWorkers()
    }

    /// Writes what recording did to the journal: numbers, never an address.
    private func log(_ events: [QueueEvent]) {
        for event in events {
            switch event {
            case .deferred(let mailing, let delivery, let attempt, let next, let reply):
                logger.info("mailing \(mailing), message \(delivery): deferred after attempt \(attempt) (\(reply)); next try \(next.formatted(.iso8601))")
            case .failed(let mailing, let delivery, let failure, let reason):
                logger.warning("mailing \(mailing), message \(delivery): failed (\(failure.rawValue), not counted against the person): \(reason)")
            case .bounced(let mailing, let delivery, let member, let count, let reply):
                logger.warning("mailing \(mailing), message \(delivery): bounced (\(reply)); member \(member) has \(count) bounce(s) in a row (delivery.bounce_limit is \(settings.policy.bounceLimit))")
            case .memberBounced(let member, let cancelled):
                logger.warning("member \(member) is marked bounced and is not mailed again until their address is corrected; \(cancelled) waiting message(s) cancelled")
            case .inDoubt(let mailing, let delivery, let resendAt, let detail):
                if let resendAt {
                    logger.warning("mailing \(mailing), message \(delivery): in doubt (\(detail)); sending it again at \(resendAt.formatted(.iso8601)) with the same Message-ID")
                } else {
                    logger.warning("mailing \(mailing), message \(delivery): in doubt (\(detail)); counted as probably delivered, not sent again")
                }
            case .withdrawn(let mailing, let delivery, let reason):
                logger.info("mailing \(mailing), message \(delivery): not sent: \(reason)")
            case .paused(let pause):
                var outage = DeliveryTally()
                outage.relayPauses = 1
                tallyObserver(outage)
                logger.error("delivery paused until \(pause.until.formatted(.iso8601)) (try \(pause.failures) of this outage): \(Redaction.maskingAddresses(in: pause.reason))")
            case .resumed(let since):
                logger.notice("the relay answers again; delivery resumed after a pause that began \(since.formatted(.iso8601))")
            case .reopened(let deliveries):
                logger.warning("\(deliveries.count) message(s) refused by the same policy in a row are given back: the relay refuses the list, not these people")
            case .finished(let mailing, let sent, let failed, let cancelled):
                logger.notice("mailing \(mailing) is finished: \(sent) sent, \(failed) failed, \(cancelled) cancelled")
                builder.forget(mailing: mailing)
            }
        }
    }

    /// Sleeps until `deadline` on the engine's clock, or until `stop()` or `wake()`; returns whether it was woken.
    /// The condition variable waits on the system clock, so the wait is turned into a duration first (the engine's
    /// clock may be shifted, for rehearsals and tests).
    @discardableResult
    private func idle(until deadline: Date) -> Bool {
        state.lock()
        if !stopping && !wakeRequested {
            _ = state.wait(until: Date().addingTimeInterval(max(0, deadline.timeIntervalSince(clock()))))
        }
        let woken = wakeRequested
        wakeRequested = false
        state.unlock()
        return woken
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
            thread.name = "circ-sender-\(index + 1)"  // Linux keeps 15 characters of a thread name
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
        let checker = try? database.makeLastChecker()
        while let claim = jobs.pop() {
            // The first check notes the log header, so that the second (before the content) needs no query when
            // nothing was committed in between (see `LastChecker`).
            var unchangedSince: LastChecker.LogHeader?
            // Without a checker of its own (it could not open the log index), every check is a query.
            let query = { [database] in database.lastCheck(claim.deliveryID) }
            let check = { checker?.check(claim.deliveryID, unlessUnchangedSince: unchangedSince) ?? query() }
            var startedAt: Date?
            let outcome: SendOutcome
            do {
                let message = try builder.build(claim)
                // Checked right before the transaction too: a person who withdrew is not even named to the relay.
                switch checker?.check(claim.deliveryID, noting: &unchangedSince) ?? query() {
                case .stop(let reason):
                    outcome = .withdrawn(reason: reason, atRelay: false)
                case .unknown(let detail):
                    outcome = .checkFailed(detail: detail, atRelay: false)
                case .go:
                    let active = try sender ?? transport.makeSender()
                    sender = active
                    startedAt = clock()
                    outcome = active.send(message.envelope, message: message.bytes, lastCheck: check)
                }
            } catch let error as CompositionError {
                outcome = .notSent(reason: "circulate could not compose this message: \(error)")
            } catch let error as AddressError {
                outcome = .notSent(reason: "the stored address cannot be used: \(error.explanation)")
            } catch let error as StorageError {
                outcome = .checkFailed(detail: error.description, atRelay: false)
            } catch let error as ConfigurationError {
                outcome = .relayProblem(RelayProblem(kind: .configuration, description: error.description))
            } catch {
                outcome = .notSent(reason: "circulate could not prepare this message: \(error)")
            }
            if case .relayProblem = outcome {
                // No worker opens another connection until the engine has paused and the pause is over: an outage
                // costs one failed connection per worker, not one per message claimed.
                jobs.hold()
                sender?.close()
                sender = nil
            }
            results.push([DeliveryResult(claim: claim, outcome: outcome, startedAt: startedAt, finishedAt: clock())])
        }
        sender?.close()
    }
}
