import CirculateCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The daemon's web side: the public pages (one-click unsubscribe) under the path of `list.public_base_url`, and the
/// operator's `/healthz` and `/metrics` on a listener of their own. HTTP stays here; every action calls the core.
public struct WebSite: Sendable {
    let database: AppDatabase
    let configuration: Configuration
    let key: InstanceKey
    let pages: WebPages
    let metrics: WebMetrics
    let health: DaemonHealth
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Called when a page queued mail, so that the delivery engine need not wait for its poll.
    let queued: @Sendable () -> Void
    /// The join page's rate limits and the confirmation link's validity.
    let signUpLimits: SignUpLimits
    let work = BlockingWork()

    /// Largest request body read (a one-click POST is a few dozen bytes).
    static let maximumBody = 16 * 1024
    /// The scheduler looks at least once a minute; health turns bad when it has not for this long.
    static let schedulerSilenceLimit: TimeInterval = 300
    /// A mailbox that cannot be read turns health bad after this long (a server restarting is not worth a page; an
    /// expired token or a changed password is).
    static let mailboxSilenceLimit: TimeInterval = 900

    /// A site over the daemon's database and key.
    public init(database: AppDatabase, configuration: Configuration, key: InstanceKey, pages: WebPages, metrics: WebMetrics,
                health: DaemonHealth, clock: @escaping @Sendable () -> Date, logger: Logger,
                signUpLimits: SignUpLimits = SignUpLimits(), queued: @escaping @Sendable () -> Void = {}) {
        self.database = database
        self.configuration = configuration
        self.key = key
        self.pages = pages
        self.metrics = metrics
        self.health = health
        self.clock = clock
        self.logger = logger
        self.signUpLimits = signUpLimits
        self.queued = queued
    }

    /// The path the proxy passes through: that of `list.public_base_url`, without a trailing "/" ("" for the root).
    var basePath: String {
        guard let path = configuration.list.publicBaseURL?.path, path != "/" else { return "" }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The public pages.
    public func publicRouter() -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        let group = basePath.isEmpty ? router.group() : router.group(RouterPath(basePath))
        for prefix in ["u", "unsubscribe"] {
            // GET never changes anything: mail scanners and link previews open every link.
            group.get("\(prefix)/:token") { _, context in
                try await unsubscribePage(context.parameters.get("token") ?? "", action: "\(basePath)/\(prefix)/")
            }
            group.post("\(prefix)/:token") { request, context in
                try await oneClick(request, token: context.parameters.get("token") ?? "")
            }
        }
        group.get("p/:token") { request, context in
            try await preferencesPage(context.parameters.get("token") ?? "", request: request)
        }
        group.post("p/:token") { request, context in
            try await savePreferences(request, token: context.parameters.get("token") ?? "")
        }
        addJoinRoutes(to: group)
        return router
    }

