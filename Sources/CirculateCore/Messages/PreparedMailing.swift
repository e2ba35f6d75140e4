import Foundation
import Mustache

/// Everything about a mailing's messages that is the same for every recipient, rendered once.
/// A class: the builder hands the same one to every message of the mailing, and copying its many fields per message
/// showed in profiles.
final class PreparedMailing: Sendable {
    let kind: Mailing.Kind
    let from: Mailbox
    let replyTo: [Mailbox]
    let envelopeFrom: String
    let subject: String
    let fixedHeaders: [OutgoingMessage.HeaderField]
    /// From, Reply-To, Subject and `fixedHeaders`, encoded once for every message.
    let sharedFields: SharedFields
    let html: SlottedText
    let text: SlottedText
    /// The same layouts for a recipient whose name is not known (a test message, a member added without a name):
    /// rendered without the layout's {{#greeting}} section, which the greeting slot would otherwise always fill.
    let htmlWithoutName: SlottedText
    let textWithoutName: SlottedText
    /// Why the message is sent, for a person who chose to receive it, and for one reached in their professional role.
    let footer: String
    let footerInRole: String
    /// Whether messages carry an unsubscribe link (not for notices to the coordinator).
    let unsubscribable: Bool
    /// Whether messages open with "Dear NAME," (see `Greeting`).
    let greets: Bool
    /// The event and method for invitations; the attendee is filled in per recipient.
    let calendar: (event: CalendarEvent, method: CalendarMethod)?
    let attachments: [Attachment]
    let listAddress: String
    /// Where one-click unsubscribe links point (nil: the web pages are off, so messages carry a mailto link only).
    let oneClickBaseURL: URL?
    /// The stream a token's unsubscribe stops (nil: everything, for mail that belongs to no stream).
    let stream: MailStream?

