/// Why a local date and time given by a coordinator was refused, with the form to write instead.
public struct LocalTimeError: Failure, Equatable {
    /// What is wrong with the text.
    public enum Problem: Sendable, Equatable {
        /// Not "YYYY-MM-DD HH:MM" (or with "T", or with seconds).
        case notADateAndTime
        /// Not "HH:MM".
        case notATimeOfDay
        /// A month outside 1–12.
        case noSuchMonth(Int)
        /// A day the month does not have (30 February).
        case noSuchDay(year: Int, month: Int, day: Int)
        /// An hour outside 0–23.
        case hourOutOfRange(Int)
        /// A minute outside 0–59.
        case minuteOutOfRange(Int)
        /// A second outside 0–59.
        case secondOutOfRange(Int)
        /// The clocks in `zone` go forward over this time, from the wall time `from` straight to `to` (01:00, 02:00).
        case skippedByClockChange(zone: String, from: String, to: String)
    }

    /// The option or setting the text came from, as the coordinator wrote it ("--start").
    public let field: String
    /// The text as given.
    public let text: String
    /// What is wrong with it.
    public let problem: Problem

    /// Creates an error.
    public init(field: String, text: String, problem: Problem) {
        self.field = field
        self.text = text
        self.problem = problem
    }

    /// Always invalid input: the coordinator retypes the time.
    public var kind: FailureKind { .invalidInput }

    /// The field, the text, what is wrong and the form to write, e.g. `--start "2026-12-09 10:00"`.
    public var description: String {
        let given = "\(field) \"\(text)\""
        let dateForm = "\(field) \"2026-12-09 10:00\""
        switch problem {
        case .notADateAndTime:
            return "\(given) is not a date and time; write it as \(dateForm) (year-month-day, then hours:minutes on "
                + "the 24-hour clock)"
        case .notATimeOfDay:
            return "\(given) is not a time of day; write it as \(field) \"10:00\" (hours:minutes on the 24-hour clock)"
        case .noSuchMonth(let month):
            return "\(given): there is no month \(month); months are 01 to 12, as in \(dateForm)"
        case .noSuchDay(let year, let month, let day):
            let name = LocalTime.monthName(month)
            let length = CivilDate.daysIn(month: month, year: year)
            return "\(given): there is no \(day) \(name) \(year) (\(name) \(year) has \(length) days); check the date"
        case .hourOutOfRange(let hour):
            return "\(given): the hour must be 00 to 23, not \(hour) (midnight is 00:00 of the next day)"
        case .minuteOutOfRange(let minute):
            return "\(given): the minutes must be 00 to 59, not \(minute)"
        case .secondOutOfRange(let second):
            return "\(given): the seconds must be 00 to 59, not \(second)"
        case .skippedByClockChange(let zone, let from, let to):
            return "\(given) does not exist in \(zone): the clocks go forward from \(from) to \(to) that night; "
                + "choose a time before \(from) or from \(to) on"
        }
    }
}
