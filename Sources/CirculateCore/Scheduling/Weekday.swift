/// A day of the week, numbered as ISO 8601 does (Monday 1 to Sunday 7), with its English name and RFC 5545 code.
public enum Weekday: Int, Sendable, CaseIterable, Comparable {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    /// The two-letter code RFC 5545 uses in BYDAY ("MO").
    public var code: String {
        switch self {
        case .monday: "MO"
        case .tuesday: "TU"
        case .wednesday: "WE"
        case .thursday: "TH"
        case .friday: "FR"
        case .saturday: "SA"
        case .sunday: "SU"
        }
    }

    /// The English name ("Monday"); fixed, because messages must not change with the machine's locale.
    public var name: String {
        switch self {
        case .monday: "Monday"
        case .tuesday: "Tuesday"
        case .wednesday: "Wednesday"
        case .thursday: "Thursday"
        case .friday: "Friday"
        case .saturday: "Saturday"
        case .sunday: "Sunday"
        }
    }

    /// The weekday with this RFC 5545 code, in any letter case ("tu" → Tuesday).
    public init?(code: String) {
        guard let day = Self.allCases.first(where: { $0.code == code.uppercased() }) else { return nil }
        self = day
    }

    /// The weekday `date` falls on.
    init(of date: CivilDate) {
        // CivilDate.weekday is always 1...7.
        self = Weekday(rawValue: date.weekday) ?? .monday
    }

    /// Monday first, as the days of a week are listed.
    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}
