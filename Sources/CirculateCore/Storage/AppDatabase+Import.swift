import Foundation
import GRDB

/// How a sheet is imported.
public struct ImportOptions: Sendable {
    /// The lawful basis for everyone on the sheet (consent needs the row's Consent cell to say yes).
    public var lawfulBasis: LawfulBasis = .consent
    /// Where and when (recorded on each consent event).
    public var source: String
    /// The consent wording version on the sheet.
    public var wordingVersion: String?
    /// Who imports.
    public var recordedBy: String
    /// Roles/tags given to everyone on the sheet (e.g. attendee).
    public var tags: [String] = []
    /// Streams for new people; nil means the defaults for the basis.
    public var streams: StreamPreferences?
    /// Bring back unsubscribed people whose row records fresh consent.
    public var resubscribe = false
    /// Work everything out, then roll back.
    public var dryRun = false
    /// Import the valid rows even if some are rejected.
    public var skipInvalid = false

    /// Options with the required fields.
    public init(source: String, wordingVersion: String?, recordedBy: String) {
        self.source = source
        self.wordingVersion = wordingVersion
        self.recordedBy = recordedBy
    }
}

extension AppDatabase {
    /// Imports a sign-in sheet in one transaction: all of it or, if a row is rejected (and `skipInvalid` is off) or
    /// this is a dry run, none of it. Re-importing the same sheet changes nothing.
    public func importSheet(_ sheet: SignInSheet, options: ImportOptions, key: InstanceKey, now: Date) throws -> ImportReport {
        try importSheet(sheet, options: options, key: key, now: now, afterRows: { _, _ in })
    }

