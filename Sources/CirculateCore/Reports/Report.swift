import Foundation

/// A topic's final report, distributed to key influencers with a personal cover note.
public struct Report: Sendable, Equatable, Codable {
    public var id: Int64
    public var title: String
    public var topicID: Int64?
    /// Where the report can be read online, if anywhere.
    public var link: String?
    /// The attached file's name, if the report is attached.
    public var filename: String?
    /// The attached file's size in bytes.
    public var fileSize: Int?
    /// Who it went to, in words.
    public var audience: String
    /// The coordinator's own words for the cover email, if any (Markdown).
    public var coverNote: String?
    public var distributedAt: Date
    /// When people who have not responded get the follow-up.
    public var followUpAt: Date
    /// When the follow-up was queued.
    public var followedUpAt: Date?
    /// When the last follow-up message was handed to the relay, once nothing of the follow-up is left to send.
    public var followUpSentAt: Date?
    public var createdBy: String
    /// What was asked for (title, audience, content), so that the same distribution asked for again is recognised.
    public var requestKey: String?
}

/// One recipient of a report and where they stand.
public struct ReportRecipientStatus: Sendable, Equatable {
    /// Where things stand with one person.
    public enum Stage: String, Sendable, Codable {
        /// The cover email has not been handed to the relay yet.
        case waiting
        /// The cover email could not be delivered (or they left before it went).
        case notDelivered = "not-delivered"
        /// Received; no response yet, follow-up still to come.
        case received
        /// Received and responded.
        case responded
        /// Followed up (queued or sent), no response yet.
        case followedUp = "followed-up"
    }

    public var memberID: Int64
    public var email: String
    public var name: String
    public var stage: Stage
    public var respondedAt: Date?
    public var responseNote: String?
    /// The state of the cover email.
    public var coverState: Delivery.State?
    /// The state of the follow-up, if one was queued.
    public var followUpState: Delivery.State?
}

/// A report with everyone it went to, for `report status`.
public struct ReportStatus: Sendable, Equatable {
    public var report: Report
    public var recipients: [ReportRecipientStatus]
    /// Mailings: the cover emails, the follow-ups, the notice to the list.
    public var coverMailing: Int64?
    public var followUpMailing: Int64?
    public var noticeMailing: Int64?

    /// Recipients at the stage.
    public func count(_ stage: ReportRecipientStatus.Stage) -> Int { recipients.filter { $0.stage == stage }.count }
}

/// A report to distribute, checked.
public struct ReportRequest: Sendable {
    /// What is sent.
    public enum Content: Sendable {
        /// The file itself, attached (and a link too, if given).
        case file(name: String, data: [UInt8], link: String?)
        /// Only a link.
        case link(String)
    }

    public var title: String
    public var topic: String?
    public var content: Content
    /// Roles/tags whose people receive it (any of them).
    public var audienceTags: [String]
    /// The coordinator's own words (Markdown), put into the cover email.
    public var coverNote: String?
    /// Also send the shorter notice to members opted in to reports (needs a link).
    public var noticeToList: Bool
    /// Send the cover emails not before this instant.
    public var sendAfter: Date
    public var createdBy: String

    /// Checks the title, the link and the attachment size.
    public init(title: String, topic: String?, content: Content, audienceTags: [String], coverNote: String?,
                noticeToList: Bool, sendAfter: Date, createdBy: String, attachmentLimit: Int) throws(InvalidField) {
        let clean = try TextField.clean(title, field: "title", maxLength: 200)
        guard !clean.isEmpty else { throw InvalidField(field: "title", value: title, problem: "is empty; give --title \"...\"") }
        self.title = clean
        self.topic = try SessionText.optional(topic, field: "topic")
        switch content {
        case .file(let name, let data, let link):
            guard !data.isEmpty else { throw InvalidField(field: "report file", value: name, problem: "is empty") }
            guard data.count <= attachmentLimit else {
                throw InvalidField(field: "report file", value: name, problem: "is \(ByteCount.describe(data.count)), more than reports.attachment_limit (\(ByteCount.describe(attachmentLimit))) allows; put it online and send --link URL instead (mail servers refuse or bin large attachments)")
            }
            self.content = .file(name: name, data: data, link: try SessionText.link(link))
        case .link(let link):
            guard let checked = try SessionText.link(link) else {
                throw InvalidField(field: "link", value: link, problem: "is empty; give the report's https:// address")
            }
            self.content = .link(checked)
        }
        if noticeToList, case .file(_, _, nil) = self.content {
            throw InvalidField(field: "--notice", value: "", problem: "needs --link too: the notice to the list links to the report rather than attaching it")
        }
        guard !audienceTags.isEmpty else { throw InvalidField(field: "audience", value: "", problem: "is empty; give --audience key-influencer,board") }
        self.audienceTags = audienceTags
        self.coverNote = coverNote.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        self.noticeToList = noticeToList
        self.sendAfter = sendAfter
        self.createdBy = createdBy
    }
}

/// Sizes for people: "1.4 MB".
public enum ByteCount {
    /// 1,000-based units, as file managers show them.
    public static func describe(_ bytes: Int) -> String {
        if bytes < 1000 { return "\(bytes) bytes" }
        if bytes < 1_000_000 { return String(format: "%.0f KB", Double(bytes) / 1000) }
        return String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}
