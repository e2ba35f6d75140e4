import Foundation
import Testing
@testable import CirculateCore

@Suite("Local times: what coordinators type and read")
struct LocalTimeTests {
    let london = Zones.london
    let newYork = Zones.newYork

    @Test("the three written forms read as the same wall time", arguments: [
        "2026-12-09 10:00", "2026-12-09T10:00", "2026-12-09 10:00:00", "  2026-12-09 10:00 ", "2026-12-9 10:00",
    ])
    func forms(text: String) throws {
        #expect(try LocalTime.parse(text, in: london, field: "--start") == utc(2026, 12, 9, 10))
    }

    @Test("a wall time means the zone's clock: BST in summer, EST and EDT in New York")
    func zones() throws {
        #expect(try LocalTime.parse("2026-07-07 09:00", in: london, field: "--start") == utc(2026, 7, 7, 8))
        #expect(try LocalTime.parse("2026-12-09 10:00", in: newYork, field: "--start") == utc(2026, 12, 9, 15))
        #expect(try LocalTime.parse("2026-07-07 09:00", in: newYork, field: "--start") == utc(2026, 7, 7, 13))
        #expect(try LocalTime.parse("2026-12-09 10:00:30", in: london, field: "--start") == utc(2026, 12, 9, 10, 0, 30))
    }

