import Foundation
import GRDB

/// See `AppDatabase.makeLastChecker()`.
public final class LastChecker: @unchecked Sendable {
    // Why @unchecked Sendable is sound: each worker thread makes and uses its own checker, and DatabaseQueue
    // serialises access itself.
    private let queue: DatabaseQueue

    init(queue: DatabaseQueue) {
        self.queue = queue
    }

    /// Whether the claimed message may still be handed over. One SELECT is atomic by itself, so no transaction is
    /// opened around it (that would be two more statements per message).
    public func check(_ deliveryID: Int64) -> LastCheck {
        do {
            return try queue.unsafeRead { db in try OutboundQueue.lastCheck(db, delivery: deliveryID) }
        } catch {
            return .unknown("the database could not be read for the last check (\(error))")
        }
    }
}
