import Foundation

/// Who may still receive a message of a mailing: the one definition, used when a mailing is queued, when each
/// message is claimed, and in the last checks before and during its SMTP transaction.
///
/// Each rule is written once, here; the SQL the queue runs is generated from this list (`holdsSQL`, `refusalSQL`),
/// so the three places can never disagree. A rule reads the mailing as `g` and the member as `m` (LEFT JOINed: a
/// person erased since has no row).
enum Eligibility {
    /// One condition a recipient must meet.
    struct Rule: Sendable {
        /// What the coordinator reads when a message is stopped by this rule.
        let refusal: String
        /// The kinds of mailing it applies to; nil means every kind sent to members.
        let kinds: Set<Mailing.Kind>?
        /// SQL that is true when the recipient meets the rule.
        let holds: String
    }

    /// Kinds sent to the coordinator or as a one-off test: outside consent (they go to one named address).
    static let exempt: Set<Mailing.Kind> = Mailing.Kind.operational

    /// The rules, in the order their refusals are reported.
    static let rules: [Rule] = [
        Rule(refusal: "the recipient is no longer on the list", kinds: nil, holds: "m.id IS NOT NULL"),
        Rule(refusal: "the recipient has left the list (unsubscribed or bounced)", kinds: nil,
             holds: "m.status = '\(MemberStatus.active.rawValue)'"),
        Rule(refusal: "there is no lawful basis on record for the recipient", kinds: nil, holds: "m.lawful_basis IS NOT NULL"),
        Rule(refusal: "the recipient left the mailing's stream", kinds: nil,
             holds: "g.stream IS NULL OR CASE g.stream "
                + MailStream.allCases.map { "WHEN '\($0.rawValue)' THEN m.\($0.column)" }.joined(separator: " ")
                + " ELSE 0 END = 1"),
        // A follow-up stops the moment the person's response is recorded.
        Rule(refusal: "the recipient responded to the report", kinds: [.reportFollowUp],
             holds: "NOT EXISTS (SELECT 1 FROM report_recipient r WHERE r.report_id = g.report_id AND r.member_id = m.id AND r.responded_at IS NOT NULL)"),
        // Apologies stop the reminders; changes and cancellations still reach them (they may be able to come now).
        Rule(refusal: "the recipient sent apologies for the session", kinds: [.reminder],
             holds: "NOT EXISTS (SELECT 1 FROM participation p WHERE p.session_id = g.session_id AND p.member_id = m.id AND p.status = '\(Participation.apologies.rawValue)')"),
        Rule(refusal: "the session was cancelled", kinds: [.invitation, .reminder, .sessionChanged],
             holds: "NOT EXISTS (SELECT 1 FROM session s WHERE s.id = g.session_id AND s.state = '\(Session.State.cancelled.rawValue)')"),
    ]

    /// SQL that is true when the mailing `g` is of one of `kinds`: comparisons joined by OR, not `IN (...)`, which
    /// for three or more values makes SQLite build a temporary b-tree each time the statement runs (the last check
    /// runs twice per message; those b-trees showed in its profile).
    static func kindIn(_ kinds: Set<Mailing.Kind>) -> String {
        "(" + kinds.map { "g.kind = '\($0.rawValue)'" }.sorted().joined(separator: " OR ") + ")"
    }

    /// SQL that is true when the member `m` may receive a message of mailing `g`.
    static let holdsSQL: String = {
        let conditions = rules.map { rule in
            guard let kinds = rule.kinds else { return "(\(rule.holds))" }
            return "(NOT \(kindIn(kinds)) OR (\(rule.holds)))"
        }
        return "(\(kindIn(exempt)) OR (" + conditions.joined(separator: " AND ") + "))"
    }()

    /// SQL giving the first rule the member `m` fails for mailing `g`, or NULL when they may receive it.
    static let refusalSQL: String = {
        var cases = ["WHEN \(kindIn(exempt)) THEN NULL"]
        for rule in rules {
            let applies = rule.kinds.map { "\(kindIn($0)) AND " } ?? ""
            cases.append("WHEN \(applies)NOT (\(rule.holds)) THEN '\(rule.refusal.replacingOccurrences(of: "'", with: "''"))'")
        }
        return "(CASE " + cases.joined(separator: " ") + " ELSE NULL END)"
    }()
}

extension Eligibility {
    /// Members who may receive a mailing not made yet, of the kind and stream given as the first two arguments:
    /// `holdsSQL` over a stand-in for the mailing. Selects `select` from `member m`; more conditions may follow.
    static func membersSQL(select: String) -> String {
        """
        SELECT \(select) FROM member m
        CROSS JOIN (SELECT ? AS kind, ? AS stream, NULL AS session_id, NULL AS report_id) g
        WHERE \(holdsSQL)
        """
    }
}

extension MailStream {
    /// The member table's column holding this stream's preference.
    var column: String {
        switch self {
        case .monthlyUpdate: "monthly_update"
        case .sessionInvitations: "session_invitations"
        case .reports: "reports"
        }
    }
}
