import Hummingbird
import NIOCore

/// The public pages' request context: Hummingbird's basic one plus the TCP peer's address, which the join page's
/// rate limits need (see `ClientAddress`).
public struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The peer; nil when there is no socket (HummingbirdTesting's router framework).
    public let remoteAddress: SocketAddress?

    /// A context for a request that arrived on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text ("127.0.0.1", "::1").
    var peerIP: String? { remoteAddress?.ipAddress }
}
