import Foundation
import Testing
@testable import CirculateCore

/// RSVP=TRUE, which makes calendar programs offer their answer buttons, only on an invitation that asks for answers.
@Suite("iCalendar: RSVP=TRUE only when answers are read")
struct ICalendarAnswerButtonTests {
    @Test("an invitation asking for answers carries RSVP=TRUE; one that does not, and any cancellation, RSVP=FALSE", arguments: [
        (true, CalendarMethod.request, "TRUE"), (false, .request, "FALSE"), (true, .cancel, "FALSE"),
    ])
    func rsvp(asks: Bool, method: CalendarMethod, expected: String) throws {
        var event = try ICalendarTests.event(start: ICalendarTests.at(2026, 12, 9, 10))
        event.asksForAnswer = asks
        let parsed = try ICalendarTests.parse(try ICalendar.object(event, method: method, stamp: Date(timeIntervalSince1970: 1_795_000_000)))
        #expect(parsed["rsvp"] as? String == expected)
        #expect(parsed["attendees"] as? [String] == ["mailto:zoe@xn--bcher-kva.example"], "still one attendee")
        #expect(parsed["organizer"] as? String == "mailto:cop@example.org", "answers go to the organizer")
    }
}
