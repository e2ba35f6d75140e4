import Foundation
import GRDB

/// The member list: each method is one transaction that keeps the list's invariants.
extension AppDatabase {
    /// Adds a person with a lawful basis on record. An erased address is refused unless `rejoin` says the person
    /// asked to come back, in which case its suppression entry is removed in the same transaction.
    public func addMember(_ new: NewMember, grant: ConsentGrant, key: InstanceKey, rejoin: Bool,
                          now: Date) throws -> MemberProfile {
        try write { db in
            if let erasedAt = try Self.erasedAt(db, address: new.address, key: key) {
                guard rejoin else { throw MemberError.erased(address: new.address.description, erasedAt: erasedAt) }
                for hash in key.suppressionHashes(for: new.address) {
                    try db.execute(sql: "DELETE FROM suppression WHERE address_hash = ?", arguments: [hash])
                }
            }
            if let existing = try Self.member(db, key: new.address.key) {
                throw MemberError.alreadyOnList(address: existing.email, status: existing.status)
            }
            let member = try Self.insertMember(db, new, grant: grant, now: now)
            return try Self.profile(db, member)
        }
    }

    /// Finds a person by address: on the list, erased, or unknown. Without the instance key an erased address
    /// cannot be recognised and reads as unknown.
    public func lookup(_ address: EmailAddress, key: InstanceKey?) throws -> MemberLookup {
        try read { db in
            if let member = try Self.member(db, key: address.key) { return .found(try Self.profile(db, member)) }
            if let key, let erasedAt = try Self.erasedAt(db, address: address, key: key) {
                return .erased(erasedAt: erasedAt)
            }
            return .unknown
        }
    }

    /// People matching a filter, ordered by address.
    public func members(_ filter: MemberFilter) throws -> [MemberListing] {
        try read { db in try Self.members(db, filter) }
    }

