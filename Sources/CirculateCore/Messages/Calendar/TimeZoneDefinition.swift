import Foundation

/// A VTIMEZONE (RFC 5545 §3.6.5) built from the zone's real transitions around an event, so calendar clients need no
/// zone database of their own and daylight-saving changes land where the system's tzdata says they do.
struct TimeZoneDefinition {
    struct Observance {
        let daylight: Bool
        /// Local wall-clock time of the change, in the offset before it.
        let localStart: String
        let offsetFrom: Int
        let offsetTo: Int
        let name: String?
    }

    let identifier: String
    let observances: [Observance]
    private static let utc = TimeZone(identifier: "UTC") ?? .gmt

    /// Every transition from the January before `start` to the December after `end`; a zone without transitions gets
    /// one STANDARD observance.
    init(_ zone: TimeZone, covering start: Date, _ end: Date) {
        identifier = zone.identifier
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let fromYear = calendar.component(.year, from: start) - 1
        let toYear = calendar.component(.year, from: end) + 1
        let from = calendar.date(from: DateComponents(year: fromYear, month: 1, day: 1)) ?? start
        let until = calendar.date(from: DateComponents(year: toYear + 1, month: 1, day: 1)) ?? end
        var list: [Observance] = []
        var cursor = from
        while let transition = zone.nextDaylightSavingTimeTransition(after: cursor), transition < until {
            let before = zone.secondsFromGMT(for: transition.addingTimeInterval(-1))
            let after = zone.secondsFromGMT(for: transition)
            list.append(Observance(daylight: zone.isDaylightSavingTime(for: transition),
                                   // The wall clock just before the change reads UTC + the old offset.
                                   localStart: ICalendar.stamp(transition.addingTimeInterval(TimeInterval(before)), Self.utc),
                                   offsetFrom: before, offsetTo: after, name: Self.name(zone, transition)))
            cursor = transition
        }
        if list.isEmpty {
            let offset = zone.secondsFromGMT(for: start)
            list.append(Observance(daylight: false, localStart: "19700101T000000", offsetFrom: offset, offsetTo: offset,
                                   name: Self.name(zone, start)))
        }
        observances = list
    }

    /// A short name like "BST", only when it is one (not a "GMT+1" made up by the formatter).
    private static func name(_ zone: TimeZone, _ date: Date) -> String? {
        guard let abbreviation = zone.abbreviation(for: date), abbreviation.count <= 6,
              abbreviation.allSatisfy({ $0.isLetter && $0.isASCII }) else { return nil }
        return abbreviation
    }

    func write(to w: inout ICalendarWriter) {
        w.line("BEGIN", "VTIMEZONE")
        w.line("TZID", identifier)
        for o in observances {
            let kind = o.daylight ? "DAYLIGHT" : "STANDARD"
            w.line("BEGIN", kind)
            w.line("DTSTART", o.localStart)  // the local time at which the change happens, in the offset before it
            w.line("TZOFFSETFROM", Self.offset(o.offsetFrom))
            w.line("TZOFFSETTO", Self.offset(o.offsetTo))
            if let name = o.name { w.line("TZNAME", name) }
            w.line("END", kind)
        }
        w.line("END", "VTIMEZONE")
    }

    static func offset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let s = abs(seconds)
        return String(format: "%@%02d%02d", sign, s / 3600, (s % 3600) / 60)
    }
}
