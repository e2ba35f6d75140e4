import Foundation
import Mustache

/// Everything about a mailing's messages that is the same for every recipient, rendered once.
struct PreparedMailing: Sendable {
    let kind: Mailing.Kind
    let from: Mailbox
    let replyTo: Mailbox?
    let envelopeFrom: String
    let subject: String
    let fixedHeaders: [OutgoingMessage.HeaderField]
    let html: SlottedText
    let text: SlottedText
    /// The same layouts for a recipient whose name is not known (a test message, a member added without a name):
    /// rendered without the layout's {{#greeting}} section, which the greeting slot would otherwise always fill.
    let htmlWithoutName: SlottedText
    let textWithoutName: SlottedText
    /// Whether messages carry an unsubscribe link (not for notices to the coordinator).
    let unsubscribable: Bool
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
            // lets us send as and which passes SPF/DMARC), and replies go straight to them.
            from = Mailbox(displayName: "\(c.coordinatorName) via \(c.fromName)", address: listAddress)
            replyTo = Mailbox(displayName: c.coordinatorName, address: try EmailAddress(c.coordinatorAddress))
        } else {
            from = Mailbox(displayName: c.fromName, address: listAddress)
            // Replies come to the list (or to list.reply_to); said explicitly, as the message's own headers promise.
            replyTo = Mailbox(displayName: c.fromName, address: try EmailAddress(c.list.replyTo ?? c.list.address))
        }
        envelopeFrom = try EmailAddress(c.list.bounceAddress ?? c.list.address).envelope
        subject = mailing.subject
        unsubscribable = kind != .coordinatorNotice
        var headers: [OutgoingMessage.HeaderField] = []
        if kind != .coordinatorNotice { headers.append(.init("List-Id", "<\(c.listID)>")) }
        if !kind.isOperational { headers.append(.init("Precedence", "list")) }
        fixedHeaders = headers

        let footer: String
        switch (kind, mailing.stream) {
        case (.coordinatorNotice, _): footer = "This note comes from circulate, the mailing system of \(c.community.name), to its coordinator."
        case (.invitation, nil), (.reminder, nil), (.sessionChanged, nil), (.sessionCancelled, nil):
            footer = "You receive this because you were invited to a session of \(c.community.name); it is not a mailing list, and nothing more will come unless you ask."
        case (.thankYou, _), (.missedYou, _), (.noShow, _):
            footer = "You receive this because you took part in a session of \(c.community.name) and asked to be invited to its sessions."
        case (_, .monthlyUpdate?): footer = "You receive this monthly update because you joined \(c.community.name) and asked to hear about its work."
        case (_, .sessionInvitations?): footer = "You receive this because you joined \(c.community.name) and asked to be invited to its sessions."
        case (_, .reports?): footer = "You receive this because of your role in the work of \(c.community.name), whose reports we share with the people who can act on them."
        case (_, nil): footer = "This is a test message from \(c.community.name)'s mailing system."
        }

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
                    attendee: Mailbox(address: listAddress), status: cancelled ? .cancelled : .confirmed)
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
            if !mailing.bodyMarkdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                let content = MarkdownDocument(mailing.bodyMarkdown)
                values["content"] = html ? content.html : content.text
            }
            if let session = context.session { values["session"] = Self.sessionValues(session, zone: zone, html: html, templates: templates) }
            if mailing.kind == .thankYou || mailing.kind == .missedYou || mailing.kind == .noShow {
                if let next = context.invitation, next.state == .scheduled {
                    values["invitation"] = Self.sessionValues(next, zone: zone, html: html, templates: templates)
                } else {
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
                "community": c.community.name, "subject": mailing.subject, "body": body, "footer": footer,
                "unsubscribe_mailto_only": !c.offersOneClickUnsubscribe,
            ]
            if mailing.kind != .coordinatorNotice { values["unsubscribe_link"] = Slot.unsubscribeLink.marker }
            if let closing, !closing.isEmpty { values["closing"] = closing }
            if named { values["greeting"] = Slot.greeting.marker }
            return SlottedText(template.render(values))
        }
        html = layout(templates.layout.html, body: htmlBody, named: true)
        text = layout(templates.layout.text, body: textBody, named: true)
        htmlWithoutName = layout(templates.layout.html, body: htmlBody, named: false)
        textWithoutName = layout(templates.layout.text, body: textBody, named: false)
    }

    /// One recipient's message, composed.
    func compose(to address: EmailAddress, name: String, memberID: Int64?, messageID: String, boundarySeed: String,
                 date: Date, key: InstanceKey) throws -> ComposedMessage {
        let message = try self.message(to: address, name: name, memberID: memberID, messageID: messageID, date: date, key: key)
        let bytes = try MessageComposer.compose(message, boundarySeed: boundarySeed)
        return ComposedMessage(envelope: Envelope(from: envelopeFrom, to: address.envelope,
                                                  needsSMTPUTF8: MessageComposer.requiresSMTPUTF8(message)),
                               bytes: bytes)
    }

    /// One recipient's message, before MIME encoding.
    func message(to address: EmailAddress, name: String, memberID: Int64?, messageID: String, date: Date,
                 key: InstanceKey) throws -> OutgoingMessage {
        let named = !name.isEmpty
        let recipient = Mailbox(displayName: named ? name : nil, address: address)
        var values: [Slot: String] = [.greeting: name]
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
        return OutgoingMessage(
            from: from, replyTo: replyTo, to: recipient, subject: subject, date: date, messageID: messageID,
            extraHeaders: headers,
            textBody: (named ? text : textWithoutName).fill(values, escape: false),
            htmlBody: (named ? html : htmlWithoutName).fill(values, escape: true),
            attachments: attachments, calendar: invitation)
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
