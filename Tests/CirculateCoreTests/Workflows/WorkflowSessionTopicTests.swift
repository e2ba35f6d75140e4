import Foundation
import GRDB
import Testing
@testable import CirculateCore

@Suite("Workflow: sessions and topics")
struct WorkflowSessionTopicTests {
    let world: WorkflowWorld
    var db: AppDatabase { world.db }

    init() throws {
        world = try WorkflowWorld()
    }

    @Test("a topic's title is unique whatever its case, and sessions find their topic by title or number")
    func topics() throws {
        let topic = try db.addTopic(title: "Hospital Discharge", description: "Leaving hospital with nowhere to go", now: setupTime)
        #expect(topic.state == .open && topic.closedAt == nil)
        let duplicate = #expect(throws: WorkflowError.self) {
            try db.addTopic(title: "hospital discharge", description: "", now: setupTime)
        }
        #expect(duplicate?.description.contains("already exists") == true)
        #expect(try world.count("SELECT count(*) FROM topic") == 1)
        #expect(throws: InvalidField.self) { try db.addTopic(title: "  ", description: "", now: setupTime) }

        // The title defaults to the topic's; an explicit title wins.
        let first = try world.session(nil, topic: "HOSPITAL DISCHARGE", start: utc(2026, 11, 5, 18))
        #expect(first.title == "Hospital Discharge")
        #expect(first.topicID == topic.id && first.topicTitle == "Hospital Discharge")
        let second = try world.session("Discharge: the housing side", topic: String(topic.id), start: utc(2026, 12, 3, 18))
        #expect(second.title == "Discharge: the housing side" && second.topicID == topic.id)
        #expect(try db.topicDetails("hospital discharge").sessions.map(\.id) == [first.id, second.id])

        let unknown = #expect(throws: WorkflowError.self) { try world.session(nil, topic: "Prison release", start: utc(2026, 12, 3, 18)) }
        #expect(unknown?.description.contains("no topic") == true)
        let untitled = #expect(throws: WorkflowError.self) { try world.session(nil, start: utc(2026, 12, 3, 18)) }
        #expect(untitled?.description.contains("--title") == true)
        #expect(try world.count("SELECT count(*) FROM session") == 2)
    }

    @Test("a closed topic takes no new sessions")
    func closedTopic() throws {
        _ = try db.addTopic(title: "Prison release", description: "", now: setupTime)
        let closed = try db.closeTopic("prison release", now: utc(2026, 10, 1, 9))
        #expect(closed.topic.state == .closed && closed.topic.closedAt == utc(2026, 10, 1, 9))
        let refused = #expect(throws: WorkflowError.self) {
            try world.session(nil, topic: "Prison release", start: utc(2026, 11, 5, 18))
        }
        #expect(refused?.description.contains("closed") == true)
        #expect(try world.count("SELECT count(*) FROM session") == 0)
        // Closing again changes nothing, not even the date.
        #expect(try db.closeTopic("Prison release", now: utc(2026, 10, 9, 9)).topic.closedAt == utc(2026, 10, 1, 9))
    }

    @Test("closing a topic lists the sessions still to come, in order, without cancelled or past ones")
    func closeListsUpcoming() throws {
        _ = try db.addTopic(title: "Mental health crisis", description: "", now: setupTime)
        let past = try world.session(nil, topic: "Mental health crisis", start: utc(2026, 10, 1, 17))
        let january = try world.session(nil, topic: "Mental health crisis", start: utc(2027, 1, 7, 18))
        let december = try world.session(nil, topic: "Mental health crisis", start: utc(2026, 12, 3, 18))
        let called = try world.session(nil, topic: "Mental health crisis", start: utc(2026, 12, 10, 18))
        _ = try db.cancelSession(called.id, reason: nil, createdBy: "sam", domain: world.domain, now: utc(2026, 11, 1, 9))
        _ = try world.session("Another topic's session", start: utc(2026, 12, 17, 18))

        let result = try db.closeTopic("mental health crisis", now: utc(2026, 11, 20, 9))
        #expect(result.upcoming.map(\.id) == [december.id, january.id])
        #expect(!result.upcoming.contains { $0.id == past.id })
    }

    @Test("a session must end after it starts, and within a week")
    func newSessionTimes() throws {
        let start = utc(2026, 11, 5, 18)
        let before = #expect(throws: InvalidField.self) {
            try NewSession(topic: nil, title: "x", startsAt: start, endsAt: start.addingTimeInterval(-3600), venueName: nil,
                           venueAddress: nil, onlineLink: nil, facilitator: nil, holdForNotes: false)
        }
        #expect(before?.field == "end")
        #expect(throws: InvalidField.self) {
            try NewSession(topic: nil, title: "x", startsAt: start, endsAt: start, venueName: nil, venueAddress: nil,
                           onlineLink: nil, facilitator: nil, holdForNotes: false)
        }
        #expect(throws: InvalidField.self) {
            try NewSession(topic: nil, title: "x", startsAt: start, endsAt: start.addingTimeInterval(8 * 86_400), venueName: nil,
                           venueAddress: nil, onlineLink: nil, facilitator: nil, holdForNotes: false)
        }
        #expect(throws: InvalidField.self) {
            try NewSession(topic: nil, title: "x", startsAt: start, endsAt: start.addingTimeInterval(3600), venueName: nil,
                           venueAddress: nil, onlineLink: "javascript:alert(1)", facilitator: nil, holdForNotes: false)
        }
    }

    @Test("the thank-you is due at 10:00 on the next local day, across both clock changes")
    func followUpTime() throws {
        // Saturday 28 March 2026, 18:00-20:00 GMT; the clocks go forward that night: Sunday 10:00 BST is 09:00Z.
        let spring = try world.session("Spring session", start: utc(2026, 3, 28, 18))
        #expect(spring.followUpAt == utc(2026, 3, 29, 9))
        // Saturday 24 October 2026, 18:00-20:00 BST (17:00-19:00Z); the clocks go back: Sunday 10:00 GMT is 10:00Z.
        let autumn = try world.session("Autumn session", start: utc(2026, 10, 24, 17))
        #expect(autumn.followUpAt == utc(2026, 10, 25, 10))
        // An ordinary winter evening.
        let winter = try world.session("Winter session", start: utc(2026, 11, 5, 18))
        #expect(winter.followUpAt == utc(2026, 11, 6, 10))
        #expect(winter.followedUpAt == nil && winter.state == .scheduled && winter.sequence == 0)
        // Stored, not only returned.
        #expect(try world.session(spring.id).followUpAt == utc(2026, 3, 29, 9))
    }
}