    /// `importSheet`, with `afterRows` run inside the same transaction once every row is imported (attendance uses
    /// it to record who came); what it throws rolls the whole import back.
    func importSheet(_ sheet: SignInSheet, options: ImportOptions, key: InstanceKey, now: Date,
                     afterRows: (Database, ImportReport) throws -> Void) throws -> ImportReport {
        if options.lawfulBasis == .consent && !sheet.hasConsentColumn { throw SheetError.noConsentColumn }
        let grant = try ConsentGrant(lawfulBasis: options.lawfulBasis, source: options.source,
                                     wordingVersion: options.wordingVersion, recordedBy: options.recordedBy)
        do {
            return try pool.writeWithoutTransaction { db in
                var report = ImportReport(dryRun: options.dryRun, ignoredColumns: sheet.ignoredColumns,
                                          encodingNote: sheet.encodingNote)
                try db.inTransaction(.immediate) {
                    var seen: [String: Int] = [:]
                    for row in sheet.rows {
                        report.lines.append(try Self.importRow(db, row, grant: grant, options: options, key: key,
                                                               seen: &seen, now: now))
                    }
                    try afterRows(db, report)
                    let commit = !options.dryRun && (options.skipInvalid || !report.hasRejections)
                    report.committed = commit
                    return commit ? .commit : .rollback
                }
                return report
            }
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
    }

    private static func importRow(_ db: Database, _ row: SignInSheet.Row, grant: ConsentGrant, options: ImportOptions,
                                  key: InstanceKey, seen: inout [String: Int], now: Date) throws -> ImportReport.Line {
        func line(_ email: String, _ outcome: ImportReport.Outcome, _ note: String? = nil) -> ImportReport.Line {
            ImportReport.Line(row: row.number, email: email, outcome: outcome, note: note)
        }
        let typed = TextField.trimmingSpaces(row.email)
        guard !typed.isEmpty else {
            var nameOnly = line("", .skipped, "no email address on this row")
            nameOnly.personNotHeld = !TextField.trimmingSpaces(row.name).isEmpty
            return nameOnly
        }

        let address: EmailAddress
        let details: NewMember
        let rowTags: [String]
        var notes: [String] = []
        // A spreadsheet cell may hold line breaks (Alt+Enter); in a name or organisation they mean a space. Other
        // control characters are still refused by the field rules.
        let name = flattened(row.name)
        let organisation = flattened(row.organisation)
        if name != TextField.trimmingSpaces(row.name) || organisation != TextField.trimmingSpaces(row.organisation) {
            notes.append("line breaks inside a cell were replaced by spaces")
        }
        do {
            address = try EmailAddress(typed)
            rowTags = try Tag.parseList(row.tags ?? "")
            details = try NewMember(address: address, name: name, organisation: organisation, knownAs: row.knownAs.map(flattened),
                                    tags: Array(Set(options.tags + rowTags)).sorted(), streams: options.streams)
        } catch let error as AddressError {
            return line(TextField.printable(typed), .rejected, error.explanation)
        } catch let error as InvalidField {
            return line(TextField.printable(typed), .rejected, error.description)
        }
        let shown = address.description

        if let first = seen[address.key] {
            return line(shown, .skipped, "same address as row \(first); only the first is used")
        }
        seen[address.key] = row.number

        let answer = SignInSheet.consentAnswer(row.consent)
        if case .unclear(let text) = answer, options.lawfulBasis == .consent {
            return line(shown, .rejected, "Consent \"\(TextField.printable(text))\" is neither yes nor no")
        }
        let consentGiven = options.lawfulBasis == .legitimateInterest || answer == .yes

        if let erasedAt = try erasedAt(db, address: address, key: key) {
            var erased = line(shown, .skipped, "erased at the person's request on \(MemberError.day(erasedAt)); not added again. "
                              + "If they asked to rejoin: circulate member add \(shown) --rejoin --source \"...\"")
            erased.personNotHeld = true
            return erased
        }

        guard var member = try member(db, key: address.key), let id = member.id else {
            guard consentGiven else {
                var unconsented = line(shown, .skipped, "no consent on the sheet (Consent: \"\(row.consent ?? "")\"); not added")
                unconsented.personNotHeld = true
                return unconsented
            }
            _ = try insertMember(db, details, grant: grant, now: now)
            return line(shown, .added, notes.isEmpty ? nil : notes.joined(separator: "; "))
        }

        // An existing person: fill in details the sheet gives, add tags, never remove anything.
        let before = member
        if !details.name.isEmpty { member.name = details.name }
        if let organisation = details.organisation { member.organisation = organisation }
        if let knownAs = details.knownAs { member.knownAs = knownAs }
        var tagsAdded = false
        for tag in details.tags where try addTag(db, member: id, tag) { tagsAdded = true }
        var consentRecorded = false
        switch member.status {
        case .active:
            if options.lawfulBasis == .consent && answer == .yes {
                let latest = try String.fetchOne(db.cachedStatement(sql: """
                    SELECT wording_version FROM consent_event
                    WHERE member_id = ? AND action = 'given' AND lawful_basis = 'consent'
                    ORDER BY id DESC LIMIT 1
                    """), arguments: [id])
                if member.lawfulBasis != .consent || latest != grant.wordingVersion {
                    // Someone reached in their professional role who now ticks yes gets what consent brings (the
                    // streams asked for, or all); a new wording version for a member keeps the streams they chose.
                    if member.lawfulBasis != .consent {
                        let granted = options.streams ?? .defaults(for: .consent)
                        for stream in granted.enabled { member.streams[stream] = true }
                    }
                    try recordGrant(db, member: id, streams: member.streams, basis: .consent, source: grant.source,
                                    wording: grant.wordingVersion, by: grant.recordedBy, now: now)
                    member.lawfulBasis = .consent
                    consentRecorded = true
                    notes.append("consent recorded (wording \(grant.wordingVersion ?? "-"); \(describe(member.streams)))")
                }
            } else if options.lawfulBasis == .consent && answer == .no && !TextField.trimmingSpaces(row.consent ?? "").isEmpty {
                // An explicit "no" on a later sheet is their latest wish; a blank cell is not a withdrawal.
                let covered = (options.streams ?? .all).enabled.filter { member.streams[$0] }
                if !covered.isEmpty {
                    try withdraw(db, member: &member, streams: covered, source: grant.source, by: grant.recordedBy, now: now)
                    consentRecorded = true
                    notes.append(member.status == .unsubscribed
                                 ? "said no to emails on this sheet: unsubscribed, withdrawal recorded"
                                 : "said no to emails on this sheet: stopped \(covered.map(\.rawValue).joined(separator: ", ")), withdrawal recorded")
                }
            }
        case .unsubscribed, .bounced, .erasedSuppressed:
            if options.resubscribe && options.lawfulBasis == .consent && answer == .yes {
                member.status = .active
                member.lawfulBasis = .consent
                member.streams = options.streams ?? .defaults(for: .consent)
                member.statusChangedAt = now
                try recordGrant(db, member: id, streams: member.streams, basis: .consent, source: grant.source,
                                wording: grant.wordingVersion, by: grant.recordedBy, now: now)
                consentRecorded = true
                notes.append("resubscribed with the fresh consent on this row")
            } else if member.status == .bounced {
                notes.append("their address bounced; still not mailed")
            } else {
                notes.append("unsubscribed on \(MemberError.day(member.statusChangedAt)) and stays unsubscribed"
                             + (answer == .yes ? "; if this row records fresh consent, import with --resubscribe" : ""))
            }
        }
        let changed = member != before || tagsAdded || consentRecorded
        if !changed { notes.removeAll { $0.hasPrefix("line breaks") } }
        if changed {
            member.updatedAt = now
            try member.update(db)
        }
        return line(shown, changed ? .updated : .unchanged, notes.isEmpty ? nil : notes.joined(separator: "; "))
    }
}

extension AppDatabase {
    /// Stops `streams` for a member in the transaction under way, recording one withdrawal (for all streams when
    /// nothing is left, which also unsubscribes them) and cancelling what is queued for those streams.
    static func withdraw(_ db: Database, member: inout Member, streams: [MailStream], source: String, by: String, now: Date) throws {
        guard let id = member.id else { return }
        var remaining = member.streams
        for stream in streams { remaining[stream] = false }
        if remaining.isEmpty {
            try record(db, .withdrawn, member: id, stream: nil, basis: member.lawfulBasis, source: source, wording: nil, by: by, now: now)
            _ = try OutboundQueue.cancel(db, .member(id, stream: nil), reason: "the recipient unsubscribed", now: now)
            member.status = .unsubscribed
            member.lawfulBasis = nil
            member.statusChangedAt = now
        } else {
            for stream in streams {
                try record(db, .withdrawn, member: id, stream: stream, basis: member.lawfulBasis, source: source, wording: nil, by: by, now: now)
                _ = try OutboundQueue.cancel(db, .member(id, stream: stream), reason: "the recipient left \(stream.rawValue)", now: now)
            }
        }
        member.streams = remaining
    }

    /// "all streams", or the streams by name.
    static func describe(_ streams: StreamPreferences) -> String {
        streams == .all ? "all streams" : streams.enabled.map(\.rawValue).joined(separator: ", ")
    }
}

/// Collapses runs of CR, LF and TAB into one space and trims the ends.
private func flattened(_ cell: String) -> String {
    var out = ""
    var pendingSpace = false
    for scalar in cell.unicodeScalars {
        if scalar == "\r" || scalar == "\n" || scalar == "\t" {
            pendingSpace = true
            continue
        }
        if pendingSpace && !out.isEmpty && !out.hasSuffix(" ") && scalar != " " { out.append(" ") }
        pendingSpace = false
        out.unicodeScalars.append(scalar)
    }
    return TextField.trimmingSpaces(out)
}
