/// A wall-clock time of day ("10:00"), on the 24-hour clock, in whatever zone it is used with.
public struct TimeOfDay: Sendable, Equatable {
    public var hour: Int
    public var minute: Int

    /// Creates a time of day.
    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    /// Reads "10:00", "9:30"; errors name `field`.
    public static func parse(_ text: String, field: String) throws(LocalTimeError) -> TimeOfDay {
        let t = try LocalTime.parseTimeOfDay(text, field: field)
        return TimeOfDay(hour: t.hour, minute: t.minute)
    }
}
