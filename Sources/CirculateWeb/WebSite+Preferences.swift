import CirculateCore
import Foundation
import HTTPTypes
import Hummingbird

/// The preference page: a person's streams as checkboxes, "leave everything", and "please erase my data" (a request
/// for the coordinator, never an erasure by itself).
extension WebSite {
    /// The path of a member's preference page.
    func preferencesLink(_ memberID: Int64) -> String {
        "\(basePath)/p/\(key.write(LinkToken(.preferences, scope: .all, id: memberID)))"
    }

    func preferencesPage(_ text: String, request: Request) async throws -> Response {
        metrics.requested(.preferences)
        guard let token = key.read(text), token.purpose == .preferences,
            let found = try await work.run({ [database] in try database.preferences(memberID: token.id) })
        else { return unknownLink() }
        let member = found.member
        var values = common([
            "action": "\(basePath)/p/\(text)", "form_token": FormGuard(key: key).token(for: text, now: clock()),
            "active": member.status == .active, "erasure_pending": found.erasurePending,
        ])
        values["streams"] = MailStream.allCases.map { stream -> [String: Any] in
            ["name": stream.rawValue, "label": Self.streamLabel(stream), "on": member.status == .active && member.streams[stream]]
        }
        if found.erasurePending, let due = try await pendingDue(token.id) { values["due"] = due }
        return pages.response("preferences", title: "Your choices", values: values)
    }

    func savePreferences(_ request: Request, token text: String) async throws -> Response {
        metrics.requested(.preferences)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBody)
        guard let token = key.read(text), token.purpose == .preferences else { return unknownLink() }
        let fields = OneClickForm.urlEncodedFields(Array(buffer: body))
        let now = clock()
        // The site's own form: its token proves the post came from the page, and a browser's cross-site post is refused.
        guard FormGuard(key: key).accepts(fields.first { $0.name == "form" }?.value ?? "", for: text, now: now),
            Self.secFetchSite.flatMap({ request.headers[$0] }) != "cross-site"
        else {
            return pages.response("link-unknown", title: "Please try again", values: common([:]), status: .forbidden)
        }
        let change = PreferenceChange(
            streams: Set(fields.filter { $0.name == "stream" }.compactMap { MailStream(rawValue: $0.value) }),
            leaveEverything: fields.contains { $0.name == "leave" && $0.value == "everything" },
            erase: fields.contains { $0.name == "erase" && $0.value == "yes" })
        let wording = configuration.consent.wordingVersion
        guard let outcome = try await work.run({ [database] in
            try database.applyPreferences(memberID: token.id, change, wordingVersion: wording, now: now)
        }) else { return unknownLink() }
        if !outcome.left.isEmpty || outcome.unsubscribed { metrics.unsubscribed() }
        logger.notice("member \(token.id) changed their choices on the preference page: left \(outcome.left.map(\.rawValue)), joined \(outcome.joined.map(\.rawValue))\(outcome.erasureRequested ? ", asked to be erased" : "")")
        var values = common(["summary": Self.summary(outcome), "back": "\(basePath)/p/\(text)",
                             "erasure_requested": outcome.erasureRequested])
        if outcome.erasureRequested, let due = try await pendingDue(token.id) { values["due"] = due }
        return pages.response("preferences-saved", title: "Your choices are saved", values: values)
    }

    private func pendingDue(_ memberID: Int64) async throws -> String? {
        let requests = try await work.run { [database] in try database.pendingRequests() }
        guard let request = requests.first(where: { $0.memberID == memberID }) else { return nil }
        return LocalTime.day(request.dueBy, in: configuration.community.timeZone)
    }

    /// The Fetch Metadata header a browser sets on every request: "cross-site" for a post from another site's page.
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")

    static func summary(_ outcome: PreferenceOutcome) -> String {
        if outcome.unsubscribed { return "You no longer receive any mail from us." }
        if outcome.left.isEmpty && outcome.joined.isEmpty {
            return "Nothing changed: you receive \(list(outcome.streams))."
        }
        return "Saved: you now receive \(list(outcome.streams))."
    }

    private static func list(_ streams: [MailStream]) -> String {
        streams.isEmpty ? "nothing" : streams.map(streamName).joined(separator: ", ")
    }

    static func streamLabel(_ stream: MailStream) -> String {
        switch stream {
        case .monthlyUpdate: "The monthly update: news, upcoming sessions and reports"
        case .sessionInvitations: "Invitations to our sessions, with reminders"
        case .reports: "Final reports of our work"
        }
    }
}
