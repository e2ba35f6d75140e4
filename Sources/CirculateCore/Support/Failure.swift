/// The kinds of failure a caller (the CLI) tells apart, each with its own exit code.
public enum FailureKind: Sendable, Equatable {
    /// The input (an address, a name, a CSV row) is wrong; nothing was changed.
    case invalidInput
    /// A file to read does not exist or cannot be read.
    case unreadableInput
    /// No person with that address is on the list.
    case unknownPerson
    /// The instance is not set up yet (`circulate init`).
    case notInitialised
    /// The configuration is wrong.
    case configuration
    /// The database is busy with another process; trying again will work.
    case busy
    /// Storage failed (disk full, corrupt file, permissions).
    case storage
}

/// An error that knows its kind and says what to do in words a coordinator understands.
public protocol Failure: Error, CustomStringConvertible {
    /// How the caller should classify it.
    var kind: FailureKind { get }
}

extension AddressError: Failure {
    /// Always invalid input.
    public var kind: FailureKind { .invalidInput }
}

extension InvalidField: Failure {
    /// Always invalid input.
    public var kind: FailureKind { .invalidInput }
}

extension ConfigurationError: Failure {
    /// Always a configuration problem.
    public var kind: FailureKind { .configuration }
}

extension SecretError: Failure {
    /// A missing or malformed secret is a configuration problem.
    public var kind: FailureKind { .configuration }
}
