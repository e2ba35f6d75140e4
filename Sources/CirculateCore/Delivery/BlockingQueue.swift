import Foundation

/// A small thread-safe FIFO for handing work between the engine's dedicated threads (not Swift tasks: the SMTP
/// calls block, and must stay off the cooperative thread pool).
final class BlockingQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    /// While held, `pop` hands out nothing (the relay is in trouble: no worker opens a new connection).
    private var held = false
    /// A waiting `drain` wants this many items before it is worth waking up (fewer context switches per message).
    private var wakeAt = 1

    /// Adds items and wakes waiting threads.
    func push(_ newItems: [Element]) {
        guard !newItems.isEmpty else { return }
        condition.lock()
        items.append(contentsOf: newItems)
        if items.count - head >= wakeAt || closed { condition.broadcast() }
        condition.unlock()
    }

    /// Takes one item, waiting for it (and while the queue is held); nil once the queue is closed and empty.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while (head == items.count || held) && !closed {
            wakeAt = 1
            condition.wait()
        }
        return closed && held ? nil : takeOne()
    }

    /// Stops handing out items until `resume()`; what is in the queue stays for `removeAll()`.
    func hold() {
        condition.lock()
        held = true
        condition.unlock()
    }

    /// Hands out items again.
    func resume() {
        condition.lock()
        if held {
            held = false
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Takes everything there is, waiting up to `timeout` until there are at least `atLeast` items.
    func drain(waitingUpTo timeout: TimeInterval, atLeast: Int = 1) -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        if items.count - head < atLeast && timeout > 0 && !closed {
            wakeAt = max(1, atLeast)
            let deadline = Date().addingTimeInterval(timeout)
            while items.count - head < atLeast && !closed && condition.wait(until: deadline) {}
            wakeAt = 1
        }
        let all = Array(items[head...])
        items.removeAll(keepingCapacity: true)
        head = 0
        return all
    }

    /// Removes and returns what nobody has taken yet.
    func removeAll() -> [Element] { drain(waitingUpTo: 0) }

    /// Stops waiting `pop` calls once the queue is empty.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func takeOne() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
