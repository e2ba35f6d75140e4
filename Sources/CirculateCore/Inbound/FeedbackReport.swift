import Foundation

/// What a spam complaint says (ARF, RFC 5965): that someone marked a message as spam, which message, and who reports it.
///
/// Mailbox providers (Microsoft's JMRP, Yahoo/AOL, and others through feedback loops) send
/// `multipart/report; report-type=feedback-report` with a human-readable part, a `message/feedback-report` part, and
/// the original as `message/rfc822` or its headers as `text/rfc822-headers`. Providers often redact the recipient's
/// address (RFC 6590), and some remove more; what is left decides whether the report can be matched at all.
struct FeedbackReport: Sendable, Equatable {
    /// Feedback-Type, lower-cased: "abuse" is a person's complaint; "not-spam", "auth-failure" and others are not.
    var feedbackType: String
    /// The domain the report comes from (Reporting-MTA's name, else the report's From domain), checked to be a
    /// plain domain name so that it is safe to store and show; nil when neither is one.
    var reportingDomain: String?
    /// Original-Rcpt-To addresses, as given (possibly redacted).
    var originalRecipients: [String]
    /// The Message-ID of the original the report carries, without brackets; nil when it was removed.
    var originalMessageID: String?
    /// The original's envelope sender (its Return-Path, or Original-Mail-From), which carries the bounce token when
    /// VERP is on.
    var originalSenders: [String]

    /// Reads a complaint; nil if the message is not a feedback report.
    init?(_ message: MIMEEntity) {
        let type = message.contentType
        guard type.value == "multipart/report", type.parameters["report-type"]?.lowercased() == "feedback-report",
              let fieldsPart = message.parts.first(where: { $0.contentType.value == "message/feedback-report" })
        else { return nil }
        let fields = Self.fields(fieldsPart.text)
        func values(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }
        feedbackType = (values("feedback-type").first ?? "").lowercased().trimmingCharacters(in: .whitespaces)
        let mta = values("reporting-mta").first.map(DeliveryReport.address)
        let fromDomain = (message.field("from").flatMap(Self.addressInField)?.split(separator: "@").last).map(String.init)
        reportingDomain = [mta, fromDomain].lazy.compactMap { $0.flatMap(Self.domain) }.first
        originalRecipients = values("original-rcpt-to").prefix(20).map(DeliveryReport.address)
        var senders = values("original-mail-from").prefix(5).map(DeliveryReport.address)
        var messageID: String?
        for part in message.parts where ["message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"].contains(part.contentType.value) {
            if let original = part.parts.first {
                messageID = messageID ?? MIMEEntity.messageID(original.field("message-id"))
                senders += original.fields("return-path").prefix(5).map(DeliveryReport.address)
            }
            if messageID == nil { messageID = DeliveryReport.quotedMessageID(in: part.text) }
        }
        originalMessageID = messageID
        originalSenders = senders
    }

    /// Whether the report is a person saying "this is spam" (the only kind that unsubscribes).
    var isComplaint: Bool { feedbackType == "abuse" }

    /// The fields of a message/feedback-report body: one block of "Name: value" lines, continuation lines folded.
    private static func fields(_ text: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        for line in DeliveryReport.lines(text).prefix(500) {
            if line.first == " " || line.first == "\t", let last = fields.popLast() {
                fields.append((last.0, last.1 + " " + line.trimmingCharacters(in: .whitespaces)))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((line[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                           String(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).prefix(1000))))
        }
        return fields
    }

    /// "Yahoo Feedback <feedback@example.net>" → "feedback@example.net".
    private static func addressInField(_ value: String) -> String? {
        if let open = value.lastIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            return String(value[value.index(after: open)..<close])
        }
        return value.split(separator: " ").first { $0.contains("@") }.map(String.init)
    }

    /// A lower-case domain name of letters, digits, "-" and dots, with at least two labels; nil for anything else
    /// (it goes into a consent record's source and onto the coordinator's screen, so nothing else may pass).
    static func domain(_ text: String) -> String? {
        let name = text.trimmingCharacters(in: .whitespaces).lowercased()
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, labels.count >= 2,
              labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 && $0.first != "-" && $0.last != "-"
                  && $0.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D } })
        else { return nil }
        return name
    }
}
