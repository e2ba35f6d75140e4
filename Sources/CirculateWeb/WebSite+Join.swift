import CirculateCore
import Foundation
import HTTPTypes
import Hummingbird

/// The join page and its confirmation (double opt-in): the form records a pending sign-up and queues a message with a
/// link; the link's page has a Confirm button that posts, and only that post adds the person. A GET never changes
/// anything (mail scanners open every link), and the form's answer is the same whoever submits.
extension WebSite {
    /// The cookie that pairs the join form with the browser that loaded it (with the form's guard value: a site that
    /// cannot read this cookie cannot post the form on someone's behalf).
    static let joinCookie = "circulate_join"
    /// The honeypot: a field people never see or fill in (hidden by the page's style, skipped by the tab order).
    static let honeypotField = "website"

    /// The join routes, when a consent wording is configured (without one nobody can give informed consent).
    func addJoinRoutes(to group: RouterGroup<WebRequestContext>) {
        guard let wording = configuration.consent.wording else { return }
        group.get("join") { _, _ in joinPage(wording: wording) }
        group.post("join") { request, context in try await join(request, context: context, wording: wording) }
        group.get("j/:token") { _, context in try await confirmPage(context.parameters.get("token") ?? "") }
        group.post("j/:token") { request, context in try await confirm(request, token: context.parameters.get("token") ?? "") }
    }

    // MARK: - The form

    private func joinPage(wording: ConsentWording, typed: [String: String] = [:], chosen: Set<MailStream> = Set(MailStream.allCases),
                          error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        metrics.requested(.join)
        let nonce = Self.randomHex(bytes: 16)
        var values = common([
            "action": "\(basePath)/join", "form_token": FormGuard(key: key).token(for: "join|\(nonce)", now: clock()),
            "wording": wording.text, "wording_version": wording.version, "honeypot": Self.honeypotField,
            "name": typed["name"] ?? "", "email": typed["email"] ?? "", "organisation": typed["organisation"] ?? "",
            "max_name": SignUpRequest.maximumName, "max_organisation": SignUpRequest.maximumOrganisation,
            "max_email": SignUpRequest.maximumAddress,
        ])
        values["streams"] = MailStream.allCases.map { stream -> [String: Any] in
            ["name": stream.rawValue, "label": Self.streamLabel(stream), "on": chosen.contains(stream)]
        }
        if let error { values["error"] = error }
        var response = pages.response("join", title: "Join \(configuration.community.name)", values: values, status: status)
        let secure = configuration.list.publicBaseURL?.scheme == "https" ? "; Secure" : ""
        response.headers[.setCookie] = "\(Self.joinCookie)=\(nonce); Path=\(basePath.isEmpty ? "/" : basePath)/join; HttpOnly; SameSite=Strict\(secure)"
        return response
    }

