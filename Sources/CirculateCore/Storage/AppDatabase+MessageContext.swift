import Foundation
import GRDB

/// Everything a mailing's messages say besides the coordinator's own words: the session it is about, the session it
/// invites to, the report, what is coming up. Read when the messages are built, so they are current.
public struct MailingContext: Sendable {
    public var mailing: Mailing
    /// The session the mailing is about.
    public var session: Session?
    /// The session whose invitation each message carries; nil when there is none or it has been cancelled since
    /// (except for a cancellation, which carries the cancelled session).
    public var invitation: Session?
    public var report: Report?
    public var reportTopic: String?
    /// The attached report file.
    public var reportFile: (name: String, data: [UInt8])?
    /// Sessions still to come (for the monthly update).
    public var upcoming: [Session]
    /// Reports of the last two months (for the monthly update).
    public var recentReports: [Report]
    /// The next session, for the closing line of every message.
    public var nextSession: Session?
    /// For a "new date" message: the session's start and end before the move it announces.
    public var movedFrom: (start: Date, end: Date)?
}

extension AppDatabase {
    /// Reads the context of a mailing as of `now`.
    public func mailingContext(_ mailing: Mailing, now: Date) throws -> MailingContext {
        try fetch { db in
            let session = try mailing.sessionID.map { try Session.find(db, id: $0) }
            var invitation = try mailing.invitationSessionID.map { try Session.find(db, id: $0) }
            if let i = invitation, mailing.kind != .sessionCancelled, i.state == .cancelled || i.endsAt <= now {
                invitation = nil
            }
            if [.thankYou, .missedYou, .noShow].contains(mailing.kind), mailing.stream != nil, invitation == nil {
                // The session first chosen is off: invite to whatever comes next instead. Not for guests, whose
                // follow-up carries only an invitation they already have (they get no stream mail).
                invitation = try Session.next(db, after: max(now, session?.endsAt ?? now))
            }
            let report = try mailing.reportID.map { try Report.find(db, id: $0) }
            let file = try mailing.reportID.flatMap { try Self.reportFile(db, $0) }
            let topic = try report?.topicID.flatMap { try String.fetchOne(db, sql: "SELECT title FROM topic WHERE id = ?", arguments: [$0]) }
            var upcoming: [Session] = []
            var recent: [Report] = []
            if mailing.kind == .update {
                upcoming = try Session.fetchAll(db, sql: """
                    \(Session.select) WHERE s.state = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at LIMIT 6
                    """, arguments: [now])
                recent = try Report.fetchAll(db, sql: "\(Report.select) WHERE distributed_at > ? ORDER BY id DESC LIMIT 6",
                                             arguments: [now.addingTimeInterval(-62 * 86_400)])
            }
            var movedFrom: (Date, Date)?
            if mailing.kind == .sessionChanged, let id = mailing.id,
               let row = try Row.fetchOne(db, sql: "SELECT previous_starts_at, previous_ends_at FROM session_move WHERE mailing_id = ?",
                                          arguments: [id]) {
                movedFrom = (row["previous_starts_at"], row["previous_ends_at"])
            }
            return MailingContext(mailing: mailing, session: session, invitation: invitation, report: report, reportTopic: topic,
                                  reportFile: file, upcoming: upcoming, recentReports: recent,
                                  nextSession: try Session.next(db, after: now), movedFrom: movedFrom)
        }
    }
}
