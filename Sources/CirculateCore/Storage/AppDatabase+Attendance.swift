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
        var options = options
        if status == .attended && !options.tags.contains("attendee") { options.tags.append("attendee") }
        var recorded = 0, newly = 0, unlisted = 0, notMailable = 0
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
        return AttendanceReport(sheet: report, recorded: recorded, newlyRecorded: newly, unlisted: unlisted, notMailable: notMailable)
    }
}
