import Foundation
import GRDB

extension InboxProcessor {
    /// A calendar answer records yes, apologies or maybe exactly as `circulate session rsvp` does, but only when
    /// everything agrees: the UID is one of our sessions, the object names one attendee, that attendee was sent the
    /// invitation, the mail comes from that same address, and the session is still ahead. A forged answer can
    /// therefore change at most the answer of the one invited person whose address it claims. Anything else is left
    /// for the coordinator, saying why; no address is written into the action.
    func calendarReply(_ db: Database, _ reply: CalendarReply, now: Date) throws -> Decision {
        func forCoordinator(_ action: String, member: Int64? = nil) -> Decision {
            Decision(state: .forCoordinator, action: action, delivery: nil, member: member)
        }
        let sessionID = reply.uid.flatMap { Self.sessionID(calendarUID: $0, domain: calendarDomain) }
        guard let sessionID, let session = try Session.fetchOne(db, sql: "\(Session.select) WHERE s.id = ?", arguments: [sessionID]) else {
            return forCoordinator("a calendar \(reply.method.lowercased()) about no session of ours; not acted on")
        }
        let about = "session \(session.id)"
        guard reply.method == "REPLY" else {
            let what = switch reply.method {
            case "COUNTER": "proposes another time for \(about); answer it yourself"
            case "REFRESH": "asks for the invitation to \(about) again; resend it with `circulate session invite \(session.id) --to`"
            default: "(\(reply.method.lowercased().prefix(20))) about \(about); not acted on"
            }
            return forCoordinator("a calendar message that \(what)")
        }
        guard reply.attendees.count == 1, let attendee = reply.attendees.first else {
            return forCoordinator("a calendar answer for \(about) naming \(reply.attendees.count) attendees, not one; not acted on")
        }
        let named = attendee.address.flatMap { try? EmailAddress($0) }
        let listed = try named.flatMap { try AppDatabase.member(db, key: $0.key)?.id }
        // A member's record names them (so that erasure and export find it); someone not on the list is not stored.
        guard let named, let memberID = listed, try Self.isInvited(db, member: memberID, session: session.id) else {
            return forCoordinator("a calendar answer for \(about) from someone not invited to it; not acted on", member: listed)
        }
        // The attendee is the invited member's own address: the mail must come from it too.
        guard let sender = reply.sender.flatMap({ try? EmailAddress($0) }), sender.key == named.key else {
            return forCoordinator("a calendar answer for \(about) naming an invited member, sent from another address; not acted on",
                                  member: memberID)
        }
        let answer: Participation
        switch attendee.partstat {
        case "ACCEPTED": answer = .accepted
        case "DECLINED": answer = .apologies
        case "TENTATIVE": answer = .maybe
        default:
            let given = attendee.partstat.map { String($0.lowercased().prefix(20)) } ?? "none"
            return forCoordinator("a calendar answer for \(about) without yes, no or maybe (\(given)); not acted on", member: memberID)
        }
        guard session.state == .scheduled else {
            return forCoordinator("a calendar answer (\(answer.answerWord)) for \(about), which was cancelled; nothing recorded", member: memberID)
        }
        guard session.startsAt > now else {
            return forCoordinator("a calendar answer (\(answer.answerWord)) for \(about), read after it began; record it with `circulate session rsvp` or the sign-in sheet if it still matters",
                                  member: memberID)
        }
        if let answered = reply.sequence, answered < session.sequence {
            // A yes to the old date says nothing about the new one.
            return forCoordinator("a calendar answer (\(answer.answerWord)) to an earlier version of \(about), before it was changed; ask them about the new one",
                                  member: memberID)
        }
        if let messageID = reply.messageID, try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM inbound_message WHERE message_id = ? AND kind = 'calendar-reply' AND state = 'handled')
            """, arguments: [messageID]) == true {
            // A copy of an answer already read (a mail system may deliver one twice): reading it again could undo a
            // later answer.
            return Decision(state: .handled, action: "the same calendar answer for \(about) again; nothing changed", delivery: nil,
                            member: memberID)
        }
        let before = try Participation.fetchOne(db, sql: "SELECT status FROM participation WHERE session_id = ? AND member_id = ?",
                                                arguments: [session.id, memberID])
        if before == answer || before == .attended {
            let status = (before ?? answer).statusWord
            return Decision(state: .handled, action: "calendar reply for \(about): already recorded as \(status); nothing changed",
                            delivery: nil, member: memberID)
        }
        let status = try AppDatabase.recordAnswer(db, session: session.id, member: memberID, answer: answer, now: now)
        return Decision(state: .handled, action: "calendar reply for \(about): recorded as \(status.statusWord)", delivery: nil, member: memberID)
    }

    /// The session number in "session-12@example.org", when the domain is ours (any case).
    static func sessionID(calendarUID uid: String, domain: String?) -> Int64? {
        guard let domain, let at = uid.lastIndex(of: "@"), uid[uid.index(after: at)...].lowercased() == domain.lowercased() else { return nil }
        let local = uid[..<at]
        guard local.hasPrefix("session-"), let id = Int64(local.dropFirst("session-".count)), id > 0 else { return nil }
        return id
    }

    /// Whether the member was sent (or is about to be sent) the session's invitation, personally or through the stream:
    /// the one definition of "invited", `SessionInvitations.invitedSQL`.
    static func isInvited(_ db: Database, member: Int64, session: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM (\(SessionInvitations.invitedSQL)) WHERE member_id = ?)",
                          arguments: [session, member]) ?? false
    }
}

extension Participation {
    /// The answer in the words of `circulate session rsvp`.
    var answerWord: String {
        switch self {
        case .accepted: "yes"
        case .apologies: "no"
        case .maybe: "maybe"
        case .invited, .attended: rawValue
        }
    }

    /// Where the person now stands, in the words `session show` uses.
    var statusWord: String {
        switch self {
        case .invited: "no reply"
        case .accepted: "coming"
        case .maybe: "maybe"
        case .apologies: "apologies"
        case .attended: "attended"
        }
    }
}