    init(_ context: MailingContext, templates: MessageTemplates, configuration c: Configuration, now: Date) throws {
        let mailing = context.mailing
        let zone = c.community.timeZone
        kind = mailing.kind
        let listAddress = try EmailAddress(c.list.address)
        self.listAddress = c.list.address
        oneClickBaseURL = c.offersOneClickUnsubscribe ? c.list.publicBaseURL : nil
        stream = mailing.stream
        let personal = kind == .report || kind == .reportFollowUp
        if personal {
            // Personal notes from the coordinator: their name in From (the address stays the list's, which the relay
            // lets us send as and which passes SPF/DMARC), and replies go straight to them. With [inbox], to the list's
            // mailbox too: circulate reads the reply there and marks the person as responded.
            from = Mailbox(displayName: "\(c.coordinatorName) via \(c.fromName)", address: listAddress)
            let coordinator = Mailbox(displayName: c.coordinatorName, address: try EmailAddress(c.coordinatorAddress))
            replyTo = c.inbox == nil || coordinator.address.key == listAddress.key
                ? [coordinator] : [coordinator, Mailbox(displayName: c.fromName, address: listAddress)]
        } else {
            from = Mailbox(displayName: c.fromName, address: listAddress)
            // Replies come to the list (or to list.reply_to); said explicitly, as the message's own headers promise.
            replyTo = [Mailbox(displayName: c.fromName, address: try EmailAddress(c.list.replyTo ?? c.list.address))]
        }
        envelopeFrom = try EmailAddress(c.list.bounceAddress ?? c.list.address).envelope
        subject = mailing.subject
        // Notices to the coordinator and join confirmations go to someone not (or not yet) on the list.
        let unsubscribable = kind != .coordinatorNotice && kind != .joinConfirmation
        self.unsubscribable = unsubscribable
        var headers: [OutgoingMessage.HeaderField] = []
        if unsubscribable { headers.append(.init("List-Id", "<\(c.listID)>")) }
        if !kind.isOperational { headers.append(.init("Precedence", "list")) }
        fixedHeaders = headers
        sharedFields = try MessageComposer.encodeSharedFields(from: from, replyTo: replyTo, subject: subject, extraHeaders: headers)

        let footer = Self.footer(kind: kind, stream: mailing.stream, community: c.community.name)
        self.footer = footer
        // The reports stream also reaches people in their professional role (legitimate interest), who never asked.
        footerInRole = mailing.stream == .reports ? Self.footer(kind: .report, stream: .reports, community: c.community.name) : footer
        let (bodyMarkdown, greets) = Greeting.choice(mailing.bodyMarkdown)
        self.greets = greets

        // The calendar object: an invitation (REQUEST) to the next session, its update, or its cancellation.
        var calendar: (CalendarEvent, CalendarMethod)?
        var invitation = context.invitation
        if [.sessionChanged, .sessionCancelled, .invitation, .reminder].contains(kind) { invitation = context.session }
        if let session = invitation, [.thankYou, .missedYou, .noShow, .sessionChanged, .sessionCancelled, .invitation, .reminder].contains(kind) {
            let cancelled = kind == .sessionCancelled
            if cancelled || (session.state == .scheduled && session.startsAt > now) {
                var about = "A session of \(c.community.name)."
                if let topic = session.topicTitle, topic != session.title { about += " Topic: \(topic)." }
                if let facilitator = session.facilitator { about += " Facilitated by \(facilitator)." }
                if let link = session.onlineLink { about += " Join online: \(link)" }
                let event = CalendarEvent(
                    uid: session.calendarUID(domain: c.domain), sequence: session.sequence, start: session.startsAt,
                    end: session.endsAt, timeZone: zone, summary: session.title, description: about, location: session.location,
                    url: session.onlineLink, organizer: Mailbox(displayName: c.fromName, address: listAddress),
                    attendee: Mailbox(address: listAddress), status: cancelled ? .cancelled : .confirmed,
                    asksForAnswer: c.inbox != nil)
                calendar = (event, cancelled ? .cancel : .request)
            }
        }
        self.calendar = calendar

        var attachments: [Attachment] = []
        if kind == .report, let file = context.reportFile {
            attachments.append(Attachment(filename: file.name, contentType: Self.contentType(for: file.name), data: file.data))
        }
        self.attachments = attachments

        let closingKinds: Set<Mailing.Kind> = [.announcement, .update, .report, .reportFollowUp, .reportNotice]
        var closing: String?
        if closingKinds.contains(kind) {
            var values: [String: Any] = ["community": c.community.name]
            if let next = context.nextSession { values["next_session"] = Self.sessionValues(next, zone: zone, html: false, templates: templates) }
            closing = templates.closing.render(values).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        // `MessageTemplates.load` makes a pair for every kind; a missing one is a bug, reported rather than hidden.
        guard let kindTemplates = templates.kinds[mailing.kind] else {
            throw CompositionError(field: "templates", problem: .other("there is no template for \(mailing.kind.rawValue) messages"))
        }
        func body(asHTML html: Bool) -> String {
            var values: [String: Any] = [
                "community": c.community.name, "coordinator_name": c.coordinatorName, "subject": mailing.subject,
            ]
            if !bodyMarkdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                let content = MarkdownDocument(bodyMarkdown)
                values["content"] = html ? content.html : content.text
            }
            // Guests (mail outside any stream) are told nothing about sessions they are not invited to.
            values["personal"] = mailing.stream == nil
            if let session = context.session {
                var v = Self.sessionValues(session, zone: zone, html: html, templates: templates)
                if let moved = context.movedFrom {
                    v["moved_from"] = LocalTime.describeRange(start: moved.start, end: moved.end, in: zone)
                }
                values["session"] = v
            }
            if mailing.kind == .thankYou || mailing.kind == .missedYou || mailing.kind == .noShow {
                if let next = context.invitation, next.state == .scheduled {
                    values["invitation"] = Self.sessionValues(next, zone: zone, html: html, templates: templates)
                } else if mailing.stream != nil {
                    // Only members hear later when the next date is set; a guest's follow-up says nothing about it.
                    values["no_invitation"] = true
                }
            }
            if calendar != nil { values["calendar_attached"] = true }
            if let report = context.report {
                var r: [String: Any] = ["title": report.title, "distributed_day": LocalTime.day(report.distributedAt, in: zone),
                                        "attached": report.filename != nil]
                if let link = report.link { r["link"] = link }
                if let name = report.filename { r["filename"] = name }
                if let size = report.fileSize { r["size"] = ByteCount.describe(size) }
                if let topic = context.reportTopic, topic != report.title { r["topic"] = topic }
                values["report"] = r
            }
            if mailing.kind == .update {
                values["upcoming_sessions"] = context.upcoming.map { Self.sessionValues($0, zone: zone, html: html, templates: templates) }
                values["has_upcoming"] = !context.upcoming.isEmpty
                values["recent_reports"] = context.recentReports.map { r -> [String: Any] in
                    var v: [String: Any] = ["title": r.title]
                    if let link = r.link { v["link"] = link }
                    return v
                }
                values["has_recent_reports"] = !context.recentReports.isEmpty
            }
            if [.thankYou, .missedYou, .noShow].contains(mailing.kind) {
                // The summary and the next invitation, shared by the three follow-up kinds.
                values["follow_up"] = templates.followUp.render(values, html: html)
            }
            return kindTemplates.render(values, html: html)
        }
        let htmlBody = body(asHTML: true)
        let textBody = body(asHTML: false).trimmingCharacters(in: .newlines)
        func layout(_ template: MustacheTemplate, body: String, named: Bool) -> SlottedText {
            var values: [String: Any] = [
                "community": c.community.name, "subject": mailing.subject, "body": body, "footer": Slot.footer.marker,
                "unsubscribe_mailto_only": !c.offersOneClickUnsubscribe,
            ]
            if unsubscribable { values["unsubscribe_link"] = Slot.unsubscribeLink.marker }
            if let closing, !closing.isEmpty { values["closing"] = closing }
            if named && greets { values["greeting"] = Slot.greeting.marker }
            return SlottedText(template.render(values))
        }
        // The footer is the same for every recipient unless the mailing also reaches people in their professional
        // role: then it stays a slot, filled per message; otherwise it is written in now, its lines encoded once.
        let fixedFooter = footerInRole == footer ? footer : nil
        func layout(_ template: MustacheTemplate, body: String, named: Bool, asHTML: Bool) -> SlottedText {
            let slotted = layout(template, body: body, named: named)
            return fixedFooter.map { slotted.resolving(.footer, with: $0, escape: asHTML) } ?? slotted
        }
        html = layout(templates.layout.html, body: htmlBody, named: true, asHTML: true)
        text = layout(templates.layout.text, body: textBody, named: true, asHTML: false)
        htmlWithoutName = layout(templates.layout.html, body: htmlBody, named: false, asHTML: true)
        textWithoutName = layout(templates.layout.text, body: textBody, named: false, asHTML: false)
    }

