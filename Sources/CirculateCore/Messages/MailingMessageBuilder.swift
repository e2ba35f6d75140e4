import Foundation
import Ink

/// Composes each recipient's message of a mailing: the layout and Markdown are rendered once per mailing, with
/// placeholders for what differs per person (name, unsubscribe link), so that one message costs little more than
/// its MIME encoding.
public final class MailingMessageBuilder: MessageBuilder, @unchecked Sendable {
    private let database: AppDatabase
    private let templates: MessageTemplates
    private let configuration: Configuration
    private let key: InstanceKey
    private let lock = NSLock()
    private var prepared: [Int64: PreparedMailing] = [:]

    /// A builder for messages of mailings stored in `database`.
    public init(database: AppDatabase, templates: MessageTemplates, configuration: Configuration, key: InstanceKey) {
        self.database = database
        self.templates = templates
        self.configuration = configuration
        self.key = key
    }

    /// Builds one recipient's message.
    public func build(_ claim: Claim) throws -> ComposedMessage {
        let mailing = try preparedMailing(claim.mailingID)
        let to = try EmailAddress(claim.recipient)
        let unsubscribe = unsubscribeLinks(claim)
        let values: [Slot: String] = [
            .greeting: claim.recipientName,
            .unsubscribeLink: unsubscribe.https ?? unsubscribe.mailto,
        ]
        // Without a name, the layout rendered without its greeting section: "Dear ," would greet nobody.
        let named = !claim.recipientName.isEmpty
        let html = named ? mailing.html : mailing.htmlWithoutName
        let text = named ? mailing.text : mailing.textWithoutName
        var headers = mailing.fixedHeaders
        let listUnsubscribe = [unsubscribe.https, unsubscribe.mailto].compactMap { $0 }.map { "<\($0)>" }.joined(separator: ", ")
        headers.append(.init("List-Unsubscribe", listUnsubscribe))
        let message = OutgoingMessage(
            from: mailing.from, replyTo: mailing.replyTo,
            to: Mailbox(displayName: named ? claim.recipientName : nil, address: to),
            subject: mailing.subject, date: Date(), messageID: claim.messageID, extraHeaders: headers,
            textBody: text.fill(values, escape: false), htmlBody: html.fill(values, escape: true),
            attachments: [])
        let bytes = try MessageComposer.compose(message, boundarySeed: String(claim.deliveryID))
        let utf8 = MessageComposer.requiresSMTPUTF8(message)
        return ComposedMessage(envelope: Envelope(from: mailing.envelopeFrom, to: to.envelope, needsSMTPUTF8: utf8), bytes: bytes)
    }

    private func unsubscribeLinks(_ claim: Claim) -> (mailto: String, https: String?) {
        let token = claim.memberID.map { key.unsubscribeToken(memberID: $0) } ?? "test"
        let mailto = "mailto:\(configuration.list.address)?subject=unsubscribe%20\(token)"
        let https = configuration.list.publicBaseURL.map { base in
            base.absoluteString.hasSuffix("/") ? "\(base.absoluteString)unsubscribe/\(token)" : "\(base.absoluteString)/unsubscribe/\(token)"
        }
        return (mailto, https)
    }

    private func preparedMailing(_ id: Int64) throws -> PreparedMailing {
        lock.lock()
        if let ready = prepared[id] {
            lock.unlock()
            return ready
        }
        lock.unlock()
        guard let mailing = try database.mailing(id: id) else {
            throw CompositionError(field: "mailing \(id)", problem: .other("no longer exists"))
        }
        let ready = try PreparedMailing(mailing, templates: templates, configuration: configuration)
        lock.lock()
        prepared[id] = ready
        lock.unlock()
        return ready
    }
}

/// The per-recipient parts of a rendered layout.
enum Slot: Int, CaseIterable {
    case greeting, unsubscribeLink

