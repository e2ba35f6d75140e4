import Foundation

extension RecurrenceRule {
    /// Reads RRULE text such as "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0" (any letter case, an optional leading
    /// "RRULE:", spaces around ";", "=" and ","); the time defaults to 09:00.
    public init(parsing text: String) throws(RecurrenceRuleError) {
        let parts = try Self.parts(of: text)
        guard let freq = parts["FREQ"] else {
            throw RecurrenceRuleError(part: "FREQ", problem: "is missing; start the rule with FREQ=MONTHLY, "
                                      + "FREQ=WEEKLY or FREQ=DAILY, e.g. FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0")
        }
        let frequency = try Self.frequency(freq)
        var interval = 1
        if let part = parts["INTERVAL"] {
            interval = try Self.number(part, in: 1...12, "the interval must be a whole number from 1 to 12 (e.g. "
                                       + "INTERVAL=2 for every other week or month)")
        }
        var weekdays: [WeekdayEntry] = []
        if let part = parts["BYDAY"] { weekdays = try Self.weekdays(part) }
        var monthDays: [Int] = []
        if let part = parts["BYMONTHDAY"] { monthDays = try Self.monthDays(part) }
        var hour = 9
        if let part = parts["BYHOUR"] {
            hour = try Self.number(part, in: 0...23, "give one hour from 0 to 23 on the 24-hour clock (e.g. BYHOUR=18 "
                                   + "for 6 pm); for two times a day use two rules")
        }
        var minute = 0
        if let part = parts["BYMINUTE"] {
            minute = try Self.number(part, in: 0...59, "give one minute from 0 to 59 (e.g. BYMINUTE=30 for half past)")
        }
        try Self.check(frequency, parts, weekdays)
        self.init(frequency: frequency, interval: interval, weekdays: weekdays, monthDays: monthDays, hour: hour,
                  minute: minute)
    }

    /// One NAME=VALUE part as written, kept whole so that errors can quote it.
    private struct Part {
        let name: String
        let value: String
        /// "BYDAY=8TU", the name in capitals and the value as written.
        var written: String { "\(name)=\(value)" }
    }