    private func join(_ request: Request, context: WebRequestContext, wording: ConsentWording) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBody)
        let fields = OneClickForm.urlEncodedFields(Array(buffer: body))
        func field(_ name: String) -> String { fields.first { $0.name == name }?.value ?? "" }
        let now = clock()
        guard let nonce = Self.cookie(Self.joinCookie, in: request.headers[.cookie]), nonce.utf8.count == 32,
            FormGuard(key: key).accepts(field("form"), for: "join|\(nonce)", now: now),
            !Self.isCrossSite(request.headers)
        else {
            metrics.requested(.join)
            return pages.response("join-retry", title: "Please try again", values: common(["join": "\(basePath)/join"]), status: .forbidden)
        }
        // A robot filled in the field people cannot see: the same answer as everyone gets, and nothing done.
        guard field(Self.honeypotField).isEmpty else {
            metrics.requested(.join)
            logger.info("join page: a post filled in the hidden field; ignored")
            return checkInbox()
        }
        let chosen = Set(fields.filter { $0.name == "stream" }.compactMap { MailStream(rawValue: $0.value) })
        let typed = ["name": String(field("name").prefix(SignUpRequest.maximumName + 50)),
                     "email": String(field("email").prefix(SignUpRequest.maximumAddress + 50)),
                     "organisation": String(field("organisation").prefix(SignUpRequest.maximumOrganisation + 50))]
        let signUp: SignUpRequest
        do {
            signUp = try SignUpRequest(email: field("email"), name: field("name"), organisation: field("organisation"), streams: chosen)
        } catch {
            return joinPage(wording: wording, typed: typed, chosen: chosen, error: Self.sentence(error), status: .badRequest)
        }
        metrics.requested(.join)
        guard let base = configuration.list.publicBaseURL?.absoluteString else { return unknownLink() }
        let client = ClientAddress.resolve(peer: context.peerIP, forwardedFor: Self.values("x-forwarded-for", in: request.headers),
                                           trustedProxies: configuration.web.trustedProxies)
        let signUpContext = AppDatabase.SignUpContext(community: configuration.community.name, baseURL: base,
                                                      domain: configuration.domain, wording: wording, limits: signUpLimits)
        let outcome = try await work.run { [database, key] in
            try database.requestSignUp(signUp, client: client, context: signUpContext, key: key, now: now)
        }
        switch outcome {
        case .tooManyRequests:
            logger.notice("join page: too many requests from one client or for one address; refused for now")
            return pages.response("join-retry", title: "Please try again later",
                                  values: common(["join": "\(basePath)/join", "later": true]), status: .tooManyRequests)
        case .confirmationQueued, .alreadyMember:
            queued()
            logger.notice("join page: a message was queued (\(outcome == .alreadyMember ? "already on the list" : "confirmation link"))")
        case .erased, .mailLimited:
            logger.notice("join page: no message sent (\(outcome == .erased ? "the address was erased" : "confirmation limit reached"))")
        }
        return checkInbox()
    }

    /// The one answer every accepted post gets, whoever the address belongs to.
    private func checkInbox() -> Response {
        pages.response("join-sent", title: "Please check your inbox", values: common([:]))
    }

    // MARK: - The confirmation link

    private func confirmPage(_ text: String) async throws -> Response {
        metrics.requested(.confirmJoin)
        let now = clock()
        guard let token = key.read(text), token.purpose == .confirmJoin,
            try await work.run({ [database] in try database.signUpIsPending(id: token.id, now: now) })
        else { return unknownLink() }
        return pages.response("join-confirm", title: "Confirm that you want to join", values: common([
            "action": "\(basePath)/j/\(text)", "form_token": FormGuard(key: key).token(for: text, now: now),
        ]))
    }

    private func confirm(_ request: Request, token text: String) async throws -> Response {
        metrics.requested(.confirmJoin)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBody)
        guard let token = key.read(text), token.purpose == .confirmJoin else { return unknownLink() }
        let fields = OneClickForm.urlEncodedFields(Array(buffer: body))
        let now = clock()
        guard FormGuard(key: key).accepts(fields.first { $0.name == "form" }?.value ?? "", for: text, now: now),
            !Self.isCrossSite(request.headers)
        else {
            return pages.response("link-unknown", title: "Please try again", values: common([:]), status: .forbidden)
        }
        guard let outcome = try await work.run({ [database] in try database.confirmSignUp(id: token.id, now: now) }) else {
            return unknownLink()
        }
        let memberID: Int64
        switch outcome {
        case .joined(let id), .rejoined(let id):
            memberID = id
            logger.notice("member \(id) joined through the join page (\(outcome == .joined(memberID: id) ? "new" : "back after leaving"))")
        case .alreadyMember(let id):
            memberID = id
        }
        let already = if case .alreadyMember = outcome { true } else { false }
        return pages.response("join-done", title: already ? "You are on the list already" : "Welcome to \(configuration.community.name)",
                              values: common(["already": already, "preferences": preferencesLink(memberID)]))
    }

    // MARK: - Helpers

    /// Every value of the header `name` (lower-case).
    static func values(_ name: String, in headers: HTTPFields) -> [String] {
        headers.filter { $0.name.canonicalName == name }.map(\.value)
    }

    /// Whether the browser says the post came from another site (Fetch Metadata); such a post is refused.
    static func isCrossSite(_ headers: HTTPFields) -> Bool {
        values("sec-fetch-site", in: headers).contains("cross-site")
    }

    /// The value of cookie `name` in a Cookie header.
    static func cookie(_ name: String, in header: String?) -> String? {
        for pair in (header ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// An invalid field as a sentence for the page: "Your name is longer than 200 characters."
    static func sentence(_ error: any Error) -> String {
        guard let invalid = error as? InvalidField else { return "Something in the form is not right; please check it." }
        return "The \(invalid.field) \(invalid.problem)."
    }
}

