import Foundation

/// When reminders go before a session.
public struct ReminderRule: Sendable, Equatable {
    /// Days before the session's local day (0 turns this reminder off)...
    public var daysBefore: Int
    /// ...at this local time.
    public var time: TimeOfDay
    /// A second reminder on the day itself at this local time, or none.
    public var onTheDay: TimeOfDay?
    public var timeZone: TimeZone

    /// Creates a rule.
    public init(daysBefore: Int, time: TimeOfDay, onTheDay: TimeOfDay?, timeZone: TimeZone) {
        self.daysBefore = daysBefore
        self.time = time
        self.onTheDay = onTheDay
        self.timeZone = timeZone
    }

    /// The reminders of a session starting at `start`, by name, each strictly before the start.
    public func reminders(forSessionStarting start: Date) -> [(name: String, at: Date)] {
        var list: [(name: String, at: Date)] = []
        if daysBefore > 0 {
            list.append(("before", LocalTime.instant(daysAfter: -daysBefore, of: start, hour: time.hour, minute: time.minute, in: timeZone)))
        }
        if let day = onTheDay {
            list.append(("on-the-day", LocalTime.instant(daysAfter: 0, of: start, hour: day.hour, minute: day.minute, in: timeZone)))
        }
        return list.filter { $0.at < start }
    }
}
