import Dispatch

/// Runs the core's blocking SQLite calls on a queue of their own, never on Swift's cooperative thread pool or the
/// server's event loops, where a blocked thread would hold up every other request.
struct BlockingWork: Sendable {
    private let queue = DispatchQueue(label: "circulate.web.database")

    /// Runs `body` on the work queue and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
