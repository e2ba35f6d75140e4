import Foundation

/// A secret value that refuses to print itself, so that it cannot leak into a log line or an error by accident.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret bytes; read them only where they are used.
    public let bytes: [UInt8]

    /// Wraps bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Always "<redacted>".
    public var description: String { "<redacted>" }
    /// Always "<redacted>".
    public var debugDescription: String { "<redacted>" }

    /// Where a secret is looked for: an environment variable first (if named and set), then a file.
    public static func load(environmentVariable: String?, file: String?, environment: [String: String],
                            what: String) throws(SecretError) -> Secret? {
        if let name = environmentVariable, let value = environment[name], !value.isEmpty {
            return Secret(Array(value.utf8))
        }
        guard let file else { return nil }
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SecretError("\(what) file \(file) cannot be read; check that this user may read it")
        }
        var bytes = Array(data)
        // Files written by editors and `echo` end in a newline that is not part of the secret.
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        return Secret(bytes)
    }
}

/// A secret that is missing, unreadable or malformed; the message never contains the secret itself.
public struct SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
