import Foundation

/// What an inbound message is, decided from its content alone (what it means for the list is decided later, against
/// the database, by `InboxProcessor`).
enum InboundKind: Sendable, Equatable {
    /// A delivery status report (a bounce, or a "delayed" notice).
    case deliveryReport(DeliveryReport)
    /// A spam complaint (ARF feedback report) about a message.
    case complaint(FeedbackReport)
    /// A reply to the unsubscribe mailto: the subject says "unsubscribe" and may carry a token.
    case unsubscribe(token: String?)
    /// A calendar answer sent back to the organizer (an iMIP REPLY, COUNTER or REFRESH).
    case calendarReply(CalendarReply)
    /// An automatic reply (RFC 3834 and the common out-of-office shapes): never an answer from the person.
    case autoReply
    /// A reply to an earlier message (In-Reply-To or References); one to a report cover or follow-up is a response.
    case reply(InboundReply)
    /// Anything else: for the coordinator.
    case other

    /// Every name a message of this kind may be stored under (the processor may record a more precise one).
    var recordedNames: [String] {
        switch self {
        case .reply: [name, InboundRecord.reportReplyKind]
        default: [name]
        }
    }

    /// The name stored in `inbound_message.kind`.
    var name: String {
        switch self {
        case .deliveryReport: "delivery-report"
        case .complaint: "complaint"
        case .unsubscribe: "unsubscribe"
        case .calendarReply: "calendar-reply"
        case .autoReply: "auto-reply"
        case .reply: "other"  // the processor stores "report-reply" for a reply to a report
        case .other: "other"
        }
    }

    /// Classifies a parsed message. Reports first (they are auto-submitted too), then automatic replies (which never
    /// act, even with a token in the subject), then calendar answers, then unsubscribe requests, then replies.
    static func of(_ message: MIMEEntity) -> InboundKind {
        if let report = FeedbackReport(message) { return .complaint(report) }
        if let report = DeliveryReport(message) { return .deliveryReport(report) }
        if isAutoReply(message) { return .autoReply }
        if let reply = CalendarReply(message) { return .calendarReply(reply) }
        let subject = EncodedWords.decode(message.field("subject") ?? "")
        let words = subject.split(whereSeparator: { $0.isWhitespace || $0 == ":" || $0 == "," || $0 == "[" || $0 == "]" })
        if let index = words.firstIndex(where: { $0.lowercased() == "unsubscribe" }) {
            // The token follows the word in the mailto's subject; a client may add "Re:" before it, never after.
            let token = words[(index + 1)...].first { $0.utf8.count <= LinkToken.maximumLength && $0.contains("-") }
            return .unsubscribe(token: token.map { String($0).lowercased() })
        }
        if let reply = InboundReply(message) { return .reply(reply) }
        return .other
    }

    /// RFC 3834 `Auto-Submitted` other than "no", and the fields vacation responders set instead.
    static func isAutoReply(_ message: MIMEEntity) -> Bool {
        if let auto = message.field("auto-submitted")?.lowercased(), !auto.hasPrefix("no") { return true }
        if message.field("x-autoreply") != nil || message.field("x-autorespond") != nil { return true }
        if let precedence = message.field("precedence")?.lowercased(),
           ["auto_reply", "bulk", "junk", "list"].contains(precedence.trimmingCharacters(in: .whitespaces)) { return true }
        if let suppress = message.field("x-auto-response-suppress")?.lowercased(), suppress.contains("all") || suppress.contains("oof") {
            return true  // Exchange marks its own automatic replies this way
        }
        let subject = EncodedWords.decode(message.field("subject") ?? "").lowercased()
        return subject.hasPrefix("automatic reply:") || subject.hasPrefix("out of office") || subject.hasPrefix("auto:")
    }
}
