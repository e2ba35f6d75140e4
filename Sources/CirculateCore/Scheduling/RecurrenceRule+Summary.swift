extension RecurrenceRule {
    /// The rule in words for coordinators: "the first Tuesday of each month at 09:00", "every 2 weeks on Wednesday at
    /// 10:00".
    public var summary: String {
        let time = "at \(Self.twoDigits(hour)):\(Self.twoDigits(minute))"
        switch frequency {
        case .daily:
            return interval == 1 ? "every day \(time)" : "every \(interval) days \(time)"
        case .weekly:
            let days = Self.list(weekdays.map(\.weekday.name))
            return interval == 1 ? "every \(days) \(time)" : "every \(interval) weeks on \(days) \(time)"
        case .monthly:
            let month = interval == 1 ? "of each month" : "of every \(Self.ordinalNumber(interval)) month"
            let days = weekdays.isEmpty ? monthDays.map(Self.dayPhrase) : weekdays.map(Self.weekdayPhrase)
            return "\(Self.list(days)) \(month) \(time)"
        }
    }

    /// "every Tuesday", "the first Tuesday", "the last Friday", "the second-to-last Friday".
    private static func weekdayPhrase(_ entry: WeekdayEntry) -> String {
        guard let ordinal = entry.ordinal else { return "every \(entry.weekday.name)" }
        let words = ["first", "second", "third", "fourth", "fifth"]
        let position = abs(ordinal) - 1
        guard words.indices.contains(position) else { return "the \(entry.text)" }
        if ordinal == -1 { return "the last \(entry.weekday.name)" }
        return ordinal > 0 ? "the \(words[position]) \(entry.weekday.name)"
            : "the \(words[position])-to-last \(entry.weekday.name)"
    }

    /// "the 15th", "the last day", "the 2nd-to-last day".
    private static func dayPhrase(_ day: Int) -> String {
        if day > 0 { return "the \(ordinalNumber(day))" }
        return day == -1 ? "the last day" : "the \(ordinalNumber(-day))-to-last day"
    }

    /// "1st", "2nd", "3rd", "4th", "11th", "21st".
    private static func ordinalNumber(_ n: Int) -> String {
        let suffix = switch (n % 10, n % 100) {
        case (_, 11...13): "th"
        case (1, _): "st"
        case (2, _): "nd"
        case (3, _): "rd"
        default: "th"
        }
        return "\(n)\(suffix)"
    }

    /// "Monday", "Monday and Wednesday", "Monday, Wednesday and Friday".
    private static func list(_ items: [String]) -> String {
        guard let last = items.last, items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
