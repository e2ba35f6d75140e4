import Foundation

/// When the thank-you after a session goes out: `daysAfter` local days after the session ends, at `time`.
public struct FollowUpRule: Sendable, Equatable {
    public var daysAfter: Int
    public var time: TimeOfDay
    public var timeZone: TimeZone

    /// Creates a rule.
    public init(daysAfter: Int, time: TimeOfDay, timeZone: TimeZone) {
        self.daysAfter = daysAfter
        self.time = time
        self.timeZone = timeZone
    }

    /// The instant for a session ending at `end`; never before the end itself.
    public func followUp(afterSessionEnding end: Date) -> Date {
        max(end, LocalTime.instant(daysAfter: daysAfter, of: end, hour: time.hour, minute: time.minute, in: timeZone))
    }
}
