import Foundation

/// A thread's wait between two rounds of work that a wake-up or a stop cuts short: the scheduler sleeps up to a minute
/// between ticks, but a command that changed something, or SIGTERM, must not wait for the minute to end.
final class Alarm: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `rung` and `stopped` are only touched while `condition` is locked. (An
    // NSCondition rather than a Mutex: the wait needs a timeout.)
    private let condition = NSCondition()
    private var rung = false
    private var stopped = false

    /// Ends the current wait, or the next one if nobody waits now (a ring during a round is not lost).
    func ring() {
        condition.lock()
        rung = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the current wait and every later one.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Whether `stop()` was called.
    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Waits up to `seconds`, less if rung or stopped.
    func wait(seconds: TimeInterval) {
        // The deadline is fixed before waiting, so that a spurious wake-up does not start the wait again.
        let deadline = Date().addingTimeInterval(max(0, seconds))
        condition.lock()
        while !rung && !stopped && condition.wait(until: deadline) {}
        rung = false
        condition.unlock()
    }
}
