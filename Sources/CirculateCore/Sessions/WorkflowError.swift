import Foundation

/// Why a workflow command (sessions, topics, updates, reports) was refused; nothing was changed.
public struct WorkflowError: Failure, Equatable {
    /// What was wrong and what to do.
    public let description: String
    /// Usually invalid input.
    public let kind: FailureKind

    /// Creates an error.
    public init(_ description: String, kind: FailureKind = .invalidInput) {
        self.description = description
        self.kind = kind
    }

    static func noSession(_ id: Int64) -> WorkflowError {
        WorkflowError("there is no session \(id); see `circulate session list` for the numbers")
    }

    static func noTopic(_ reference: String) -> WorkflowError {
        WorkflowError("there is no topic \"\(TextField.printable(reference))\"; see `circulate topic list`, or add it with `circulate topic add \"TITLE\"`")
    }

    static func noReport(_ reference: String) -> WorkflowError {
        WorkflowError("there is no report \"\(TextField.printable(reference))\"; see `circulate report list`")
    }

    static func noUpdate(_ id: Int64) -> WorkflowError {
        WorkflowError("there is no monthly update \(id); see `circulate update list`")
    }
}