    /// One recipient's message, composed.
    func compose(to address: EmailAddress, name: String, greeting: String? = nil, inRole: Bool = false, memberID: Int64?,
                 messageID: String, boundarySeed: String, date: Date, key: InstanceKey) throws -> ComposedMessage {
        let message = try self.message(to: address, name: name, greeting: greeting, inRole: inRole, memberID: memberID,
                                       messageID: messageID, date: date, key: key, filled: false)
        let bytes = try MessageComposer.compose(message, boundarySeed: boundarySeed)
        return ComposedMessage(envelope: Envelope(from: envelopeFrom, to: address.envelope,
                                                  needsSMTPUTF8: MessageComposer.requiresSMTPUTF8(message)),
                               bytes: bytes)
    }

    /// One recipient's message, before MIME encoding. `name` goes in To; `greeting` (the name they are known by,
    /// when it differs) opens the message. Unless `filled`, the bodies are left as layouts and values for the composer
    /// to encode directly (`OutgoingMessage.layouts`), with the fields every message shares already encoded
    /// (`OutgoingMessage.sharedFields`), which costs a fraction of filling and encoding them per message.
    func message(to address: EmailAddress, name: String, greeting: String? = nil, inRole: Bool = false, memberID: Int64?,
                 messageID: String, date: Date, key: InstanceKey, filled: Bool = true) throws -> OutgoingMessage {
        let greetingName = greeting.flatMap { $0.isEmpty ? nil : $0 } ?? name
        let named = !greetingName.isEmpty
        let recipient = Mailbox(displayName: name.isEmpty ? nil : name, address: address)
        var values: [Slot: String] = [.greeting: greetingName, .footer: inRole ? footerInRole : footer]
        var headers = fixedHeaders
        if unsubscribable {
            let token = memberID.map { key.write(LinkToken(.unsubscribe, scope: stream.map { .stream($0) } ?? .all, id: $0)) } ?? "test"
            let mailto = "mailto:\(listAddress)?subject=unsubscribe%20\(token)"
            // The https link only where something serves it: RFC 8058 one-click, which mailbox providers offer as a button.
            let https = oneClickBaseURL.map { base in
                base.absoluteString.hasSuffix("/") ? "\(base.absoluteString)u/\(token)" : "\(base.absoluteString)/u/\(token)"
            }
            values[.unsubscribeLink] = https ?? mailto
            headers.append(.init("List-Unsubscribe", [https, mailto].compactMap { $0 }.map { "<\($0)>" }.joined(separator: ", ")))
            if https != nil, memberID != nil { headers.append(.init("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")) }
        }
        var invitation: CalendarInvitation?
        if let (template, method) = calendar {
            var event = template
            event.attendee = recipient
            invitation = CalendarInvitation(method: method, data: try ICalendar.object(event, method: method, stamp: date),
                                            filename: method == .cancel ? "cancelled.ics" : "invite.ics")
        }
        let textLayout = named ? text : textWithoutName
        let htmlLayout = named ? html : htmlWithoutName
        var message = OutgoingMessage(
            from: from, replyTo: replyTo, to: recipient, subject: subject, date: date, messageID: messageID,
            extraHeaders: headers,
            textBody: filled ? textLayout.fill(values, escape: false) : "",
            htmlBody: filled ? htmlLayout.fill(values, escape: true) : "",
            attachments: attachments, calendar: invitation)
        if !filled {
            message.layouts = FilledLayouts(text: textLayout, html: htmlLayout, values: values)
            message.sharedFields = sharedFields
        }
        return message
    }

