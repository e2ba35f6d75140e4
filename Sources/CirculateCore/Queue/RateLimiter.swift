import Foundation

/// Several windows at once ("30 a minute and 10,000 a day"), over a log of send times.
///
/// The log is rebuilt from the database on start (`delivery.last_attempt_at`), so limits hold across restarts.
public struct RateLimiter: Sendable {
    /// The windows enforced.
    public let windows: [RateWindow]
    /// Send times inside the longest window, oldest first.
    private var log: [Date] = []
    private var head = 0

    /// A limiter with past send times (any order).
    public init(windows: [RateWindow], history: [Date] = []) {
        self.windows = windows.sorted { $0.seconds < $1.seconds }
        log = history.sorted()
    }

    /// Whether there are limits at all.
    public var isUnlimited: Bool { windows.isEmpty }

    /// How many messages may start now without breaking any window.
    public mutating func allowance(now: Date) -> Int {
        guard !windows.isEmpty else { return Int.max }
        forget(before: now)
        var allowed = Int.max
        for window in windows {
            let start = now.addingTimeInterval(-window.seconds)
            let used = count(since: start)
            allowed = min(allowed, max(window.limit - used, 0))
        }
        return allowed
    }

    /// The earliest time at which one more message may start.
    public mutating func nextSlot(now: Date) -> Date {
        guard allowance(now: now) == 0 else { return now }
        var earliest = now
        for window in windows {
            let start = now.addingTimeInterval(-window.seconds)
            let used = count(since: start)
            if used >= window.limit {
                // The window frees a place when its (used - limit + 1)-th oldest entry ages out.
                let live = log[head...].filter { $0 > start }
                let freeing = live[live.startIndex + (used - window.limit)]
                earliest = max(earliest, freeing.addingTimeInterval(window.seconds))
            }
        }
        return earliest
    }

    /// Records that `count` messages started at `time`.
    public mutating func record(_ count: Int, at time: Date) {
        guard !windows.isEmpty, count > 0 else { return }
        log.append(contentsOf: repeatElement(time, count: count))
    }

    /// When the last of `count` messages would start, from `now`, under these limits (for dry runs).
    public func finishTime(of count: Int, from now: Date) -> Date {
        guard !windows.isEmpty, count > 0 else { return now }
        var simulation = self
        var time = now
        var remaining = count
        while remaining > 0 {
            let allowed = simulation.allowance(now: time)
            if allowed > 0 {
                let batch = min(allowed, remaining)
                simulation.record(batch, at: time)
                remaining -= batch
                if remaining == 0 { break }
            }
            time = max(simulation.nextSlot(now: time), time.addingTimeInterval(1))
        }
        return time
    }

    private func count(since start: Date) -> Int {
        // The log is sorted; binary search for the first entry after `start`.
        var low = head
        var high = log.count
        while low < high {
            let mid = (low + high) / 2
            if log[mid] > start { high = mid } else { low = mid + 1 }
        }
        return log.count - low
    }

    private mutating func forget(before now: Date) {
        guard let longest = windows.last else { return }
        let start = now.addingTimeInterval(-longest.seconds)
        while head < log.count && log[head] <= start { head += 1 }
        if head > 4096 && head * 2 > log.count {
            log.removeFirst(head)
            head = 0
        }
    }
}
