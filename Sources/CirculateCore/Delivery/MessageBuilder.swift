/// Turns a claimed message into the envelope and exact bytes to hand to the transport.
///
/// Called on the engine's worker threads, concurrently; implementations must be thread-safe.
public protocol MessageBuilder: Sendable {
    /// Builds one recipient's message.
    func build(_ claim: Claim) throws -> ComposedMessage
    /// Told when a mailing has nothing left to send: whatever was kept to build its messages can go.
    func forget(mailing: Int64)
}

extension MessageBuilder {
    /// Nothing kept, nothing to forget.
    public func forget(mailing: Int64) {}
}

/// A message ready for a transport.
public struct ComposedMessage: Sendable {
    /// The SMTP envelope.
    public var envelope: Envelope
    /// The RFC 5322 bytes, CRLF line endings.
    public var bytes: [UInt8]

    /// Creates a composed message.
    public init(envelope: Envelope, bytes: [UInt8]) {
        self.envelope = envelope
        self.bytes = bytes
    }
}
