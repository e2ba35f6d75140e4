import Foundation
import GRDB

/// Joining with double opt-in: the join page records a pending sign-up and queues a message with a link; only the
/// confirmation posted from that link adds the person. Each method is one transaction.
extension AppDatabase {
    /// Where the links of the join messages point and what they say.
    public struct SignUpContext: Sendable {
        /// The community's name, as the messages say it.
        public var community: String
        /// `list.public_base_url` without a trailing "/": the join and preference pages live under it.
        public var baseURL: String
        /// The domain of Message-IDs.
        public var domain: String
        /// The wording shown on the join page (its version and hash are recorded with the consent).
        public var wording: ConsentWording
        /// The rate limits and the link's validity.
        public var limits: SignUpLimits

        /// A context for the join page.
        public init(community: String, baseURL: String, domain: String, wording: ConsentWording, limits: SignUpLimits = SignUpLimits()) {
            self.community = community
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.domain = domain
            self.wording = wording
            self.limits = limits
        }
    }

    /// Handles one post of the join page from `client` (an IP address, or "" when unknown): rate limits, then the
    /// message for this address (a confirmation link, word that they are on the list already, or nothing for an
    /// erased address).
    public func requestSignUp(_ request: SignUpRequest, client: String, context: SignUpContext, key: InstanceKey,
                              now: Date) throws -> SignUpOutcome {
        try write { db in
            try Self.forgetExpiredSignUps(db, now: now)
            let limits = context.limits
            let clientHash = Self.clientHash(client, key: key)
            let addressHash = key.suppressionHash(for: request.address)
            if try Self.count(db, .formClient, clientHash, since: now - 3_600) >= limits.formsPerClient
                || Self.count(db, .formAddress, addressHash, since: now - 3_600) >= limits.formsPerAddress {
                return .tooManyRequests
            }
            try Self.note(db, .formClient, clientHash, now: now)
            if try Self.erasedAt(db, address: request.address, key: key) != nil { return .erased }
            try Self.note(db, .formAddress, addressHash, now: now)
            if try Self.count(db, .mailAddress, addressHash, since: now - 86_400) >= limits.mailsPerAddress
                || Self.count(db, .mailClient, clientHash, since: now - 86_400) >= limits.mailsPerClient {
                return .mailLimited
            }
            try Self.note(db, .mailAddress, addressHash, now: now)
            try Self.note(db, .mailClient, clientHash, now: now)

            let member = try Self.member(db, key: request.address.key)
            if let member, member.status == .active, let id = member.id {
                let link = "\(context.baseURL)/p/\(key.write(LinkToken(.preferences, scope: .all, id: id)))"
                try Self.queueJoinMessage(db, to: request.address, memberID: id, subject: "You are already on the list of \(context.community)",
                                          body: SignUpMessage.alreadyMember(community: context.community, preferencesLink: link),
                                          domain: context.domain, now: now)
                return .alreadyMember
            }
            let s = request.streams
            try db.execute(sql: """
                INSERT INTO pending_signup (email, email_key, address_hash, name, organisation, monthly_update, session_invitations,
                                            reports, wording_version, wording_hash, requested_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [request.address.description, request.address.key, addressHash, request.name, request.organisation,
                                 s.monthlyUpdate, s.sessionInvitations, s.reports, context.wording.version, context.wording.hash,
                                 now, now + limits.validity])
            let id = db.lastInsertedRowID
            let link = "\(context.baseURL)/j/\(key.write(LinkToken(.confirmJoin, scope: .none, id: id)))"
            try Self.queueJoinMessage(db, to: request.address, memberID: member?.id, subject: "Please confirm: joining \(context.community)",
                                      body: SignUpMessage.confirm(community: context.community, link: link, streams: s,
                                                                  returning: member != nil),
                                      domain: context.domain, now: now)
            return .confirmationQueued(signUpID: id)
        }
    }

    /// Whether the sign-up `id` is waiting for its confirmation (for the page the link opens; it changes nothing).
    public func signUpIsPending(id: Int64, now: Date) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM pending_signup WHERE id = ? AND expires_at > ?)",
                              arguments: [id, now]) ?? false
        }
    }

    /// Confirms the sign-up `id`: adds the person (lawful basis consent, source "web form", the wording's version and
    /// hash, now), puts back someone who had left, or changes nothing for someone on the list already. Every pending
    /// sign-up for the address goes. Nil for an unknown, used or expired sign-up.
    public func confirmSignUp(id: Int64, now: Date) throws -> SignUpConfirmation? {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM pending_signup WHERE id = ? AND expires_at > ?", arguments: [id, now])
            else { return nil }
            let address = try EmailAddress(row["email"] as String)
            try db.execute(sql: "DELETE FROM pending_signup WHERE email_key = ?", arguments: [address.key])
            let streams = StreamPreferences(monthlyUpdate: row["monthly_update"], sessionInvitations: row["session_invitations"],
                                            reports: row["reports"])
            let version: String = row["wording_version"]
            let hash: String = row["wording_hash"]
            let memberID: Int64
            let outcome: SignUpConfirmation
            if var member = try Self.member(db, key: address.key), let existing = member.id {
                if member.status == .active { return .alreadyMember(memberID: existing) }
                member.status = .active
                member.lawfulBasis = .consent
                member.streams = streams
                member.updatedAt = now
                member.statusChangedAt = now
                try member.update(db)
                try db.execute(sql: "UPDATE member SET hard_bounces = 0 WHERE id = ?", arguments: [existing])
                memberID = existing
                outcome = .rejoined(memberID: existing)
            } else {
                var member = Member(
                    id: nil, email: address.description, emailKey: address.key, name: row["name"], knownAs: nil,
                    organisation: row["organisation"], status: .active, lawfulBasis: .consent,
                    monthlyUpdate: false, sessionInvitations: false, reports: false, createdAt: now, updatedAt: now, statusChangedAt: now)
                member.streams = streams
                try member.insert(db)
                guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
                memberID = id
                outcome = .joined(memberID: id)
            }
            // One event per stream chosen, as every grant is recorded, with the hash of the text agreed to.
            for stream in streams.enabled {
                try db.execute(sql: """
                    INSERT INTO consent_event (member_id, action, stream, lawful_basis, source, wording_version, wording_hash, recorded_by, occurred_at)
                    VALUES (?, 'given', ?, 'consent', ?, ?, ?, 'web', ?)
                    """, arguments: [memberID, stream.rawValue, Self.signUpSource, version, hash, now])
            }
            return outcome
        }
    }

    /// Deletes sign-ups whose link has expired and rate records older than a day (the scheduler calls it each look,
    /// the join page at each post); returns how many sign-ups went.
    @discardableResult
    public func forgetExpiredSignUps(now: Date) throws -> Int {
        try write { db in try Self.forgetExpiredSignUps(db, now: now) }
    }

    /// The source recorded with a consent given on the join page.
    public static let signUpSource = "web form"

    // MARK: - Building blocks

    enum RateAction: String {
        case formClient = "form-client", formAddress = "form-address", mailAddress = "mail-address", mailClient = "mail-client"
    }

    @discardableResult
    static func forgetExpiredSignUps(_ db: Database, now: Date) throws -> Int {
        try db.execute(sql: "DELETE FROM pending_signup WHERE expires_at <= ?", arguments: [now])
        let gone = db.changesCount
        try db.execute(sql: "DELETE FROM web_rate WHERE at <= ?", arguments: [now - 86_400])
        return gone
    }

    /// A keyed hash of the client's IP address: the rate records never hold the address itself.
    static func clientHash(_ client: String, key: InstanceKey) -> String {
        key.linkMAC(Array("circulate web client|\(client)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static func count(_ db: Database, _ action: RateAction, _ subject: String, since: Date) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM web_rate WHERE subject_hash = ? AND action = ? AND at > ?",
                         arguments: [subject, action.rawValue, since]) ?? 0
    }

    private static func note(_ db: Database, _ action: RateAction, _ subject: String, now: Date) throws {
        try db.execute(sql: "INSERT INTO web_rate (subject_hash, action, at) VALUES (?, ?, ?)", arguments: [subject, action.rawValue, now])
    }

    /// The message goes through the queue like every other: a one-off mailing to one address, outside consent (the
    /// person asked for it a moment ago), tied to their member record when there is one so erasure and export see it.
    private static func queueJoinMessage(_ db: Database, to address: EmailAddress, memberID: Int64?, subject: String, body: String,
                                         domain: String, now: Date) throws {
        _ = try OutboundQueue.enqueue(db, MailingPlan(
            kind: .joinConfirmation, stream: nil, audience: "someone who filled in the join page", subject: subject, body: body,
            sendAfter: now, identity: .oneOff, createdBy: "web", recipients: .address(address, memberID: memberID)),
            domain: domain, now: now)
    }
}
