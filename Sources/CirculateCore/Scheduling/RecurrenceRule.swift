import Foundation

/// When a recurring slot falls (the monthly update, a weekly drop-in): a subset of an RFC 5545 RRULE, read in a zone.
///
/// Occurrences are wall-clock times: 09:00 means 09:00 on the coordinator's clock in winter and in summer. A time the
/// clocks skip moves on by the gap and a time they repeat means its first occurrence (RFC 5545 §3.3.5).
///
/// INTERVAL counts periods from a fixed anchor, not from the date asked about, so "every 2 weeks" names the same weeks
/// whoever asks and whenever: days count from Monday 3 January 2000, weeks are the Monday-to-Sunday weeks from that
/// Monday, and months from January 2000. A rule with INTERVAL=2 fires in the weeks (months) an even number of weeks
/// (months) after the anchor.
public struct RecurrenceRule: Sendable, Equatable, CustomStringConvertible {
    /// How long one period of the rule is.
    public enum Frequency: String, Sendable, CaseIterable {
        /// Every day (at the rule's time); mostly useful in tests.
        case daily = "DAILY"
        /// Chosen weekdays of each week.
        case weekly = "WEEKLY"
        /// Chosen weekdays or dates of each month.
        case monthly = "MONTHLY"
    }

    /// One BYDAY entry: a weekday, and for monthly rules optionally which one of the month (1 first, -1 last).
    public struct WeekdayEntry: Sendable, Hashable {
        /// 1...5 counts from the start of the month, -1...-5 from the end; nil means every such weekday.
        public let ordinal: Int?
        /// The weekday.
        public let weekday: Weekday

        /// Creates an entry; the parser checks the ordinal's range.
        public init(ordinal: Int? = nil, _ weekday: Weekday) {
            self.ordinal = ordinal
            self.weekday = weekday
        }

        /// RFC 5545 form: "TU", "1TU", "-1FR".
        public var text: String { (ordinal.map(String.init) ?? "") + weekday.code }
    }

    /// The length of one period.
    public let frequency: Frequency
    /// Fire in every `interval`-th period counted from the anchor (1...12).
    public let interval: Int
    /// BYDAY, in canonical order (empty when absent).
    public let weekdays: [WeekdayEntry]
    /// BYMONTHDAY: 1...31 from the start of the month, -1...-31 from the end, in canonical order (empty when absent).
    public let monthDays: [Int]
    /// Local hour of each occurrence (0...23).
    public let hour: Int
    /// Local minute of each occurrence (0...59).
    public let minute: Int

    /// The most occurrences `occurrences(after:through:in:)` returns, so a mistaken range cannot exhaust memory.
    public static let maximumOccurrences = 1000
    /// How far the searches look for an occurrence; every valid rule fires far more often than this.
    static let searchYears = 40

    /// A rule from parts already checked by the parser; puts lists in canonical order so equal rules compare equal.
    init(frequency: Frequency, interval: Int, weekdays: [WeekdayEntry], monthDays: [Int], hour: Int, minute: Int) {
        self.frequency = frequency
        self.interval = interval
        self.weekdays = weekdays.sorted { Self.rank($0) < Self.rank($1) }
        self.monthDays = monthDays.sorted { Self.rank($0) < Self.rank($1) }
        self.hour = hour
        self.minute = minute
    }

    /// The canonical RRULE text (parts always in the same order), which parses back to an equal rule.
    public var description: String {
        var parts = ["FREQ=\(frequency.rawValue)"]
        if interval != 1 { parts.append("INTERVAL=\(interval)") }
        if !weekdays.isEmpty { parts.append("BYDAY=" + weekdays.map(\.text).joined(separator: ",")) }
        if !monthDays.isEmpty { parts.append("BYMONTHDAY=" + monthDays.map(String.init).joined(separator: ",")) }
        parts.append("BYHOUR=\(hour)")
        parts.append("BYMINUTE=\(minute)")
        return parts.joined(separator: ";")
    }

    /// The first occurrence strictly after `date`, or nil if there is none within `searchYears`.
    public func nextOccurrence(after date: Date, in zone: TimeZone) -> Date? {
        // Start a day early: an occurrence on the previous local day could have been moved past midnight by a gap.
        let first = period(of: LocalDateTime(date, in: zone).date.adding(days: -1))
        for index in first...(first + periodsToSearch) {
            for day in days(inPeriod: index) {
                let instant = occurrence(on: day, in: zone)
                if instant > date { return instant }
            }
        }
        return nil
    }

