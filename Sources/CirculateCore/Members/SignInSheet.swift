import CSV
import Foundation

/// A session sign-in sheet as a spreadsheet exports it, read loosely: any common encoding, separator and header
/// spelling, quoted fields with commas and line breaks, a title row above the headers.
public struct SignInSheet: Sendable {
    /// One data row, with the spreadsheet's own row number (the header is row 1 when it is the first line).
    public struct Row: Sendable, Equatable {
        /// The row number a person sees in the spreadsheet.
        public var number: Int
        /// The Email cell, untouched.
        public var email: String
        /// The name, from a Name column or First name + Last name.
        public var name: String
        /// The Organisation cell.
        public var organisation: String
        /// The Known as / Preferred name cell, if the sheet has that column.
        public var knownAs: String? = nil
        /// The Consent cell, if the sheet has that column.
        public var consent: String?
        /// The Roles/Tags cell, if any.
        public var tags: String?
    }

    /// What the Consent cell says.
    public enum ConsentAnswer: Sendable, Equatable {
        case yes, no, unclear(String)
    }

    /// The data rows, blank ones left out.
    public var rows: [Row]
    /// Whether the sheet has a Consent column at all.
    public var hasConsentColumn: Bool
    /// Header cells that were not recognised and so not used.
    public var ignoredColumns: [String]
    /// Set when the file was not UTF-8 and was read in another encoding.
    public var encodingNote: String?

    /// Reads the bytes of a CSV file.
    public static func parse(_ data: Data) throws(SheetError) -> SignInSheet {
        let (text, note) = try decode(data)
        let delimiter = guessDelimiter(text)
        var records: [[String]] = []
        do {
            let reader = try CSVReader(string: text, hasHeaderRow: false, trimFields: false, delimiter: delimiter)
            while let record = reader.next() { records.append(record) }
            if reader.error != nil { throw SheetError.unreadable("the CSV could not be parsed") }
        } catch let error as SheetError {
            throw error
        } catch {
            throw SheetError.unreadable("the CSV could not be parsed")
        }
        guard !records.isEmpty else { throw SheetError.empty }

        // The header is the first row (of the first ten) that names an Email column.
        guard let headerIndex = records.prefix(10).firstIndex(where: { Columns(header: $0).email != nil }) else {
            let first = records[0].map { $0.trimmedSpaces }.filter { !$0.isEmpty }
            throw SheetError.noEmailColumn(header: first)
        }
        let header = records[headerIndex]
        let columns = Columns(header: header)
        var rows: [Row] = []
        for index in (headerIndex + 1)..<records.count {
            let record = records[index]
            if record.allSatisfy({ $0.trimmedSpaces.isEmpty }) { continue }
            func cell(_ column: Int?) -> String {
                guard let column, column < record.count else { return "" }
                return record[column]
            }
            var name = cell(columns.name).trimmedSpaces
            if name.isEmpty {
                name = [cell(columns.firstName), cell(columns.lastName)]
                    .map { $0.trimmedSpaces }.filter { !$0.isEmpty }.joined(separator: " ")
            }
            rows.append(Row(number: index + 1, email: cell(columns.email), name: name,
                            organisation: cell(columns.organisation),
                            consent: columns.consent.map { cell($0) }, tags: columns.tags.map { cell($0) }))
            rows[rows.count - 1].knownAs = columns.knownAs.map { cell($0) }
        }
        let used = Set([columns.email, columns.name, columns.firstName, columns.lastName, columns.organisation,
                        columns.consent, columns.tags, columns.knownAs].compactMap { $0 })
        let ignored = header.indices.filter { !used.contains($0) }
            .map { header[$0].trimmedSpaces }.filter { !$0.isEmpty }
        return SignInSheet(rows: rows, hasConsentColumn: columns.consent != nil, ignoredColumns: ignored, encodingNote: note)
    }

    /// Reads a Consent cell: yes/y/true/1/x/✓ and no/n/false/0/blank, in any case.
    public static func consentAnswer(_ cell: String?) -> ConsentAnswer {
        let value = TextField.trimmingSpaces(cell ?? "").lowercased()
        switch value {
        case "yes", "y", "true", "1", "x", "✓", "✔", "agreed", "agree", "i agree", "ok", "consent", "consented", "given":
            return .yes
        case "no", "n", "false", "0", "", "✗", "✘", "-", "none", "declined", "refused":
            return .no
        default:
            return .unclear(cell ?? "")
        }
    }