    /// `/healthz` and `/metrics`.
    public func operatorRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in try await healthz() }
        router.get("metrics") { _, _ in
            metrics.requested(.metrics)
            let summary = try? await work.run { [database] in try database.queueSummary() }
            return WebPages.text(metrics.exposition(queue: summary), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        return router
    }

    // MARK: - Unsubscribe

    private func unsubscribePage(_ text: String, action: String) async throws -> Response {
        metrics.requested(.unsubscribePage)
        guard let token = key.read(text), token.purpose == .unsubscribe,
            try await work.run({ [database] in try database.memberExists(id: token.id) })
        else { return unknownLink() }
        return pages.response("unsubscribe", title: "Unsubscribe", values: common([
            "what": describe(token.scope), "action": action + text, "preferences": preferencesLink(token.id),
        ]))
    }

    private func oneClick(_ request: Request, token text: String) async throws -> Response {
        metrics.requested(.unsubscribe)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBody)
        guard OneClickForm.isOneClick(body: Array(buffer: body), contentType: request.headers[.contentType]) else {
            return pages.response("link-unknown", title: "This request is not understood", values: common([:]), status: .badRequest)
        }
        guard let token = key.read(text), token.purpose == .unsubscribe else { return unknownLink() }
        let stream: MailStream? = if case .stream(let s) = token.scope { s } else { nil }
        let now = clock()
        let outcome = try await work.run { [database] in
            try database.unsubscribe(memberID: token.id, stream: stream, source: "one-click unsubscribe", recordedBy: "web", now: now)
        }
        guard let outcome else { return unknownLink() }
        var values = common(["what": describe(token.scope), "preferences": preferencesLink(token.id)])
        switch outcome {
        case .unsubscribed:
            metrics.unsubscribed()
            logger.notice("member \(token.id) unsubscribed from everything through the web (one-click)")
        case .streamStopped(let left, let remaining):
            metrics.unsubscribed()
            logger.notice("member \(token.id) left \(left.rawValue) through the web (one-click)")
            values["remaining"] = remaining.map(Self.streamName).joined(separator: " and ")
        case .alreadyUnsubscribed:
            values["already"] = true
        }
        return pages.response("unsubscribed", title: "You are unsubscribed", values: values)
    }

    /// Unknown, altered and erased-member tokens all get this same page.
    func unknownLink() -> Response {
        pages.response("link-unknown", title: "This link cannot be used", values: common([:]), status: .notFound)
    }

    func common(_ values: [String: Any]) -> [String: Any] {
        values.merging(["community": configuration.community.name, "list_address": configuration.list.replyTo ?? configuration.list.address]) { a, _ in a }
    }

    private func describe(_ scope: LinkToken.Scope) -> String {
        switch scope {
        case .stream(let stream): Self.streamName(stream)
        case .all, .none: "any more mail"
        }
    }

    static func streamName(_ stream: MailStream) -> String {
        switch stream {
        case .monthlyUpdate: "the monthly update"
        case .sessionInvitations: "invitations to sessions"
        case .reports: "reports"
        }
    }

    // MARK: - Health

    private func healthz() async throws -> Response {
        metrics.requested(.health)
        var problems: [String] = []
        let now = clock()
        do {
            let pause = try await work.run { [database] in try database.relayPause() }
            if let pause, pause.until > now {
                problems.append("the relay is paused until \(pause.until.formatted(.iso8601)): \(Redaction.maskingAddresses(in: pause.reason))")
            }
            if configuration.inbox != nil {
                let mailbox = try await work.run { [database] in try database.mailboxStatus() }
                if let since = mailbox.problemSince, now.timeIntervalSince(since) > Self.mailboxSilenceLimit {
                    let problem = Redaction.maskingAddresses(in: mailbox.problem ?? "")
                    problems.append("the mailbox cannot be read since \(since.formatted(.iso8601)): \(problem)")
                }
            }
        } catch {
            problems.append("the database cannot be read: \(error)")
        }
        if let problem = health.currentStorageProblem { problems.append(problem) }
        let silentSince = health.lastSchedulerTick ?? health.startedAt
        if Date().timeIntervalSince(silentSince) > Self.schedulerSilenceLimit {
            problems.append("the scheduler has not looked for due work since \(silentSince.formatted(.iso8601))")
        }
        if problems.isEmpty { return WebPages.text("ok\n") }
        return WebPages.text(problems.map { "not ok: \($0)" }.joined(separator: "\n") + "\n", status: .serviceUnavailable)
    }
}

extension WebSite {
    /// The Hummingbird applications to run as services of the daemon: the public pages and the operator's
    /// listener; none when `[web] listen` is not set.
    public func services() -> [any Service] {
        guard let listen = configuration.web.listen else { return [] }
        let operatorListen = configuration.web.metricsListen
        return [
            Application(router: publicRouter(), configuration: .init(address: .hostname(listen.host, port: listen.port)), logger: logger),
            Application(router: operatorRouter(), configuration: .init(address: .hostname(operatorListen.host, port: operatorListen.port)),
                        logger: logger),
        ]
    }
}

extension WebSite {
    /// "/circulate" (the path of `list.public_base_url`), for the daemon's start-up line.
    public var publicPath: String { basePath }
}