    @Test("the hour the clocks go forward is refused, saying which times exist")
    func gapRefused() {
        #expect(throws: LocalTimeError(field: "--start", text: "2026-03-29 01:30",
                                       problem: .skippedByClockChange(zone: "Europe/London", from: "01:00", to: "02:00"))) {
            try LocalTime.parse("2026-03-29 01:30", in: london, field: "--start")
        }
        #expect(throws: LocalTimeError(field: "--start", text: "2026-03-29 01:00",
                                       problem: .skippedByClockChange(zone: "Europe/London", from: "01:00", to: "02:00"))) {
            try LocalTime.parse("2026-03-29 01:00", in: london, field: "--start")
        }
        #expect(throws: LocalTimeError(field: "--start", text: "2026-03-08 02:30",
                                       problem: .skippedByClockChange(zone: "America/New_York", from: "02:00", to: "03:00"))) {
            try LocalTime.parse("2026-03-08 02:30", in: newYork, field: "--start")
        }
        do {
            _ = try LocalTime.parse("2026-03-29 01:30", in: london, field: "--start")
        } catch {
            #expect(error.description == #"--start "2026-03-29 01:30" does not exist in Europe/London: the clocks go forward from 01:00 to 02:00 that night; choose a time before 01:00 or from 02:00 on"#)
            #expect(error.kind == .invalidInput)
        }
    }

    @Test("the minutes either side of the gap exist")
    func gapEdges() throws {
        #expect(try LocalTime.parse("2026-03-29 00:59", in: london, field: "--start") == utc(2026, 3, 29, 0, 59))
        #expect(try LocalTime.parse("2026-03-29 02:00", in: london, field: "--start") == utc(2026, 3, 29, 1))
        #expect(try LocalTime.parse("2026-03-08 03:00", in: newYork, field: "--start") == utc(2026, 3, 8, 7))
    }

    @Test("a time the clocks repeat is its first occurrence (still on summer time)")
    func repeatedIsFirst() throws {
        #expect(try LocalTime.parse("2026-10-25 01:30", in: london, field: "--start") == utc(2026, 10, 25, 0, 30))
        #expect(try LocalTime.parse("2026-10-25 01:00", in: london, field: "--start") == utc(2026, 10, 25, 0, 0))
        #expect(try LocalTime.parse("2026-10-25 02:00", in: london, field: "--start") == utc(2026, 10, 25, 2, 0))
        #expect(try LocalTime.parse("2026-11-01 01:30", in: newYork, field: "--start") == utc(2026, 11, 1, 5, 30))
    }

    @Test("malformed and impossible dates are refused with the form to write", arguments: [
        ("tomorrow 10am", #"--start "tomorrow 10am" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("", #"--start "" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09", #"--start "2026-12-09" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("09/12/2026 10:00", #"--start "09/12/2026 10:00" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("26-12-09 10:00", #"--start "26-12-09 10:00" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09 10", #"--start "2026-12-09 10" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09 10:0", #"--start "2026-12-09 10:0" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09 10:00 pm", #"--start "2026-12-09 10:00 pm" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09 10:00Z", #"--start "2026-12-09 10:00Z" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-12-09 -1:00", #"--start "2026-12-09 -1:00" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("２０２６-12-09 10:00", #"--start "２０２６-12-09 10:00" is not a date and time; write it as --start "2026-12-09 10:00" (year-month-day, then hours:minutes on the 24-hour clock)"#),
        ("2026-13-01 10:00", #"--start "2026-13-01 10:00": there is no month 13; months are 01 to 12, as in --start "2026-12-09 10:00""#),
        ("2026-00-01 10:00", #"--start "2026-00-01 10:00": there is no month 0; months are 01 to 12, as in --start "2026-12-09 10:00""#),
        ("2026-02-30 10:00", #"--start "2026-02-30 10:00": there is no 30 February 2026 (February 2026 has 28 days); check the date"#),
        ("2026-02-29 10:00", #"--start "2026-02-29 10:00": there is no 29 February 2026 (February 2026 has 28 days); check the date"#),
        ("2026-04-31 10:00", #"--start "2026-04-31 10:00": there is no 31 April 2026 (April 2026 has 30 days); check the date"#),
        ("2026-12-00 10:00", #"--start "2026-12-00 10:00": there is no 0 December 2026 (December 2026 has 31 days); check the date"#),
        ("2026-12-09 24:00", #"--start "2026-12-09 24:00": the hour must be 00 to 23, not 24 (midnight is 00:00 of the next day)"#),
        ("2026-12-09 25:00", #"--start "2026-12-09 25:00": the hour must be 00 to 23, not 25 (midnight is 00:00 of the next day)"#),
        ("2026-12-09 10:60", #"--start "2026-12-09 10:60": the minutes must be 00 to 59, not 60"#),
        ("2026-12-09 10:00:61", #"--start "2026-12-09 10:00:61": the seconds must be 00 to 59, not 61"#),
    ])
    func refused(text: String, expected: String) {
        do {
            let date = try LocalTime.parse(text, in: london, field: "--start")
            Issue.record("\(text) was read as \(date)")
        } catch {
            #expect(error.description == expected)
            #expect(error.kind == .invalidInput)
        }
    }

    @Test("describing never crashes: instants beyond the years 1-9999, and a hand-made error with month 13")
    func robustness() {
        #expect(LocalTime.describe(Date(timeIntervalSince1970: .infinity), in: london) == "Friday 31 December 9999, 23:59")
        #expect(LocalTime.short(Date(timeIntervalSince1970: -.infinity), in: Zones.utcZone) == "0001-01-01 00:00")
        let error = LocalTimeError(field: "start", text: "x", problem: .noSuchDay(year: 2026, month: 13, day: 1))
        #expect(error.description.contains("there is no 1 month 13 2026"))
    }

    @Test("29 February exists in leap years")
    func leapDay() throws {
        #expect(try LocalTime.parse("2028-02-29 10:00", in: london, field: "--start") == utc(2028, 2, 29, 10))
    }

    @Test("times of day", arguments: [("10:00", 10, 0), ("9:30", 9, 30), ("18:05", 18, 5), ("00:00", 0, 0), ("23:59", 23, 59), (" 07:15 ", 7, 15)])
    func timeOfDay(text: String, hour: Int, minute: Int) throws {
        let parsed = try LocalTime.parseTimeOfDay(text, field: "--at")
        #expect(parsed.hour == hour && parsed.minute == minute)
    }

    @Test("times of day that are refused", arguments: [
        ("9", #"--at "9" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("9:5", #"--at "9:5" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("9.30", #"--at "9.30" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("10:00:00", #"--at "10:00:00" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("+9:30", #"--at "+9:30" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("6pm", #"--at "6pm" is not a time of day; write it as --at "10:00" (hours:minutes on the 24-hour clock)"#),
        ("24:00", #"--at "24:00": the hour must be 00 to 23, not 24 (midnight is 00:00 of the next day)"#),
        ("12:75", #"--at "12:75": the minutes must be 00 to 59, not 75"#),
    ])
    func timeOfDayRefused(text: String, expected: String) {
        do {
            let parsed = try LocalTime.parseTimeOfDay(text, field: "--at")
            Issue.record("\(text) was read as \(parsed)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("the morning after a Saturday-evening session on 28 March 2026 is 10:00 BST, which is 09:00Z")
    func dayAfterAcrossSpringForward() {
        let sessionEnd = utc(2026, 3, 28, 20)  // 20:00 GMT
        let morning = LocalTime.instant(daysAfter: 1, of: sessionEnd, hour: 10, minute: 0, in: london)
        #expect(morning == utc(2026, 3, 29, 9))
        #expect(morning != sessionEnd.addingTimeInterval(14 * 3600), "adding hours would give 10:00Z = 11:00 BST")
    }

    @Test("days after, the same day and days before, in local days")
    func daysAfter() {
        let autumnEvening = utc(2026, 10, 24, 19)  // 20:00 BST
        #expect(LocalTime.instant(daysAfter: 1, of: autumnEvening, hour: 10, minute: 0, in: london) == utc(2026, 10, 25, 10))
        #expect(LocalTime.instant(daysAfter: 0, of: autumnEvening, hour: 10, minute: 0, in: london) == utc(2026, 10, 24, 9))
        #expect(LocalTime.instant(daysAfter: -7, of: autumnEvening, hour: 18, minute: 30, in: london) == utc(2026, 10, 17, 17, 30))
        #expect(LocalTime.instant(daysAfter: 365, of: utc(2026, 1, 1, 12), hour: 9, minute: 0, in: london) == utc(2027, 1, 1, 9))
        // 22:00 EST on 9 December is already 10 December in UTC; the local day is what counts.
        let newYorkEvening = utc(2026, 12, 10, 3)
        #expect(LocalTime.instant(daysAfter: 1, of: newYorkEvening, hour: 9, minute: 0, in: newYork) == utc(2026, 12, 10, 14))
        // A time the clocks skip moves on by the gap, as in the recurrence rules.
        #expect(LocalTime.instant(daysAfter: 1, of: utc(2026, 3, 28, 12), hour: 1, minute: 30, in: london) == utc(2026, 3, 29, 1, 30))
        #expect(LocalTime.instant(daysAfter: 1, of: utc(2026, 10, 24, 12), hour: 1, minute: 30, in: london) == utc(2026, 10, 25, 0, 30))
    }

    @Test("descriptions in English with the day unpadded, whatever the machine's locale")
    func describe() {
        #expect(LocalTime.describe(utc(2026, 12, 9, 10), in: london) == "Wednesday 9 December 2026, 10:00")
        #expect(LocalTime.describe(utc(2026, 7, 7, 8), in: london) == "Tuesday 7 July 2026, 09:00")
        #expect(LocalTime.describe(utc(2026, 3, 1, 9, 5, 59), in: london) == "Sunday 1 March 2026, 09:05")
        #expect(LocalTime.describe(utc(2026, 12, 9, 10), in: newYork) == "Wednesday 9 December 2026, 05:00")
        #expect(LocalTime.describe(utc(2026, 10, 25, 1, 30), in: london) == "Sunday 25 October 2026, 01:30",
                "the second 01:30 reads the same as the first")
    }

    @Test("ranges name the end's day only when it is another local day")
    func describeRange() {
        #expect(LocalTime.describeRange(start: utc(2026, 12, 9, 10), end: utc(2026, 12, 9, 12), in: london)
                == "Wednesday 9 December 2026, 10:00 to 12:00")
        #expect(LocalTime.describeRange(start: utc(2026, 12, 9, 22), end: utc(2026, 12, 10, 1), in: london)
                == "Wednesday 9 December 2026, 22:00 to Thursday 10 December 2026, 01:00")
        // 18:00–21:00 EST crosses midnight in UTC, not in New York.
        #expect(LocalTime.describeRange(start: utc(2026, 12, 9, 23), end: utc(2026, 12, 10, 2), in: newYork)
                == "Wednesday 9 December 2026, 18:00 to 21:00")
        #expect(LocalTime.describeRange(start: utc(2026, 12, 31, 23), end: utc(2027, 1, 1, 0, 30), in: london)
                == "Thursday 31 December 2026, 23:00 to Friday 1 January 2027, 00:30")
    }

    @Test("the day alone, and the short form for tables")
    func dayAndShort() {
        #expect(LocalTime.day(utc(2026, 12, 9, 10), in: london) == "Wednesday 9 December")
        #expect(LocalTime.day(utc(2026, 12, 10, 3), in: newYork) == "Wednesday 9 December")
        #expect(LocalTime.short(utc(2026, 12, 9, 10), in: london) == "2026-12-09 10:00")
        #expect(LocalTime.short(utc(2026, 7, 7, 8, 5), in: london) == "2026-07-07 09:05")
        #expect(LocalTime.short(utc(2026, 3, 29, 1), in: london) == "2026-03-29 02:00")
    }

    @Test("short then parse gives the same instant for every quarter-hour of 2026, except the repeated hour's second pass",
          arguments: [Zones.london, Zones.newYork])
    func shortRoundTrips(zone: TimeZone) throws {
        var date = utc(2026, 1, 1, 0)
        var differences: [String] = []
        while date < utc(2027, 1, 1, 0) {
            let back = try LocalTime.parse(LocalTime.short(date, in: zone), in: zone, field: "--start")
            if back != date { differences.append(LocalTime.short(date, in: zone)) }
            date = date.addingTimeInterval(15 * 60)
        }
        let repeated = zone == Zones.london ? "2026-10-25" : "2026-11-01"
        #expect(differences == ["01:00", "01:15", "01:30", "01:45"].map { "\(repeated) \($0)" })
    }

    @Test("whole-day arithmetic agrees with Foundation's UTC calendar from 1900 to 2100, weekdays included")
    func civilDates() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Zones.utcZone
        let first = CivilDate(year: 1900, month: 1, day: 1).dayNumber
        let last = CivilDate(year: 2100, month: 12, day: 31).dayNumber
        #expect(first == -25_567 && last == 47_846)
        var mismatches = 0
        for number in first...last {
            let date = CivilDate(dayNumber: number)
            let parts = calendar.dateComponents([.year, .month, .day, .weekday],
                                                from: Date(timeIntervalSince1970: Double(number) * 86_400))
            // Foundation numbers weekdays from Sunday = 1; ISO from Monday = 1.
            if parts.year != date.year || parts.month != date.month || parts.day != date.day
                || parts.weekday.map({ ($0 + 5) % 7 + 1 }) != date.weekday || date.dayNumber != number || !date.isValid {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }
}
