import Crypto
import Foundation
import GRDB

/// What the coordinator asks `circulate send` for: one message, in Markdown, to everyone on a stream or to the people
/// with given roles or tags, now or at a given time.
public struct Announcement: Sendable, Equatable {
    public var audience: Audience
    public var subject: String
    public var bodyMarkdown: String
    /// The start the coordinator gave (`--at`), if any: part of what makes two commands "the same".
    public var requestedStart: Date?
    /// Not before this instant (`requestedStart`, or when the command ran).
    public var sendAfter: Date
    public var createdBy: String
    /// What to do if the same announcement was already sent or queued.
    public var repeatMode: SendRepeat

    /// Checks the subject (it becomes a header) and builds a request.
    public init(audience: Audience, subject: String, bodyMarkdown: String, requestedStart: Date?, now: Date, createdBy: String,
                repeatMode: SendRepeat = .once) throws(InvalidField) {
        let clean = try TextField.clean(subject, field: "subject", maxLength: 250)
        guard !clean.isEmpty else { throw InvalidField(field: "subject", value: subject, problem: "is empty") }
        self.audience = audience
        self.subject = clean
        self.bodyMarkdown = bodyMarkdown
        self.requestedStart = requestedStart
        sendAfter = requestedStart ?? now
        self.createdBy = createdBy
        self.repeatMode = repeatMode
    }
}

/// `circulate send`: the coordinator's announcements. The same command run again (same subject, body, audience and
/// `--at`), an hour or a week later, finds the mailing it made and sends nothing, unless `--newcomers` (only people
/// who joined since) or `--again` (everyone, as a new mailing).
enum Announcements {
    /// The plan for an announcement.
    static func plan(_ a: Announcement) -> MailingPlan {
        let (sql, arguments) = audienceQuery(a.audience, select: "m.id")
        return MailingPlan(kind: .announcement, stream: a.audience.stream, audience: a.audience.description, subject: a.subject,
                           body: a.bodyMarkdown, sendAfter: a.sendAfter, identity: .request(requestKey(a), repeat: a.repeatMode),
                           createdBy: a.createdBy, recipients: .members(sql: sql, arguments: arguments))
    }

    /// What makes two announcements the same: kind, audience (stream, roles and tags), subject, body, and the start
    /// time if one was given. Never the moment the command ran.
    static func requestKey(_ a: Announcement) -> String {
        let parts = [Mailing.Kind.announcement.rawValue, a.audience.stream.rawValue, a.audience.tags.sorted().joined(separator: ","),
                     a.subject, a.bodyMarkdown, a.requestedStart.map { String(Int($0.timeIntervalSince1970)) } ?? "now"]
        return SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).hexString
    }

    /// Members of `audience` who may receive a message of `kind` on its stream now: the audience's roles and tags
    /// narrow, `Eligibility` decides. Selects `select` from `member m`.
    static func audienceQuery(_ audience: Audience, kind: Mailing.Kind = .announcement, select: String) -> (String, StatementArguments) {
        var arguments: StatementArguments = [kind.rawValue, audience.stream.rawValue]
        var narrowing = ""
        if !audience.tags.isEmpty {
            narrowing = " AND m.id IN (SELECT member_id FROM member_tag WHERE tag IN (\(audience.tags.map { _ in "?" }.joined(separator: ", "))))"
            for tag in audience.tags { arguments += [tag] }
        }
        return (Eligibility.membersSQL(select: select) + narrowing, arguments)
    }
}
