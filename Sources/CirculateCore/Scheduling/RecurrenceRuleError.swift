/// Why a recurrence rule was refused: the part as written and what to write instead.
public struct RecurrenceRuleError: Failure, Equatable {
    /// The part at fault as it was written ("BYDAY=8TU"), or the name of a part that is missing ("FREQ").
    public let part: String
    /// What is wrong with it and what to write instead.
    public let problem: String

    /// Creates an error.
    public init(part: String, problem: String) {
        self.part = part
        self.problem = problem
    }

    /// Always invalid input: the rule text is the coordinator's to fix.
    public var kind: FailureKind { .invalidInput }

    /// `"BYDAY=8TU": the ordinal must be 1 to 5 or -1 to -5 (...)`.
    public var description: String { "\"\(part)\": \(problem)" }
}