    /// UTF-8 (with or without BOM), UTF-16 with BOM, or — what Excel's plain "CSV" gives on Windows — Windows-1252.
    static func decode(_ data: Data) throws(SheetError) -> (String, String?) {
        let bytes = [UInt8](data.prefix(3))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            guard let text = String(data: data.dropFirst(3), encoding: .utf8) else { throw SheetError.badEncoding }
            return (text, nil)
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            guard let text = String(data: data, encoding: .utf16) else { throw SheetError.badEncoding }
            return (text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, nil)
        }
        if let text = String(data: data, encoding: .utf8) { return (text, nil) }
        if let text = String(data: data, encoding: .windowsCP1252) {
            return (text, "the file is not UTF-8, so it was read as Windows-1252 (Excel's plain CSV); check accented names, or save as \"CSV UTF-8\"")
        }
        throw SheetError.badEncoding
    }

    /// Comma, semicolon (spreadsheets in many European locales) or tab, whichever the first line uses most.
    static func guessDelimiter(_ text: String) -> Unicode.Scalar {
        let firstLine = text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" }
        let counts: [(Unicode.Scalar, Int)] = [(",", 0), (";", 0), ("\t", 0)].map { candidate in
            (candidate.0, firstLine.unicodeScalars.filter { $0 == candidate.0 }.count)
        }
        return counts.max { $0.1 < $1.1 }.flatMap { $0.1 > 0 ? $0.0 : nil } ?? ","
    }

    /// Which column holds what, matched loosely on the header's letters and digits.
    struct Columns {
        var email: Int?, name: Int?, firstName: Int?, lastName: Int?, organisation: Int?, consent: Int?, tags: Int?
        /// The name a person goes by, for greetings.
        var knownAs: Int?

        init(header: [String]) {
            let keys = header.map { cell in
                String(cell.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
            }
            func first(_ match: (String) -> Bool) -> Int? { keys.firstIndex(where: match) }
            consent = first { $0.contains("consent") || $0.contains("optin") || $0.hasPrefix("agree") || $0.hasPrefix("happyto")
                || $0.hasPrefix("mayweemail") || $0.hasPrefix("mayweemail") }
            email = first { ["email", "emailaddress", "mail", "emailaddr", "youremail", "youremailaddress", "workemail"].contains($0) }
                ?? first { $0.contains("email") && !$0.contains("consent") }
            name = first { ["name", "fullname", "yourname", "displayname", "attendee", "attendeename", "participant",
                            "participantname", "names"].contains($0) }
            firstName = first { ["firstname", "forename", "givenname", "first"].contains($0) }
            lastName = first { ["lastname", "surname", "familyname", "last"].contains($0) }
            organisation = first { ["organisation", "organization", "org", "organisationname", "organizationname", "company",
                                    "employer", "agency", "organisations", "organizations"].contains($0) }
                ?? first { $0.hasPrefix("organi") }
            tags = first { ["role", "roles", "tag", "tags", "group", "groups", "rolestags", "roletags"].contains($0) }
            knownAs = first { ["knownas", "preferredname", "nickname", "namepreferred", "goesby"].contains($0) }
            if consent == email { consent = nil }
        }
    }
}

/// Why a file cannot be read as a sign-in sheet at all; nothing was imported.
public enum SheetError: Failure, Equatable {
    case empty
    case badEncoding
    case unreadable(String)
    case noEmailColumn(header: [String])
    case noConsentColumn

    /// Always invalid input.
    public var kind: FailureKind { .invalidInput }

    /// What is wrong and what to do.
    public var description: String {
        switch self {
        case .empty: "the file is empty; export the sheet again"
        case .badEncoding: "the file is not text in UTF-8, UTF-16 or Windows-1252; save it from the spreadsheet as \"CSV UTF-8\""
        case .unreadable(let why): "\(why); save it from the spreadsheet as \"CSV UTF-8\" and try again"
        case .noEmailColumn(let header):
            "no Email column found (the first row has: \(header.isEmpty ? "nothing" : header.joined(separator: ", "))); "
                + "name the column of addresses \"Email\""
        case .noConsentColumn:
            "the sheet has no Consent column, so nobody on it has consent on record. Add a Consent column (yes/no), "
                + "or, for key influencers contacted in their professional role, import with --lawful-basis legitimate-interest"
        }
    }
}
