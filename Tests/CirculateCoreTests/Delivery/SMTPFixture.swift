import CirculateTestSupport
import Foundation

/// The transport tests use the shared test SMTP server (Tests/Support/SMTPServer.swift).
typealias SMTPFixture = SMTPServer

/// Runs blocking work (a sender's `curl_easy_perform`) on a thread of its own, as the queue runner does, never on
/// Swift's cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
