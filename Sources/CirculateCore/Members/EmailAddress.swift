import Foundation

/// A validated mailbox address, in the forms circulate needs: as shown, as compared, and as sent.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The local part exactly as given (RFC 5321 lets servers treat its case as significant).
    public let localPart: String
    /// The domain as people read it: lower-cased, Unicode labels kept (e.g. "bücher.example.org").
    public let domain: String
    /// The domain as it goes on the wire: internationalised labels as A-labels ("xn--bcher-kva.example.org").
    public let asciiDomain: String

    /// The address as shown to people.
    public var description: String { "\(localPart)@\(domain)" }
    /// The form handed to an SMTP relay in the envelope.
    public var envelope: String { "\(localPart)@\(asciiDomain)" }
    /// The comparison key: two addresses with the same key are the same person on the list.
    public var key: String { "\(localPart.lowercased())@\(asciiDomain)" }
    /// The comparison key as the address was typed, when that differs from `key` (it was not in Unicode NFC): erasure
    /// hashes made before addresses were normalised were made from it.
    public let typedKey: String?
    /// Whether the local part is plain ASCII (a non-ASCII one needs an SMTPUTF8 relay).
    public var hasASCIILocalPart: Bool { localPart.unicodeScalars.allSatisfy(\.isASCII) }

    /// Parses and checks an address typed by a person or read from a sheet; surrounding spaces are ignored.
    public init(_ raw: String) throws(AddressError) {
        // The daemon parses every recipient it sends to: the common plain address takes a byte-level path; anything
        // it does not accept (errors included) goes through the full rules below, which say what is wrong.
        if let simple = Self.simpleASCII(raw) {
            self = simple
        } else {
            try self.init(byFullRules: raw)
        }
    }

    /// Parses `raw` by the full rules alone (Unicode, trimming, every refusal with its reason).
    init(byFullRules raw: String) throws(AddressError) {
        let text = TextField.trimmingSpaces(raw)
        guard !text.isEmpty else { throw AddressError(input: raw, reason: .empty) }
        // ASCII is checked byte by byte (the daemon parses every recipient; Unicode property lookups showed in
        // profiles); anything else goes through the Unicode rules.
        let isASCII = text.utf8.allSatisfy { $0 < 0x80 }
        if isASCII {
            if let bad = text.utf8.first(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw AddressError(input: raw, reason: .controlCharacter(Unicode.Scalar(bad)))
            }
            if text.utf8.contains(0x20) { throw AddressError(input: raw, reason: .containsSpace) }
        } else {
            if let bad = text.unicodeScalars.first(where: TextField.isForbidden) {
                throw AddressError(input: raw, reason: .controlCharacter(bad))
            }
            if text.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
                throw AddressError(input: raw, reason: .containsSpace)
            }
        }
        let ats = text.utf8.reduce(0) { $0 + ($1 == 0x40 ? 1 : 0) }
        guard ats > 0 else { throw AddressError(input: raw, reason: .missingAt) }
        guard ats == 1 else { throw AddressError(input: raw, reason: .severalAts) }
        guard let at = text.utf8.firstIndex(of: 0x40) else { throw AddressError(input: raw, reason: .missingAt) }
        // Unicode NFC: "zoë" typed as o + U+0308 (NFD, as some systems write it) and as U+00EB is one person, one
        // suppression entry. Compared byte for byte (SQLite, HMAC), the two forms would otherwise differ.
        let typedLocal = String(text[..<at])
        let typedDomain = String(text[text.utf8.index(after: at)...])
        // ASCII is its own NFC.
        let local = isASCII ? typedLocal : typedLocal.precomposedStringWithCanonicalMapping
        let domainText = isASCII ? typedDomain : typedDomain.precomposedStringWithCanonicalMapping

        try Self.checkLocalPart(local, input: raw)
        let (unicodeDomain, ascii) = try Self.checkDomain(domainText, input: raw)
        self.localPart = local
        self.domain = unicodeDomain
        self.asciiDomain = ascii
        if local.utf8.elementsEqual(typedLocal.utf8) && domainText.utf8.elementsEqual(typedDomain.utf8) {
            typedKey = nil
        } else {
            let typedASCII = (try? Self.checkDomain(typedDomain, input: raw).1) ?? ascii
            typedKey = "\(typedLocal.lowercased())@\(typedASCII)"
        }
    }

    private init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
        asciiDomain = domain
        typedKey = nil
    }

    /// The address if it is plain ASCII that the full rules would accept unchanged but for lower-casing the domain:
    /// no surrounding spaces, a dot-atom local part, LDH labels, no trailing root dot. Nil for anything else, which the
    /// full rules then parse (and explain), so the two paths can never disagree on an address this one accepts
    /// (`EmailAddressTests` compares them).
    static func simpleASCII(_ text: String) -> EmailAddress? {
        let dot = UInt8(ascii: "."), hyphen = UInt8(ascii: "-")
        return text.utf8.withContiguousStorageIfAvailable { bytes -> EmailAddress? in
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at <= 64 else { return nil }
            var previous = dot  // a leading dot is refused like a doubled one
            for byte in bytes[..<at] {
                guard byte == dot ? previous != dot : isAtext(byte) else { return nil }
                previous = byte
            }
            guard previous != dot else { return nil }
            var domain = [UInt8]()
            domain.reserveCapacity(bytes.count - at - 1)
            var labels = 0, labelLength = 0, labelAllDigits = true
            previous = dot
            for var byte in bytes[(at + 1)...] {
                if byte == dot {
                    guard labelLength > 0, previous != hyphen else { return nil }
                    labels += 1
                    labelLength = 0
                    labelAllDigits = true
                } else {
                    guard isLDH(byte), labelLength > 0 || byte != hyphen, labelLength < 63 else { return nil }
                    labelLength += 1
                    labelAllDigits = labelAllDigits && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
                    if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 0x20 }
                }
                domain.append(byte)
                previous = byte
            }
            // The last label: present (a trailing root dot takes the full path), not ending in a hyphen, not all digits.
            guard labelLength > 0, previous != hyphen, !labelAllDigits, labels >= 1, domain.count <= 253 else { return nil }
            return EmailAddress(localPart: String(decoding: bytes[..<at], as: UTF8.self),
                                domain: String(decoding: domain, as: UTF8.self))
        } ?? nil
    }

    /// A letter, digit or one of RFC 5322's atext specials (the dot is handled apart).
    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "?"),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"),
             UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// A letter, digit or hyphen: what an ASCII domain label may hold.
    private static func isLDH(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// The non-alphanumeric characters RFC 5322 allows in an atom (plus the dot between atoms).
    private static let atextSpecials = Set("!#$%&'*+-/=?^_`{|}~.".unicodeScalars)

    /// RFC 5322 dot-atom, extended to UTF-8 by RFC 6532; quoted local parts are refused as too rare to be worth the risk.
    private static func checkLocalPart(_ local: String, input: String) throws(AddressError) {
        guard !local.isEmpty else { throw AddressError(input: input, reason: .emptyLocalPart) }
        guard local.utf8.count <= 64 else { throw AddressError(input: input, reason: .localPartTooLong) }
        if local.hasPrefix("\"") { throw AddressError(input: input, reason: .quotedLocalPart) }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            throw AddressError(input: input, reason: .misplacedDot)
        }
        for scalar in local.unicodeScalars {
            let ok: Bool
            if scalar.isASCII {
                ok = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || Self.atextSpecials.contains(scalar)
            } else {
                ok = !scalar.properties.isWhitespace && scalar.properties.generalCategory != .format
            }
            guard ok else { throw AddressError(input: input, reason: .invalidLocalCharacter(Character(scalar))) }
        }
    }

    private static func checkDomain(_ text: String, input: String) throws(AddressError) -> (String, String) {
        guard !text.isEmpty else { throw AddressError(input: input, reason: .emptyDomain) }
        if text.hasPrefix("[") { throw AddressError(input: input, reason: .domainLiteral) }
        // IDNA mapping, simplified from UTS 46: canonical composition, then lower case; also accept the
        // ideographic full stop that Chinese and Japanese keyboards type for ".".
        // ASCII needs no Unicode normalisation (and the daemon parses every recipient: keep that path cheap).
        let mapped = text.utf8.allSatisfy({ $0 < 0x80 }) ? text.lowercased()
            : text.precomposedStringWithCanonicalMapping.lowercased().replacingOccurrences(of: "\u{3002}", with: ".")
        var domain = mapped
        if domain.hasSuffix(".") { domain.removeLast() }  // a trailing root dot is legal but never useful here
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard labels.count >= 2 else { throw AddressError(input: input, reason: .domainWithoutDot) }
        var asciiLabels: [String] = []
        for label in labels {
            asciiLabels.append(try asciiLabel(label, input: input))
        }
        if let tld = asciiLabels.last, tld.allSatisfy(\.isNumber) {
            throw AddressError(input: input, reason: .numericTopLevelDomain)
        }
        let ascii = asciiLabels.joined(separator: ".")
        guard ascii.utf8.count <= 253 else { throw AddressError(input: input, reason: .domainTooLong) }
        return (domain, ascii)
    }

    private static func asciiLabel(_ label: String, input: String) throws(AddressError) -> String {
        guard !label.isEmpty else { throw AddressError(input: input, reason: .emptyDomainLabel) }
        let ascii: String
        if label.unicodeScalars.allSatisfy(\.isASCII) {
            ascii = label
        } else {
            for scalar in label.unicodeScalars where !scalar.isASCII {
                let p = scalar.properties
                let isMark = [.nonspacingMark, .spacingMark, .enclosingMark].contains(p.generalCategory)
                guard p.isAlphabetic || p.numericType != nil || isMark else {
                    throw AddressError(input: input, reason: .invalidDomainCharacter(Character(scalar)))
                }
            }
            guard let encoded = Punycode.encode(label) else {
                throw AddressError(input: input, reason: .badDomainLabel(label))
            }
            ascii = "xn--" + encoded
        }
        let ldh = ascii.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard ldh else {
            let bad = ascii.first { !($0.isLetter && $0.isASCII) && !$0.isNumber && $0 != "-" } ?? "?"
            throw AddressError(input: input, reason: .invalidDomainCharacter(bad))
        }
        guard !ascii.hasPrefix("-"), !ascii.hasSuffix("-") else {
            throw AddressError(input: input, reason: .badDomainLabel(label))
        }
        guard ascii.utf8.count <= 63 else { throw AddressError(input: input, reason: .domainLabelTooLong(label)) }
        return ascii
    }
}

