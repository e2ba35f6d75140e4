@testable import CirculateCore
@testable import CirculateWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

@Suite("One-click unsubscribe (RFC 8058) and its page")
struct UnsubscribeRouteTests {
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    @Test("GET shows a page with a button that posts, and changes nothing")
    func getChangesNothing() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/circulate/u/\(token)", method: .get) { response in
                    #expect(response.status == .ok)
                    let page = String(buffer: response.body)
                    #expect(page.contains("<form method=\"post\" action=\"/circulate/u/\(token)\">"))
                    #expect(page.contains("name=\"List-Unsubscribe\" value=\"One-Click\""))
                    #expect(page.contains("the monthly update"))
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                    #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
                }
            }
        }
        let member = try #require(try fixture.member())
        #expect(member.status == .active)
        #expect(member.streams == .all)
        #expect(try fixture.consentEvents().count == 1)
    }

    @Test("POST with List-Unsubscribe=One-Click, form-encoded, leaves the token's stream at once, once")
    func formEncoded() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            for attempt in 0..<2 {
                try await client.execute(uri: "/circulate/u/\(token)", method: .post, headers: Self.formHeaders,
                                         body: ByteBuffer(string: "List-Unsubscribe=One-Click")) { response in
                    #expect(response.status == .ok)
                    let page = String(buffer: response.body)
                    #expect(page.contains(attempt == 0 ? "you will no longer receive the monthly update" : "already stopped receiving"))
                }
            }
        }
        let member = try #require(try fixture.member())
        #expect(member.status == .active)
        #expect(!member.streams.monthlyUpdate && member.streams.sessionInvitations && member.streams.reports)
        let events = try fixture.consentEvents()
        #expect(events.count == 2, "one withdrawal, however often the provider posts")
        #expect(events.last?.0 == "withdrawn" && events.last?.1 == "monthly-update" && events.last?.2 == "one-click unsubscribe")
    }

    @Test("POST as multipart/form-data (RFC 8058's own example) with an every-stream token unsubscribes from everything")
    func multipart() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.unsubscribe, scope: .all, id: fixture.memberID))
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n"
        try await fixture.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/u/\(token)", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=XyZ"], body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
            }
        }
        let member = try #require(try fixture.member())
        #expect(member.status == .unsubscribed)
        #expect(member.streams == .none)
        #expect(try fixture.consentEvents().last?.2 == "one-click unsubscribe")
    }

    @Test("a POST without the one-click pair, or with a tampered, foreign or other-purpose token, changes nothing and shows the same neutral page")
    func refusals() async throws {
        let fixture = try WebFixture()
        let good = fixture.key.write(LinkToken(.unsubscribe, scope: .all, id: fixture.memberID))
        let tampered = String(good.dropLast()) + (good.hasSuffix("0") ? "1" : "0")
        let preferences = fixture.key.write(LinkToken(.preferences, scope: .all, id: fixture.memberID))
        let foreign = try InstanceKey(bytes: Array(repeating: 9, count: 32)).write(LinkToken(.unsubscribe, scope: .all, id: fixture.memberID))
        let unknownMember = fixture.key.write(LinkToken(.unsubscribe, scope: .all, id: fixture.memberID + 1000))
        let neutralPages: Set<String> = try await fixture.publicApp.test(.router) { client in
            var neutralPages: Set<String> = []
            try await client.execute(uri: "/circulate/u/\(good)", method: .post, headers: Self.formHeaders,
                                     body: ByteBuffer(string: "List-Unsubscribe=Something-Else")) { response in
                #expect(response.status == .badRequest)
            }
            for token in [tampered, preferences, foreign, unknownMember, "nonsense"] {
                for method in [HTTPRequest.Method.get, .post] {
                    let page = try await client.execute(uri: "/circulate/u/\(token)", method: method, headers: Self.formHeaders,
                                                        body: ByteBuffer(string: "List-Unsubscribe=One-Click")) { response in
                        #expect(response.status == .notFound, "\(method) \(token)")
                        return String(buffer: response.body)
                    }
                    neutralPages.insert(page)
                }
            }
            return neutralPages
        }
        #expect(neutralPages.count == 1, "every refusal looks the same")
        #expect(neutralPages.first?.contains("This link cannot be used") == true)
        #expect(try fixture.member()?.status == .active)
        #expect(try fixture.consentEvents().count == 1)
    }

    @Test("the links already in people's inboxes (…/unsubscribe/<version 1 token>) are served too")
    func legacyLinks() async throws {
        let fixture = try WebFixture()
        let old = fixture.key.unsubscribeToken(memberID: fixture.memberID)
        try await fixture.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/unsubscribe/\(old)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("action=\"/circulate/unsubscribe/\(old)\""))
            }
            try await client.execute(uri: "/circulate/unsubscribe/\(old)", method: .post, headers: Self.formHeaders,
                                     body: ByteBuffer(string: "List-Unsubscribe=One-Click")) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(try fixture.member()?.status == .unsubscribed)
    }

    @Test("queued mail for the stream is cancelled in the same transaction")
    func cancelsQueuedMail() async throws {
        let fixture = try WebFixture()
        let mailing = try Announcement(audience: Audience(stream: .monthlyUpdate), subject: "October update",
                                       bodyMarkdown: "News.", requestedStart: nil, now: WebFixture.now, createdBy: "test")
        _ = try fixture.database.enqueue(mailing, domain: "example.org", now: WebFixture.now)
        let token = fixture.key.write(LinkToken(.unsubscribe, scope: .stream(.monthlyUpdate), id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/u/\(token)", method: .post, headers: Self.formHeaders,
                                     body: ByteBuffer(string: "List-Unsubscribe=One-Click")) { response in
                #expect(response.status == .ok)
            }
        }
        let states = try fixture.database.read { db in try String.fetchAll(db, sql: "SELECT state FROM delivery") }
        #expect(states == ["cancelled"])
    }
}