    /// Every occurrence in `(start, end]`, ascending, at most `maximumOccurrences` of them.
    public func occurrences(after start: Date, through end: Date, in zone: TimeZone) -> [Date] {
        var found: [Date] = []
        var cursor = start
        while found.count < Self.maximumOccurrences, let next = nextOccurrence(after: cursor, in: zone), next <= end {
            found.append(next)
            cursor = next
        }
        return found
    }

    /// The latest occurrence at or before `date`, or nil if there is none within `searchYears` before it.
    public func previousOccurrence(atOrBefore date: Date, in zone: TimeZone) -> Date? {
        let last = period(of: LocalDateTime(date, in: zone).date.adding(days: 1))
        for index in stride(from: last, through: last - periodsToSearch, by: -1) {
            for day in days(inPeriod: index).reversed() {
                let instant = occurrence(on: day, in: zone)
                if instant <= date { return instant }
            }
        }
        return nil
    }

    /// The instant of the occurrence on local day `day`.
    private func occurrence(on day: CivilDate, in zone: TimeZone) -> Date {
        LocalDateTime(date: day, hour: hour, minute: minute).instant(in: zone)
    }

    private var periodsToSearch: Int {
        switch frequency {
        case .daily: Self.searchYears * 366
        case .weekly: Self.searchYears * 53
        case .monthly: Self.searchYears * 12
        }
    }

    /// The number of the period (day, Monday-to-Sunday week, or month) holding `day`, counted from the anchor.
    private func period(of day: CivilDate) -> Int {
        switch frequency {
        case .daily: day.dayNumber - CivilDate.anchor.dayNumber
        case .weekly: floorDiv(day.dayNumber - CivilDate.anchor.dayNumber, 7)
        case .monthly: (day.year - CivilDate.anchor.year) * 12 + day.month - 1
        }
    }

    /// The local days in period `index` on which the rule fires, ascending; none in periods the interval skips.
    private func days(inPeriod index: Int) -> [CivilDate] {
        guard floorMod(index, interval) == 0 else { return [] }
        switch frequency {
        case .daily:
            return [CivilDate.anchor.adding(days: index)]
        case .weekly:
            let monday = CivilDate.anchor.adding(days: 7 * index)
            return weekdays.map { monday.adding(days: $0.weekday.rawValue - 1) }.sorted()
        case .monthly:
            let year = CivilDate.anchor.year + floorDiv(index, 12)
            let month = floorMod(index, 12) + 1
            return daysOfMonth(year: year, month: month).sorted().map { CivilDate(year: year, month: month, day: $0) }
        }
    }

    /// The days of one month that BYDAY or BYMONTHDAY choose; an ordinal or date the month lacks chooses nothing
    /// (RFC 5545 skips a 5th Monday or a 31st where there is none, rather than moving it).
    private func daysOfMonth(year: Int, month: Int) -> Set<Int> {
        let length = CivilDate.daysIn(month: month, year: year)
        var chosen = Set<Int>()
        for day in monthDays {
            let dayOfMonth = day > 0 ? day : length + 1 + day
            if (1...length).contains(dayOfMonth) { chosen.insert(dayOfMonth) }
        }
        let firstWeekday = CivilDate(year: year, month: month, day: 1).weekday
        for entry in weekdays {
            let first = 1 + floorMod(entry.weekday.rawValue - firstWeekday, 7)
            let all = Array(stride(from: first, through: length, by: 7))
            switch entry.ordinal {
            case nil: chosen.formUnion(all)
            case let n? where n > 0 && n <= all.count: chosen.insert(all[n - 1])
            case let n? where n < 0 && -n <= all.count: chosen.insert(all[all.count + n])
            default: break
            }
        }
        return chosen
    }

    /// Canonical BYDAY order: every-weekday entries, then 1st...5th, then last...5th-from-last; Monday first within.
    private static func rank(_ entry: WeekdayEntry) -> Int {
        let position = entry.ordinal.map { $0 > 0 ? $0 : 5 - $0 } ?? 0
        return position * 10 + entry.weekday.rawValue
    }

    /// Canonical BYMONTHDAY order: dates from the start ascending, then from the end (-31 ... -1).
    private static func rank(_ day: Int) -> Int { day > 0 ? day : 64 + day }
}
