import Foundation

/// Reading and writing local times for coordinators: "2026-12-09 10:00" in, "Wednesday 9 December 2026, 10:00" out.
///
/// Names are English and built here rather than by `DateFormatter`, so they never change with the machine's locale.
/// Every instant is read and written as the wall clock in the given zone shows it.
public enum LocalTime {
    /// English month names, January first.
    private static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August",
                                     "September", "October", "November", "December"]

    /// "December" for 12; a month outside 1–12 (only a hand-made error can hold one) is named by its number.
    static func monthName(_ month: Int) -> String {
        monthNames.indices.contains(month - 1) ? monthNames[month - 1] : "month \(month)"
    }

    /// "2026-12-09 10:00", "2026-12-09T10:00", "2026-12-09 10:00:00" → that wall time in `zone`.
    ///
    /// A time the clocks skip is refused (the coordinator must choose, not the program); a time they repeat means the
    /// first of the two, as RFC 5545 §3.3.5 reads it.
    public static func parse(_ text: String, in zone: TimeZone, field: String) throws(LocalTimeError) -> Date {
        let fail = { (problem: LocalTimeError.Problem) in LocalTimeError(field: field, text: text, problem: problem) }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let halves = trimmed.split(maxSplits: 1, omittingEmptySubsequences: false) {
            $0 == " " || $0 == "T" || $0 == "t"
        }
        guard halves.count == 2, let date = civilDate(halves[0]),
              let clock = clock(halves[1].trimmingCharacters(in: .whitespaces), seconds: true) else {
            throw fail(.notADateAndTime)
        }
        guard (1...12).contains(date.month) else { throw fail(.noSuchMonth(date.month)) }
        guard date.isValid else { throw fail(.noSuchDay(year: date.year, month: date.month, day: date.day)) }
        if let problem = problem(hour: clock.hour, minute: clock.minute, second: clock.second) { throw fail(problem) }
        let reading = LocalDateTime(date: date, hour: clock.hour, minute: clock.minute, second: clock.second)
        switch reading.resolve(in: zone) {
        case .unique(let instant), .repeated(let instant, _):
            return instant
        case .skipped(let gap):
            throw fail(.skippedByClockChange(zone: zone.identifier, from: time(gap.from), to: time(gap.to)))
        }
    }

    /// "10:00", "9:30", "18:05" → (hour, minute) on the 24-hour clock.
    public static func parseTimeOfDay(_ text: String, field: String)
        throws(LocalTimeError) -> (hour: Int, minute: Int) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let clock = clock(trimmed, seconds: false) else {
            throw LocalTimeError(field: field, text: text, problem: .notATimeOfDay)
        }
        if let problem = problem(hour: clock.hour, minute: clock.minute, second: 0) {
            throw LocalTimeError(field: field, text: text, problem: problem)
        }
        return (clock.hour, clock.minute)
    }

    /// The instant at hour:minute local time on the local day `days` after the local day of `date` (days may be 0 or
    /// negative); a time the clocks skip moves on by the gap, a repeated one is the first.
    public static func instant(daysAfter days: Int, of date: Date, hour: Int, minute: Int, in zone: TimeZone) -> Date {
        let day = LocalDateTime(date, in: zone).date.adding(days: days)
        return LocalDateTime(date: day, hour: hour, minute: minute).instant(in: zone)
    }

    /// "Wednesday 9 December 2026, 10:00" (English, 24-hour clock, no leading zero on the day).
    public static func describe(_ date: Date, in zone: TimeZone) -> String {
        let reading = LocalDateTime(date, in: zone)
        return "\(longDay(reading.date)), \(time(reading))"
    }

    /// "Wednesday 9 December 2026, 10:00 to 12:00", or with the end's day too when it falls on another local day.
    public static func describeRange(start: Date, end: Date, in zone: TimeZone) -> String {
        let from = LocalDateTime(start, in: zone)
        let to = LocalDateTime(end, in: zone)
        let ending = from.date == to.date ? time(to) : "\(longDay(to.date)), \(time(to))"
        return "\(longDay(from.date)), \(time(from)) to \(ending)"
    }

    /// "Wednesday 9 December" (no year).
    public static func day(_ date: Date, in zone: TimeZone) -> String {
        let day = LocalDateTime(date, in: zone).date
        return "\(Weekday(of: day).name) \(day.day) \(monthName(day.month))"
    }

    /// "2026-12-09 10:00", the form `parse` reads, for tables (in the hour the clocks go back, both instants read the
    /// same and `parse` gives the first).
    public static func short(_ date: Date, in zone: TimeZone) -> String {
        let reading = LocalDateTime(date, in: zone)
        let day = reading.date
        return "\(pad(day.year, 4))-\(pad(day.month, 2))-\(pad(day.day, 2)) \(time(reading))"
    }

    /// "Wednesday 9 December 2026".
    private static func longDay(_ day: CivilDate) -> String {
        "\(Weekday(of: day).name) \(day.day) \(monthName(day.month)) \(day.year)"
    }

    /// "09:05".
    private static func time(_ reading: LocalDateTime) -> String { "\(pad(reading.hour, 2)):\(pad(reading.minute, 2))" }

    /// `n` with leading zeros to `width` digits.
    private static func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// "2026-12-09" (four-digit year, one- or two-digit month and day), not yet checked against the calendar.
    private static func civilDate(_ text: Substring) -> CivilDate? {
        let fields = text.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 3, let year = digits(fields[0], 4...4), let month = digits(fields[1], 1...2),
              let day = digits(fields[2], 1...2) else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// "9:30", "09:30", and with `seconds` also "09:30:00"; the values are not yet range-checked.
    private static func clock(_ text: String, seconds: Bool) -> (hour: Int, minute: Int, second: Int)? {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || (seconds && fields.count == 3), let hour = digits(fields[0], 1...2),
              let minute = digits(fields[1], 2...2) else { return nil }
        guard fields.count == 3 else { return (hour, minute, 0) }
        guard let second = digits(fields[2], 2...2) else { return nil }
        return (hour, minute, second)
    }

    /// The first out-of-range part of a clock reading, if any.
    private static func problem(hour: Int, minute: Int, second: Int) -> LocalTimeError.Problem? {
        if hour > 23 { return .hourOutOfRange(hour) }
        if minute > 59 { return .minuteOutOfRange(minute) }
        if second > 59 { return .secondOutOfRange(second) }
        return nil
    }

    /// The value of `text` if it is only ASCII digits, as many as `count` allows.
    private static func digits(_ text: Substring, _ count: ClosedRange<Int>) -> Int? {
        guard count.contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}