    /// Why each message is sent, as its footer says: the true reason for that kind on that stream.
    static func footer(kind: Mailing.Kind, stream: MailStream?, community: String) -> String {
        // Guests and key individuals invited personally are on no stream: they hear only about their sessions.
        let personal = "it is not a mailing list, and you will hear from us only about the sessions you are invited to."
        switch (kind, stream) {
        case (.coordinatorNotice, _): return "This note comes from circulate, the mailing system of \(community), to its coordinator."
        case (.joinConfirmation, _):
            return "You receive this because this address was entered on the join page of \(community); it is the only message we send unless you confirm."
        case (.invitation, nil), (.reminder, nil), (.sessionChanged, nil), (.sessionCancelled, nil):
            return "You receive this because you were invited to a session of \(community); \(personal)"
        case (.thankYou, nil): return "You receive this because you came to a session of \(community); \(personal)"
        case (.missedYou, nil): return "You receive this because you sent apologies for a session of \(community); \(personal)"
        case (.sessionNotes, nil):
            return "You receive this because you came to, or sent apologies for, a session of \(community); \(personal)"
        case (.thankYou, _):
            return "You receive this because you came to a session of \(community) and asked to be invited to its sessions."
        case (.missedYou, _):
            return "You receive this because you sent apologies for a session of \(community) and asked to be invited to its sessions."
        case (.noShow, _):
            return "You receive this because you were invited to a session of \(community) and asked to be invited to its sessions."
        case (.sessionNotes, _):
            return "You receive this because you came to, or sent apologies for, a session of \(community) and asked to be invited to its sessions."
        case (.update, _): return "You receive this monthly update because you joined \(community) and asked to hear about its work."
        case (_, .monthlyUpdate?): return "You receive this because you joined \(community) and asked for its monthly news."
        case (_, .sessionInvitations?): return "You receive this because you joined \(community) and asked to be invited to its sessions."
        case (.report, _), (.reportFollowUp, _):
            return "You receive this because of your role in the work of \(community), whose reports we share with the people who can act on them."
        case (_, .reports?): return "You receive this because you asked to receive the reports of \(community)."
        case (_, nil): return "This is a test message from \(community)'s mailing system."
        }
    }

    /// A session as template values: only what is known, so that {{#location}} sections simply disappear.
    static func sessionValues(_ s: Session, zone: TimeZone, html: Bool, templates: MessageTemplates) -> [String: Any] {
        var v: [String: Any] = [
            "title": s.title, "when": LocalTime.describeRange(start: s.startsAt, end: s.endsAt, in: zone),
            "day": LocalTime.day(s.startsAt, in: zone), "cancelled": s.state == .cancelled,
        ]
        if let topic = s.topicTitle, topic != s.title { v["topic"] = topic }
        if let location = s.location { v["location"] = location }
        if let venue = s.venueName { v["venue"] = venue }
        if let address = s.venueAddress { v["address"] = address }
        if let link = s.onlineLink { v["online_link"] = link }
        if let facilitator = s.facilitator { v["facilitator"] = facilitator }
        if let notes = s.notesMarkdown, !notes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let summary = MarkdownDocument(notes)
            v["summary"] = html ? summary.html : summary.text
            v["has_summary"] = true
        }
        // A summary is promised only where one exists or the follow-up waits for it.
        v["promises_summary"] = v["has_summary"] != nil || s.holdForNotes
        v["has_summary"] = v["has_summary"] != nil
        // The session's block (title, time, place...) as every kind shows it.
        v["details"] = templates.sessionDetails.render(v, html: html).trimmingCharacters(in: .newlines)
        return v
    }

    /// The MIME type for a report file, by its extension.
    static func contentType(for filename: String) -> String {
        switch (filename as NSString).pathExtension.lowercased() {
        case "pdf": "application/pdf"
        case "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case "doc": "application/msword"
        case "odt": "application/vnd.oasis.opendocument.text"
        case "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        default: "application/octet-stream"
        }
    }
}
