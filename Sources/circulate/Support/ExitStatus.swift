import ArgumentParser
import CirculateCore

/// The documented exit codes (sysexits.h values, so shell scripts can tell failures apart).
enum ExitStatus {
    static let usage: Int32 = 64
    static let invalidInput: Int32 = 65
    static let unreadableInput: Int32 = 66
    static let unknownPerson: Int32 = 67
    static let notInitialised: Int32 = 69
    /// The relay (or outbox) did not take the message (send-test); sysexits EX_PROTOCOL.
    static let notDelivered: Int32 = 76
    static let internalError: Int32 = 70
    static let storage: Int32 = 74
    static let busy: Int32 = 75
    static let configuration: Int32 = 78

    /// Every code with its meaning, in order, for `circulate --help` (a test checks it against the constants above).
    static let documented: [(code: Int32, meaning: String)] = [
        (0, "ok"), (usage, "usage"), (invalidInput, "invalid input"), (unreadableInput, "unreadable file"),
        (unknownPerson, "unknown person"), (notInitialised, "not initialised"), (internalError, "internal error"),
        (storage, "storage failure"), (busy, "busy (try again)"), (notDelivered, "not delivered (send-test)"),
        (configuration, "configuration error"),
    ]

    /// "Exit codes: 0 ok, 64 usage, ..." for the help text.
    static var summary: String {
        "Exit codes: " + documented.map { "\($0.code) \($0.meaning)" }.joined(separator: ", ") + "."
    }

    static func code(for kind: FailureKind) -> Int32 {
        switch kind {
        case .invalidInput: invalidInput
        case .unreadableInput: unreadableInput
        case .unknownPerson: unknownPerson
        case .notInitialised: notInitialised
        case .configuration: configuration
        case .busy: busy
        case .storage: storage
        }
    }
}
