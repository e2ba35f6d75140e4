/// A day on the proleptic Gregorian calendar with no time zone attached: the "9 December 2026" a coordinator means.
///
/// Day arithmetic happens here, on whole days, so that moving to "the next day" never adds 86,400 seconds to an
/// instant (a day with a clock change is 23 or 25 hours long). Turning a day and a wall time into an instant is
/// `LocalDateTime`'s job.
struct CivilDate: Sendable, Hashable, Comparable {
    let year: Int
    let month: Int
    let day: Int

    /// The first Monday of 2000, from which weekly and daily rules count their intervals.
    static let anchor = CivilDate(year: 2000, month: 1, day: 3)

    /// A date as given; call `isValid` when the parts come from outside.
    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `dayNumber` days after 1970-01-01 (negative before it).
    ///
    /// Howard Hinnant's `civil_from_days`: exact integer arithmetic over 400-year eras, no calendar object needed.
    init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // March = 0, so the leap day ends the year
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 (Hinnant's `days_from_civil`).
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// ISO weekday: 1 is Monday, 7 is Sunday.
    var weekday: Int {
        // 1970-01-01 was a Thursday (4).
        floorMod(dayNumber + 3, 7) + 1
    }

    /// The number of days in this date's month.
    var daysInMonth: Int { Self.daysIn(month: month, year: year) }

    /// Whether the month is 1–12 and the day exists in it.
    var isValid: Bool { (1...12).contains(month) && day >= 1 && day <= daysInMonth }

    /// The date `days` days later (earlier when negative).
    func adding(days: Int) -> CivilDate { CivilDate(dayNumber: dayNumber + days) }

    /// The number of days in `month` of `year`.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Gregorian leap years: every fourth year, except centuries not divisible by 400.
    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.dayNumber < rhs.dayNumber }
}

/// `a mod n` in 0..<n for any sign of `a` (Swift's `%` keeps the sign of `a`).
func floorMod(_ a: Int, _ n: Int) -> Int {
    let r = a % n
    return r < 0 ? r + n : r
}

/// `a / n` rounded towards minus infinity.
func floorDiv(_ a: Int, _ n: Int) -> Int {
    (a - floorMod(a, n)) / n
}
