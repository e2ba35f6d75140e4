import Foundation
import GRDB

extension AppDatabase {
    /// Queues an announcement (`circulate send`) in one transaction; the same one asked for again is found, not
    /// doubled (see `Announcements`).
    public func enqueue(_ announcement: Announcement, domain: String, now: Date) throws -> QueueingResult {
        try write { db in try OutboundQueue.enqueue(db, Announcements.plan(announcement), domain: domain, now: now) }
    }

    /// The mailing an announcement would find again, if any (for dry runs: "already queued").
    public func existingMailing(for announcement: Announcement) throws -> Mailing? {
        try read { db in try OutboundQueue.existing(db, Announcements.plan(announcement).identity) }
    }

    /// How many people an announcement to this audience would reach now (for dry runs).
    public func audienceSize(_ audience: Audience) throws -> Int {
        try read { db in
            let (sql, arguments) = Announcements.audienceQuery(audience, select: "count(*)")
            return try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
    }

    /// With `newcomers`: how many people in the audience are not on the mailing yet (for dry runs).
    public func newcomers(_ audience: Audience, mailing: Int64) throws -> Int {
        try read { db in
            let (sql, arguments) = Announcements.audienceQuery(audience, select: "count(*)")
            return try Int.fetchOne(db, sql: sql + " AND m.id NOT IN (SELECT member_id FROM delivery WHERE mailing_id = ? AND member_id IS NOT NULL)",
                                    arguments: arguments + [mailing]) ?? 0
        }
    }
}
