import Foundation
import Testing
@testable import CirculateCore

@Suite("Recurrence rules: reading and writing RRULE text")
struct RecurrenceRuleParsingTests {
    @Test("parts are read in any case and order, with RRULE: and spaces, and written back canonically",
          arguments: [
              ("FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0", "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0"),
              ("rrule: freq = monthly ; byday = -1fr ; byhour = 9", "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=9;BYMINUTE=0"),
              ("RRULE:FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0"),
              ("FREQ=WEEKLY;BYDAY=WE, MO;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"),
              ("BYMINUTE=30;BYHOUR=18;BYDAY=MO;FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=30"),
              ("FREQ=MONTHLY;BYMONTHDAY=-1,15,1", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYHOUR=9;BYMINUTE=0"),
              ("FREQ=MONTHLY;BYDAY=+2WE;BYMINUTE=05", "FREQ=MONTHLY;BYDAY=2WE;BYHOUR=9;BYMINUTE=5"),
              ("FREQ=MONTHLY;BYDAY=-1FR,1TU,TH", "FREQ=MONTHLY;BYDAY=TH,1TU,-1FR;BYHOUR=9;BYMINUTE=0"),
              ("FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15;", "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=9;BYMINUTE=0"),
              ("  FREQ=DAILY;BYHOUR=1;BYMINUTE=30\n", "FREQ=DAILY;BYHOUR=1;BYMINUTE=30"),
              ("FREQ=MONTHLY;INTERVAL=12;BYDAY=5SU", "FREQ=MONTHLY;INTERVAL=12;BYDAY=5SU;BYHOUR=9;BYMINUTE=0"),
          ])
    func canonicalText(input: String, canonical: String) throws {
        let rule = try RecurrenceRule(parsing: input)
        #expect(rule.description == canonical)
        #expect(try RecurrenceRule(parsing: rule.description) == rule)
    }

    @Test("the parts land in the fields, with 09:00 and an interval of 1 when not given")
    func fields() throws {
        let rule = try RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=1TU,-1FR")
        #expect(rule.frequency == .monthly)
        #expect(rule.interval == 1)
        #expect(rule.weekdays == [.init(ordinal: 1, .tuesday), .init(ordinal: -1, .friday)])
        #expect(rule.monthDays.isEmpty)
        #expect(rule.hour == 9 && rule.minute == 0)

        let weekly = try RecurrenceRule(parsing: "FREQ=WEEKLY;INTERVAL=12;BYDAY=SU,SA;BYHOUR=23;BYMINUTE=59")
        #expect(weekly.frequency == .weekly && weekly.interval == 12)
        #expect(weekly.weekdays == [.init(.saturday), .init(.sunday)])
        #expect(weekly.hour == 23 && weekly.minute == 59)

        let dates = try RecurrenceRule(parsing: "FREQ=MONTHLY;BYMONTHDAY=31,-31;BYHOUR=0")
        #expect(dates.monthDays == [31, -31])
        #expect(dates.hour == 0)
    }

    @Test("rules that mean the same compare equal; different ones do not")
    func equality() throws {
        #expect(try RecurrenceRule(parsing: "FREQ=WEEKLY;BYDAY=MO,WE") == RecurrenceRule(parsing: "freq=weekly;byday=we,mo;interval=1;byhour=9;byminute=0"))
        #expect(try RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=1TU") != RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=-1TU"))
        #expect(try RecurrenceRule(parsing: "FREQ=WEEKLY;BYDAY=MO") != RecurrenceRule(parsing: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"))
        #expect(try RecurrenceRule(parsing: "FREQ=DAILY;BYMINUTE=1") != RecurrenceRule(parsing: "FREQ=DAILY"))
    }

    @Test("refused rules name the part and the value and say what to write instead",
          arguments: [
              // Structure
              ("", #""": is not a recurrence rule; write e.g. FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0 for the first Tuesday at 09:00"#),
              (" ; ", #"" ; ": is not a recurrence rule; write e.g. FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0 for the first Tuesday at 09:00"#),
              ("BYDAY=1TU", #""FREQ": is missing; start the rule with FREQ=MONTHLY, FREQ=WEEKLY or FREQ=DAILY, e.g. FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0"#),
              ("FREQ=WEEKLY;BYDAY", #""BYDAY": has no value; write each part as NAME=VALUE, e.g. BYDAY=1TU"#),
              ("FREQ=WEEKLY;byday = ", #""BYDAY=": has no value; write BYDAY=VALUE"#),
              ("FREQ=WEEKLY;BYDAY=MO;FREQ=MONTHLY", #""FREQ=MONTHLY": FREQ is given twice (also as "FREQ=WEEKLY"); give each part once, lists separated by commas"#),
              ("FREQ=WEEKLY;BYDAY=MO;byday=we", #""BYDAY=we": BYDAY is given twice (also as "BYDAY=MO"); give each part once, lists separated by commas"#),
              // FREQ
              ("FREQ=YEARLY", #""FREQ=YEARLY": is not supported; use FREQ=MONTHLY;INTERVAL=12 for once a year"#),
              ("FREQ=HOURLY", #""FREQ=HOURLY": the frequency must be MONTHLY, WEEKLY or DAILY"#),
              ("FREQ=FORTNIGHTLY;BYDAY=MO", #""FREQ=FORTNIGHTLY": the frequency must be MONTHLY, WEEKLY or DAILY"#),
              // INTERVAL
              ("FREQ=WEEKLY;BYDAY=MO;INTERVAL=0", #""INTERVAL=0": the interval must be a whole number from 1 to 12 (e.g. INTERVAL=2 for every other week or month)"#),
              ("FREQ=WEEKLY;BYDAY=MO;INTERVAL=13", #""INTERVAL=13": the interval must be a whole number from 1 to 12 (e.g. INTERVAL=2 for every other week or month)"#),
              ("FREQ=WEEKLY;BYDAY=MO;INTERVAL=two", #""INTERVAL=two": the interval must be a whole number from 1 to 12 (e.g. INTERVAL=2 for every other week or month)"#),
              // BYDAY
              ("FREQ=MONTHLY;BYDAY=8TU", #""BYDAY=8TU": the ordinal must be 1 to 5 or -1 to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)"#),
              ("FREQ=MONTHLY;BYDAY=0TU", #""BYDAY=0TU": the ordinal must be 1 to 5 or -1 to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)"#),
              ("FREQ=MONTHLY;BYDAY=MO,-6FR", #""BYDAY=MO,-6FR": in -6FR, the ordinal must be 1 to 5 or -1 to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)"#),
              ("FREQ=MONTHLY;BYDAY=firstTU", #""BYDAY=firstTU": firstTU is not a day; use MO, TU, WE, TH, FR, SA or SU (e.g. BYDAY=MO, or BYDAY=1TU for the first Tuesday)"#),
              ("FREQ=MONTHLY;BYDAY=1-TU", #""BYDAY=1-TU": the ordinal must be 1 to 5 or -1 to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)"#),
              ("FREQ=MONTHLY;BYDAY=1XX", #""BYDAY=1XX": XX is not a day; use MO, TU, WE, TH, FR, SA or SU (e.g. BYDAY=MO, or BYDAY=1TU for the first Tuesday)"#),
              ("FREQ=WEEKLY;BYDAY=Monday", #""BYDAY=Monday": Monday is not a day; use MO, TU, WE, TH, FR, SA or SU (e.g. BYDAY=MO, or BYDAY=1TU for the first Tuesday)"#),
              ("FREQ=WEEKLY;BYDAY=MO,,WE", #""BYDAY=MO,,WE": has an empty item; separate the values with single commas, e.g. BYDAY=MO,WE"#),
              ("FREQ=WEEKLY;BYDAY=TU,tu", #""BYDAY=TU,tu": TU is given twice; give each day once"#),
              // BYMONTHDAY
              ("FREQ=MONTHLY;BYMONTHDAY=32", #""BYMONTHDAY=32": the day must be 1 to 31, or -1 to -31 counting from the end (e.g. BYMONTHDAY=15, BYMONTHDAY=-1 for the last day)"#),
              ("FREQ=MONTHLY;BYMONTHDAY=0", #""BYMONTHDAY=0": the day must be 1 to 31, or -1 to -31 counting from the end (e.g. BYMONTHDAY=15, BYMONTHDAY=-1 for the last day)"#),
              ("FREQ=MONTHLY;BYMONTHDAY=1,-32", #""BYMONTHDAY=1,-32": in -32, the day must be 1 to 31, or -1 to -31 counting from the end (e.g. BYMONTHDAY=15, BYMONTHDAY=-1 for the last day)"#),
              ("FREQ=MONTHLY;BYMONTHDAY=15,", #""BYMONTHDAY=15,": has an empty item; separate the values with single commas, e.g. BYMONTHDAY=1,15"#),
              ("FREQ=MONTHLY;BYMONTHDAY=1,01", #""BYMONTHDAY=1,01": 1 is given twice; give each day once"#),
              // BYHOUR, BYMINUTE
              ("FREQ=DAILY;BYHOUR=24", #""BYHOUR=24": give one hour from 0 to 23 on the 24-hour clock (e.g. BYHOUR=18 for 6 pm); for two times a day use two rules"#),
              ("FREQ=DAILY;BYHOUR=-1", #""BYHOUR=-1": give one hour from 0 to 23 on the 24-hour clock (e.g. BYHOUR=18 for 6 pm); for two times a day use two rules"#),
              ("FREQ=DAILY;BYHOUR=9,17", #""BYHOUR=9,17": give one hour from 0 to 23 on the 24-hour clock (e.g. BYHOUR=18 for 6 pm); for two times a day use two rules"#),
              ("FREQ=DAILY;BYMINUTE=60", #""BYMINUTE=60": give one minute from 0 to 59 (e.g. BYMINUTE=30 for half past)"#),
              ("FREQ=DAILY;BYMINUTE=0,30", #""BYMINUTE=0,30": give one minute from 0 to 59 (e.g. BYMINUTE=30 for half past)"#),
              // Combinations
              ("FREQ=MONTHLY;BYDAY=1TU;BYMONTHDAY=15", #""BYDAY=1TU;BYMONTHDAY=15": BYDAY and BYMONTHDAY cannot be combined; choose one: BYDAY for a weekday (e.g. 1TU), BYMONTHDAY for a date (e.g. 15)"#),
              ("FREQ=MONTHLY;BYHOUR=9", #""FREQ=MONTHLY": needs BYDAY or BYMONTHDAY to say which day of the month, e.g. BYDAY=1TU for the first Tuesday or BYMONTHDAY=15"#),
              ("FREQ=WEEKLY", #""FREQ=WEEKLY": needs BYDAY to say which days of the week, e.g. FREQ=WEEKLY;BYDAY=MO or BYDAY=MO,WE"#),
              ("FREQ=WEEKLY;BYDAY=1TU", #""BYDAY=1TU": an ordinal (like 1TU) only applies to FREQ=MONTHLY; for a weekly rule give the days alone, e.g. BYDAY=TU"#),
              ("FREQ=WEEKLY;BYDAY=TU;BYMONTHDAY=3", #""BYMONTHDAY=3": only applies to FREQ=MONTHLY; for a weekly rule give the days with BYDAY (e.g. BYDAY=MO)"#),
              ("FREQ=DAILY;BYDAY=MO", #""BYDAY=MO": FREQ=DAILY fires every day; for chosen weekdays write FREQ=WEEKLY;BYDAY=MO,WE, for dates FREQ=MONTHLY;BYMONTHDAY=15"#),
              ("FREQ=DAILY;BYMONTHDAY=1", #""BYMONTHDAY=1": FREQ=DAILY fires every day; for chosen weekdays write FREQ=WEEKLY;BYDAY=MO,WE, for dates FREQ=MONTHLY;BYMONTHDAY=15"#),
              // Parts outside the subset
              ("FREQ=WEEKLY;BYDAY=MO;COUNT=10", #""COUNT=10": COUNT is not supported: a schedule runs until it is changed or removed (remove the schedule when it should stop)"#),
              ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T000000Z", #""UNTIL=20261231T000000Z": UNTIL is not supported: a schedule runs until it is changed or removed (remove the schedule when it should stop)"#),
              ("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", #""BYSETPOS=-1": BYSETPOS is not supported; put the position in BYDAY instead (e.g. BYDAY=-1FR for the last Friday, BYDAY=2WE for the second Wednesday)"#),
              ("FREQ=DAILY;BYSECOND=0", #""BYSECOND=0": BYSECOND is not supported: occurrences fall on whole minutes (use BYHOUR and BYMINUTE)"#),
              ("FREQ=MONTHLY;BYMONTHDAY=1;BYMONTH=1,4,7,10", #""BYMONTH=1,4,7,10": BYMONTH is not supported; use FREQ=MONTHLY with INTERVAL (e.g. INTERVAL=3 for every third month)"#),
              ("FREQ=WEEKLY;BYDAY=MO;BYWEEKNO=20", #""BYWEEKNO=20": BYWEEKNO is not supported; use FREQ=MONTHLY with INTERVAL (e.g. INTERVAL=3 for every third month)"#),
              ("FREQ=DAILY;BYYEARDAY=100", #""BYYEARDAY=100": BYYEARDAY is not supported; use FREQ=MONTHLY with INTERVAL (e.g. INTERVAL=3 for every third month)"#),
              ("FREQ=WEEKLY;BYDAY=MO;WKST=SU", #""WKST=SU": WKST is not supported: weeks always start on Monday"#),
              ("FREQ=WEEKLY;BYDAY=MO;TZID=Europe/London", #""TZID=Europe/London": TZID is not a part of a recurrence rule; use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYHOUR and BYMINUTE"#),
          ])
    func refused(input: String, expected: String) {
        #expect(throws: RecurrenceRuleError.self) { try RecurrenceRule(parsing: input) }
        do {
            _ = try RecurrenceRule(parsing: input)
        } catch {
            #expect(error.description == expected)
            #expect(error.kind == .invalidInput)
        }
    }

    @Test("an error's parts can be read on their own, and it is a Failure the CLI can classify")
    func errorParts() {
        do {
            _ = try RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=8TU")
            Issue.record("8TU was accepted")
        } catch {
            #expect(error == RecurrenceRuleError(part: "BYDAY=8TU", problem: "the ordinal must be 1 to 5 or -1 to -5 (e.g. 1TU for the first Tuesday, -1FR for the last Friday)"))
            let failure: any Failure = error
            #expect(failure.kind == .invalidInput)
        }
    }

    @Test("summaries say the rule in words",
          arguments: [
              ("FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0", "the first Tuesday of each month at 09:00"),
              ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=30", "every Monday at 18:30"),
              ("FREQ=MONTHLY;BYDAY=-1FR", "the last Friday of each month at 09:00"),
              ("FREQ=MONTHLY;BYMONTHDAY=15", "the 15th of each month at 09:00"),
              ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=10", "every 2 weeks on Wednesday at 10:00"),
              ("FREQ=WEEKLY;BYDAY=FR,MO,WE;BYHOUR=7;BYMINUTE=5", "every Monday, Wednesday and Friday at 07:05"),
              ("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH", "every 3 weeks on Tuesday and Thursday at 09:00"),
              ("FREQ=MONTHLY;BYDAY=3TU,1TU", "the first Tuesday and the third Tuesday of each month at 09:00"),
              ("FREQ=MONTHLY;BYDAY=-2TH", "the second-to-last Thursday of each month at 09:00"),
              ("FREQ=MONTHLY;BYDAY=5MO", "the fifth Monday of each month at 09:00"),
              ("FREQ=MONTHLY;BYDAY=TU", "every Tuesday of each month at 09:00"),
              ("FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE;BYHOUR=14", "the second Wednesday of every 2nd month at 14:00"),
              ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "the 1st of every 3rd month at 09:00"),
              ("FREQ=MONTHLY;BYMONTHDAY=-1", "the last day of each month at 09:00"),
              ("FREQ=MONTHLY;BYMONTHDAY=1,22,-2", "the 1st, the 22nd and the 2nd-to-last day of each month at 09:00"),
              ("FREQ=MONTHLY;BYMONTHDAY=11,12,13,23", "the 11th, the 12th, the 13th and the 23rd of each month at 09:00"),
              ("FREQ=MONTHLY;INTERVAL=11;BYMONTHDAY=31", "the 31st of every 11th month at 09:00"),
              ("FREQ=DAILY;BYHOUR=0;BYMINUTE=0", "every day at 00:00"),
              ("FREQ=DAILY;INTERVAL=2;BYHOUR=1;BYMINUTE=30", "every 2 days at 01:30"),
          ])
    func summaries(input: String, summary: String) throws {
        #expect(try RecurrenceRule(parsing: input).summary == summary)
    }
}
