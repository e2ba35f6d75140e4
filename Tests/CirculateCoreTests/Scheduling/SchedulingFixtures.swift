import Foundation

/// Zones and instants shared by the scheduling tests. Expected instants are written in UTC, worked out independently
/// (Python's zoneinfo), so a test never checks the code against itself.
enum Zones {
    /// Clocks go forward on 29 March 2026 (01:00 GMT → 02:00 BST) and back on 25 October 2026 (02:00 BST → 01:00 GMT).
    static let london = TimeZone(identifier: "Europe/London") ?? .gmt
    /// Clocks go forward on 8 March 2026 (02:00 EST → 03:00 EDT) and back on 1 November 2026 (02:00 EDT → 01:00 EST).
    static let newYork = TimeZone(identifier: "America/New_York") ?? .gmt
    static let utcZone = TimeZone(identifier: "UTC") ?? .gmt
}

/// The instant `y-m-d h:min:s` UTC (UTC has no clock changes, so Foundation's calendar is a safe oracle here).
func utc(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int = 0, _ s: Int = 0) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = Zones.utcZone
    return calendar.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min, second: s))
        ?? .distantPast
}