    /// A private-use character pair that neither Markdown nor Mustache escaping touches.
    var marker: String { "\u{E000}\(rawValue)\u{E001}" }
}

/// A rendered layout split at its slots.
struct SlottedText: Sendable {
    private enum Piece: Sendable {
        case literal(String)
        case slot(Slot)
    }
    private let pieces: [Piece]

    init(_ rendered: String) {
        var pieces: [Piece] = []
        var rest = Substring(rendered)
        while let start = rest.range(of: "\u{E000}") {
            pieces.append(.literal(String(rest[..<start.lowerBound])))
            let afterStart = rest[start.upperBound...]
            guard let end = afterStart.firstIndex(of: "\u{E001}"), let n = Int(afterStart[..<end]), let slot = Slot(rawValue: n) else {
                rest = afterStart
                continue
            }
            pieces.append(.slot(slot))
            rest = afterStart[afterStart.index(after: end)...]
        }
        pieces.append(.literal(String(rest)))
        self.pieces = pieces
    }

    func fill(_ values: [Slot: String], escape: Bool) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): out += text
            case .slot(let slot):
                let value = values[slot] ?? ""
                out += escape ? Self.escapeHTML(value) : value
            }
        }
        return out
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Everything about a mailing's messages that is the same for every recipient.
struct PreparedMailing: Sendable {
    let from: Mailbox
    let replyTo: Mailbox?
    let envelopeFrom: String
    let subject: String
    let fixedHeaders: [OutgoingMessage.HeaderField]
    let html: SlottedText
    let text: SlottedText
    /// The same layouts for a recipient whose name is not known (a test message, a member added without a name):
    /// rendered without the templates' {{#greeting}} section, which the greeting slot would otherwise always fill.
    let htmlWithoutName: SlottedText
    let textWithoutName: SlottedText

    init(_ mailing: Mailing, templates: MessageTemplates, configuration c: Configuration) throws {
        from = Mailbox(displayName: c.fromName, address: try EmailAddress(c.list.address))
        // Replies come to the list (or to list.reply_to); said explicitly, as the message's own headers promise.
        replyTo = Mailbox(displayName: c.fromName, address: try EmailAddress(c.list.replyTo ?? c.list.address))
        envelopeFrom = try EmailAddress(c.list.bounceAddress ?? c.list.address).envelope
        subject = mailing.subject
        var headers: [OutgoingMessage.HeaderField] = [.init("List-Id", "<\(c.listID)>")]
        if mailing.kind != .test { headers.append(.init("Precedence", "list")) }
        fixedHeaders = headers

        let footer: String
        switch mailing.stream {
        case .monthlyUpdate?: footer = "You receive this monthly update because you joined \(c.community.name) and asked to hear about its work."
        case .sessionInvitations?: footer = "You receive this because you joined \(c.community.name) and asked to be invited to its sessions."
        case .reports?: footer = "You receive this because of your role in the work of \(c.community.name), whose reports we share with the people who can act on them."
        case nil: footer = "This is a test message from \(c.community.name)'s mailing system."
        }
        func context(body: String, named: Bool) -> [String: Any] {
            var values: [String: Any] = [
                "community": c.community.name, "subject": mailing.subject, "body": body, "footer": footer,
                "unsubscribe_link": Slot.unsubscribeLink.marker,
                "unsubscribe_mailto_only": c.list.publicBaseURL == nil,
            ]
            if named { values["greeting"] = Slot.greeting.marker }
            return values
        }
        let htmlBody = MarkdownParser().html(from: mailing.bodyMarkdown)
        let textBody = PlainText.fromMarkdown(mailing.bodyMarkdown)
        html = SlottedText(templates.html.render(context(body: htmlBody, named: true)))
        text = SlottedText(templates.text.render(context(body: textBody, named: true)))
        htmlWithoutName = SlottedText(templates.html.render(context(body: htmlBody, named: false)))
        textWithoutName = SlottedText(templates.text.render(context(body: textBody, named: false)))
    }
}
