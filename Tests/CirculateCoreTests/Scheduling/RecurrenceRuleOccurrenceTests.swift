import Foundation
import Testing
@testable import CirculateCore

@Suite("Recurrence rules: when the slots fall")
struct RecurrenceRuleOccurrenceTests {
    let london = Zones.london
    let newYork = Zones.newYork

    func rule(_ text: String) throws -> RecurrenceRule { try RecurrenceRule(parsing: text) }

    /// The local days (as `LocalTime.short` writes them) of a list of instants, to read monthly patterns at a glance.
    func days(_ dates: [Date], in zone: TimeZone) -> [String] { dates.map { LocalTime.short($0, in: zone) } }

    @Test("the first Tuesday at 09:00 in London is 09:00Z in winter and 08:00Z in summer, all through 2026")
    func firstTuesdayLondon() throws {
        let slots = try rule("FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0")
            .occurrences(after: utc(2025, 12, 31, 0), through: utc(2026, 12, 31, 23), in: london)
        #expect(slots == [
            utc(2026, 1, 6, 9), utc(2026, 2, 3, 9), utc(2026, 3, 3, 9),
            utc(2026, 4, 7, 8), utc(2026, 5, 5, 8), utc(2026, 6, 2, 8), utc(2026, 7, 7, 8), utc(2026, 8, 4, 8),
            utc(2026, 9, 1, 8), utc(2026, 10, 6, 8),
            utc(2026, 11, 3, 9), utc(2026, 12, 1, 9),
        ])
        #expect(slots.first == utc(2026, 1, 6, 9), "January: 09:00 GMT is 09:00Z")
        #expect(slots[6] == utc(2026, 7, 7, 8), "July: 09:00 BST is 08:00Z")
    }

    @Test("the next occurrence is strictly after the date given")
    func strictlyAfter() throws {
        let r = try rule("FREQ=MONTHLY;BYDAY=1TU")
        #expect(r.nextOccurrence(after: utc(2026, 1, 6, 8, 59, 59), in: london) == utc(2026, 1, 6, 9))
        #expect(r.nextOccurrence(after: utc(2026, 1, 6, 9), in: london) == utc(2026, 2, 3, 9))
        #expect(r.nextOccurrence(after: utc(2026, 12, 1, 9, 0, 1), in: london) == utc(2027, 1, 5, 9))
    }

    @Test("occurrences cover (start, end]: the start is excluded, the end included, an empty range gives none")
    func rangeBounds() throws {
        let r = try rule("FREQ=MONTHLY;BYDAY=1TU")
        #expect(r.occurrences(after: utc(2026, 1, 6, 9), through: utc(2026, 3, 3, 9), in: london)
                == [utc(2026, 2, 3, 9), utc(2026, 3, 3, 9)])
        #expect(r.occurrences(after: utc(2026, 3, 3, 9), through: utc(2026, 1, 1, 0), in: london).isEmpty)
        #expect(r.occurrences(after: utc(2026, 1, 7, 0), through: utc(2026, 2, 3, 8, 59), in: london).isEmpty)
    }

    @Test("the last Friday of each month")
    func lastFriday() throws {
        let slots = try rule("FREQ=MONTHLY;BYDAY=-1FR")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2027, 1, 1, 0), in: london)
        #expect(days(slots, in: london) == [
            "2026-01-30 09:00", "2026-02-27 09:00", "2026-03-27 09:00", "2026-04-24 09:00", "2026-05-29 09:00",
            "2026-06-26 09:00", "2026-07-31 09:00", "2026-08-28 09:00", "2026-09-25 09:00", "2026-10-30 09:00",
            "2026-11-27 09:00", "2026-12-25 09:00",
        ])
        #expect(slots[6] == utc(2026, 7, 31, 8))
    }

    @Test("a fifth Monday is skipped in months without one, not moved")
    func fifthMonday() throws {
        let slots = try rule("FREQ=MONTHLY;BYDAY=5MO;BYHOUR=18;BYMINUTE=30")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2028, 1, 1, 0), in: london)
        #expect(days(slots, in: london) == [
            "2026-03-30 18:30", "2026-06-29 18:30", "2026-08-31 18:30", "2026-11-30 18:30",
            "2027-03-29 18:30", "2027-05-31 18:30", "2027-08-30 18:30", "2027-11-29 18:30",
        ])
    }

    @Test("plain BYDAY in a monthly rule is every such weekday of the month; -5 counts from the end")
    func everyWeekdayOfMonth() throws {
        let every = try rule("FREQ=MONTHLY;BYDAY=TU")
            .occurrences(after: utc(2026, 3, 1, 0), through: utc(2026, 4, 1, 0), in: london)
        #expect(days(every, in: london) == ["2026-03-03 09:00", "2026-03-10 09:00", "2026-03-17 09:00",
                                            "2026-03-24 09:00", "2026-03-31 09:00"])
        #expect(every.last == utc(2026, 3, 31, 8), "31 March is after the clocks went forward")
        // March 2026 has five Mondays (2, 9, 16, 23, 30), so the fifth from the end is the first.
        let fifthLast = try rule("FREQ=MONTHLY;BYDAY=-5MO")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2026, 7, 1, 0), in: london)
        #expect(days(fifthLast, in: london) == ["2026-03-02 09:00", "2026-06-01 09:00"])
    }

    @Test("BYMONTHDAY=31 skips shorter months; -1 is the last day, leap years included")
    func monthDays() throws {
        let thirtyFirst = try rule("FREQ=MONTHLY;BYMONTHDAY=31")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2027, 1, 1, 0), in: london)
        #expect(days(thirtyFirst, in: london) == [
            "2026-01-31 09:00", "2026-03-31 09:00", "2026-05-31 09:00", "2026-07-31 09:00", "2026-08-31 09:00",
            "2026-10-31 09:00", "2026-12-31 09:00",
        ])
        let last = try rule("FREQ=MONTHLY;BYMONTHDAY=-1")
        #expect(days(last.occurrences(after: utc(2026, 1, 1, 0), through: utc(2026, 5, 1, 0), in: london), in: london)
                == ["2026-01-31 09:00", "2026-02-28 09:00", "2026-03-31 09:00", "2026-04-30 09:00"])
        #expect(last.nextOccurrence(after: utc(2028, 2, 1, 0), in: london) == utc(2028, 2, 29, 9))
        #expect(last.nextOccurrence(after: utc(2100, 2, 1, 0), in: london) == utc(2100, 2, 28, 9), "2100 is no leap year")
        let thirtieth = try rule("FREQ=MONTHLY;BYMONTHDAY=30")
        #expect(thirtieth.nextOccurrence(after: utc(2026, 1, 31, 0), in: london) == utc(2026, 3, 30, 8))
        // -31 exists only in 31-day months, where it is the 1st.
        let minus31 = try rule("FREQ=MONTHLY;BYMONTHDAY=-31")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2026, 6, 1, 0), in: london)
        #expect(days(minus31, in: london) == ["2026-01-01 09:00", "2026-03-01 09:00", "2026-05-01 09:00"])
    }

    @Test("every 2 weeks falls in the same weeks whatever date the search starts from")
    func fortnightlyIsAnchored() throws {
        let r = try rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=10")
        // Weeks are counted from Monday 3 January 2000; 2 December 2026 is in an even week, 25 November in an odd one.
        for start in [utc(2026, 11, 24, 0), utc(2026, 11, 26, 12), utc(2026, 11, 30, 0), utc(2026, 12, 2, 9, 59)] {
            #expect(r.nextOccurrence(after: start, in: london) == utc(2026, 12, 2, 10), "from \(start)")
        }
        #expect(r.nextOccurrence(after: utc(2026, 12, 2, 10), in: london) == utc(2026, 12, 16, 10))
        let fromNovember = r.occurrences(after: utc(2026, 11, 1, 0), through: utc(2027, 3, 1, 0), in: london)
        let fromDecember = r.occurrences(after: utc(2026, 12, 9, 0), through: utc(2027, 3, 1, 0), in: london)
        #expect(fromNovember.count == 9)
        #expect(Array(fromNovember.suffix(fromDecember.count)) == fromDecember)
        #expect(zip(fromNovember, fromNovember.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 14 * 86_400 })
    }

    @Test("two days a week, every week")
    func twoDaysAWeek() throws {
        let slots = try rule("FREQ=WEEKLY;BYDAY=WE,MO;BYHOUR=18;BYMINUTE=30")
            .occurrences(after: utc(2026, 12, 1, 0), through: utc(2026, 12, 15, 0), in: london)
        #expect(days(slots, in: london) == ["2026-12-02 18:30", "2026-12-07 18:30", "2026-12-09 18:30",
                                            "2026-12-14 18:30"])
    }

    @Test("every 3 months counts months from January 2000, whatever the start")
    func quarterly() throws {
        let r = try rule("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
        for start in [utc(2026, 1, 15, 0), utc(2026, 2, 15, 0), utc(2026, 3, 31, 0)] {
            #expect(r.nextOccurrence(after: start, in: london) == utc(2026, 4, 1, 8), "from \(start)")
        }
        #expect(days(r.occurrences(after: utc(2026, 4, 2, 0), through: utc(2027, 4, 2, 0), in: london), in: london)
                == ["2026-07-01 09:00", "2026-10-01 09:00", "2027-01-01 09:00", "2027-04-01 09:00"])
    }

    @Test("a daily 01:30 in London: 02:30 BST on 29 March (the gap), the first 01:30 on 25 October (the repeat)")
    func dailyAcrossLondonClockChanges() throws {
        let r = try rule("FREQ=DAILY;BYHOUR=1;BYMINUTE=30")
        #expect(r.occurrences(after: utc(2026, 3, 27, 12), through: utc(2026, 3, 31, 12), in: london) == [
            utc(2026, 3, 28, 1, 30),  // 01:30 GMT
            utc(2026, 3, 29, 1, 30),  // 01:30 does not exist; moved on by the hour-long gap to 02:30 BST
            utc(2026, 3, 30, 0, 30),  // 01:30 BST
            utc(2026, 3, 31, 0, 30),
        ])
        #expect(r.occurrences(after: utc(2026, 10, 23, 12), through: utc(2026, 10, 27, 12), in: london) == [
            utc(2026, 10, 24, 0, 30),  // 01:30 BST
            utc(2026, 10, 25, 0, 30),  // the first 01:30 (BST); the second, 01:30 GMT, is not another occurrence
            utc(2026, 10, 26, 1, 30),  // 01:30 GMT
            utc(2026, 10, 27, 1, 30),
        ])
        #expect(r.nextOccurrence(after: utc(2026, 10, 25, 0, 30), in: london) == utc(2026, 10, 26, 1, 30))
        #expect(LocalTime.describe(utc(2026, 3, 29, 1, 30), in: london) == "Sunday 29 March 2026, 02:30")
    }

    @Test("a daily 09:00 in London stays 09:00 on the clock the days before and after each change")
    func dailyNineAcrossChanges() throws {
        let r = try rule("FREQ=DAILY")
        #expect(r.occurrences(after: utc(2026, 3, 28, 0), through: utc(2026, 3, 30, 0), in: london)
                == [utc(2026, 3, 28, 9), utc(2026, 3, 29, 8)])
        #expect(r.occurrences(after: utc(2026, 10, 24, 0), through: utc(2026, 10, 26, 0), in: london)
                == [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9)])
    }

    @Test("New York changes its clocks on other dates (8 March, 1 November) and the rule follows them")
    func otherZone() throws {
        let second = try rule("FREQ=MONTHLY;BYDAY=2WE;BYHOUR=18;BYMINUTE=30")
            .occurrences(after: utc(2026, 1, 1, 0), through: utc(2027, 1, 1, 0), in: newYork)
        #expect(second == [
            utc(2026, 1, 14, 23, 30), utc(2026, 2, 11, 23, 30), utc(2026, 3, 11, 22, 30), utc(2026, 4, 8, 22, 30),
            utc(2026, 5, 13, 22, 30), utc(2026, 6, 10, 22, 30), utc(2026, 7, 8, 22, 30), utc(2026, 8, 12, 22, 30),
            utc(2026, 9, 9, 22, 30), utc(2026, 10, 14, 22, 30), utc(2026, 11, 11, 23, 30), utc(2026, 12, 9, 23, 30),
        ])
        // 11 March: New York is on summer time already and London not yet, so the two are four hours apart, not five.
        let london = try rule("FREQ=MONTHLY;BYDAY=2WE;BYHOUR=18;BYMINUTE=30")
            .nextOccurrence(after: utc(2026, 3, 1, 0), in: Zones.london)
        #expect(london == utc(2026, 3, 11, 18, 30))

        let daily = try rule("FREQ=DAILY;BYHOUR=2;BYMINUTE=30")
        #expect(daily.occurrences(after: utc(2026, 3, 7, 0), through: utc(2026, 3, 9, 12), in: newYork)
                == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)],
                "02:30 on 8 March does not exist: 03:30 EDT")
        let early = try rule("FREQ=DAILY;BYHOUR=1;BYMINUTE=30")
        #expect(early.occurrences(after: utc(2026, 10, 31, 0), through: utc(2026, 11, 2, 12), in: newYork)
                == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
                "01:30 on 1 November happens twice: the first is 01:30 EDT")
    }

    @Test("a zone's local day decides the date: 1 January 09:00 in Auckland is still 31 December in UTC")
    func localDayNotUTCDay() throws {
        let auckland = try #require(TimeZone(identifier: "Pacific/Auckland"))
        let r = try rule("FREQ=MONTHLY;BYMONTHDAY=1")
        // Auckland is on summer time (UTC+13) in January.
        #expect(r.nextOccurrence(after: utc(2026, 12, 31, 0), in: auckland) == utc(2026, 12, 31, 20))
    }

    @Test("the previous occurrence is the latest at or before the date")
    func previous() throws {
        let r = try rule("FREQ=MONTHLY;BYDAY=1TU")
        #expect(r.previousOccurrence(atOrBefore: utc(2026, 7, 7, 8), in: london) == utc(2026, 7, 7, 8))
        #expect(r.previousOccurrence(atOrBefore: utc(2026, 7, 7, 7, 59, 59), in: london) == utc(2026, 6, 2, 8))
        #expect(r.previousOccurrence(atOrBefore: utc(2026, 3, 2, 12), in: london) == utc(2026, 2, 3, 9))
        #expect(r.previousOccurrence(atOrBefore: utc(2026, 1, 5, 12), in: london) == utc(2025, 12, 2, 9))

        let fortnightly = try rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=10")
        #expect(fortnightly.previousOccurrence(atOrBefore: utc(2026, 12, 15, 0), in: london) == utc(2026, 12, 2, 10))
        #expect(fortnightly.previousOccurrence(atOrBefore: utc(2026, 12, 1, 0), in: london) == utc(2026, 11, 18, 10))

        let daily = try rule("FREQ=DAILY;BYHOUR=1;BYMINUTE=30")
        #expect(daily.previousOccurrence(atOrBefore: utc(2026, 10, 25, 1, 45), in: london) == utc(2026, 10, 25, 0, 30),
                "at 01:45 GMT on 25 October the day's (first) 01:30 has passed")
        #expect(daily.previousOccurrence(atOrBefore: utc(2026, 3, 29, 1, 29), in: london) == utc(2026, 3, 28, 1, 30))
        #expect(daily.previousOccurrence(atOrBefore: utc(2026, 3, 29, 1, 30), in: london) == utc(2026, 3, 29, 1, 30))
    }

    @Test("previous and next agree: next(after previous(d)) is the first occurrence after d")
    func previousAndNextAgree() throws {
        let r = try rule("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17")
        var date = utc(2026, 1, 1, 0)
        while date < utc(2027, 1, 1, 0) {
            let previous = try #require(r.previousOccurrence(atOrBefore: date, in: london))
            let next = try #require(r.nextOccurrence(after: date, in: london))
            #expect(previous <= date && next > date)
            #expect(r.nextOccurrence(after: previous, in: london) == next)
            date = date.addingTimeInterval(3 * 86_400 + 3_600)  // a stride that lands at all hours of the day
        }
    }

    @Test("a year-spanning rule is found even years away: the fifth Sunday of every 12th month (January)")
    func rareRule() throws {
        let r = try rule("FREQ=MONTHLY;INTERVAL=12;BYDAY=5SU")
        // January has five Sundays when it starts on a Friday, Saturday or Sunday: 2027, 2028, then 2033.
        #expect(days(r.occurrences(after: utc(2026, 1, 1, 0), through: utc(2034, 1, 1, 0), in: london), in: london)
                == ["2027-01-31 09:00", "2028-01-30 09:00", "2033-01-30 09:00"])
        #expect(r.previousOccurrence(atOrBefore: utc(2033, 1, 1, 0), in: london) == utc(2028, 1, 30, 9))
    }

    @Test("instants at the ends of time give answers or nil, never a crash")
    func endsOfTime() throws {
        let r = try rule("FREQ=MONTHLY;BYDAY=1TU")
        let afterFuture = try #require(r.nextOccurrence(after: .distantFuture, in: london))
        #expect(afterFuture > .distantFuture)
        #expect(r.previousOccurrence(atOrBefore: .distantFuture, in: london).map { $0 <= .distantFuture } == true)
        #expect(r.nextOccurrence(after: Date(timeIntervalSince1970: .infinity), in: london) == nil)
        #expect(r.nextOccurrence(after: Date(timeIntervalSince1970: .nan), in: london) == nil)
        #expect(r.occurrences(after: utc(2026, 1, 1, 0), through: Date(timeIntervalSince1970: .infinity), in: london)
                .count == RecurrenceRule.maximumOccurrences)
        _ = r.previousOccurrence(atOrBefore: .distantPast, in: london)
    }

    @Test("a long range stops at the cap")
    func cap() throws {
        let slots = try rule("FREQ=DAILY").occurrences(after: utc(2026, 1, 1, 0), through: utc(2036, 1, 1, 0), in: london)
        #expect(slots.count == RecurrenceRule.maximumOccurrences)
        #expect(slots.first == utc(2026, 1, 1, 9))
        #expect(LocalTime.short(slots[999], in: london) == "2028-09-26 09:00")
    }
}