/// Why a piece of text is not a usable email address.
public struct AddressError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The specific problem.
    public enum Reason: Sendable, Equatable {
        case empty, missingAt, severalAts, containsSpace, controlCharacter(Unicode.Scalar)
        case emptyLocalPart, localPartTooLong, quotedLocalPart, misplacedDot, invalidLocalCharacter(Character)
        case emptyDomain, domainLiteral, domainWithoutDot, emptyDomainLabel, invalidDomainCharacter(Character)
        case badDomainLabel(String), domainLabelTooLong(String), domainTooLong, numericTopLevelDomain
    }

    /// The text as it was given.
    public let input: String
    /// What is wrong with it.
    public let reason: Reason

    /// A sentence a coordinator can act on.
    public var description: String {
        "\"\(TextField.printable(input))\" is not a usable email address: \(explanation)"
    }

    /// The reason alone, for reports that already show the input.
    public var explanation: String {
        switch reason {
        case .empty: "it is empty"
        case .missingAt: "it has no @"
        case .severalAts: "it has more than one @"
        case .containsSpace: "it contains a space"
        case .controlCharacter(let s): "it contains \(TextField.describe(s))"
        case .emptyLocalPart: "nothing comes before the @"
        case .localPartTooLong: "the part before the @ is longer than 64 bytes"
        case .quotedLocalPart: "quoted local parts (\"...\"@) are not supported"
        case .misplacedDot: "the part before the @ starts or ends with a dot, or has two dots in a row"
        case .invalidLocalCharacter(let c): "the part before the @ contains \"\(c)\""
        case .emptyDomain: "nothing comes after the @"
        case .domainLiteral: "addresses at an IP address ([...]) are not supported"
        case .domainWithoutDot: "the domain after the @ has no dot (e.g. example.org)"
        case .emptyDomainLabel: "the domain has an empty part (two dots in a row, or a leading dot)"
        case .invalidDomainCharacter(let c): "the domain contains \"\(c)\""
        case .badDomainLabel(let l): "the domain part \"\(l)\" is not valid"
        case .domainLabelTooLong(let l): "the domain part \"\(l)\" is longer than 63 characters"
        case .domainTooLong: "the domain is longer than 253 characters"
        case .numericTopLevelDomain: "the domain ends in a number"
        }
    }
}
