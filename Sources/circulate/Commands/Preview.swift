import ArgumentParser
import CirculateCore
import Foundation

/// Who a preview is for and where it goes: the terminal, or an .eml file.
struct PreviewTarget: ParsableArguments {
    @Option(help: ArgumentHelp("Render it for this member (default: a sample member).", valueName: "email")) var member: String?
    @Option(help: ArgumentHelp("Write the exact message to this .eml file (opens in any mail program).", valueName: "file")) var eml: String?
    @Flag(help: "Print the exact bytes that would be sent (MIME source) instead of the readable text.") var raw = false

    func show(_ mailing: Mailing, context: CommandContext, database: AppDatabase) throws {
        var address = try EmailAddress("sam.sample@example.org")
        var name = "Sam Sample"
        var memberID: Int64?
        if let member {
            let wanted = try EmailAddress(member)
            guard case .found(let profile) = try database.lookup(wanted, key: nil) else { throw MemberError.unknown(address: wanted.description) }
            address = profile.member.address ?? wanted
            name = profile.member.name
            memberID = profile.member.id
        }
        let preview: MessagePreview
        do {
            preview = try context.messageBuilder(database).preview(mailing, to: address, name: name, memberID: memberID)
        } catch let error as CompositionError {
            // What a preview is for: finding a message that cannot be sent, before the daemon tries.
            throw UncomposableMessage(error: error, templates: context.configuration.templates.directory)
        }
        if let eml {
            try OutputFile.write(preview.composed.bytes, to: eml, what: ".eml file")
            print("Wrote \(eml) (\(preview.composed.bytes.count) bytes): the message exactly as \(name) <\(address)> would get it.")
            return
        }
        if raw {
            FileHandle.standardOutput.write(Data(preview.composed.bytes))
            return
        }
        let m = preview.message
        func mailbox(_ b: Mailbox) -> String { TextField.printable(b.displayName.map { "\($0) <\(b.address)>" } ?? b.address.description) }
        print("From: \(mailbox(m.from))")
        if !m.replyTo.isEmpty { print("Reply-To: \(m.replyTo.map(mailbox).joined(separator: ", "))") }
        print("To: \(mailbox(m.to))")
        print("Subject: \(TextField.printable(m.subject))")
        for a in m.attachments { print("Attached: \(TextField.printable(a.filename)) (\(a.contentType), \(ByteCount.describe(a.data.count)))") }
        if let c = m.calendar { print("Calendar: \(c.filename) (METHOD:\(c.method.rawValue); opens as an invitation in Gmail, Outlook and Apple Calendar)") }
        print("")
        print(TextField.printable(m.textBody, keepingLineBreaks: true))
        if mailing.kind != .test && !mailing.kind.isOperational && memberID == nil {
            print("")
            print("(A sample member; each person's own name and unsubscribe link go into the real messages. --eml FILE writes the HTML version too.)")
        }
    }
}

extension Circulate {
    /// `circulate preview KIND`: any message, exactly as it would be sent.
    struct Preview: CirculateCommand {
        static let configuration = CommandConfiguration(
            commandName: "preview", abstract: "Show any kind of message as it would be sent now, for a member or a sample one.",
            discussion: """
                Kinds: announcement, test and update (--file FILE.md --subject ..., or --update ID), invitation, reminder, thank-you, missed-you, no-show, session-notes, session-changed and session-cancelled (--session N), report, report-follow-up and report-notice (--report R).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The kind of message.") var kind: String
        @Option(help: "The session it is about.") var session: Int64?
        @Option(help: "The report (number or title).") var report: String?
        @Option(help: "A queued monthly update.") var update: Int64?
        @Option(help: ArgumentHelp("The content (Markdown) for an announcement or update.", valueName: "file")) var file: String?
        @Option(help: "The subject for an announcement or update.") var subject: String?
        @OptionGroup var target: PreviewTarget

        func execute(_ context: CommandContext) throws {
            guard let kind = Mailing.Kind(rawValue: kind.lowercased()), kind != .coordinatorNotice else {
                throw InvalidField(field: "kind", value: self.kind, problem: "is not a message kind; use one of: \(Mailing.Kind.allCases.filter { $0 != .coordinatorNotice }.map(\.rawValue).joined(separator: ", "))")
            }
            let db = try context.database()
            let now = context.now
            let workflows = try context.workflowContext()
            let mailing: Mailing
            switch kind {
            case .announcement, .test, .update:
                if let update {
                    let u = try db.update(id: update)
                    mailing = .draft(kind: .update, stream: .monthlyUpdate, subject: u.subject, body: u.bodyMarkdown, now: now)
                } else {
                    guard let file, let typed = subject else { throw ValidationError("Give --file FILE.md and --subject \"...\" (or --update ID).") }
                    // The same rules as `send` and `update queue`, so a bad subject is invalid input here too.
                    let subject = try TextField.clean(typed, field: "subject", maxLength: 250)
                    guard !subject.isEmpty else { throw InvalidField(field: "subject", value: typed, problem: "is empty; give --subject \"...\"") }
                    mailing = .draft(kind: kind, stream: kind == .update ? .monthlyUpdate : kind == .test ? nil : .sessionInvitations,
                                     subject: subject, body: try InputFile.text(file, what: "content file"), now: now)
                }
            case .thankYou, .missedYou, .noShow, .sessionChanged, .sessionCancelled, .invitation, .reminder, .sessionNotes:
                guard let session else { throw ValidationError("Give the session: --session N.") }
                let s = try db.sessionDetails(session).session
                switch kind {
                case .thankYou, .missedYou, .noShow:
                    let next = try db.nextSession(after: max(now, s.endsAt))
                    mailing = .draft(kind: kind, stream: .sessionInvitations, subject: workflows.subject(kind.rawValue, session: s),
                                     body: "", now: now, sessionID: s.id, invitationSessionID: next?.id)
                case .sessionNotes:
                    mailing = .draft(kind: kind, stream: .sessionInvitations, subject: workflows.subject(kind.rawValue, session: s),
                                     body: "", now: now, sessionID: s.id)
                default:
                    mailing = .draft(kind: kind, stream: .sessionInvitations, subject: workflows.subject(kind.rawValue, session: s),
                                     body: "", now: now, sessionID: s.id, invitationSessionID: s.id)
                }
            case .report, .reportFollowUp, .reportNotice:
                guard let report else { throw ValidationError("Give the report: --report R.") }
                let status = try db.reportStatus(report)
                let r = status.report
                let subject = kind == .report ? r.title : workflows.subject(kind.rawValue, report: r.title)
                mailing = .draft(kind: kind, stream: .reports, subject: subject, body: kind == .report ? (r.coverNote ?? "") : "",
                                 now: now, reportID: r.id)
            case .coordinatorNotice:
                throw ValidationError("Notices to the coordinator cannot be previewed.")
            case .joinConfirmation:
                throw ValidationError("Join confirmations are written by the join page; they cannot be previewed.")
            }
            try target.show(mailing, context: context, database: db)
        }
    }
}

/// A preview whose message cannot be made from what it was given (a custom template that puts a control character in
/// a subject, content the composer refuses): invalid input, named, rather than an internal error.
struct UncomposableMessage: Failure {
    let error: CompositionError
    /// The configured templates folder: the usual place such a problem comes from.
    let templates: String
    var kind: FailureKind { .invalidInput }
    var description: String {
        "this message cannot be made: \(error.description); check the templates in \(TextField.printable(templates)) "
            + "(templates.directory) and the content it is made from, then preview it again"
    }
}
