import Foundation
import Logging
import Testing
@testable import CirculateCore

/// Every message kind the workflows send, made the way the daemon makes them (scheduler → queue → builder → Maildir),
/// read by the independent checkers: Python's email parser with byte-level rules, python3-icalendar, SpamAssassin.
@Suite("Workflow messages: every kind parses, carries what it should, and is ham")
struct WorkflowMessagesTests {
    static let london = TimeZone(identifier: "Europe/London") ?? .gmt

    static func at(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int = 0) -> Date {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = london
        return c.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min)) ?? .distantPast
    }

    struct Built {
        var kind: Mailing.Kind
        var recipient: String
        var name: String
        var path: String
    }

    /// A minimal but valid PDF, so the attachment is a real file type.
    static let pdf: [UInt8] = Array("""
        %PDF-1.4
        1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
        2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj
        trailer << /Root 1 0 R >>
        %%EOF

        """.utf8)

    static func config() -> CirculateCore.Configuration {
        var config = CirculateCore.Configuration()
        config.community.name = "Riverside Community of Practice"
        config.list.address = "cop@example.org"
        config.coordinator.name = "Morgan Ellis"
        config.coordinator.email = "morgan.ellis@example.org"
        return config
    }

    /// Runs the whole rhythm and writes every message to `outbox`.
    static func buildAll(in scratch: Scratch) throws -> [Built] {
        let db = try scratch.database()
        let config = config()
        let clock = TestClock(at(2026, 11, 1, 9))
        let templates = try MessageTemplates.load(directory: nil)
        let scheduler = WorkflowScheduler(database: db, context: WorkflowContext(configuration: config, templates: templates),
                                          logger: Logger(label: "test"), clock: { clock.now })
        let builder = MailingMessageBuilder(database: db, templates: templates, configuration: config,
                                            key: testKey, clock: { clock.now })
        let sender = try MaildirTransport(folder: scratch.path("outbox")).makeSender()
        defer { sender.close() }
        var built: [Built] = []
        func deliverDue() throws {
            _ = try db.startDueMailings(now: clock.now, lateLimit: 86_400 * 60)
            let mailings = try Dictionary(uniqueKeysWithValues: db.mailings(activeOnly: false).map { ($0.id ?? -1, $0) })
            let claims = try db.claimDue(limit: 500, now: clock.now)
            var results: [DeliveryResult] = []
            for claim in claims {
                let message = try builder.build(claim)
                // The builder encodes the prepared layouts line by line; filling them and encoding the whole text (the
                // straightforward way, which `preview` uses) must give the very same bytes.
                let mailing = try #require(mailings[claim.mailingID])
                let prepared = try PreparedMailing(db.mailingContext(mailing, now: clock.now), templates: templates,
                                                   configuration: config, now: clock.now)
                let filled = try prepared.message(to: EmailAddress(claim.recipient), name: claim.recipientName,
                                                  greeting: claim.greetingName, inRole: claim.inRole, memberID: claim.memberID,
                                                  messageID: claim.messageID, date: clock.now, key: testKey)
                #expect(filled.layouts == nil && !filled.textBody.isEmpty)
                #expect(try MessageComposer.compose(filled, boundarySeed: String(claim.deliveryID)) == message.bytes,
                        "\(mailing.kind) to \(claim.recipient)")
                let outcome = sender.send(message.envelope, message: message.bytes, lastCheck: { .go })
                guard case .accepted(let reply) = outcome else {
                    Issue.record("not written: \(claim.recipient)")
                    continue
                }
                built.append(Built(kind: try #require(mailings[claim.mailingID]).kind, recipient: claim.recipient,
                                   name: claim.recipientName, path: String(reply.dropFirst("written to ".count))))
                results.append(DeliveryResult(claim: claim, outcome: outcome, finishedAt: clock.now))
            }
            try db.record(results, policy: RecordingPolicy(config.delivery))
        }

        for (email, name, tags) in [("ann.example@example.org", "Ann Example", ["member"]),
                                    ("sian@example.org", "Siân Ó Ceallaigh-Żółć", ["member"]),
                                    ("chris.example@example.org", "Chris Example", ["member"])] {
            _ = try db.addMember(person(email, name: name, tags: tags), grant: grant(), key: testKey, rejoin: false, now: clock.now)
        }
        _ = try db.addMember(person("j.patel@example.org", name: "Councillor J. Patel", organisation: "Example City Council",
                                    tags: ["key-influencer"]),
                             grant: grant(.legitimateInterest, source: "public register of councillors"), key: testKey, rejoin: false,
                             now: clock.now)
        _ = try db.queueSlotNotices(rule: try #require(config.updates.schedule), zone: london, remindDays: 5,
                                    coordinator: EmailAddress("morgan.ellis@example.org"), community: config.community.name,
                                    now: clock.now, domain: config.domain)

        let topic = try db.addTopic(title: "Hospital discharge", description: "", now: clock.now)
        let first = try db.addSession(NewSession(topic: "Hospital discharge", title: nil, startsAt: at(2026, 11, 10, 10), endsAt: at(2026, 11, 10, 12),
                                                 venueName: "Riverside Centre", venueAddress: "14 Mill Lane, Stoke-on-Trent ST1 1AA",
                                                 onlineLink: nil, facilitator: "Dr Priya Example", holdForNotes: false),
                                      followUp: config.followUpRule, now: clock.now)
        let second = try db.addSession(NewSession(topic: "\(topic.id)", title: "After the first night", startsAt: at(2026, 12, 9, 10),
                                                  endsAt: at(2026, 12, 9, 12, 30), venueName: "Riverside Centre",
                                                  venueAddress: "14 Mill Lane, Stoke-on-Trent ST1 1AA",
                                                  onlineLink: "https://meet.example.org/riverside-december", facilitator: nil,
                                                  holdForNotes: false),
                                       followUp: config.followUpRule, now: clock.now)
        clock.now = at(2026, 11, 10, 13)
        let options = ImportOptions(source: "sign-in sheet 10 Nov 2026", wordingVersion: "2026-01", recordedBy: "morgan")
        _ = try db.recordAttendance(session: first.id, sheet: SignInSheet.parse(Data("""
            Name,Email,Consent
            Ann Example,ann.example@example.org,yes
            Siân Ó Ceallaigh-Żółć,sian@example.org,yes
            ,r.okafor@example.org,yes
            Pat Visitor,pat.visitor@example.org,no
            """.utf8)), status: .attended, options: options, key: testKey, now: clock.now)
        _ = try db.recordAttendance(session: first.id, sheet: SignInSheet.parse(Data("Name,Email,Consent\nChris Example,chris.example@example.org,yes\n".utf8)),
                                    status: .apologies, options: options, key: testKey, now: clock.now)
        _ = try db.setNotes(first.id, markdown: """
            We heard from three people about **leaving hospital without a home** to go to, and from the discharge team.

            - A named link worker on each ward.
            - A check-in call the day after discharge.
            """, now: clock.now)

        clock.now = at(2026, 11, 11, 10)
        try scheduler.tick()
        try deliverDue()

        clock.now = at(2026, 11, 12, 9)
        var move = SessionChanges()
        move.startsAt = at(2026, 12, 10, 10)
        _ = try db.editSession(second.id, changes: move, followUp: config.followUpRule, createdBy: "morgan", domain: config.domain, now: clock.now)
        try deliverDue()

        _ = try db.queueUpdate(subject: "December update: what we learned about hospital discharge", bodyMarkdown: """
            ## What happened in November

            Thank you to everyone who came to our session on **hospital discharge**. The summary is on our website.
            """, slot: at(2026, 12, 1, 9), createdBy: "morgan", now: clock.now)
        let request = try ReportRequest(title: "Hospital discharge: five changes that would help", topic: "Hospital discharge",
                                        content: .file(name: "hospital-discharge-report.pdf", data: pdf,
                                                       link: "https://example.org/cop/reports/hospital-discharge.pdf"),
                                        audienceTags: ["key-influencer", "board"],
                                        coverNote: "We met five times this year and heard from over forty people.",
                                        noticeToList: true, sendAfter: clock.now, createdBy: "morgan", attachmentLimit: 10_000_000)
        _ = try db.distributeReport(request, followUpAfter: 14 * 86_400, again: false, domain: config.domain, now: clock.now)
        try deliverDue()

        clock.now = at(2026, 12, 1, 9)
        try scheduler.tick()
        try deliverDue()

        clock.now = at(2026, 12, 1, 10)
        try scheduler.tick()  // the report's follow-up (14 days after 12 November is before 1 December)
        try deliverDue()

        clock.now = at(2026, 12, 3, 9)
        _ = try db.cancelSession(second.id, reason: "The venue is closed for repairs; we will set a new date soon.", createdBy: "morgan",
                                 domain: config.domain, now: clock.now)
        try deliverDue()

        clock.now = at(2026, 12, 31, 9)  // five days before the slot on Tuesday 5 January 2027
        try scheduler.tick()
        try deliverDue()
        return built
    }

    /// Each kind's footer in the whole rhythm (all on a stream, but for the report and the note to the coordinator):
    /// the true reason that person gets that message.
    static let rhythmFooters: [Mailing.Kind: String] = [
        .thankYou: "You receive this because you came to a session of Riverside Community of Practice and asked to be invited to its sessions.",
        .missedYou: "You receive this because you sent apologies for a session of Riverside Community of Practice and asked to be invited to its sessions.",
        .sessionChanged: "You receive this because you joined Riverside Community of Practice and asked to be invited to its sessions.",
        .sessionCancelled: "You receive this because you joined Riverside Community of Practice and asked to be invited to its sessions.",
        .update: "You receive this monthly update because you joined Riverside Community of Practice and asked to hear about its work.",
        .report: "You receive this because of your role in the work of Riverside Community of Practice, whose reports we share with the people who can act on them.",
        .reportFollowUp: "You receive this because of your role in the work of Riverside Community of Practice, whose reports we share with the people who can act on them.",
        .reportNotice: "You receive this because you asked to receive the reports of Riverside Community of Practice.",
        .coordinatorNotice: "This note comes from circulate, the mailing system of Riverside Community of Practice, to its coordinator.",
    ]

    @Test("the whole rhythm: each kind to the right people, with the right parts, calendars and attachments")
    func everyWorkflowKind() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"), "SpamAssassin is not installed; run scripts/deps test")
        let scratch = try Scratch()
        let built = try Self.buildAll(in: scratch)
        func recipients(_ kind: Mailing.Kind) -> [String] { built.filter { $0.kind == kind }.map(\.recipient).sorted() }
        #expect(recipients(.thankYou) == ["ann.example@example.org", "r.okafor@example.org", "sian@example.org"])
        #expect(recipients(.missedYou) == ["chris.example@example.org"])
        #expect(recipients(.sessionChanged) == ["ann.example@example.org", "chris.example@example.org", "r.okafor@example.org", "sian@example.org"])
        #expect(recipients(.sessionCancelled) == recipients(.sessionChanged))
        #expect(recipients(.update) == ["ann.example@example.org", "chris.example@example.org", "r.okafor@example.org", "sian@example.org"])
        #expect(recipients(.report) == ["j.patel@example.org"])
        #expect(recipients(.reportFollowUp) == ["j.patel@example.org"])
        #expect(recipients(.reportNotice) == ["ann.example@example.org", "chris.example@example.org", "r.okafor@example.org", "sian@example.org"])
        // On 1 November the slot of 3 November is two days away (a reminder); it then passes with nothing queued (a
        // notice saying so); on 31 December the slot of 5 January 2027 is five days away (a reminder).
        let notices = try built.filter { $0.kind == .coordinatorNotice }.map { try String(contentsOfFile: $0.path, encoding: .utf8) }
        let subjects = notices.compactMap { $0.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") } }
        #expect(subjects == ["Subject: Reminder: nothing is queued yet for the monthly update on Tuesday 3",
                             "Subject: No monthly update went out on Tuesday 3 November",
                             "Subject: Reminder: nothing is queued yet for the monthly update on Tuesday 5"], "\(subjects)")
        #expect(!built.contains { $0.recipient == "pat.visitor@example.org" }, "someone who did not consent was mailed")

        let paths = built.map(\.path)
        let structure = try SpamAssassinTests.runScript("check_message.py", paths)
        try #require(structure.results.count == built.count, "\(structure.output)")
        let spam = try SpamAssassinTests.runScript("spam_check.py", paths)
        try #require(spam.results.count == built.count, "\(spam.output)")

        for (index, message) in built.enumerated() {
            let label = "\(message.kind.rawValue) to \(message.recipient)"
            let result = structure.results[index]
            #expect(result["ok"] as? Bool == true, "\(label): \(result["violations"] ?? "?")")
            let parts = result["parts"] as? [[String: Any]] ?? []
            let text = (parts.first { $0["content_type"] as? String == "text/plain" }?["text"] as? String) ?? ""
            let headers = (result["headers"] as? [[String]] ?? [])
            func header(_ name: String) -> [String] { headers.filter { $0.first == name }.compactMap(\.last) }
            let expected: String
            switch message.kind {
            case .thankYou, .missedYou, .sessionChanged:
                expected = "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"
            case .sessionCancelled:
                expected = "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"
            case .report:
                expected = "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)"
            default:
                expected = "multipart/alternative(text/plain,text/html)"
            }
            #expect(result["structure"] as? String == expected, "\(label)")
            // Greeted by their own name, never "Dear ," for someone whose name is not known.
            if message.name.isEmpty { #expect(!text.contains("Dear"), "\(label)") } else { #expect(text.contains("Dear \(message.name),"), "\(label)") }
            let to = (result["addresses"] as? [String: Any])?["to"] as? [[String]] ?? []
            #expect(to.count == 1 && to.first?.last == message.recipient, "\(label): To must name only the recipient")
            if message.kind == .coordinatorNotice {
                #expect(header("List-Unsubscribe").isEmpty, "\(label)")
            } else {
                #expect(header("List-Unsubscribe").count == 1, "\(label)")
                #expect(header("List-Id") == ["<riverside-community-of-practice.example.org>"], "\(label)")
            }

            // The footer gives this message's own reason, and no other kind's.
            let footer = try #require(Self.rhythmFooters[message.kind], "\(label): no footer expected for this kind")
            #expect(text.contains("--\r\n" + footer + "\r\n"), "\(label): \(text)")
            let html = (parts.first { $0["content_type"] as? String == "text/html" }?["html_text"] as? String) ?? ""
            #expect(html.contains(footer), "\(label): the HTML part's footer: \(html)")

            switch message.kind {
            case .thankYou:
                #expect(text.contains("Thank you for coming to our session “Hospital discharge” on Tuesday 10 November"), "\(label): \(text)")
                #expect(text.contains("because you came to a session of Riverside Community of Practice and asked to be invited"), "\(label)")
                #expect(text.contains("A named link worker on each ward"), "\(label): the summary notes are missing")
                // Sent on 11 November, before the next session moved.
                #expect(text.contains("After the first night\r\nPart of our work on “Hospital discharge”\r\nWednesday 9 December 2026, 10:00 to 12:30"),
                        "\(label): the invitation names its session, topic and time: \(text)")
            case .missedYou:
                #expect(text.contains("We missed you at our session “Hospital discharge”") && text.contains("Here is what happened"), "\(label)")
                #expect(text.contains("because you sent apologies for a session of Riverside Community of Practice"), "\(label)")
                #expect(text.contains("A named link worker on each ward"), "\(label)")
            case .sessionChanged:
                // The "new date" message names the date it had and the one it has now.
                #expect(text.contains("Please note a new date for our session “After the first night”: it was planned for Wednesday 9 December 2026, 10:00 to 12:30, and is now on Thursday 10 December 2026, 10:00 to 12:30."),
                        "\(label): \(text)")
            case .update:
                #expect(text.contains("What happened in November"), "\(label)")
                #expect(text.contains("COMING UP") && text.contains("After the first night: Thursday 10 December 2026"), "\(label): \(text)")
                #expect(text.contains("RECENTLY PUBLISHED") && text.contains("Hospital discharge: five changes that would help"), "\(label)")
                #expect(text.contains("Thank you for being part of Riverside Community of Practice. Our next session is on Thursday 10 December 2026"), "\(label): \(text)")
                #expect(text.contains("You receive this monthly update because"), "\(label)")
            case .report:
                let pdf = parts.first { $0["content_type"] as? String == "application/pdf" }
                #expect(pdf?["filename"] as? String == "hospital-discharge-report.pdf", "\(label)")
                #expect(pdf?["size"] as? Int == Self.pdf.count, "\(label)")
                #expect(text.contains("We met five times this year"), "\(label): the cover note is missing")
                #expect(text.contains("glad to meet you, or to present the findings"), "\(label)")
                #expect(text.contains("Morgan Ellis"), "\(label)")
                #expect(text.contains("I am writing to share “Hospital discharge: five changes that would help”")
                        && text.contains("because of your role"), "\(label): \(text)")
                let from = (result["addresses"] as? [String: Any])?["from"] as? [[String]] ?? []
                let replyTo = (result["addresses"] as? [String: Any])?["reply_to"] as? [[String]] ?? []
                #expect(from.first == ["Morgan Ellis via Riverside Community of Practice", "cop@example.org"], "\(label)")
                #expect(replyTo.first?.last == "morgan.ellis@example.org", "\(label): replies go to the coordinator")
            case .reportFollowUp:
                #expect(text.contains("I wanted to follow up once"), "\(label)")
                // The title in running text is quoted, as is the topic it differs from.
                #expect(text.contains("I sent you “Hospital discharge: five changes that would help”, the report of Riverside Community of Practice"),
                        "\(label): \(text)")
                #expect(html.contains("I sent you “Hospital discharge: five changes that would help”, the report of"), "\(label): \(html)")
                #expect(text.contains("https://example.org/cop/reports/hospital-discharge.pdf"), "\(label)")
            case .reportNotice:
                #expect(text.contains("is now published") && text.contains("https://example.org/cop/reports/hospital-discharge.pdf"), "\(label)")
                #expect(text.contains("Our report “Hospital discharge: five changes that would help”"), "\(label): \(text)")
                // Members opted in to reports, not people reached in their role.
                #expect(text.contains("because you asked to receive the reports of Riverside Community of Practice")
                        && !text.contains("because of your role"), "\(label): \(text)")
            case .sessionCancelled:
                #expect(text.contains("will not go ahead") && text.contains("The venue is closed for repairs"), "\(label)")
                #expect(text.contains("our session “After the first night”, planned for"), "\(label): \(text)")
            case .coordinatorNotice:
                #expect((text.contains("nothing is queued for it yet") || text.contains("has passed with nothing queued"))
                        && text.contains("circulate update queue"), "\(label): \(text)")
            default: break
            }

            let verdict = spam.results[index]
            let rules = (verdict["rules"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "?")=\($0["score"] ?? "?")" }
            #expect(verdict["is_spam"] as? Bool == false, "\(label) is spam: \(verdict["score"] ?? "?") \(rules)")
            #expect(verdict["header_or_mime_rules"] as? [String] == [], "\(label): \(rules)")
        }
        #expect(structure.status == 0)
        #expect(spam.status == 0, "\(spam.output)")
    }

    @Test("invitations (member and guest), reminders, the no-show variant, a guest's thank-you and late notes parse and are ham")
    func invitationKinds() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/spamassassin"), "SpamAssassin is not installed; run scripts/deps test")
        let scratch = try Scratch()
        let db = try scratch.database()
        var config = Self.config()
        config.sessions.thankNoShows = true
        let clock = TestClock(Self.at(2026, 11, 1, 9))
        let builder = MailingMessageBuilder(database: db, templates: try MessageTemplates.load(directory: nil), configuration: config,
                                            key: testKey, clock: { clock.now })
        for (email, name) in [("ann.example@example.org", "Ann Example"), ("sian@example.org", "Siân Ó Ceallaigh-Żółć")] {
            _ = try db.addMember(person(email, name: name, tags: ["member"]), grant: grant(), key: testKey, rejoin: false, now: clock.now)
        }
        let session = try db.addSession(NewSession(topic: nil, title: "Hospital discharge: the first week at home", startsAt: Self.at(2026, 11, 10, 10),
                                                   endsAt: Self.at(2026, 11, 10, 12), venueName: "Riverside Centre", venueAddress: "14 Mill Lane",
                                                   onlineLink: nil, facilitator: "Dr Priya Example", holdForNotes: false),
                                        followUp: config.followUpRule, now: clock.now)
        _ = try db.addSession(NewSession(topic: nil, title: "After the first night", startsAt: Self.at(2026, 12, 9, 10), endsAt: Self.at(2026, 12, 9, 12),
                                         venueName: "Riverside Centre", venueAddress: nil, onlineLink: nil, facilitator: nil, holdForNotes: false),
                              followUp: config.followUpRule, now: clock.now)
        let sender = try MaildirTransport(folder: scratch.path("outbox")).makeSender()
        defer { sender.close() }
        var built: [(kind: Mailing.Kind, to: String, path: String)] = []
        func deliverDue() throws {
            _ = try db.startDueMailings(now: clock.now, lateLimit: 86_400 * 30)
            let mailings = try Dictionary(uniqueKeysWithValues: db.mailings(activeOnly: false).map { ($0.id ?? -1, $0) })
            var results: [DeliveryResult] = []
            for claim in try db.claimDue(limit: 100, now: clock.now) {
                let message = try builder.build(claim)
                let outcome = sender.send(message.envelope, message: message.bytes, lastCheck: { .go })
                guard case .accepted(let reply) = outcome else { continue }
                built.append((try #require(mailings[claim.mailingID]).kind, claim.recipient, String(reply.dropFirst("written to ".count))))
                results.append(DeliveryResult(claim: claim, outcome: outcome, finishedAt: clock.now))
            }
            try db.record(results, policy: RecordingPolicy(config.delivery))
        }
        _ = try db.invite(session: session.id, tags: ["member"], sendAfter: clock.now, createdBy: "morgan", dryRun: false, domain: config.domain,
                          zone: Self.london, now: clock.now)
        _ = try db.inviteGuest(session: session.id, address: EmailAddress("priya@example.org"), name: "Dr Priya Example", invitedBy: "morgan",
                               reason: "invited as presenter", key: testKey, sendAfter: clock.now, domain: config.domain, zone: Self.london, now: clock.now)
        try deliverDue()
        clock.now = Self.at(2026, 11, 8, 9)
        _ = try db.queueSessionReminders(rule: config.reminderRule, now: clock.now, domain: config.domain)
        try deliverDue()
        clock.now = Self.at(2026, 11, 10, 13)
        // The guest presenter came too, consent cell blank (a "yes" would put her on the list): she is thanked outside
        // any stream.
        _ = try db.recordAttendance(session: session.id, sheet: SignInSheet.parse(Data("Name,Email,Consent\nAnn Example,ann.example@example.org,yes\nDr Priya Example,priya@example.org,\n".utf8)),
                                    status: .attended, options: ImportOptions(source: "sheet", wordingVersion: "1", recordedBy: "morgan"),
                                    key: testKey, now: clock.now)
        clock.now = Self.at(2026, 11, 11, 10)
        _ = try db.queueSessionFollowUps(now: clock.now, domain: config.domain, noShows: true)
        try deliverDue()
        // The notes come after the thank-you went without them: the two thanked get them once; an edit sends nothing.
        clock.now = Self.at(2026, 11, 11, 12)
        _ = try db.setNotes(session.id, markdown: "We agreed to ask for **a named link worker** on each ward.\n", now: clock.now)
        #expect(try db.queueLateSessionNotes(now: clock.now).map(\.added).reduce(0, +) == 2)
        try deliverDue()
        clock.now = Self.at(2026, 11, 11, 13)
        _ = try db.setNotes(session.id, markdown: "We agreed to ask for **a named link worker** on each ward, and a call the day after.\n", now: clock.now)
        #expect(try db.queueLateSessionNotes(now: clock.now).isEmpty)
        let summary = built.map { "\($0.kind.rawValue):\($0.to)" }.sorted()
        #expect(summary == ["invitation:ann.example@example.org", "invitation:priya@example.org", "invitation:sian@example.org",
                            "no-show:sian@example.org", "reminder:ann.example@example.org", "reminder:priya@example.org",
                            "reminder:sian@example.org", "session-notes:ann.example@example.org", "session-notes:priya@example.org",
                            "thank-you:ann.example@example.org", "thank-you:priya@example.org"], "\(summary)")
        let structure = try SpamAssassinTests.runScript("check_message.py", built.map(\.path))
        let spam = try SpamAssassinTests.runScript("spam_check.py", built.map(\.path))
        try #require(structure.results.count == built.count && spam.results.count == built.count, "\(structure.output) \(spam.output)")
        for (index, message) in built.enumerated() {
            let label = "\(message.kind.rawValue) to \(message.to)"
            let result = structure.results[index]
            #expect(result["ok"] as? Bool == true, "\(label): \(result["violations"] ?? "?")")
            // The guest is not invited to the next session, so her thank-you carries no calendar; nor do the notes.
            let plain = message.kind == .sessionNotes || (message.kind == .thankYou && message.to == "priya@example.org")
            #expect(result["structure"] as? String == (plain ? "multipart/alternative(text/plain,text/html)"
                        : "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"), "\(label)")
            let text = ((result["parts"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
            let guest = message.to == "priya@example.org"
            // Every footer's reason, the guest's (outside any stream) and the members' (on the session stream).
            let community = "Riverside Community of Practice"
            let why: String = switch message.kind {
            case .invitation, .reminder: guest ? "you were invited to a session of \(community)" : "you joined \(community)"
            case .noShow: "you were invited to a session of \(community)"
            case .thankYou: "you came to a session of \(community)"
            case .sessionNotes: "you came to, or sent apologies for, a session of \(community)"
            default: "?"
            }
            let footer = "You receive this because \(why)" + (guest
                ? "; it is not a mailing list, and you will hear from us only about the sessions you are invited to."
                : " and asked to be invited to its sessions.")
            #expect(text.contains("--\r\n" + footer + "\r\n"), "\(label): \(text)")
            switch message.kind {
            case .invitation:
                #expect(text.contains("You are warmly invited") && text.contains("Tuesday 10 November 2026, 10:00 to 12:00")
                        && text.contains("What to expect") && text.contains("send your apologies"), "\(label): \(text)")
                // Not held for notes: no summary is promised to those who cannot come.
                #expect(!text.contains("summary"), "\(label): \(text)")
                if guest {
                    #expect(text.contains("it is not a mailing list"), "\(label): a guest is told this is not list mail")
                    #expect(!text.contains("no need to prepare") && text.contains("If you are coming to speak or to present"),
                            "\(label): a presenter is not told there is nothing to prepare: \(text)")
                } else {
                    #expect(text.contains("There is no need to prepare anything"), "\(label)")
                }
            case .reminder: #expect(text.contains("A friendly reminder"), "\(label)")
            case .noShow:
                #expect(text.contains("We were sorry not to see you at our session “Hospital discharge: the first week at home”"), "\(label)")
                // There are no notes yet and none are awaited: nothing says "here is what happened" or promises them.
                #expect(!text.contains("Here is what happened") && !text.contains("summary"), "\(label): \(text)")
            case .thankYou where guest:
                #expect(text.contains("Thank you for coming to our session"), "\(label)")
                #expect(!text.contains("YOU ARE INVITED") && !text.contains("still to be confirmed") && !text.contains("summary"),
                        "\(label): a guest hears nothing of sessions she is not invited to: \(text)")
                #expect(text.contains("You receive this because you came to a session of Riverside Community of Practice; it is not a mailing list"),
                        "\(label): \(text)")
            case .thankYou:
                #expect(text.contains("YOU ARE INVITED TO OUR NEXT SESSION") && !text.contains("summary"), "\(label): \(text)")
            case .sessionNotes:
                #expect(text.contains("Here are the notes from our session “Hospital discharge: the first week at home” on Tuesday 10 November")
                        && text.contains("a named link worker") && !text.contains("a call the day after"), "\(label): \(text)")
                #expect(text.contains(guest ? "; it is not a mailing list" : "and asked to be invited to its sessions"), "\(label): \(text)")
            default: break
            }
            let verdict = spam.results[index]
            let rules = (verdict["rules"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "?")=\($0["score"] ?? "?")" }
            #expect(verdict["is_spam"] as? Bool == false, "\(label) is spam: \(rules)")
            #expect(verdict["header_or_mime_rules"] as? [String] == [], "\(label): \(rules)")
        }
    }

    @Test("each invitation's calendar object names only its recipient, keeps the session's UID, and raises SEQUENCE on change")
    func calendarObjects() throws {
        let scratch = try Scratch()
        let built = try Self.buildAll(in: scratch).filter { [.thankYou, .missedYou, .sessionChanged, .sessionCancelled].contains($0.kind) }
        try #require(built.count == 12)
        let out = try python("""
            import json, sys, email
            from email import policy
            from icalendar import Calendar
            for path in sys.argv[1:]:
                msg = email.message_from_binary_file(open(path, 'rb'), policy=policy.default)
                cals = [p for p in msg.walk() if p.get_content_type() in ('text/calendar', 'application/ics')]
                inline = [p for p in cals if p.get_content_type() == 'text/calendar'][0]
                raw = inline.get_payload(decode=True)
                cal = Calendar.from_ical(raw)
                ev = [c for c in cal.walk() if c.name == 'VEVENT']
                tz = [c for c in cal.walk() if c.name == 'VTIMEZONE']
                e = ev[0]
                att = e.get('ATTENDEE')
                att = att if isinstance(att, list) else [att]
                print(json.dumps({
                    'method_param': inline.get_param('method'), 'method': str(cal['METHOD']),
                    'same_attachment': cals[1].get_payload(decode=True) == raw, 'events': len(ev), 'tz': [str(t['TZID']) for t in tz],
                    'uid': str(e['UID']), 'sequence': int(e['SEQUENCE']), 'dtstamp': e['DTSTAMP'].to_ical().decode(),
                    'dtstart': e['DTSTART'].to_ical().decode(), 'dtstart_tzid': e['DTSTART'].params.get('TZID'),
                    'status': str(e['STATUS']), 'attendees': [str(a) for a in att], 'rsvp': att[0].params.get('RSVP'),
                    'organizer': str(e['ORGANIZER']), 'location': str(e.get('LOCATION', '')), 'url': str(e.get('URL', '')),
                }))
            """, arguments: built.map(\.path))
        let objects = out.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        try #require(objects.count == built.count, "\(out)")
        let uids = Set(objects.compactMap { $0["uid"] as? String })
        #expect(uids.count == 1 && uids.first?.hasPrefix("session-") == true && uids.first?.hasSuffix("@example.org") == true, "\(uids)")
        for (message, object) in zip(built, objects) {
            let label = "\(message.kind.rawValue) to \(message.recipient)"
            #expect(object["attendees"] as? [String] == ["mailto:\(message.recipient)"], "\(label): one attendee, the recipient")
            #expect(object["rsvp"] as? String == "FALSE", "\(label)")
            #expect(object["organizer"] as? String == "mailto:cop@example.org", "\(label)")
            #expect(object["events"] as? Int == 1 && object["tz"] as? [String] == ["Europe/London"], "\(label)")
            #expect(object["dtstart_tzid"] as? String == "Europe/London", "\(label)")
            #expect(object["same_attachment"] as? Bool == true, "\(label): the .ics attachment differs from the inline part")
            #expect((object["dtstamp"] as? String)?.hasSuffix("Z") == true, "\(label): DTSTAMP must be UTC")
            #expect(object["method_param"] as? String == object["method"] as? String, "\(label)")
            #expect(object["url"] as? String == "https://meet.example.org/riverside-december", "\(label)")
            switch message.kind {
            case .thankYou, .missedYou:
                // Sent on 11 November, before the session moved: the original time, first sequence.
                #expect(object["method"] as? String == "REQUEST" && object["sequence"] as? Int == 0, "\(label)")
                #expect(object["dtstart"] as? String == "20261209T100000", "\(label)")
            case .sessionChanged:
                #expect(object["method"] as? String == "REQUEST" && object["sequence"] as? Int == 1, "\(label)")
                #expect(object["dtstart"] as? String == "20261210T100000", "\(label)")
            default:
                #expect(object["method"] as? String == "CANCEL" && object["status"] as? String == "CANCELLED", "\(label)")
                #expect(object["sequence"] as? Int == 2, "\(label)")
            }
        }
    }
}
