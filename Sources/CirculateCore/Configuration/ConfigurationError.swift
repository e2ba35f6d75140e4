/// A configuration problem, reported at start-up with the key, the value and what is allowed.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the problem is in (nil for problems not tied to a file).
    public let file: String?
    /// The message: key, value and what to do.
    public let message: String

    /// Creates an error.
    public init(file: String?, _ message: String) {
        self.file = file
        self.message = message
    }

    /// "FILE: message".
    public var description: String {
        if let file { "configuration \(file): \(message)" } else { "configuration: \(message)" }
    }
}
