import Foundation
import GRDB

/// The queue as the daemon and the CLI use it: each method one transaction around the `OutboundQueue` step.
extension AppDatabase {
    // MARK: - Working the queue (the daemon)

    /// See `OutboundQueue.startDue`.
    public func startDueMailings(now: Date, lateLimit: TimeInterval) throws -> [Mailing] {
        try write { db in try OutboundQueue.startDue(db, now: now, lateLimit: lateLimit) }
    }

    /// See `OutboundQueue.claim`.
    public func claimDue(limit: Int, now: Date, reserveRate: Bool = false) throws -> [Claim] {
        guard limit > 0 else { return [] }
        return try write { db in try OutboundQueue.claim(db, limit: limit, now: now, reserveRate: reserveRate) }
    }

    /// See `OutboundQueue.record`.
    @discardableResult
    public func record(_ results: [DeliveryResult], reopen: [Int64] = [], policy: RecordingPolicy) throws -> [QueueEvent] {
        guard !results.isEmpty || !reopen.isEmpty else { return [] }
        return try write { db in try OutboundQueue.record(db, results, reopen: reopen, policy: policy) }
    }

    /// One delivery turn in one write transaction; see `DeliveryTurn`.
    public func deliveryTurn(_ turn: DeliveryTurn, policy: RecordingPolicy) throws -> DeliveryTurn.Outcome {
        try writeOften { db in try OutboundQueue.work(db, turn, policy: policy) }
    }

    /// Puts claimed messages that never reached the relay back as they were.
    public func giveBack(_ claims: [Claim], now: Date) throws {
        guard !claims.isEmpty else { return }
        try write { db in try OutboundQueue.giveBack(db, claims.map(\.deliveryID), now: now) }
    }

    /// The one restart-recovery step; see `OutboundQueue.recoverInFlight`.
    public func recoverInFlight(policy: Configuration.Delivery.InDoubtPolicy, resends: Int, now: Date) throws -> (resent: Int, probablyDelivered: Int, cancelled: Int, interruptedTests: Int) {
        let r = try write { db in try OutboundQueue.recoverInFlight(db, policy: policy, resends: resends, now: now) }
        return (r.resent, r.probablyDelivered, r.cancelled, r.interruptedTests)
    }

    /// The check right before a message's SMTP transaction and again before its content (see `OutboundQueue.lastCheck`).
    public func lastCheck(_ deliveryID: Int64) -> LastCheck {
        do {
            return try pool.read { db in try OutboundQueue.lastCheck(db, delivery: deliveryID) }
        } catch {
            return .unknown("\(error)")
        }
    }

    /// A read-only connection of its own for one worker thread's last checks: a warm page cache and no contention
    /// with the pool's readers (a pool reader per check showed up in profiles as cold page reads).
    public func makeLastChecker() throws -> LastChecker {
        try LastChecker(path: path, busyTimeout: Self.busyTimeout)
    }

    /// When the engine should next look at the queue.
    public func nextWakeUp() throws -> Date? {
        try read { db in try OutboundQueue.nextWakeUp(db) }
    }

    /// The relay pause, if one is recorded.
    public func relayPause() throws -> RelayPause? {
        try read { db in try OutboundQueue.currentPause(db) }
    }

    /// The rate limiter as of now (every process's transactions inside the windows, and reservations).
    public func rateLimiter(windows: [RateWindow], now: Date) throws -> RateLimiter {
        guard !windows.isEmpty else { return RateLimiter(windows: []) }
        return try read { db in try RateAccounting.limiter(db, windows: windows, now: now) }
    }

    /// At the daemon's start: the rate log made whole from the queue (see `RateAccounting.rebuild`).
    public func rebuildRateLog(windows: [RateWindow], now: Date) throws {
        try write { db in try RateAccounting.rebuild(db, windows: windows, now: now) }
    }

    // MARK: - Test messages (send-test)

    /// Queues a test message to one address and claims it, in one transaction, so that the daemon never takes it.
    /// With rate limits, it first checks that the relay's windows have room, counting every process's sends.
    public func startTestMessage(to address: EmailAddress, subject: String, body: String, createdBy: String, domain: String,
                                 windows: [RateWindow], now: Date) throws -> Claim {
        let clean = try TextField.clean(subject, field: "subject", maxLength: 250)
        guard !clean.isEmpty else { throw InvalidField(field: "subject", value: subject, problem: "is empty") }
        return try write { db in
            if !windows.isEmpty {
                var limiter = try RateAccounting.limiter(db, windows: windows, now: now)
                if limiter.allowance(now: now) == 0 {
                    throw RateLimitReached(nextSlot: limiter.nextSlot(now: now), windows: windows)
                }
            }
            let memberID = try Self.member(db, key: address.key)?.id
            return try OutboundQueue.startTestMessage(db, to: address, memberID: memberID, subject: clean, body: body,
                                                      createdBy: createdBy, domain: domain, reserveRate: !windows.isEmpty, now: now)
        }
    }

    // MARK: - Steering (the CLI)

    /// Counts by state, optionally for one mailing.
    public func queueSummary(mailing: Int64? = nil) throws -> QueueSummary {
        try read { db in try OutboundQueue.summary(db, mailing: mailing) }
    }