    /// The parts by name, refusing empty text, parts without "=", repeats, and names outside the supported subset.
    private static func parts(of text: String) throws(RecurrenceRuleError) -> [String: Part] {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if body.uppercased().hasPrefix("RRULE:") { body = body.dropFirst("RRULE:".count) }
        var parts: [String: Part] = [:]
        for segment in body.split(separator: ";", omittingEmptySubsequences: false) {
            let trimmed = segment.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }  // a stray or trailing ";" hides nothing
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw RecurrenceRuleError(part: trimmed, problem: "has no value; write each part as NAME=VALUE, "
                                          + "e.g. BYDAY=1TU")
            }
            let part = Part(name: trimmed[..<equals].trimmingCharacters(in: .whitespaces).uppercased(),
                            value: trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces))
            if part.value.isEmpty {
                throw RecurrenceRuleError(part: part.written, problem: "has no value; write \(part.name)=VALUE")
            }
            try refuseUnsupported(part)
            if let earlier = parts[part.name] {
                throw RecurrenceRuleError(part: part.written, problem: "\(part.name) is given twice (also as "
                                          + "\"\(earlier.written)\"); give each part once, lists separated by commas")
            }
            parts[part.name] = part
        }
        if parts.isEmpty {
            throw RecurrenceRuleError(part: text, problem: "is not a recurrence rule; write e.g. "
                                      + "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0 for the first Tuesday at 09:00")
        }
        return parts
    }

    /// Refuses RFC 5545 parts outside the subset, saying what to use instead, and names that are not RRULE parts.
    private static func refuseUnsupported(_ part: Part) throws(RecurrenceRuleError) {
        let advice: String
        switch part.name {
        case "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYHOUR", "BYMINUTE":
            return
        case "COUNT", "UNTIL":
            advice = "\(part.name) is not supported: a schedule runs until it is changed or removed (remove the "
                + "schedule when it should stop)"
        case "BYSETPOS":
            advice = "BYSETPOS is not supported; put the position in BYDAY instead (e.g. BYDAY=-1FR for the last "
                + "Friday, BYDAY=2WE for the second Wednesday)"
        case "BYSECOND":
            advice = "BYSECOND is not supported: occurrences fall on whole minutes (use BYHOUR and BYMINUTE)"
        case "BYMONTH", "BYWEEKNO", "BYYEARDAY":
            advice = "\(part.name) is not supported; use FREQ=MONTHLY with INTERVAL (e.g. INTERVAL=3 for every "
                + "third month)"
        case "WKST":
            advice = "WKST is not supported: weeks always start on Monday"
        default:
            advice = "\(part.name) is not a part of a recurrence rule; use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYHOUR "
                + "and BYMINUTE"
        }
        throw RecurrenceRuleError(part: part.written, problem: advice)
    }

    private static func frequency(_ part: Part) throws(RecurrenceRuleError) -> Frequency {
        switch part.value.uppercased() {
        case "DAILY": return .daily
        case "WEEKLY": return .weekly
        case "MONTHLY": return .monthly
        case "YEARLY":
            throw RecurrenceRuleError(part: part.written, problem: "is not supported; use FREQ=MONTHLY;INTERVAL=12 "
                                      + "for once a year")
        default:
            throw RecurrenceRuleError(part: part.written, problem: "the frequency must be MONTHLY, WEEKLY or DAILY")
        }
    }

    /// A single whole number within `range`; `problem` says what is allowed.
    private static func number(_ part: Part, in range: ClosedRange<Int>, _ problem: String)
        throws(RecurrenceRuleError) -> Int {
        guard let value = wholeNumber(part.value), range.contains(value) else {
            throw RecurrenceRuleError(part: part.written, problem: problem)
        }
        return value
    }

    /// The comma-separated items of a list, trimmed; empty items are refused.
    private static func items(_ part: Part) throws(RecurrenceRuleError) -> [String] {
        let items = part.value.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if items.contains(where: \.isEmpty) {
            throw RecurrenceRuleError(part: part.written, problem: "has an empty item; separate the values with "
                                      + "single commas, e.g. \(part.name)=\(part.name == "BYDAY" ? "MO,WE" : "1,15")")
        }
        return items
    }

    /// BYDAY: "TU", "1TU", "+2WE", "-1FR", separated by commas, each at most once.
    private static func weekdays(_ part: Part) throws(RecurrenceRuleError) -> [WeekdayEntry] {
        let items = try items(part)
        var entries: [WeekdayEntry] = []
        for item in items {
            // In a list, say which item is wrong.
            let which = items.count > 1 ? "in \(item), " : ""
            // An optional signed ordinal, then the day's code: "-1FR".
            let code = item.drop(while: { "+-0123456789".contains($0) })
            guard let weekday = Weekday(code: String(code)) else {
                throw RecurrenceRuleError(part: part.written, problem: "\(which)\(code) is not a day; use MO, TU, WE, "
                                          + "TH, FR, SA or SU (e.g. BYDAY=MO, or BYDAY=1TU for the first Tuesday)")
            }
            let prefix = item.dropLast(code.count)
            var ordinal: Int?
            if !prefix.isEmpty {
                guard let n = wholeNumber(String(prefix)), (1...5).contains(abs(n)) else {
                    throw RecurrenceRuleError(part: part.written, problem: "\(which)the ordinal must be 1 to 5 or -1 "
                                              + "to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)")
                }
                ordinal = n
            }
            let entry = WeekdayEntry(ordinal: ordinal, weekday)
            if entries.contains(entry) {
                throw RecurrenceRuleError(part: part.written, problem: "\(entry.text) is given twice; give each "
                                          + "day once")
            }
            entries.append(entry)
        }
        return entries
    }

    /// BYMONTHDAY: 1...31 or -1...-31, separated by commas, each at most once.
    private static func monthDays(_ part: Part) throws(RecurrenceRuleError) -> [Int] {
        let items = try items(part)
        var days: [Int] = []
        for item in items {
            guard let day = wholeNumber(item), (1...31).contains(abs(day)) else {
                let which = items.count > 1 ? "in \(item), " : ""
                throw RecurrenceRuleError(part: part.written, problem: "\(which)the day must be 1 to 31, or -1 to "
                                          + "-31 counting from the end (e.g. BYMONTHDAY=15, BYMONTHDAY=-1 for the last "
                                          + "day)")
            }
            if days.contains(day) {
                throw RecurrenceRuleError(part: part.written, problem: "\(day) is given twice; give each day once")
            }
            days.append(day)
        }
        return days
    }

    /// The combinations the subset allows: which of BYDAY and BYMONTHDAY each frequency needs, and no ordinals
    /// outside monthly rules.
    private static func check(_ frequency: Frequency, _ parts: [String: Part], _ weekdays: [WeekdayEntry])
        throws(RecurrenceRuleError) {
        let byDay = parts["BYDAY"]
        let byMonthDay = parts["BYMONTHDAY"]
        switch frequency {
        case .daily:
            if let part = byDay ?? byMonthDay {
                throw RecurrenceRuleError(part: part.written, problem: "FREQ=DAILY fires every day; for chosen "
                                          + "weekdays write FREQ=WEEKLY;BYDAY=MO,WE, for dates "
                                          + "FREQ=MONTHLY;BYMONTHDAY=15")
            }
        case .weekly:
            if let byMonthDay {
                throw RecurrenceRuleError(part: byMonthDay.written, problem: "only applies to FREQ=MONTHLY; for a "
                                          + "weekly rule give the days with BYDAY (e.g. BYDAY=MO)")
            }
            guard let byDay else {
                throw RecurrenceRuleError(part: "FREQ=WEEKLY", problem: "needs BYDAY to say which days of the week, "
                                          + "e.g. FREQ=WEEKLY;BYDAY=MO or BYDAY=MO,WE")
            }
            if weekdays.contains(where: { $0.ordinal != nil }) {
                throw RecurrenceRuleError(part: byDay.written, problem: "an ordinal (like 1TU) only applies to "
                                          + "FREQ=MONTHLY; for a weekly rule give the days alone, e.g. BYDAY=TU")
            }
        case .monthly:
            if let byDay, let byMonthDay {
                throw RecurrenceRuleError(part: "\(byDay.written);\(byMonthDay.written)", problem: "BYDAY and "
                                          + "BYMONTHDAY cannot be combined; choose one: BYDAY for a weekday (e.g. "
                                          + "1TU), BYMONTHDAY for a date (e.g. 15)")
            }
            if byDay == nil && byMonthDay == nil {
                throw RecurrenceRuleError(part: "FREQ=MONTHLY", problem: "needs BYDAY or BYMONTHDAY to say which day "
                                          + "of the month, e.g. BYDAY=1TU for the first Tuesday or BYMONTHDAY=15")
            }
        }
    }

    /// An optionally signed whole number in ASCII digits ("+2", "-1", "09"), or nil.
    private static func wholeNumber(_ text: String) -> Int? {
        let digits = text.first == "+" || text.first == "-" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}
