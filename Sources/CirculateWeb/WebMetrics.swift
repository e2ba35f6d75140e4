import CirculateCore
import Prometheus

/// The daemon's metrics in the Prometheus text format: counters kept as things happen, and the queue's depth read
/// from the database at each scrape. Numbers only, never who a message was for.
public final class WebMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let sent, deferred, bounced, failed, inDoubt, withdrawn: Counter
    private let relayPauses: Counter
    private let schedulerTicks: Counter
    private let queueDepth: [Delivery.State: Gauge]
    private let unsubscribes: Counter
    private let requests: [WebRoute: Counter]

    /// The routes counted in `circulate_web_requests_total`.
    public enum WebRoute: String, Sendable, CaseIterable {
        case unsubscribePage = "unsubscribe-page", unsubscribe, preferences, join, confirmJoin = "confirm-join", health, metrics
    }

    /// A fresh set of metrics.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func messages(_ outcome: String) -> Counter {
            registry.makeCounter(descriptor: .init(namespace: "circulate", metricName: "messages", unitName: "total",
                                                   helpText: "Delivery attempts by how they ended"),
                                 labels: [("outcome", outcome)])
        }
        sent = messages("sent")
        deferred = messages("deferred")
        bounced = messages("bounced")
        failed = messages("failed")
        inDoubt = messages("in-doubt")
        withdrawn = messages("withdrawn")
        relayPauses = registry.makeCounter(descriptor: .init(namespace: "circulate", metricName: "relay_pauses", unitName: "total",
                                                             helpText: "Relay outages that paused delivery"))
        schedulerTicks = registry.makeCounter(descriptor: .init(namespace: "circulate", metricName: "scheduler_ticks", unitName: "total",
                                                                helpText: "Times the workflow scheduler looked for due work"))
        unsubscribes = registry.makeCounter(descriptor: .init(namespace: "circulate", metricName: "web_unsubscribes", unitName: "total",
                                                              helpText: "Unsubscribes made through the web pages"))
        var depth: [Delivery.State: Gauge] = [:]
        for state in Delivery.State.allCases {
            depth[state] = registry.makeGauge(descriptor: .init(namespace: "circulate", metricName: "queue_messages", unitName: "",
                                                                helpText: "Messages in the queue by state"),
                                              labels: [("state", state.rawValue)])
        }
        queueDepth = depth
        var routes: [WebRoute: Counter] = [:]
        for route in WebRoute.allCases {
            routes[route] = registry.makeCounter(descriptor: .init(namespace: "circulate", metricName: "web_requests", unitName: "total",
                                                                   helpText: "Web requests by route"),
                                                 labels: [("route", route.rawValue)])
        }
        requests = routes
    }

    /// Adds a batch of delivery outcomes.
    public func record(_ tally: DeliveryTally) {
        sent.increment(by: Int64(tally.sent))
        deferred.increment(by: Int64(tally.deferred))
        bounced.increment(by: Int64(tally.bounced))
        failed.increment(by: Int64(tally.failed))
        inDoubt.increment(by: Int64(tally.inDoubt))
        withdrawn.increment(by: Int64(tally.withdrawn))
        relayPauses.increment(by: Int64(tally.relayPauses))
    }

    /// The scheduler looked for due work.
    public func schedulerTicked() { schedulerTicks.increment() }

    /// A web request was answered.
    func requested(_ route: WebRoute) { requests[route]?.increment() }

    /// Someone unsubscribed through a web page.
    func unsubscribed() { unsubscribes.increment() }

    /// The exposition text, with the queue's depth as `summary` says.
    func exposition(queue summary: QueueSummary?) -> String {
        if let summary {
            for (state, gauge) in queueDepth { gauge.set(Int64(summary.byState[state] ?? 0)) }
        }
        return registry.emitToString()
    }
}