    /// Mailings, newest first (all, or only those not finished).
    public func mailings(activeOnly: Bool) throws -> [Mailing] {
        try read { db in try OutboundQueue.mailings(db, activeOnly: activeOnly) }
    }

    /// A mailing by id.
    public func mailing(id: Int64) throws -> Mailing? {
        try read { db in try Mailing.fetchOne(db, key: id) }
    }

    /// Messages in the given states (newest first), optionally for one mailing.
    public func deliveries(states: [Delivery.State], mailing: Int64?, limit: Int) throws -> [Delivery] {
        try read { db in try OutboundQueue.deliveries(db, states: states, mailing: mailing, limit: limit) }
    }

    /// Puts deferred (and failed) messages back in the queue now; returns how many.
    public func retryNow(mailing: Int64?, includeFailed: Bool, now: Date) throws -> Int {
        try write { db in try OutboundQueue.retryNow(db, mailing: mailing, includeFailed: includeFailed, now: now) }
    }

    /// Cancels a mailing and everything of it not yet sent; returns what was cancelled.
    public func cancelMailing(_ id: Int64, now: Date) throws -> Withdrawal {
        try write { db in
            _ = try OutboundQueue.mailing(db, id: id)
            return Withdrawal(try OutboundQueue.cancel(db, .mailing(id), reason: "cancelled by the coordinator", now: now))
        }
    }

    /// Sends a held mailing after all.
    public func releaseMailing(_ id: Int64, now: Date) throws -> Bool {
        try write { db in try OutboundQueue.release(db, mailing: id, now: now) }
    }

    /// Ends a relay pause now (`queue resume`); returns whether one was in force.
    public func resumeRelay(now: Date) throws -> Bool {
        try write { db in try OutboundQueue.resume(db, now: now) }
    }

    /// A person's messages that a daemon worker held when their cancellation was asked for (an unsubscribe, a stream
    /// left), and that may not have been let go of yet.
    public func withdrawalsInFlight(for address: EmailAddress) throws -> Withdrawal {
        try read { db in
            var withdrawal = Withdrawal()
            guard let member = try Self.member(db, key: address.key)?.id else { return withdrawal }
            withdrawal.inFlight = try Int64.fetchAll(db, sql: """
                SELECT id FROM delivery WHERE member_id = ? AND state = ? AND cancel_requested IS NOT NULL
                """, arguments: [member, Delivery.State.sending.rawValue])
            return withdrawal
        }
    }

    /// Waits (at most `timeout`) for messages that were in flight when they were cancelled to be let go of by the
    /// daemon, and says how each ended. Messages of an erased person are deleted once let go of.
    public func awaitWithdrawals(_ withdrawal: Withdrawal, daemonRunning: Bool, timeout: TimeInterval = 5) throws -> WithdrawalOutcome {
        guard !withdrawal.inFlight.isEmpty else { return WithdrawalOutcome() }
        let deadline = Date().addingTimeInterval(daemonRunning ? timeout : 0)
        var rows: [Delivery]
        while true {
            rows = try read { db in try OutboundQueue.stillInFlight(db, withdrawal.inFlight) }
            if rows.allSatisfy({ $0.state != .sending }) || Date() >= deadline { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        var outcome = WithdrawalOutcome()
        for row in rows {
            switch row.state {
            case .sending: outcome.stillSending += 1
            case .sent: outcome.alreadySent += 1
            default: outcome.stopped += 1
            }
        }
        // Rows already deleted (an erased person's, let go of) were stopped too.
        outcome.stopped += withdrawal.inFlight.count - rows.count
        if withdrawal.erased {
            let left = try write { db in try OutboundQueue.forgetReleased(db, withdrawal.inFlight, daemonRunning: daemonRunning) }
            outcome.stillSending = left
        }
        return outcome
    }
}

extension AppDatabase {
    /// See `QueueOutlook`.
    public func outlook(windows: [RateWindow], now: Date) throws -> QueueOutlook {
        try read { db in try Self.outlook(db, windows: windows, now: now) }
    }

    static func outlook(_ db: Database, windows: [RateWindow], now: Date) throws -> QueueOutlook {
        let byMailing = try OutboundQueue.stateCountsByMailing(db)
        let summary = try OutboundQueue.summary(db, byState: OutboundQueue.totals(byMailing), mailing: nil)
        let pause = try RelayPause.fetchOne(db).flatMap { $0.until > now ? $0 : nil }
        var rateLimitedUntil: Date?
        if !windows.isEmpty {
            var limiter = try RateAccounting.limiter(db, windows: windows, now: now)
            if limiter.allowance(now: now) == 0 { rateLimitedUntil = limiter.nextSlot(now: now) }
        }
        let held = try Mailing.filter(Mailing.Columns.state == Mailing.State.held.rawValue).order(Mailing.Columns.id).fetchAll(db)
        var next: (at: Date, waitingFor: QueueOutlook.Wait)?
        if let due = summary.nextAttempt {
            next = (max(due, now), .schedule)
            if let pause, let current = next, pause.until > current.at { next = (pause.until, .pause) }
            if let until = rateLimitedUntil, let current = next, until > current.at { next = (until, .rateLimit) }
        }
        return QueueOutlook(summary: summary, countsByMailing: byMailing, pause: pause, rateLimitedUntil: rateLimitedUntil, held: held,
                            nextAttempt: next)
    }
}
