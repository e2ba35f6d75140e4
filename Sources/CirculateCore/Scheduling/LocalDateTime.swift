import Foundation

/// A wall-clock reading — a day and a time of day — in no particular zone, and how it maps to instants in one.
///
/// Foundation answers "what instant is 01:30 on the night the clocks go forward?" differently from one API to the
/// next (on Linux `Calendar.date(from:)` moves it on by the gap, `date(bySettingHour:...)` snaps it to 02:00, and
/// `nextDate(..., matchingPolicy: .strict)` skips the day), so scheduling resolves wall times itself, from the
/// zone's UTC offsets alone, and follows RFC 5545 §3.3.5 on purpose rather than by accident.
struct LocalDateTime: Sendable, Hashable {
    /// How a wall-clock reading maps to instants in a zone.
    enum Resolution: Sendable, Equatable {
        /// The reading happens exactly once (nearly always).
        case unique(Date)
        /// The clocks went back and the reading happens twice; `first` is in the earlier (summer) offset.
        case repeated(first: Date, second: Date)
        /// The clocks went forward over the reading, so it never happens.
        case skipped(Gap)
    }

    /// The stretch of wall-clock time that a zone skips when its clocks go forward.
    struct Gap: Sendable, Equatable {
        /// The reading moved on by the length of the gap, as RFC 5545 §3.3.5 says (01:30 → 02:30 in London).
        let shifted: Date
        /// The last reading before the jump (01:00 in London in March)...
        let from: LocalDateTime
        /// ...and the reading the clocks jump to (02:00), the first that exists again.
        let to: LocalDateTime
    }

    let date: CivilDate
    let hour: Int
    let minute: Int
    let second: Int

    /// The earliest and latest instants decomposed (years 1 and 9999), so that the integer arithmetic cannot trap.
    private static let supportedSeconds = -62_135_596_800...253_402_300_799

    /// A reading as given; the hour, minute and second are expected in their usual ranges.
    init(date: CivilDate, hour: Int, minute: Int, second: Int = 0) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// What a clock in `zone` shows at `instant` (to the second, rounding down; clamped to the years 1–9999).
    init(_ instant: Date, in zone: TimeZone) {
        let utc = Self.wholeSeconds(instant)
        self.init(secondsAsIfUTC: utc + zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc))))
    }

    /// The reading whose value, if the wall clock were UTC, would be `seconds` after 1970-01-01T00:00.
    private init(secondsAsIfUTC seconds: Int) {
        let days = floorDiv(seconds, 86_400)
        let rest = seconds - days * 86_400
        self.init(date: CivilDate(dayNumber: days), hour: rest / 3600, minute: rest % 3600 / 60, second: rest % 60)
    }

    /// The reading's value as if the wall clock were UTC; hours and minutes out of range simply carry over.
    private var secondsAsIfUTC: Int { date.dayNumber * 86_400 + hour * 3600 + minute * 60 + second }

    /// The instant this reading names in `zone`, by RFC 5545 §3.3.5: a skipped reading moves on by the length of the
    /// gap, and a repeated one means its first occurrence.
    func instant(in zone: TimeZone) -> Date {
        switch resolve(in: zone) {
        case .unique(let instant): instant
        case .repeated(let first, _): first
        case .skipped(let gap): gap.shifted
        }
    }

    /// Every instant at which a clock in `zone` shows this reading.
    func resolve(in zone: TimeZone) -> Resolution {
        let wall = secondsAsIfUTC
        // Offsets never exceed ±14 h, so the offsets a day either side are those before and after any change that
        // could touch this reading (changes are months apart in every zone that has them).
        let before = Self.offset(zone, wall - 86_400)
        let after = Self.offset(zone, wall + 86_400)
        // An offset fits when the instant it gives really has that offset; the larger offset gives the earlier one.
        let fitting = Set([before, after]).sorted(by: >).filter { Self.offset(zone, wall - $0) == $0 }
        let instants = fitting.map { Date(timeIntervalSince1970: Double(wall - $0)) }
        switch instants.count {
        case 0:
            let change = Self.transition(zone, from: wall - 86_400, to: wall + 86_400, leaving: before)
            return .skipped(Gap(shifted: Date(timeIntervalSince1970: Double(wall - before)),
                                from: LocalDateTime(secondsAsIfUTC: change + before),
                                to: LocalDateTime(secondsAsIfUTC: change + Self.offset(zone, change))))
        case 1:
            return .unique(instants[0])
        default:
            return .repeated(first: instants[0], second: instants[1])
        }
    }

    /// The zone's offset from UTC at `seconds` after the epoch.
    private static func offset(_ zone: TimeZone, _ seconds: Int) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
    }

    /// The first second in `low...high` whose offset differs from `offset` (which `low` has and `high` does not).
    private static func transition(_ zone: TimeZone, from low: Int, to high: Int, leaving offset: Int) -> Int {
        var low = low
        var high = high
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if Self.offset(zone, middle) == offset { low = middle } else { high = middle }
        }
        return high
    }

    /// Whole seconds since the epoch, rounding down, clamped to what the calendar arithmetic supports.
    private static func wholeSeconds(_ instant: Date) -> Int {
        let seconds = instant.timeIntervalSince1970
        if seconds.isNaN { return 0 }
        let lowest = Double(supportedSeconds.lowerBound)
        let highest = Double(supportedSeconds.upperBound)
        return Int(min(max(seconds.rounded(.down), lowest), highest))
    }
}
