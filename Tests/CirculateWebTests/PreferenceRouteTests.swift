@testable import CirculateCore
@testable import CirculateWeb
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("The preference page: streams, leaving everything, asking to be erased")
struct PreferenceRouteTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// The form's guard value as the page served it.
    static func guardValue(_ page: String) -> String? {
        guard let range = page.range(of: "name=\"form\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test("GET shows the streams as ticked boxes and changes nothing; saving with one box cleared leaves that stream only")
    func streams() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.preferences, scope: .all, id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            let page = try await client.execute(uri: "/circulate/p/\(token)", method: .get) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(page.components(separatedBy: " checked>").count - 1 == 3, "every stream is ticked")
            #expect(page.contains("<label for=\"stream-monthly-update\">"))
            let guardValue = try #require(Self.guardValue(page))
            try await client.execute(uri: "/circulate/p/\(token)", method: .post, headers: Self.form,
                                     body: ByteBuffer(string: "form=\(guardValue)&stream=session-invitations&stream=reports&save=1")) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("Saved: you now receive invitations to sessions, reports."))
            }
        }
        let member = try #require(try fixture.member())
        #expect(member.status == .active && !member.streams.monthlyUpdate && member.streams.sessionInvitations && member.streams.reports)
        #expect(try fixture.consentEvents().last?.2 == "preference page")
    }

    @Test("a post without the page's guard value, with a forged one, or marked cross-site by the browser changes nothing")
    func forgery() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.preferences, scope: .all, id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            for body in ["leave=everything", "form=00000000000000000000000000000000&leave=everything"] {
                try await client.execute(uri: "/circulate/p/\(token)", method: .post, headers: Self.form, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .forbidden)
                }
            }
            let page = try await client.execute(uri: "/circulate/p/\(token)", method: .get) { String(buffer: $0.body) }
            let guardValue = try #require(Self.guardValue(page))
            var crossSite = Self.form
            crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            try await client.execute(uri: "/circulate/p/\(token)", method: .post, headers: crossSite,
                                     body: ByteBuffer(string: "form=\(guardValue)&leave=everything")) { response in
                #expect(response.status == .forbidden)
            }
            // Another page's guard value does not fit this page.
            let other = FormGuard(key: fixture.key).token(for: "another-token", now: WebFixture.now.addingTimeInterval(60))
            try await client.execute(uri: "/circulate/p/\(token)", method: .post, headers: Self.form,
                                     body: ByteBuffer(string: "form=\(other)&leave=everything")) { response in
                #expect(response.status == .forbidden)
            }
        }
        #expect(try fixture.member()?.status == .active)
        #expect(try fixture.consentEvents().count == 1)
    }

    @Test("'please erase my data' records one request with its deadline, stops all mail, and erasing the person completes it")
    func erasureRequest() async throws {
        let fixture = try WebFixture()
        let token = fixture.key.write(LinkToken(.preferences, scope: .all, id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            let form = try await client.execute(uri: "/circulate/p/\(token)", method: .get) { String(buffer: $0.body) }
            let guardValue = try #require(Self.guardValue(form))
            for _ in 0..<2 {  // sent twice (a double click, a reload): one request
                try await client.execute(uri: "/circulate/p/\(token)", method: .post, headers: Self.form,
                                         body: ByteBuffer(string: "form=\(guardValue)&stream=reports&erase=yes&save=1")) { response in
                    #expect(response.status == .ok)
                }
            }
            let page = try await client.execute(uri: "/circulate/p/\(token)", method: .get) { String(buffer: $0.body) }
            #expect(page.contains("You asked us to erase your data"))
        }
        let requests = try fixture.database.pendingRequests()
        #expect(requests.count == 1, "asking twice is one request")
        let request = try #require(requests.first)
        #expect(request.kind == .erasure && request.email == "kim.okafor@example.org" && request.command == "circulate erase kim.okafor@example.org")
        #expect(request.dueBy.timeIntervalSince(request.requestedAt) >= 28 * 86_400 && request.dueBy.timeIntervalSince(request.requestedAt) <= 31 * 86_400)
        #expect(try fixture.member()?.status == .unsubscribed, "a person who asks to be erased gets no more mail meanwhile")
        let export = try fixture.database.export(EmailAddress("kim.okafor@example.org"), key: fixture.key, controller: "Riverside", now: WebFixture.now)
        #expect(export.requests.map(\.kind) == ["erasure"])
        _ = try fixture.database.erase(EmailAddress("kim.okafor@example.org"), key: fixture.key, erasedBy: "sam", now: WebFixture.now)
        #expect(try fixture.database.pendingRequests().isEmpty)
        #expect(try fixture.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM data_request") } == 0)
    }

    @Test("the unsubscribe page links to the preference page, whose token only opens preferences")
    func linkedFromUnsubscribe() async throws {
        let fixture = try WebFixture()
        let unsubscribe = fixture.key.write(LinkToken(.unsubscribe, scope: .stream(.reports), id: fixture.memberID))
        let preferences = fixture.key.write(LinkToken(.preferences, scope: .all, id: fixture.memberID))
        try await fixture.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/u/\(unsubscribe)", method: .get) { response in
                #expect(String(buffer: response.body).contains("href=\"/circulate/p/\(preferences)\""))
            }
            try await client.execute(uri: "/circulate/p/\(unsubscribe)", method: .get) { response in
                #expect(response.status == .notFound, "an unsubscribe token is not a preferences token")
            }
            try await client.execute(uri: "/circulate/u/\(preferences)", method: .post, headers: Self.form,
                                     body: ByteBuffer(string: "List-Unsubscribe=One-Click")) { response in
                #expect(response.status == .notFound, "nor the other way round")
            }
        }
        #expect(try fixture.member()?.status == .active)
    }
}
