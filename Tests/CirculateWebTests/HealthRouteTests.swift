@testable import CirculateCore
@testable import CirculateWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Health and metrics for the operator")
struct HealthRouteTests {
    @Test("/healthz says ok while the scheduler ticks and the relay answers, and why not otherwise")
    func healthz() async throws {
        let fixture = try WebFixture()
        fixture.health.schedulerTicked()
        try await fixture.operatorApp.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
            fixture.health.storageProblem("the database cannot be used since today (disk full)")
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("not ok: the database cannot be used since today (disk full)"))
            }
            fixture.health.storageProblem(nil)
            fixture.health.schedulerTicked(at: Date().addingTimeInterval(-3600))
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("the scheduler has not looked for due work since"))
            }
        }
    }

    @Test("/healthz turns bad when the daemon has not been able to read the mailbox for 15 minutes, not before, and good once a poll reads it")
    func mailboxProblem() async throws {
        let fixture = try WebFixture(inbox: true)
        fixture.health.schedulerTicked()
        let problem = "the mailbox imaps://mail.example.org:993 refused the OAuth2 token for riverside (Login denied)"
        try fixture.database.recordMailboxProblem(problem, at: WebFixture.now.addingTimeInterval(-600))
        try await fixture.operatorApp.test(.router) { client in
            // Ten minutes (plus the fixture's one): a restarting server, not yet worth a page.
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        // Failing for twenty minutes, poll after poll: the start of the trouble is kept, and it is reported.
        let later = try WebFixture(inbox: true)
        later.health.schedulerTicked()
        try later.database.recordMailboxProblem(problem, at: WebFixture.now.addingTimeInterval(-1200))
        try later.database.recordMailboxProblem(problem, at: WebFixture.now)
        try await later.operatorApp.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("not ok: the mailbox cannot be read since"))
                #expect(String(buffer: response.body).contains("refused the OAuth2 token"))
            }
            try later.database.recordMailboxRead(at: WebFixture.now)
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        // Without [inbox], an old note about the mailbox says nothing about health.
        let without = try WebFixture()
        without.health.schedulerTicked()
        try without.database.recordMailboxProblem(problem, at: WebFixture.now.addingTimeInterval(-7200))
        try await without.operatorApp.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("/metrics is Prometheus text with outcome counters and the queue's depth from the database")
    func metrics() async throws {
        let fixture = try WebFixture()
        var tally = DeliveryTally()
        tally.sent = 5
        tally.bounced = 2
        fixture.metrics.record(tally)
        fixture.metrics.schedulerTicked()
        let mailing = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "October update",
                                       bodyMarkdown: "News.", requestedStart: nil, now: WebFixture.now, createdBy: "test")
        _ = try fixture.database.enqueue(mailing, domain: "example.org", now: WebFixture.now)
        try await fixture.operatorApp.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let text = String(buffer: response.body)
                #expect(text.contains("circulate_messages_total{outcome=\"sent\"} 5"))
                #expect(text.contains("circulate_messages_total{outcome=\"bounced\"} 2"))
                #expect(text.contains("circulate_scheduler_ticks_total 1"))
                #expect(text.contains("circulate_queue_messages{state=\"queued\"} 1"))
                #expect(!text.contains("example.org"), "numbers only, never an address")
            }
        }
    }
}