    static func members(_ db: Database, _ filter: MemberFilter) throws -> [MemberListing] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let status = filter.status {
            clauses.append("status = ?")
            arguments += [status.rawValue]
        }
        for tag in filter.tags {
            clauses.append("id IN (SELECT member_id FROM member_tag WHERE tag = ?)")
            arguments += [tag]
        }
        if let stream = filter.stream {
            clauses.append("status = '\(MemberStatus.active.rawValue)' AND lawful_basis IS NOT NULL AND \(stream.column) = 1")
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        var members: [Member] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT \(Member.listedColumns) FROM member \(whereSQL) ORDER BY email_key",
                                       arguments: arguments)
        var dates = StoredDates()
        while let row = try rows.next() { members.append(try Member(listedRow: row, dates: &dates)) }
        if let search = filter.search, !search.isEmpty {
            members = members.filter {
                $0.email.localizedCaseInsensitiveContains(search) || $0.name.localizedCaseInsensitiveContains(search)
                    || ($0.organisation?.localizedCaseInsensitiveContains(search) ?? false)
            }
        }
        guard !members.isEmpty else { return [] }
        // Read straight from the cursor: copying 10,000 rows first (fetchAll) cost more than the member rows.
        var tags: [Int64: [String]] = [:]
        tags.reserveCapacity(members.count)
        let tagRows = try Row.fetchCursor(db, sql: "SELECT member_id, tag FROM member_tag ORDER BY tag")
        while let row = try tagRows.next() { tags[row[0], default: []].append(row[1]) }
        return members.map { MemberListing(member: $0, tags: tags[$0.id ?? -1] ?? []) }
    }

    /// Applies `member edit` changes in one transaction; stream changes and resubscription are recorded as consent
    /// events.
    public func edit(_ address: EmailAddress, changes: MemberChanges, wordingVersion: String?, key: InstanceKey,
                     now: Date) throws -> MemberProfile {
        try write { db in
            var member = try Self.existingMember(db, address, key: key)
            guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
            let before = member

            if let newAddress = changes.newAddress, newAddress.key != member.emailKey {
                if let erasedAt = try Self.erasedAt(db, address: newAddress, key: key) {
                    throw MemberError.erased(address: newAddress.description, erasedAt: erasedAt)
                }
                if try Self.member(db, key: newAddress.key) != nil {
                    throw MemberError.addressTaken(address: newAddress.description)
                }
            }
            if let newAddress = changes.newAddress {
                member.email = newAddress.description
                member.emailKey = newAddress.key
            }
            if let name = changes.name { member.name = name }
            if let organisation = changes.organisation { member.organisation = organisation }
            if let knownAs = changes.knownAs { member.knownAs = knownAs }

            var tagsChanged = false
            for tag in changes.addTags where try Self.addTag(db, member: id, tag) { tagsChanged = true }
            for tag in changes.removeTags {
                try db.execute(sql: "DELETE FROM member_tag WHERE member_id = ? AND tag = ?", arguments: [id, tag])
                tagsChanged = tagsChanged || db.changesCount > 0
            }

            if let grant = changes.resubscribe {
                if member.status != .active { member.statusChangedAt = now }
                member.status = .active
                member.lawfulBasis = grant.lawfulBasis
                member.streams = changes.enableStreams.isEmpty ? .defaults(for: grant.lawfulBasis) : StreamPreferences(changes.enableStreams)
                try Self.recordGrant(db, member: id, streams: member.streams, basis: grant.lawfulBasis, source: grant.source,
                                     wording: grant.wordingVersion, by: grant.recordedBy, now: now)
            } else {
                for stream in changes.enableStreams where !member.streams[stream] {
                    guard member.status == .active, let basis = member.lawfulBasis else {
                        throw MemberError.needsFreshConsent(address: member.email)
                    }
                    member.streams[stream] = true
                    try Self.record(db, .given, member: id, stream: stream, basis: basis, source: changes.source,
                                    wording: basis == .consent ? wordingVersion : nil, by: changes.recordedBy, now: now)
                }
            }
            for stream in changes.disableStreams where member.streams[stream] {
                member.streams[stream] = false
                try OutboundQueue.cancel(db, .member(id, stream: stream), reason: "the recipient left \(stream.rawValue)", now: now)
                try Self.record(db, .withdrawn, member: id, stream: stream, basis: member.lawfulBasis,
                                source: changes.source, wording: nil, by: changes.recordedBy, now: now)
            }
            if member.status == .active && member.streams.isEmpty {
                try OutboundQueue.cancel(db, .member(id, stream: nil), reason: "the recipient unsubscribed", now: now)
                member.status = .unsubscribed
                member.lawfulBasis = nil
                member.statusChangedAt = now
            }

            if member != before || tagsChanged || changes.resubscribe != nil {
                member.updatedAt = now
                try member.update(db)
            }
            return try Self.profile(db, member)
        }
    }

    /// Stops one stream or all mail for a person, recording the withdrawal. Idempotent: a second call changes nothing.
    ///
    /// This is the one transaction in which leaving takes effect; whatever is queued for the person is cancelled
    /// inside it too, so nothing can be sent after it commits.
    public func unsubscribe(_ address: EmailAddress, stream: MailStream?, source: String, recordedBy: String,
                            key: InstanceKey?, now: Date) throws -> UnsubscribeOutcome {
        try write { db in
            try Self.unsubscribe(db, try Self.existingMember(db, address, key: key), stream: stream, source: source,
                                 recordedBy: recordedBy, now: now)
        }
    }

    /// The same for the member a link token names; nil when there is no such member (erased, or never was), which the
    /// caller answers exactly as it answers a bad token.
    public func unsubscribe(memberID: Int64, stream: MailStream?, source: String, recordedBy: String,
                            now: Date) throws -> UnsubscribeOutcome? {
        try write { db in
            guard let member = try Member.fetchOne(db, key: memberID) else { return nil }
            return try Self.unsubscribe(db, member, stream: stream, source: source, recordedBy: recordedBy, now: now)
        }
    }

    /// Whether a member with this number exists (a link's token may name one since erased).
    public func memberExists(id: Int64) throws -> Bool {
        try read { db in try Member.exists(db, key: id) }
    }

    /// Leaving, inside the caller's transaction: the consent event, the member's state, and their queued mail cancelled.
    static func unsubscribe(_ db: Database, _ found: Member, stream: MailStream?, source: String, recordedBy: String,
                            now: Date) throws -> UnsubscribeOutcome {
        var member = found
        guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
        let outcome: UnsubscribeOutcome
        if let stream {
            guard member.status == .active, member.streams[stream] else {
                return .alreadyUnsubscribed(since: try Self.lastWithdrawal(db, member: id, stream: stream) ?? member.statusChangedAt)
            }
            try Self.record(db, .withdrawn, member: id, stream: stream, basis: member.lawfulBasis, source: source,
                            wording: nil, by: recordedBy, now: now)
            member.streams[stream] = false
            try OutboundQueue.cancel(db, .member(id, stream: stream), reason: "the recipient left \(stream.rawValue)", now: now)
            if member.streams.isEmpty {
                try OutboundQueue.cancel(db, .member(id, stream: nil), reason: "the recipient unsubscribed", now: now)
                member.status = .unsubscribed
                member.lawfulBasis = nil
                member.statusChangedAt = now
                outcome = .unsubscribed
            } else {
                outcome = .streamStopped(stream, remaining: member.streams.enabled)
            }
        } else {
            guard member.status != .unsubscribed else { return .alreadyUnsubscribed(since: member.statusChangedAt) }
            try Self.record(db, .withdrawn, member: id, stream: nil, basis: member.lawfulBasis, source: source,
                            wording: nil, by: recordedBy, now: now)
            try OutboundQueue.cancel(db, .member(id, stream: nil), reason: "the recipient unsubscribed", now: now)
            member.status = .unsubscribed
            member.lawfulBasis = nil
            member.streams = .none
            member.statusChangedAt = now
            outcome = .unsubscribed
        }
        member.updatedAt = now
        try member.update(db)
        return outcome
    }

    // MARK: - Building blocks shared by the transactions above (always called inside one)

    static func member(_ db: Database, key: String) throws -> Member? {
        try Member.fetchOne(db.cachedStatement(sql: "SELECT * FROM member WHERE email_key = ?"), arguments: [key])
    }

    /// The member, or the precise reason there is none (erased, unknown).
    static func existingMember(_ db: Database, _ address: EmailAddress, key: InstanceKey?) throws -> Member {
        if let member = try member(db, key: address.key) { return member }
        if let key, let erasedAt = try erasedAt(db, address: address, key: key) {
            throw MemberError.erased(address: address.description, erasedAt: erasedAt)
        }
        throw MemberError.unknown(address: address.description)
    }

    /// When the address was erased, if it was (under either of its hashes; see `InstanceKey.suppressionHashes`).
    static func erasedAt(_ db: Database, address: EmailAddress, key: InstanceKey) throws -> Date? {
        for hash in key.suppressionHashes(for: address) {
            if let date = try Date.fetchOne(db.cachedStatement(sql: "SELECT created_at FROM suppression WHERE address_hash = ?"), arguments: [hash]) {
                return date
            }
        }
        return nil
    }

    static func insertMember(_ db: Database, _ new: NewMember, grant: ConsentGrant, now: Date) throws -> Member {
        var member = Member(
            id: nil, email: new.address.description, emailKey: new.address.key, name: new.name, knownAs: new.knownAs,
            organisation: new.organisation, status: .active, lawfulBasis: grant.lawfulBasis,
            monthlyUpdate: false, sessionInvitations: false, reports: false,
            createdAt: now, updatedAt: now, statusChangedAt: now)
        member.streams = new.streams ?? .defaults(for: grant.lawfulBasis)
        try member.insert(db)
        guard let id = member.id else { throw StorageError(kind: .storage, "member row without id") }
        for tag in new.tags { _ = try addTag(db, member: id, tag) }
        try recordGrant(db, member: id, streams: member.streams, basis: grant.lawfulBasis, source: grant.source,
                        wording: grant.wordingVersion, by: grant.recordedBy, now: now)
        return member
    }

    /// Records consent given (or a lawful basis relied on) for exactly `streams`: one event for all streams, or one
    /// per stream, so that the history never says "all streams" for some of them.
    static func recordGrant(_ db: Database, member: Int64, streams: StreamPreferences, basis: LawfulBasis, source: String,
                            wording: String?, by: String, now: Date) throws {
        // No stream at all (a guest invited personally): one event for the basis itself, as before.
        for stream in streams == .all || streams.isEmpty ? [nil] : streams.enabled.map(Optional.some) {
            try record(db, .given, member: member, stream: stream, basis: basis, source: source, wording: wording, by: by, now: now)
        }
    }

    /// Adds a role/tag; returns whether it was new.
    static func addTag(_ db: Database, member: Int64, _ tag: String) throws -> Bool {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO member_tag (member_id, tag) VALUES (?, ?)").execute(arguments: [member, tag])
        return db.changesCount > 0
    }

    static func record(_ db: Database, _ action: ConsentEvent.Action, member: Int64, stream: MailStream?,
                       basis: LawfulBasis?, source: String, wording: String?, by: String, now: Date) throws {
        var event = ConsentEvent(memberID: member, action: action, stream: stream, lawfulBasis: basis, source: source,
                                 wordingVersion: wording, recordedBy: by, occurredAt: now)
        try event.insert(db)
    }

    static func lastWithdrawal(_ db: Database, member: Int64, stream: MailStream) throws -> Date? {
        try Date.fetchOne(db, sql: """
            SELECT occurred_at FROM consent_event
            WHERE member_id = ? AND action = 'withdrawn' AND (stream = ? OR stream IS NULL)
            ORDER BY id DESC LIMIT 1
            """, arguments: [member, stream.rawValue])
    }

    static func profile(_ db: Database, _ member: Member) throws -> MemberProfile {
        let id = member.id ?? -1
        let tags = try String.fetchAll(db, sql: "SELECT tag FROM member_tag WHERE member_id = ? ORDER BY tag", arguments: [id])
        let consent = try ConsentEvent.filter(ConsentEvent.Columns.memberID == id).order(ConsentEvent.Columns.id).fetchAll(db)
        return MemberProfile(member: member, tags: tags, consent: consent)
    }
}
