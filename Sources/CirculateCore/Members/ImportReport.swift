/// What an import did (or, in a dry run, would do), row by row.
public struct ImportReport: Sendable, Equatable {
    /// The fate of one row.
    public enum Outcome: String, Sendable, CaseIterable, Codable {
        /// A new person was added.
        case added
        /// An existing person's details, tags or consent changed.
        case updated
        /// Nothing needed to change.
        case unchanged
        /// Not imported, by policy (no consent, erased, duplicate row, no address); the rest may still import.
        case skipped
        /// Not imported because the row is wrong (bad address, control characters, unclear consent).
        case rejected
    }

    /// One row's result.
    public struct Line: Sendable, Equatable {
        /// Spreadsheet row number.
        public var row: Int
        /// The address as the row gives it (or the normalised form when valid).
        public var email: String
        /// What happened.
        public var outcome: Outcome
        /// Why, or what else the coordinator should know.
        public var note: String?
        /// A real person who is not (and may not be) on the list: no consent on the sheet, or erased earlier.
        public var personNotHeld = false
    }

    /// Every data row, in file order.
    public var lines: [Line] = []
    /// Whether the changes were written (false for a dry run or when rejected rows stopped the import).
    public var committed = false
    /// Whether this was a dry run.
    public var dryRun = false
    /// Header cells not used.
    public var ignoredColumns: [String] = []
    /// A note about the file's encoding, if it was not UTF-8.
    public var encodingNote: String?

    /// How many rows had the outcome.
    public func count(_ outcome: Outcome) -> Int { lines.filter { $0.outcome == outcome }.count }
    /// Whether any row was rejected.
    public var hasRejections: Bool { lines.contains { $0.outcome == .rejected } }
}
