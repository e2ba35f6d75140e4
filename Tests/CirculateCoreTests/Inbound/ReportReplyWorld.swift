import Foundation
import GRDB
import Testing
@testable import CirculateCore

/// A report sent to Kay and Lee (key influencers) and Fay (board), its covers delivered, Mo opted in to the notice;
/// and a processor over the same database, writing dates in New York time (so that the zone shows in the note).
struct ReportReplyWorld {
    let world: WorkflowWorld
    let report: Report
    let processor: InboxProcessor
    static let zone = TimeZone(identifier: "America/New_York") ?? .gmt
    let title = "Hospital discharge: what we learned"

    init() throws {
        world = try WorkflowWorld()
        try world.member("kay@example.org", name: "Kay Commissioner", tags: ["key-influencer"])
        try world.member("lee@example.org", name: "Lee Manager", basis: .legitimateInterest, tags: ["key-influencer"])
        try world.member("fay@example.org", name: "Fay Trustee", tags: ["board"])
        try world.member("mo@example.org", name: "Mo Member", tags: ["member"])
        let request = try ReportRequest(title: title, topic: nil, content: .link("https://example.org/reports/discharge.pdf"),
                                        audienceTags: ["key-influencer", "board"], coverNote: "Thank you for your interest.",
                                        noticeToList: true, sendAfter: utc(2026, 11, 10, 12), createdBy: "sam", attachmentLimit: 10_000_000)
        report = try world.db.distributeReport(request, followUpAfter: 14 * 86_400, again: false, domain: world.domain,
                                               now: utc(2026, 11, 10, 12)).report
        try world.execute("UPDATE delivery SET state = 'sent'")
        processor = InboxProcessor(database: world.db, key: testKey, bounceLimit: 2, timeZone: Self.zone)
    }

    /// The Message-ID of the message of `kind` sent to `email`.
    func messageID(_ kind: Mailing.Kind, to email: String) throws -> String {
        try #require(try world.db.pool.read { db in
            try String.fetchOne(db, sql: """
                SELECT d.message_id FROM delivery d JOIN mailing g ON g.id = d.mailing_id WHERE g.kind = ? AND d.recipient = ?
                """, arguments: [kind.rawValue, email])
        })
    }

    /// A reply as a mail client writes it: In-Reply-To and References naming the message answered.
    static func reply(from: String, inReplyTo: String?, references: [String] = [], id: String = "answer-1@example.net",
                      extraFields: String = "") -> String {
        var fields = "From: Someone <\(from)>\r\nTo: Morgan Ellis <coordinator@example.org>, Our Community <cop@example.org>\r\n"
        fields += "Subject: Re: Hospital discharge: what we learned\r\nDate: Fri, 20 Nov 2026 02:00:00 +0000\r\nMessage-ID: <\(id)>\r\n"
        if let inReplyTo { fields += "In-Reply-To: <\(inReplyTo)>\r\n" }
        if !references.isEmpty { fields += "References: " + references.map { "<\($0)>" }.joined(separator: "\r\n ") + "\r\n" }
        return fields + extraFields + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHappy to meet in January.\r\n"
    }

    func handle(_ text: String, uid: Int64, at now: Date = utc(2026, 11, 20, 2)) throws -> InboxProcessor.Result {
        try processor.handle(Array(text.utf8), at: InboundRecord.Place(folder: "INBOX", uidValidity: 7, uid: uid), now: now)
    }

    func recipient(_ email: String) throws -> ReportRecipientStatus {
        try #require(try world.db.reportStatus(String(report.id)).recipients.first { $0.email == email })
    }
}
