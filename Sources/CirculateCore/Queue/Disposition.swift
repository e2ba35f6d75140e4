import Foundation

/// What a message's outcome means for the message, for the person, and for the relay: decided here, by pure
/// functions, and applied by `OutboundQueue.record`.
public enum Disposition: Sendable, Equatable {
    /// The relay took it.
    case sent(reply: String)
    /// A temporary failure of this message: it is tried again on its own retry schedule.
    case deferred(reason: String)
    /// It will not be sent; the failure says whose it is (only `.bounce` counts against the person).
    case failed(Delivery.Failure, reason: String)
    /// The relay itself is in trouble: the message goes back untouched and delivery pauses.
    case pause(RelayProblem)
    /// Its fate is unknown: the whole message went, no reply came.
    case inDoubt(String)
    /// Stopped before its content: the recipient withdrew or it was cancelled.
    case withdrawn(String)
    /// Not handed over because the last check could not be made; tried again soon, counting nothing.
    case retrySoon(String)

    /// The disposition of a transport's outcome.
    public static func of(_ outcome: SendOutcome) -> Disposition {
        switch outcome {
        case .accepted(let reply): .sent(reply: reply)
        case .refused(let reply): ReplyClassification.classify(reply)
        case .relayProblem(let problem): .pause(problem)
        case .inDoubt(let detail): .inDoubt(detail)
        case .withdrawn(let reason, _): .withdrawn(reason)
        case .notSent(let reason): .failed(.notSent, reason: reason)
        case .checkFailed(let detail, _): .retrySoon(detail)
        }
    }
}

/// Classifies a relay's refusal by its enhanced status code (RFC 3463) and reply code, and where both say too little
/// by reply code and stage. The table is in the README ("What a relay's reply does").
///
/// Only the recipient's own permanent failures count as bounces: 5.1.x (the address) and 5.2.1 (a disabled mailbox).
/// Everything temporary is retried; a refusal of one message (too large, a policy, content) fails that message
/// without blaming the person; trouble of the relay itself (421, 530, the sender refused) pauses delivery.
public enum ReplyClassification {
    /// What one refusal means.
    public static func classify(_ reply: SMTPReply) -> Disposition {
        let code = reply.code
        let text = reply.description
        // The relay's own condition, whatever the stage.
        if code == 421 {
            return .pause(RelayProblem(kind: .unavailable, code: code, description:
                "the relay is shutting down or overloaded (\(text)); delivery pauses and tries again", afterMailFrom: true))
        }
        if code == 530 {
            return .pause(RelayProblem(kind: .authentication, code: code, description:
                "the relay requires authentication (\(text)); set smtp.username and the password", afterMailFrom: true))
        }
        if reply.stage == .mail { return mailFromRefused(reply) }

        if let status = reply.enhanced {
            switch (status.statusClass, status.subject, status.detail) {
            case (5, 2, 2): return .deferred(reason: text)                        // mailbox full: it may empty
            case (4, _, _): return .deferred(reason: text)
            case (5, 1, _), (5, 2, 1): return .failed(.bounce, reason: text)        // the address does not work
            default: return code >= 500 ? .failed(.rejected, reason: text) : .deferred(reason: text)
            }
        }
        if (400..<500).contains(code) { return .deferred(reason: text) }
        // RFC 5321: 550 mailbox unavailable, 551 user not local; at RCPT these are about the address.
        if reply.stage == .recipient && (code == 550 || code == 551) { return .failed(.bounce, reason: text) }
        return .failed(.rejected, reason: text)
    }

    /// A refusal of MAIL FROM concerns the list's sender, never one recipient.
    private static func mailFromRefused(_ reply: SMTPReply) -> Disposition {
        let text = reply.description
        if reply.code == 552 || reply.enhanced == EnhancedStatus(5, 3, 4) {
            // SIZE (RFC 1870): this message is larger than the relay takes; smaller ones may go through.
            return .failed(.rejected, reason: text)
        }
        if reply.code < 500 {
            return .pause(RelayProblem(kind: .unavailable, code: reply.code, description:
                "the relay is not accepting mail from the list right now (\(text)); delivery pauses and tries again", afterMailFrom: true))
        }
        return .pause(RelayProblem(kind: .policy, code: reply.code, description:
            "the relay refused the list's sender address (\(text)); check list.bounce_address and which senders the relay allows for this account",
            afterMailFrom: true))
    }

    /// Whether a disposition is a policy refusal of one recipient (5.7.x), which `PolicyStreak` watches.
    static func policyRefusal(_ reply: SMTPReply) -> EnhancedStatus? {
        guard reply.stage != .mail, let status = reply.enhanced, status.statusClass == 5, status.subject == 7 else { return nil }
        return status
    }
}

/// The same 5.7.x refusal for several different recipients in a row is the relay refusing the list, not each
/// person: after `threshold` of them, delivery pauses and the earlier ones are given back to be tried again.
struct PolicyStreak: Sendable {
    /// How many different recipients in a row make it the relay's condition.
    var threshold = 3
    private var status: EnhancedStatus?
    private var recipients: Set<String> = []
    private var deliveries: [Int64] = []

    /// Notes one outcome; returns the deliveries to give back (earlier in the streak) and the problem to pause with,
    /// once the streak is long enough.
    mutating func observe(_ outcome: SendOutcome, recipient: String, delivery: Int64) -> (reopen: [Int64], problem: RelayProblem)? {
        guard case .refused(let reply) = outcome, let status = ReplyClassification.policyRefusal(reply) else {
            // Anything else from the relay ends a streak; a relay problem or a withdrawal says nothing either way.
            switch outcome {
            case .accepted, .refused: reset()
            default: break
            }
            return nil
        }
        if status != self.status { reset() }
        self.status = status
        if recipients.insert(recipient.lowercased()).inserted { deliveries.append(delivery) }
        guard recipients.count >= threshold else { return nil }
        let reopen = deliveries.filter { $0 != delivery }
        let problem = RelayProblem(kind: .policy, code: reply.code, description:
            "the relay refused \(recipients.count) different recipients in a row with the same policy reply (\(reply.description)); it is refusing the list's mail, not these people; check the relay account's sending limits and policies",
            afterMailFrom: true)
        reset()
        return (reopen, problem)
    }

    private mutating func reset() {
        status = nil
        recipients = []
        deliveries = []
    }
}
