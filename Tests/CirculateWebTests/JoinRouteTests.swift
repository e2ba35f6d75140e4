@testable import CirculateCore
@testable import CirculateWeb
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A clock a test moves by hand.
final class HandClock: Sendable {
    private let date = Mutex(WebFixture.now)
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { date.withLock { $0 += seconds } }
}

@Suite("The join page: double opt-in, the same answer for everyone, abuse limits")
struct JoinRouteTests {
    /// What a browser carries from the join page to its post.
    struct Form {
        var cookie: String
        var guardValue: String
    }

    static func open(_ client: some TestClientProtocol) async throws -> Form {
        try await client.execute(uri: "/circulate/join", method: .get) { response in
            let page = String(buffer: response.body)
            let setCookie = try #require(response.headers[.setCookie])
            let cookie = String(setCookie.prefix { $0 != ";" })
            let guardValue = try #require(PreferenceRouteTests.guardValue(page))
            return Form(cookie: cookie, guardValue: guardValue)
        }
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// Opens the page and posts it as a browser would; returns (status, page).
    @discardableResult
    static func submit(_ client: some TestClientProtocol, email: String, name: String = "Ada Mensah", organisation: String = "",
                       streams: [String] = ["monthly-update", "reports"], extra: String = "",
                       headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, String) {
        let form = try await open(client)
        var fields = PreferenceRouteTests.form
        fields[.cookie] = form.cookie
        fields.append(contentsOf: headers)
        let body = "form=\(form.guardValue)&name=\(encode(name))&email=\(encode(email))&organisation=\(encode(organisation))"
            + streams.map { "&stream=\($0)" }.joined() + "&website=" + extra
        return try await client.execute(uri: "/circulate/join", method: .post, headers: fields, body: ByteBuffer(string: body)) {
            ($0.status, String(buffer: $0.body))
        }
    }

    /// The join messages queued: (recipient, subject, body).
    static func joinMessages(_ fixture: WebFixture) throws -> [(String, String, String)] {
        try fixture.database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.recipient, g.subject, g.body_markdown FROM delivery d JOIN mailing g ON g.id = d.mailing_id
                WHERE g.kind = 'join-confirmation' ORDER BY d.id
                """).map { ($0["recipient"], $0["subject"], $0["body_markdown"]) }
        }
    }

    static func count(_ fixture: WebFixture, _ table: String) throws -> Int {
        try fixture.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") } ?? -1
    }

    /// The confirmation link's path in a message body.
    static func confirmPath(_ body: String) throws -> String {
        let range = try #require(body.range(of: "https://lists.example.org/circulate/j/"))
        return "/circulate/j/" + body[range.upperBound...].prefix { $0 != ">" }
    }

    /// Opens the link's page and presses Confirm (or posts again with the guard value of a page opened earlier).
    static func confirm(_ client: some TestClientProtocol, _ path: String, guardValue earlier: String? = nil) async throws -> (HTTPResponse.Status, String) {
        let page = try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }
        let guardValue = earlier ?? PreferenceRouteTests.guardValue(page) ?? ""
        return try await client.execute(uri: path, method: .post, headers: PreferenceRouteTests.form,
                                        body: ByteBuffer(string: "form=\(guardValue)")) { ($0.status, String(buffer: $0.body)) }
    }

    @Test("the page shows the wording in full with its version, labelled fields and a hidden trap; no page without a wording")
    func page() async throws {
        let fixture = try WebFixture(join: true)
        try await fixture.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/join", method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains("I agree that Riverside Practice Network keeps my name and address to send me what I ticked.\nI can leave at any time."))
                #expect(page.contains("Wording version 2026-03"))
                for field in ["name", "email", "organisation"] { #expect(page.contains("<label for=\"\(field)\">"), "\(field)") }
                #expect(page.contains("class=\"trap\" aria-hidden=\"true\"") && page.contains("name=\"website\" value=\"\" tabindex=\"-1\""))
                #expect(!page.contains("<script"))
                #expect(response.headers[.setCookie]?.contains("HttpOnly; SameSite=Strict; Secure") == true)
            }
        }
        #expect(try Self.count(fixture, "pending_signup") == 0)
        let without = try WebFixture()
        try await without.publicApp.test(.router) { client in
            try await client.execute(uri: "/circulate/join", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("submitting queues a link; a GET of it adds nobody; only Confirm adds the person with consent, 'web form', the wording's version and hash")
    func doubleOptIn() async throws {
        let fixture = try WebFixture(join: true)
        try await fixture.publicApp.test(.router) { client in
            let (status, page) = try await Self.submit(client, email: "ada.mensah@example.org", organisation: "Northside Clinic")
            #expect(status == .ok && page.contains("Please check your inbox"), "\(page)")
            let messages = try Self.joinMessages(fixture)
            try #require(messages.count == 1)
            #expect(messages[0].0 == "ada.mensah@example.org" && messages[0].1 == "Please confirm: joining Riverside Practice Network")
            #expect(messages[0].2.contains("The link works for 7 days. If you do nothing, you will not be added"))
            #expect(!messages[0].2.contains("Ada"), "the mailing's text names nobody")
            #expect(try Self.count(fixture, "member") == 1 && Self.count(fixture, "pending_signup") == 1)

            let path = try Self.confirmPath(messages[0].2)
            for _ in 0..<2 {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("<button type=\"submit\">Confirm</button>"))
                }
            }
            #expect(try Self.count(fixture, "member") == 1, "a GET added someone")

            let confirmPage = try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }
            let guardValue = try #require(PreferenceRouteTests.guardValue(confirmPage))
            let (confirmed, done) = try await Self.confirm(client, path, guardValue: guardValue)
            #expect(confirmed == .ok && done.contains("you are now on the list of Riverside Practice Network"), "\(done)")
            let again = try await Self.confirm(client, path, guardValue: guardValue)
            #expect(again.0 == .notFound && again.1.contains("This link cannot be used"), "a used link is spent")
        }
        let joined = try #require(try fixture.database.read { db in
            try Member.fetchOne(db, sql: "SELECT * FROM member WHERE email_key = ?", arguments: ["ada.mensah@example.org"])
        })
        #expect(joined.status == .active && joined.lawfulBasis == .consent && joined.name == "Ada Mensah" && joined.organisation == "Northside Clinic")
        #expect(joined.streams.enabled == [.monthlyUpdate, .reports])
        let events = try fixture.database.read { db in
            try ConsentEvent.filter(ConsentEvent.Columns.memberID == joined.id).fetchAll(db)
        }
        let wording = try ConsentWording(data: Data(WebFixture.wordingFile.utf8), path: "consent.txt")
        #expect(events.count == 2 && events.allSatisfy {
            $0.action == .given && $0.lawfulBasis == .consent && $0.source == "web form" && $0.wordingVersion == "2026-03"
                && $0.wordingHash == wording.hash && $0.occurredAt == WebFixture.now.addingTimeInterval(60)
        }, "\(events)")
        #expect(try Self.count(fixture, "pending_signup") == 0)
    }

    @Test("the link works for 7 days; then it is refused and the pending sign-up is deleted")
    func expiry() async throws {
        let clock = HandClock()
        let fixture = try WebFixture(join: true, clock: { clock.now })
        try await fixture.publicApp.test(.router) { client in
            try await Self.submit(client, email: "ada.mensah@example.org")
            try await Self.submit(client, email: "ben.osei@example.org")
            let messages = try Self.joinMessages(fixture)
            clock.advance(7 * 86_400 - 60)
            let page = try await client.execute(uri: try Self.confirmPath(messages[1].2), method: .get) { String(buffer: $0.body) }
            let guardValue = try #require(PreferenceRouteTests.guardValue(page))
            try await client.execute(uri: try Self.confirmPath(messages[0].2), method: .get) { #expect($0.status == .ok) }
            #expect(try fixture.database.forgetExpiredSignUps(now: clock.now) == 0)
            clock.advance(61)
            try await client.execute(uri: try Self.confirmPath(messages[0].2), method: .get) { #expect($0.status == .notFound) }
            // Pressed on a page opened in time, posted after the link expired (the guard value is still good: a day).
            let late = try await Self.confirm(client, try Self.confirmPath(messages[1].2), guardValue: guardValue)
            #expect(late.0 == .notFound && late.1.contains("This link cannot be used"))
        }
        #expect(try Self.count(fixture, "member") == 1)
        #expect(try fixture.database.forgetExpiredSignUps(now: clock.now) == 2)
        #expect(try Self.count(fixture, "pending_signup") == 0)
    }

    @Test("the page says the same to everyone; the mail differs: on the list, left the list (rejoins), erased (no mail)")
    func sameAnswer() async throws {
        let fixture = try WebFixture(join: true)
        _ = try fixture.database.addMember(NewMember(address: EmailAddress("lee.adams@example.org"), name: "Lee Adams", organisation: nil),
                                           grant: ConsentGrant(lawfulBasis: .consent, source: "sign-in sheet", wordingVersion: "1", recordedBy: "test"),
                                           key: fixture.key, rejoin: false, now: WebFixture.now)
        _ = try fixture.database.unsubscribe(EmailAddress("lee.adams@example.org"), stream: nil, source: "reply", recordedBy: "test", key: fixture.key, now: WebFixture.now)
        _ = try fixture.database.addMember(NewMember(address: EmailAddress("gone@example.org"), name: "Sam Gone", organisation: nil),
                                           grant: ConsentGrant(lawfulBasis: .consent, source: "sign-in sheet", wordingVersion: "1", recordedBy: "test"),
                                           key: fixture.key, rejoin: false, now: WebFixture.now)
        _ = try fixture.database.erase(EmailAddress("gone@example.org"), key: fixture.key, erasedBy: "test", now: WebFixture.now)
        try await fixture.publicApp.test(.router) { client in
            var pages: Set<String> = []
            for email in ["new.person@example.org", "kim.okafor@example.org", "lee.adams@example.org", "gone@example.org"] {
                let (status, page) = try await Self.submit(client, email: email)
                #expect(status == .ok)
                pages.insert(page)
            }
            #expect(pages.count == 1, "the answer differs by who submits")
            let messages = try Self.joinMessages(fixture)
            #expect(messages.map(\.0) == ["new.person@example.org", "kim.okafor@example.org", "lee.adams@example.org"], "an erased address got mail")
            #expect(messages[1].1 == "You are already on the list of Riverside Practice Network")
            #expect(messages[1].2.contains("You are on our list already") && messages[1].2.contains("https://lists.example.org/circulate/p/"))
            #expect(messages[2].2.contains("You left our list earlier; confirming puts you back on it"))

            let (status, page) = try await Self.confirm(client, try Self.confirmPath(messages[2].2))
            #expect(status == .ok && page.contains("you are now on the list"))
        }
        let lee = try #require(try fixture.database.read { db in
            try Member.fetchOne(db, sql: "SELECT * FROM member WHERE email_key = 'lee.adams@example.org'")
        })
        #expect(lee.status == .active && lee.streams.enabled == [.monthlyUpdate, .reports])
        let last = try fixture.database.read { db in
            try ConsentEvent.filter(ConsentEvent.Columns.memberID == lee.id).order(ConsentEvent.Columns.id).fetchAll(db)
        }
        #expect(last.suffix(2).allSatisfy { $0.action == .given && $0.source == "web form" && $0.wordingVersion == "2026-03" }, "\(last)")
        #expect(last.contains { $0.action == .withdrawn }, "the earlier withdrawal stays in the history")
    }

    @Test("a filled-in honeypot gets the same answer and nothing is done")
    func honeypot() async throws {
        let fixture = try WebFixture(join: true)
        try await fixture.publicApp.test(.router) { client in
            let (status, page) = try await Self.submit(client, email: "bot@example.org", extra: "https%3A%2F%2Fspam.example.org")
            #expect(status == .ok && page.contains("Please check your inbox"))
        }
        #expect(try Self.count(fixture, "pending_signup") == 0 && Self.joinMessages(fixture).isEmpty)
    }

    @Test("a post without the page's cookie, with a forged guard value, or marked cross-site is refused")
    func forgery() async throws {
        let fixture = try WebFixture(join: true)
        try await fixture.publicApp.test(.router) { client in
            let form = try await Self.open(client)
            let body = "name=Ada&email=ada%40example.org&stream=reports&website="
            var noCookie = PreferenceRouteTests.form
            try await client.execute(uri: "/circulate/join", method: .post, headers: noCookie,
                                     body: ByteBuffer(string: "form=\(form.guardValue)&" + body)) { #expect($0.status == .forbidden) }
            noCookie[.cookie] = form.cookie
            try await client.execute(uri: "/circulate/join", method: .post, headers: noCookie,
                                     body: ByteBuffer(string: "form=00000000000000000000000000000000&" + body)) { #expect($0.status == .forbidden) }
            let other = try await Self.open(client)
            var mismatched = PreferenceRouteTests.form
            mismatched[.cookie] = other.cookie
            try await client.execute(uri: "/circulate/join", method: .post, headers: mismatched,
                                     body: ByteBuffer(string: "form=\(form.guardValue)&" + body)) { #expect($0.status == .forbidden) }
            let (status, _) = try await Self.submit(client, email: "ada@example.org", headers: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(status == .forbidden)
        }
        #expect(try Self.count(fixture, "pending_signup") == 0 && Self.joinMessages(fixture).isEmpty)
    }

    @Test("every field has a size limit, and a bad field is named on the page with what was typed kept")
    func fieldLimits() async throws {
        let fixture = try WebFixture(join: true)
        try await fixture.publicApp.test(.router) { client in
            let cases: [(String, String, String, [String], String)] = [
                (String(repeating: "a", count: 201), "ada@example.org", "", ["reports"], "The name is longer than 200 characters"),
                ("Ada", "ada@example.org", String(repeating: "o", count: 201), ["reports"], "The organisation is longer than 200 characters"),
                ("Ada", String(repeating: "a", count: 250) + "@example.org", "", ["reports"], "The email address is longer than 254 characters"),
                ("Ada", "not-an-address", "", ["reports"], "The email address is not an email address"),
                ("Ada", "ada@example.org", "", [], "tick at least one box"),
                ("", "ada@example.org", "", ["reports"], "please give your name"),
            ]
            for (name, email, organisation, streams, message) in cases {
                let (status, page) = try await Self.submit(client, email: email, name: name, organisation: organisation, streams: streams)
                #expect(status == .badRequest && page.contains(message), "\(message): \(page)")
            }
            let (_, page) = try await Self.submit(client, email: "not-an-address", name: "Ada <b>Mensah</b>")
            #expect(page.contains("value=\"Ada &lt;b&gt;Mensah&lt;/b&gt;\""), "what was typed is kept, escaped")
            let form = try await Self.open(client)
            var headers = PreferenceRouteTests.form
            headers[.cookie] = form.cookie
            let huge = "form=\(form.guardValue)&name=" + String(repeating: "a", count: 20_000)
            try await client.execute(uri: "/circulate/join", method: .post, headers: headers, body: ByteBuffer(string: huge)) {
                #expect($0.status == .contentTooLarge)
            }
        }
        #expect(try Self.count(fixture, "pending_signup") == 0)
    }

    @Test("rate limits: posts per client and per address (429), confirmation mails per address (the same answer, no mail)")
    func rateLimits() async throws {
        var limits = SignUpLimits()
        limits.formsPerClient = 3
        limits.formsPerAddress = 2
        limits.mailsPerAddress = 1
        let fixture = try WebFixture(join: true, limits: limits)
        try await fixture.publicApp.test(.router) { client in
            #expect(try await Self.submit(client, email: "ada@example.org").0 == .ok)
            #expect(try await Self.submit(client, email: "ada@example.org").0 == .ok, "the second post is answered")
            #expect(try Self.joinMessages(fixture).count == 1, "but only one confirmation is mailed to an address a day")
            let (status, page) = try await Self.submit(client, email: "ada@example.org")
            #expect(status == .tooManyRequests && page.contains("too many requests"), "\(page)")
            #expect(try await Self.submit(client, email: "ben@example.org").0 == .ok)
            #expect(try await Self.submit(client, email: "cas@example.org").0 == .tooManyRequests, "three posts from one client an hour (a refused one is not counted)")
        }
        #expect(try Self.joinMessages(fixture).map(\.0) == ["ada@example.org", "ben@example.org"])
        // The records hold keyed hashes, never an address.
        let subjects = try fixture.database.read { db in try String.fetchAll(db, sql: "SELECT subject_hash FROM web_rate") }
        #expect(!subjects.isEmpty && subjects.allSatisfy { $0.count == 64 && !$0.contains("@") })
    }

    @Test("the client is the TCP peer, or the X-Forwarded-For client only when the peer is a trusted proxy")
    func trustedProxy() async throws {
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["198.51.100.1"], trustedProxies: ["127.0.0.1"]) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["198.51.100.1"], trustedProxies: ["127.0.0.1"]) == "198.51.100.1")
        #expect(ClientAddress.resolve(peer: "::ffff:127.0.0.1", forwardedFor: ["6.6.6.6, 198.51.100.1", "10.0.0.2"],
                                      trustedProxies: ["127.0.0.1", "10.0.0.2"]) == "198.51.100.1", "a forged left part is ignored")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: ["198.51.100.1"], trustedProxies: ["127.0.0.1"]) == "")

        // Over a real socket: the peer is 127.0.0.1; one post per client an hour.
        var limits = SignUpLimits()
        limits.formsPerClient = 1
        for trusted in [true, false] {
            let fixture = try WebFixture(join: true, limits: limits, trustedProxies: trusted ? ["127.0.0.1"] : [])
            try await fixture.publicApp.test(.live) { client in
                let first = try await Self.submit(client, email: "ada@example.org", headers: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.1"])
                let second = try await Self.submit(client, email: "ben@example.org", headers: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.2"])
                #expect(first.0 == .ok)
                #expect(second.0 == (trusted ? .ok : .tooManyRequests), "trusted \(trusted)")
                if trusted {
                    let third = try await Self.submit(client, email: "cas@example.org", headers: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.2"])
                    #expect(third.0 == .tooManyRequests, "the same forwarded client again")
                }
            }
        }
    }
}
