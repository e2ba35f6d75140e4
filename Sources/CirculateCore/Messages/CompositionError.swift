/// Why a message could not be composed: which header or field, and what is wrong with it.
///
/// The error never repeats the offending value, because values are names and subjects that may be personal data and
/// errors end up in logs; the field and the problem are enough to find it.
public struct CompositionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The specific problem.
    public enum Problem: Sendable, Equatable {
        /// A CR, LF or NUL in a header value: it could end the field and start a new one (header injection).
        case headerInjection(Unicode.Scalar)
        /// Another control, line-separator or bidirectional-override character that has no place in a header.
        case controlCharacter(Unicode.Scalar)
        /// Non-ASCII text in a value the caller formatted; only the composer's own fields are encoded.
        case nonASCII
        /// A header field name that is not letters, digits and hyphens starting with a letter.
        case invalidHeaderName
        /// A header the composer writes itself (or one that would address other people, like Cc and Bcc).
        case reservedHeaderName
        /// A value that must not be empty is empty.
        case empty
        /// A Message-ID that is not `left@right` in RFC 5322 dot-atom form (angle brackets are added here).
        case invalidMessageID
        /// A content type that is not `type/subtype` in MIME tokens, or one that cannot be sent as base64.
        case invalidContentType
        /// A Content-Type parameter whose name is not a MIME token, is written by the composer, or whose value cannot
        /// be written as a quoted string.
        case invalidParameter
        /// A filename containing a path separator.
        case pathSeparator
        /// A value longer than the composer allows, or a word too long to fit in a 998-octet line.
        case tooLong
        /// A boundary seed that is empty, too long, or not letters, digits, "-", "_" and ".".
        case invalidBoundarySeed
        /// A date outside the years 1900–9999 (or not a finite time), which RFC 5322 cannot express sensibly.
        case dateOutOfRange
        /// Bytes declared as UTF-8 text that are not valid UTF-8.
        case invalidUTF8
        /// A calendar object whose METHOD property is missing, repeated or not the method it is sent as (RFC 6047
        /// §2.4); `found` is the object's method when it has exactly one that circulate knows.
        case calendarMethodMismatch(declared: CalendarMethod, found: CalendarMethod?)
        /// A problem described in words, for callers that report failures of their own while composing (a string
        /// literal makes one: `CompositionError(field: "mailing", problem: "no longer exists")`).
        case other(String)
    }

    /// The header or field at fault, as the caller knows it ("Subject", "From display name", "attachment 2 filename").
    public let field: String
    /// What is wrong with it.
    public let problem: Problem

    /// Creates an error.
    public init(field: String, problem: Problem) {
        self.field = field
        self.problem = problem
    }

    /// A sentence naming the field, the problem and what to do.
    public var description: String { "\(field) \(explanation)" }

    /// The problem alone, for reports that already name the field.
    public var explanation: String {
        switch problem {
        case .headerInjection(let scalar):
            "contains \(TextField.describe(scalar)), which could start a new header line (header injection); "
                + "remove the line break"
        case .controlCharacter(let scalar):
            "contains \(TextField.describe(scalar)), which is not allowed in a message header"
        case .nonASCII:
            "contains non-ASCII characters; encode them (see HeaderEncoding.phrase) before passing the value"
        case .invalidHeaderName:
            "is not a valid header name (use letters, digits and hyphens, starting with a letter)"
        case .reservedHeaderName:
            "is written by the composer itself and cannot be given as an extra header"
        case .empty:
            "is empty"
        case .invalidMessageID:
            "is not a valid Message-ID (expected left@right without angle brackets or spaces)"
        case .invalidContentType:
            "is not a valid attachment content type (expected type/subtype, not multipart/* or message/*)"
        case .invalidParameter:
            "is not a valid Content-Type parameter (a MIME token name, not one the composer writes, "
                + "with a printable ASCII value)"
        case .pathSeparator:
            "contains a path separator (/ or \\); give the file's name only"
        case .tooLong:
            "is too long to fit in a message header"
        case .invalidBoundarySeed:
            "is not a usable MIME boundary seed (1–52 letters, digits, \"-\", \"_\" or \".\")"
        case .dateOutOfRange:
            "is not a date between the years 1900 and 9999"
        case .invalidUTF8:
            "is not valid UTF-8 text"
        case .calendarMethodMismatch(let declared, let found?):
            "says METHOD:\(found.rawValue) but is sent as method=\(declared.rawValue); the two must match (RFC 6047 "
                + "§2.4), so make the object with the invitation's method"
        case .calendarMethodMismatch(let declared, nil):
            "does not have exactly one METHOD:\(declared.rawValue) line, which its method=\(declared.rawValue) "
                + "requires (RFC 6047 §2.4); make the object with ICalendar.object(_:method:stamp:)"
        case .other(let text):
            text
        }
    }
}

extension CompositionError.Problem: ExpressibleByStringInterpolation {
    /// A problem described in words (`.other`).
    public init(stringLiteral value: String) {
        self = .other(value)
    }
}
