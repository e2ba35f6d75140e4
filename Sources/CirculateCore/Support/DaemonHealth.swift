import Foundation
import Synchronization

/// What the running daemon knows about its own health, shared by its services (the scheduler writes when it last
/// looked for work, delivery writes the database problem it is riding out) and read by `/healthz`.
public final class DaemonHealth: Sendable {
    private struct State {
        var schedulerTick: Date?
        var storageProblem: String?
    }
    private let state = Mutex(State())
    /// When the daemon started.
    public let startedAt: Date

    /// A record for a daemon starting now.
    public init(startedAt: Date = Date()) {
        self.startedAt = startedAt
    }

    /// The scheduler finished a look for due work.
    public func schedulerTicked(at time: Date = Date()) {
        state.withLock { $0.schedulerTick = time }
    }

    /// The database problem delivery is riding out (nil: none).
    public func storageProblem(_ problem: String?) {
        state.withLock { $0.storageProblem = problem }
    }

    /// When the scheduler last finished a look for due work (nil: not yet).
    public var lastSchedulerTick: Date? { state.withLock { $0.schedulerTick } }
    /// The database problem being ridden out, if any.
    public var currentStorageProblem: String? { state.withLock { $0.storageProblem } }
}
