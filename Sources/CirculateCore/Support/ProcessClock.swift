import Foundation

/// The time every command and the daemon go by. Normally the system clock; `CIRCULATE_NOW` (an ISO 8601 instant
/// such as "2026-12-01T08:59:00Z") makes the process start at that instant and run on in real time, so that a
/// rehearsal or a test can see a month's rhythm (a slot, a follow-up two weeks later) without waiting for it.
public enum ProcessClock {
    /// The clock for this process.
    public static func from(environment: [String: String]) throws(ConfigurationError) -> @Sendable () -> Date {
        guard let text = environment["CIRCULATE_NOW"], !text.isEmpty else { return { Date() } }
        guard let start = try? Date(text, strategy: .iso8601) else {
            throw ConfigurationError(file: nil, "CIRCULATE_NOW = \"\(TextField.printable(text))\" is not an ISO 8601 instant such as \"2026-12-01T08:59:00Z\"")
        }
        let began = ProcessInfo.processInfo.systemUptime
        return { start.addingTimeInterval(ProcessInfo.processInfo.systemUptime - began) }
    }
}
