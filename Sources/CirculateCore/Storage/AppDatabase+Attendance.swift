import Foundation
import GRDB

/// What recording a session's attendance (or apologies) did.
public struct AttendanceReport: Sendable, Equatable {
    /// The member import underneath: who was added, updated, skipped or rejected, row by row.
    public var sheet: ImportReport
    /// People now recorded with the status for this session (on the list).
    public var recorded: Int
    /// Of those, how many were not recorded before this import.
    public var newlyRecorded: Int
    /// Of those, how many this sheet added to the list (the others were on it already).
    public var newToList: Int
    /// People on the sheet who are not on the list (no consent, erased, no address): counted, not stored.
    public var unlisted: Int
    /// Of the recorded people, how many may not be mailed (no lawful basis, unsubscribed, opted out).
    public var notMailable: Int
}

extension AppDatabase {
    /// Imports a session's sign-in sheet: members are added or updated exactly as `member import` does (with the
    /// consent the sheet records), and everyone on the list is recorded as having attended (or, with `.apologies`,
    /// as having sent apologies). One transaction: a rejected row stops it all unless `skipInvalid`.
    /// The sheet is the record of the day: importing it again changes nothing, and the count of people not on the
    /// list is replaced, not added to.
    public func recordAttendance(session id: Int64, sheet: SignInSheet, status: Participation, options: ImportOptions,
                                 key: InstanceKey, now: Date) throws -> AttendanceReport {
        guard status == .attended || status == .apologies else {
            throw WorkflowError("attendance records who attended or sent apologies, not \(status.rawValue)")
        }
        if status == .apologies { return try recordApologies(session: id, sheet: sheet, options: options, now: now) }
        var options = options
        if status == .attended && !options.tags.contains("attendee") { options.tags.append("attendee") }
        var recorded = 0, newly = 0, unlisted = 0, notMailable = 0, added = 0
        let report = try importSheet(sheet, options: options, key: key, now: now) { db, report in
            let session = try Session.find(db, id: id)
            guard session.state == .scheduled else { throw WorkflowError("session \(id) was cancelled; attendance cannot be recorded for it") }
            guard session.startsAt <= now.addingTimeInterval(12 * 3600) else {
                throw WorkflowError("session \(id) has not happened yet (see `circulate session show \(id)`); record attendance once it has")
            }
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO participation (session_id, member_id, status, recorded_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(session_id, member_id) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
                WHERE participation.status <> excluded.status AND (excluded.status = 'attended' OR participation.status <> 'attended')
                """)
            for line in report.lines {
                if line.personNotHeld {
                    unlisted += 1
                    continue
                }
                guard [.added, .updated, .unchanged].contains(line.outcome), let address = try? EmailAddress(line.email),
                      let member = try Self.member(db, key: address.key), let memberID = member.id else { continue }
                let before = try String.fetchOne(db, sql: "SELECT status FROM participation WHERE session_id = ? AND member_id = ?",
                                                 arguments: [id, memberID])
                try upsert.execute(arguments: [id, memberID, status.rawValue, now])
                recorded += 1
                if line.outcome == .added { added += 1 }
                if before == nil || (before != status.rawValue && db.changesCount > 0) { newly += 1 }
                if !member.mayReceive(.sessionInvitations) { notMailable += 1 }
            }
            if status == .attended {
                try db.execute(sql: "UPDATE session SET unlisted_attendees = ? WHERE id = ?", arguments: [unlisted, id])
            }
            if newly > 0 {
                // Later than the thank-you, even if the scheduler queued it (on its own clock) after this command read
                // the time: the scheduler then sees these people as new and thanks them too.
                let changed = session.followedUpAt.map { max(now, $0.addingTimeInterval(0.001)) } ?? now
                try db.execute(sql: "UPDATE session SET attendance_changed_at = ?, updated_at = ? WHERE id = ?", arguments: [changed, now, id])
            }
        }
        return AttendanceReport(sheet: report, recorded: recorded, newlyRecorded: newly, newToList: added, unlisted: unlisted,
                                notMailable: notMailable)
    }

    /// A sheet of apologies: people on the list are recorded as having sent apologies (someone recorded as attended
    /// stays attended) and their waiting reminders are cancelled; nobody is added to the list, so no Consent column
    /// is needed, and addresses not on the list are counted and reported, never stored. One transaction.
    private func recordApologies(session id: Int64, sheet: SignInSheet, options: ImportOptions, now: Date) throws -> AttendanceReport {
        var recorded = 0, newly = 0, unlisted = 0, notMailable = 0
        var report = ImportReport(dryRun: options.dryRun, ignoredColumns: sheet.ignoredColumns, encodingNote: sheet.encodingNote)
        do {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let session = try Session.find(db, id: id)
                guard session.state == .scheduled else { throw WorkflowError("session \(id) was cancelled; apologies cannot be recorded for it") }
                var seen: [String: Int] = [:]
                for row in sheet.rows {
                    func line(_ email: String, _ outcome: ImportReport.Outcome, _ note: String) -> ImportReport.Line {
                        ImportReport.Line(row: row.number, email: email, outcome: outcome, note: note)
                    }
                    let typed = TextField.trimmingSpaces(row.email)
                    guard !typed.isEmpty else {
                        report.lines.append(line("", .skipped, "no email address on this row"))
                        continue
                    }
                    guard let address = try? EmailAddress(typed) else {
                        report.lines.append(line(TextField.printable(typed), .rejected, Self.addressProblem(typed)))
                        continue
                    }
                    if let first = seen[address.key] {
                        report.lines.append(line(address.description, .skipped, "same address as row \(first); only the first is used"))
                        continue
                    }
                    seen[address.key] = row.number
                    guard let member = try Self.member(db, key: address.key), let memberID = member.id else {
                        unlisted += 1
                        var absent = line(address.description, .skipped, "not on the list: counted, not stored")
                        absent.personNotHeld = true
                        report.lines.append(absent)
                        continue
                    }
                    let before = try Participation.fetchOne(db, sql: "SELECT status FROM participation WHERE session_id = ? AND member_id = ?",
                                                            arguments: [id, memberID])
                    recorded += 1
                    if !member.mayReceive(.sessionInvitations) { notMailable += 1 }
                    switch before {
                    case .attended?:
                        report.lines.append(line(address.description, .unchanged, "already recorded as having attended; stays attended"))
                    case .apologies?:
                        report.lines.append(line(address.description, .unchanged, "apologies already recorded"))
                    default:
                        try db.execute(sql: """
                            INSERT INTO participation (session_id, member_id, status, recorded_at) VALUES (?, ?, ?, ?)
                            ON CONFLICT(session_id, member_id) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
                            """, arguments: [id, memberID, Participation.apologies.rawValue, now])
                        _ = try OutboundQueue.cancel(db, CancelSelector(member: memberID, session: id, kinds: [.reminder]),
                                                     reason: "the recipient sent apologies for the session", now: now)
                        newly += 1
                        report.lines.append(line(address.description, .updated, "apologies recorded"))
                    }
                }
                if newly > 0 {
                    // As for attendance: apologies recorded after the follow-up went get their own "sorry we missed you".
                    let changed = session.followedUpAt.map { max(now, $0.addingTimeInterval(0.001)) } ?? now
                    try db.execute(sql: "UPDATE session SET attendance_changed_at = ?, updated_at = ? WHERE id = ?", arguments: [changed, now, id])
                }
                let commit = !options.dryRun && (options.skipInvalid || !report.hasRejections)
                report.committed = commit
                return commit ? .commit : .rollback
            }
        }
        } catch let error as DatabaseError {
            throw StorageError.from(error, path: path)
        }
        return AttendanceReport(sheet: report, recorded: recorded, newlyRecorded: newly, newToList: 0, unlisted: unlisted,
                                notMailable: notMailable)
    }

    /// Why an address is refused, in words.
    private static func addressProblem(_ typed: String) -> String {
        do {
            _ = try EmailAddress(typed)
            return ""
        } catch {
            return error.explanation
        }
    }
}
