import GRDB

/// The schema's history. A migration that has shipped is never edited: changes come as a new, named migration.
///
/// The schema keeps the invariants itself (NOT NULL, CHECK, UNIQUE, foreign keys, triggers), so a bug in the
/// code above it cannot store a person without a lawful basis or rewrite their consent history.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: members, consent history, suppression list") { db in
            try db.execute(sql: """
                CREATE TABLE member (
                    -- AUTOINCREMENT: an erased person's id is never handed to someone else.
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
                    email_key TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL DEFAULT '',
                    organisation TEXT,
                    status TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced')),
                    lawful_basis TEXT CHECK (lawful_basis IN ('consent', 'legitimate-interest')),
                    monthly_update INTEGER NOT NULL CHECK (monthly_update IN (0, 1)),
                    session_invitations INTEGER NOT NULL CHECK (session_invitations IN (0, 1)),
                    reports INTEGER NOT NULL CHECK (reports IN (0, 1)),
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    status_changed_at DATETIME NOT NULL,
                    -- Nobody is active without a lawful basis on record.
                    CHECK (status <> 'active' OR lawful_basis IS NOT NULL)
                );

                CREATE TABLE member_tag (
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    tag TEXT NOT NULL CHECK (tag <> ''),
                    PRIMARY KEY (member_id, tag)
                ) WITHOUT ROWID;
                CREATE INDEX member_tag_by_tag ON member_tag(tag, member_id);

                CREATE TABLE consent_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    action TEXT NOT NULL CHECK (action IN ('given', 'withdrawn')),
                    stream TEXT CHECK (stream IN ('monthly-update', 'session-invitations', 'reports')),
                    lawful_basis TEXT CHECK (lawful_basis IN ('consent', 'legitimate-interest')),
                    source TEXT NOT NULL CHECK (source <> ''),
                    wording_version TEXT,
                    recorded_by TEXT NOT NULL,
                    occurred_at DATETIME NOT NULL,
                    CHECK (action <> 'given' OR lawful_basis IS NOT NULL),
                    CHECK (action <> 'given' OR lawful_basis <> 'consent' OR wording_version IS NOT NULL)
                );
                CREATE INDEX consent_event_by_member ON consent_event(member_id, id);
                -- Consent is a history: entries are added, never rewritten. (Erasure deletes them with the member.)
                CREATE TRIGGER consent_event_is_append_only BEFORE UPDATE ON consent_event
                BEGIN
                    SELECT RAISE(ABORT, 'consent history is append-only');
                END;

                -- What erasure leaves behind: a keyed hash of the address, never the address.
                CREATE TABLE suppression (
                    address_hash TEXT PRIMARY KEY CHECK (length(address_hash) = 64),
                    reason TEXT NOT NULL CHECK (reason IN ('erased')),
                    created_at DATETIME NOT NULL
                ) WITHOUT ROWID;

                -- A receipt per erasure, with no personal data of the person erased.
                CREATE TABLE erasure (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    reference TEXT NOT NULL UNIQUE,
                    erased_at DATETIME NOT NULL,
                    erased_by TEXT NOT NULL,
                    rows_removed INTEGER NOT NULL CHECK (rows_removed >= 0)
                );
                """)
        }
        migrator.registerMigration("v2: outbound queue") { db in
            try db.execute(sql: """
                -- One send to an audience: an announcement, a test message (later: updates, thank-yous, reports).
                CREATE TABLE mailing (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('announcement', 'test')),
                    stream TEXT CHECK (stream IN ('monthly-update', 'session-invitations', 'reports')),
                    audience TEXT NOT NULL,
                    subject TEXT NOT NULL CHECK (subject <> ''),
                    body_markdown TEXT NOT NULL,
                    send_after DATETIME NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'held', 'done', 'cancelled')),
                    held_reason TEXT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL
                );
                CREATE INDEX mailing_by_state ON mailing(state, send_after);

                -- One row per (mailing, recipient): the message's whole life, in a few named states.
                CREATE TABLE delivery (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    mailing_id INTEGER NOT NULL REFERENCES mailing(id) ON DELETE CASCADE,
                    -- Erasing the person deletes their deliveries with them.
                    member_id INTEGER REFERENCES member(id) ON DELETE CASCADE,
                    recipient TEXT NOT NULL,
                    -- Fixed when queued; the same on every attempt, so a resend is recognisably the same message.
                    message_id TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    next_attempt_at DATETIME NOT NULL,
                    last_attempt_at DATETIME,
                    reply_code INTEGER,
                    reply TEXT,
                    in_doubt INTEGER NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
                    queued_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    UNIQUE (mailing_id, member_id)
                );
                CREATE INDEX delivery_due ON delivery(next_attempt_at, id) WHERE state IN ('queued', 'deferred');
                CREATE INDEX delivery_by_mailing ON delivery(mailing_id, state);
                -- By member only: state changes then leave this index alone (it serves unsubscribe and erasure).
                CREATE INDEX delivery_by_member ON delivery(member_id);
                CREATE INDEX delivery_by_attempt ON delivery(last_attempt_at) WHERE last_attempt_at IS NOT NULL;

                -- Relay-wide trouble (authentication, TLS, 421): delivery pauses, and `queue status` says why.
                CREATE TABLE relay_pause (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    reason TEXT NOT NULL,
                    since DATETIME NOT NULL,
                    until DATETIME NOT NULL,
                    failures INTEGER NOT NULL CHECK (failures > 0)
                );

                ALTER TABLE member ADD COLUMN hard_bounces INTEGER NOT NULL DEFAULT 0 CHECK (hard_bounces >= 0);
                """)
        }
        migrator.registerMigration("v3: topics, sessions, participation, monthly updates, reports") { db in
            try db.execute(sql: """
                CREATE TABLE topic (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    title TEXT NOT NULL CHECK (title <> ''),
                    -- Lower-cased title: "hospital discharge" finds "Hospital Discharge".
                    title_key TEXT NOT NULL UNIQUE,
                    description TEXT NOT NULL DEFAULT '',
                    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    closed_at DATETIME,
                    CHECK (state <> 'closed' OR closed_at IS NOT NULL)
                );

                CREATE TABLE session (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic_id INTEGER REFERENCES topic(id),
                    title TEXT NOT NULL CHECK (title <> ''),
                    starts_at DATETIME NOT NULL,
                    ends_at DATETIME NOT NULL,
                    venue_name TEXT,
                    venue_address TEXT,
                    online_link TEXT,
                    facilitator TEXT,
                    notes_markdown TEXT,
                    notes_added_at DATETIME,
                    state TEXT NOT NULL CHECK (state IN ('scheduled', 'cancelled')),
                    -- The calendar SEQUENCE: raised by every change people were told about.
                    sequence INTEGER NOT NULL DEFAULT 0 CHECK (sequence >= 0),
                    hold_for_notes INTEGER NOT NULL DEFAULT 0 CHECK (hold_for_notes IN (0, 1)),
                    -- When the thank-you goes out; fixed when the session is added or moved.
                    follow_up_at DATETIME NOT NULL,
                    -- When the thank-you was queued; attendance recorded later reaches only the people added since.
                    followed_up_at DATETIME,
                    attendance_changed_at DATETIME,
                    -- People who signed in without consent: counted, never stored.
                    unlisted_attendees INTEGER NOT NULL DEFAULT 0 CHECK (unlisted_attendees >= 0),
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    CHECK (ends_at > starts_at)
                );
                CREATE INDEX session_by_start ON session(starts_at);
                CREATE INDEX session_follow_up ON session(follow_up_at) WHERE state = 'scheduled';

                -- One record per person and session; its states are defined here once.
                CREATE TABLE participation (
                    session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    status TEXT NOT NULL CHECK (status IN ('invited', 'accepted', 'apologies', 'attended')),
                    recorded_at DATETIME NOT NULL,
                    PRIMARY KEY (session_id, member_id)
                ) WITHOUT ROWID;
                CREATE INDEX participation_by_member ON participation(member_id);

                CREATE TABLE report (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    title TEXT NOT NULL CHECK (title <> ''),
                    topic_id INTEGER REFERENCES topic(id),
                    link TEXT,
                    filename TEXT,
                    -- Kept with the report so that queued messages never depend on a file that may move.
                    file_data BLOB,
                    audience TEXT NOT NULL,
                    cover_note TEXT,
                    distributed_at DATETIME NOT NULL,
                    follow_up_at DATETIME NOT NULL,
                    followed_up_at DATETIME,
                    created_by TEXT NOT NULL,
                    CHECK (link IS NOT NULL OR file_data IS NOT NULL),
                    CHECK ((filename IS NULL) = (file_data IS NULL))
                );

                CREATE TABLE report_recipient (
                    report_id INTEGER NOT NULL REFERENCES report(id) ON DELETE CASCADE,
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    responded_at DATETIME,
                    response_note TEXT,
                    PRIMARY KEY (report_id, member_id)
                ) WITHOUT ROWID;
                CREATE INDEX report_recipient_by_member ON report_recipient(member_id);

                -- The mailing table again, with the new kinds and what each mailing is about. SQLite cannot change a
                -- CHECK in place; GRDB runs migrations with foreign keys off, so dropping the old table cascades nowhere.
                CREATE TABLE new_mailing (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('announcement', 'test', 'update', 'thank-you', 'missed-you',
                        'session-changed', 'session-cancelled', 'report', 'report-follow-up', 'report-notice',
                        'coordinator-notice', 'invitation', 'reminder', 'no-show')),
                    stream TEXT CHECK (stream IN ('monthly-update', 'session-invitations', 'reports')),
                    audience TEXT NOT NULL,
                    subject TEXT NOT NULL CHECK (subject <> ''),
                    body_markdown TEXT NOT NULL,
                    send_after DATETIME NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'held', 'done', 'cancelled')),
                    held_reason TEXT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    -- The session the message is about (thank-you, change, cancellation).
                    session_id INTEGER REFERENCES session(id),
                    -- The session whose calendar object each message carries.
                    invitation_session_id INTEGER REFERENCES session(id),
                    report_id INTEGER REFERENCES report(id) ON DELETE CASCADE
                );
                INSERT INTO new_mailing (id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason,
                                         idempotency_key, created_by, created_at, updated_at)
                    SELECT id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason,
                           idempotency_key, created_by, created_at, updated_at FROM mailing;
                DROP TABLE mailing;
                ALTER TABLE new_mailing RENAME TO mailing;
                CREATE INDEX mailing_by_state ON mailing(state, send_after);
                CREATE INDEX mailing_by_invitation ON mailing(invitation_session_id) WHERE invitation_session_id IS NOT NULL;
                CREATE INDEX mailing_by_report ON mailing(report_id) WHERE report_id IS NOT NULL;

                -- The coordinator's content for one slot of the monthly update.
                CREATE TABLE monthly_update (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    slot_at DATETIME NOT NULL,
                    subject TEXT NOT NULL CHECK (subject <> ''),
                    body_markdown TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'cancelled')),
                    mailing_id INTEGER REFERENCES mailing(id),
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    CHECK (state <> 'sent' OR mailing_id IS NOT NULL)
                );
                CREATE UNIQUE INDEX monthly_update_one_per_slot ON monthly_update(slot_at) WHERE state <> 'cancelled';

                -- What the scheduler has told the coordinator about a slot, so each notice goes once.
                CREATE TABLE slot_notice (
                    slot_at DATETIME NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'missed')),
                    created_at DATETIME NOT NULL,
                    PRIMARY KEY (slot_at, kind)
                ) WITHOUT ROWID;

                -- How far the scheduler has looked (e.g. update slots checked through this instant).
                CREATE TABLE scheduler_mark (
                    name TEXT PRIMARY KEY,
                    value DATETIME NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4: the queue as its own module") { db in
            // The delivery table again: a `held` state (a held mailing's messages leave the claim index), a count of
            // doubts instead of a flag, the class of each failure, and cancellations asked for while in flight.
            // The old ids' high-water mark is kept, so no id of a deleted message is ever handed out again.
            let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'delivery'")
            try db.execute(sql: """
                CREATE TABLE new_delivery (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    mailing_id INTEGER NOT NULL REFERENCES mailing(id) ON DELETE CASCADE,
                    member_id INTEGER REFERENCES member(id) ON DELETE CASCADE,
                    recipient TEXT NOT NULL,
                    message_id TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'held', 'sending', 'deferred', 'sent', 'failed', 'cancelled')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    next_attempt_at DATETIME NOT NULL,
                    last_attempt_at DATETIME,
                    reply_code INTEGER,
                    reply TEXT,
                    -- How many times the message's fate was unknown (connection lost after the final dot, a crash).
                    doubts INTEGER NOT NULL DEFAULT 0 CHECK (doubts >= 0),
                    -- Why a failed message failed; only 'bounce' counts against the person.
                    failure TEXT CHECK (failure IN ('bounce', 'rejected', 'gave-up', 'not-sent')),
                    -- Set when a message in flight is cancelled: the last check before its content reads it.
                    cancel_requested TEXT,
                    queued_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    UNIQUE (mailing_id, member_id),
                    CHECK ((state = 'failed') = (failure IS NOT NULL))
                );
                INSERT INTO new_delivery (id, mailing_id, member_id, recipient, message_id, state, attempts, next_attempt_at,
                                          last_attempt_at, reply_code, reply, doubts, failure, queued_at, updated_at)
                SELECT d.id, d.mailing_id, d.member_id, d.recipient, d.message_id,
                       CASE
                           -- Test messages are one-offs: one left waiting would otherwise be sent by the daemon later.
                           WHEN g.kind = 'test' AND d.state IN ('queued', 'deferred') THEN 'cancelled'
                           WHEN g.kind = 'test' AND d.state = 'sending' THEN 'failed'
                           WHEN g.state = 'held' AND d.state IN ('queued', 'deferred') THEN 'held'
                           ELSE d.state END,
                       d.attempts, d.next_attempt_at, d.last_attempt_at, d.reply_code,
                       CASE WHEN g.kind = 'test' AND d.state IN ('queued', 'deferred', 'sending')
                            THEN 'a test message left unfinished by an earlier release; test messages are never sent later'
                            ELSE d.reply END,
                       d.in_doubt,
                       CASE
                           WHEN g.kind = 'test' AND d.state = 'sending' THEN 'not-sent'
                           WHEN d.state <> 'failed' THEN NULL
                           WHEN d.reply LIKE 'gave up%' THEN 'gave-up'
                           WHEN d.reply LIKE '%circulate''s own check%' OR d.reply LIKE 'circulate could not compose%' THEN 'not-sent'
                           WHEN d.reply GLOB '5[0-9][0-9][ -]5.1.*' OR d.reply GLOB '5[0-9][0-9][ -]5.2.1*'
                                OR (d.reply_code IN (550, 551) AND NOT d.reply GLOB '5[0-9][0-9][ -]5.[0-9]*') THEN 'bounce'
                           ELSE 'rejected' END,
                       d.queued_at, d.updated_at
                FROM delivery d JOIN mailing g ON g.id = d.mailing_id;
                DROP TABLE delivery;
                ALTER TABLE new_delivery RENAME TO delivery;
                -- Exactly the claimable states (Delivery.State.claimable, in the order the queue writes them; a test
                -- compares the two): claiming and finding the next wake-up walk this index.
                CREATE INDEX delivery_due ON delivery(next_attempt_at, id) WHERE state IN ('deferred', 'queued');
                CREATE INDEX delivery_by_mailing ON delivery(mailing_id, state);
                -- By member only: state changes then leave this index alone (it serves unsubscribe and erasure).
                CREATE INDEX delivery_by_member ON delivery(member_id);
                CREATE INDEX delivery_by_attempt ON delivery(last_attempt_at) WHERE last_attempt_at IS NOT NULL;

                UPDATE mailing SET state = 'done'
                WHERE kind = 'test' AND state <> 'done'
                  AND NOT EXISTS (SELECT 1 FROM delivery WHERE mailing_id = mailing.id AND state IN ('queued', 'held', 'sending', 'deferred'));

                -- What the coordinator asked for (a digest), so the same command run again finds the mailing.
                ALTER TABLE mailing ADD COLUMN request_key TEXT;
                CREATE INDEX mailing_by_request ON mailing(request_key) WHERE request_key IS NOT NULL;
                ALTER TABLE report ADD COLUMN request_key TEXT;
                CREATE INDEX mailing_by_session ON mailing(session_id) WHERE session_id IS NOT NULL;

                -- Every SMTP transaction the relay saw, for its rate limits; entries older than the longest window go.
                -- No personal data: a time and a message number.
                CREATE TABLE relay_attempt (
                    id INTEGER PRIMARY KEY,
                    at DATETIME NOT NULL,
                    delivery_id INTEGER,
                    -- 0 while the message is claimed and its transaction may start at any moment.
                    settled INTEGER NOT NULL CHECK (settled IN (0, 1))
                );
                CREATE INDEX relay_attempt_by_time ON relay_attempt(at);
                CREATE INDEX relay_attempt_by_delivery ON relay_attempt(delivery_id) WHERE delivery_id IS NOT NULL;
                """)
            if let sequence {
                try db.execute(sql: "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'delivery'", arguments: [sequence])
                if db.changesCount == 0 {
                    try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('delivery', ?)", arguments: [sequence])
                }
            }
        }
        migrator.registerMigration("v5: instance settings (the key's fingerprint)") { db in
            try db.execute(sql: """
                -- Facts about this instance, by name: the instance key's fingerprint (an HMAC of a fixed label, never the
                -- key), so that a different key, which would void every erasure hash, is refused.
                CREATE TABLE setting (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v6: an index of the messages in doubt") { db in
            try db.execute(sql: """
                -- Messages whose fate was ever unknown are few; `queue status` counts them (by mailing and state) here
                -- instead of reading every message. Only rows with doubts are in it, so sending leaves it alone.
                CREATE INDEX delivery_in_doubt ON delivery(mailing_id, state) WHERE doubts > 0;
                """)
        }
        migrator.registerMigration("v7: known-as names, the notes-from-the-session kind, a moved session's old date") { db in
            try db.execute(sql: """
                -- The name a person goes by, for greetings; NULL means their full name.
                ALTER TABLE member ADD COLUMN known_as TEXT CHECK (known_as IS NULL OR known_as <> '');

                -- The mailing table again, for the 'session-notes' kind (SQLite cannot change a CHECK in place; GRDB
                -- runs migrations with foreign keys off, so dropping the old table cascades nowhere).
                CREATE TABLE new_mailing (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('announcement', 'test', 'update', 'thank-you', 'missed-you',
                        'session-changed', 'session-cancelled', 'report', 'report-follow-up', 'report-notice',
                        'coordinator-notice', 'invitation', 'reminder', 'no-show', 'session-notes')),
                    stream TEXT CHECK (stream IN ('monthly-update', 'session-invitations', 'reports')),
                    audience TEXT NOT NULL,
                    subject TEXT NOT NULL CHECK (subject <> ''),
                    body_markdown TEXT NOT NULL,
                    send_after DATETIME NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'held', 'done', 'cancelled')),
                    held_reason TEXT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    session_id INTEGER REFERENCES session(id),
                    invitation_session_id INTEGER REFERENCES session(id),
                    report_id INTEGER REFERENCES report(id) ON DELETE CASCADE,
                    request_key TEXT
                );
                INSERT INTO new_mailing (id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason,
                                         idempotency_key, created_by, created_at, updated_at, session_id, invitation_session_id,
                                         report_id, request_key)
                SELECT id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason, idempotency_key,
                       created_by, created_at, updated_at, session_id, invitation_session_id, report_id, request_key FROM mailing;
                DROP TABLE mailing;
                ALTER TABLE new_mailing RENAME TO mailing;
                CREATE INDEX mailing_by_state ON mailing(state, send_after);
                CREATE INDEX mailing_by_invitation ON mailing(invitation_session_id) WHERE invitation_session_id IS NOT NULL;
                CREATE INDEX mailing_by_report ON mailing(report_id) WHERE report_id IS NOT NULL;
                CREATE INDEX mailing_by_request ON mailing(request_key) WHERE request_key IS NOT NULL;
                CREATE INDEX mailing_by_session ON mailing(session_id) WHERE session_id IS NOT NULL;

                -- What a "new date" message tells people: the session's time before the change it announces.
                CREATE TABLE session_move (
                    mailing_id INTEGER PRIMARY KEY REFERENCES mailing(id) ON DELETE CASCADE,
                    previous_starts_at DATETIME NOT NULL,
                    previous_ends_at DATETIME NOT NULL
                );
                """)
        }
        migrator.registerMigration("v8: participation may be 'maybe'") { db in
            // SQLite cannot change a CHECK in place: the table is rebuilt with the same rows.
            try db.execute(sql: """
                CREATE TABLE new_participation (
                    session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    status TEXT NOT NULL CHECK (status IN ('invited', 'accepted', 'maybe', 'apologies', 'attended')),
                    recorded_at DATETIME NOT NULL,
                    PRIMARY KEY (session_id, member_id)
                ) WITHOUT ROWID;
                INSERT INTO new_participation (session_id, member_id, status, recorded_at)
                SELECT session_id, member_id, status, recorded_at FROM participation;
                DROP TABLE participation;
                ALTER TABLE new_participation RENAME TO participation;
                CREATE INDEX participation_by_member ON participation(member_id);
                """)
        }
        migrator.registerMigration("v9: inbound mail read from the list's mailbox") { db in
            try db.execute(sql: """
                -- One row per message read from the list's mailbox, written in the same transaction as what it caused
                -- and before the message is moved: a message whose row is final is never acted on again. Keyed by the
                -- folder's UIDVALIDITY and the message's UID; its Message-ID finds it again if UIDVALIDITY changes.
                -- No body and no subject: only what was done, to which message or member, and when.
                CREATE TABLE inbound_message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    folder TEXT NOT NULL,
                    uid_validity INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    message_id TEXT,
                    kind TEXT NOT NULL CHECK (kind IN ('delivery-report', 'unsubscribe', 'auto-reply', 'other', 'too-large')),
                    -- handled: circulate acted (or rightly did nothing); for-coordinator: a person must look;
                    -- failing: handling failed, tried again at the next polls up to a limit.
                    state TEXT NOT NULL CHECK (state IN ('handled', 'for-coordinator', 'failing')),
                    action TEXT NOT NULL,
                    delivery_id INTEGER REFERENCES delivery(id) ON DELETE SET NULL,
                    member_id INTEGER REFERENCES member(id) ON DELETE SET NULL,
                    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
                    first_seen_at DATETIME NOT NULL,
                    handled_at DATETIME NOT NULL,
                    UNIQUE (folder, uid_validity, uid)
                );
                CREATE INDEX inbound_by_message_id ON inbound_message(message_id) WHERE message_id IS NOT NULL;
                CREATE INDEX inbound_by_member ON inbound_message(member_id) WHERE member_id IS NOT NULL;
                CREATE INDEX inbound_by_delivery ON inbound_message(delivery_id) WHERE delivery_id IS NOT NULL;
                CREATE INDEX inbound_by_time ON inbound_message(handled_at);
                """)
        }
        migrator.registerMigration("v10: data-subject requests from the web pages") { db in
            try db.execute(sql: """
                -- What a person asked for on a preference page, until the coordinator completes it. It goes with the
                -- member (an erasure completes it by deleting both).
                CREATE TABLE data_request (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL CHECK (kind IN ('erasure')),
                    source TEXT NOT NULL CHECK (source <> ''),
                    requested_at DATETIME NOT NULL,
                    UNIQUE (member_id, kind)
                );
                """)
        }
        migrator.registerMigration("v11: pending sign-ups, the join page's rate records, the confirmation kind") { db in
            try db.execute(sql: """
                -- Someone who filled in the join page and has not confirmed yet: nobody is on the list until they do.
                -- Deleted when confirmed, after 7 days (expires_at), or when the address is erased (address_hash).
                CREATE TABLE pending_signup (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
                    email_key TEXT NOT NULL,
                    -- The keyed hash an erasure leaves (InstanceKey.suppressionHash), so an erasure finds the row.
                    address_hash TEXT NOT NULL CHECK (length(address_hash) = 64),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    organisation TEXT CHECK (organisation IS NULL OR length(organisation) BETWEEN 1 AND 200),
                    monthly_update INTEGER NOT NULL CHECK (monthly_update IN (0, 1)),
                    session_invitations INTEGER NOT NULL CHECK (session_invitations IN (0, 1)),
                    reports INTEGER NOT NULL CHECK (reports IN (0, 1)),
                    wording_version TEXT NOT NULL CHECK (wording_version <> ''),
                    wording_hash TEXT NOT NULL CHECK (length(wording_hash) = 64),
                    requested_at DATETIME NOT NULL,
                    expires_at DATETIME NOT NULL,
                    CHECK (monthly_update + session_invitations + reports > 0)
                );
                CREATE INDEX pending_signup_by_address ON pending_signup(address_hash);
                CREATE INDEX pending_signup_by_expiry ON pending_signup(expires_at);

                -- What the join page's rate limits count: a keyed hash of an address or a client's IP address, never
                -- the thing itself; entries older than a day go.
                CREATE TABLE web_rate (
                    id INTEGER PRIMARY KEY,
                    subject_hash TEXT NOT NULL CHECK (length(subject_hash) = 64),
                    action TEXT NOT NULL CHECK (action IN ('form-address', 'form-client', 'mail-address', 'mail-client')),
                    at DATETIME NOT NULL
                );
                CREATE INDEX web_rate_by_subject ON web_rate(subject_hash, action, at);
                CREATE INDEX web_rate_by_time ON web_rate(at);

                -- Which text a consent given on the join page was given to (SHA-256 of the wording file).
                ALTER TABLE consent_event ADD COLUMN wording_hash TEXT CHECK (wording_hash IS NULL OR length(wording_hash) = 64);

                -- The mailing table again, for the 'join-confirmation' kind (as in v7: a CHECK cannot change in place).
                CREATE TABLE new_mailing (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('announcement', 'test', 'update', 'thank-you', 'missed-you',
                        'session-changed', 'session-cancelled', 'report', 'report-follow-up', 'report-notice',
                        'coordinator-notice', 'invitation', 'reminder', 'no-show', 'session-notes', 'join-confirmation')),
                    stream TEXT CHECK (stream IN ('monthly-update', 'session-invitations', 'reports')),
                    audience TEXT NOT NULL,
                    subject TEXT NOT NULL CHECK (subject <> ''),
                    body_markdown TEXT NOT NULL,
                    send_after DATETIME NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'held', 'done', 'cancelled')),
                    held_reason TEXT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    created_by TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    session_id INTEGER REFERENCES session(id),
                    invitation_session_id INTEGER REFERENCES session(id),
                    report_id INTEGER REFERENCES report(id) ON DELETE CASCADE,
                    request_key TEXT
                );
                INSERT INTO new_mailing (id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason,
                                         idempotency_key, created_by, created_at, updated_at, session_id, invitation_session_id,
                                         report_id, request_key)
                SELECT id, kind, stream, audience, subject, body_markdown, send_after, state, held_reason, idempotency_key,
                       created_by, created_at, updated_at, session_id, invitation_session_id, report_id, request_key FROM mailing;
                DROP TABLE mailing;
                ALTER TABLE new_mailing RENAME TO mailing;
                CREATE INDEX mailing_by_state ON mailing(state, send_after);
                CREATE INDEX mailing_by_invitation ON mailing(invitation_session_id) WHERE invitation_session_id IS NOT NULL;
                CREATE INDEX mailing_by_report ON mailing(report_id) WHERE report_id IS NOT NULL;
                CREATE INDEX mailing_by_request ON mailing(request_key) WHERE request_key IS NOT NULL;
                CREATE INDEX mailing_by_session ON mailing(session_id) WHERE session_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("v15: calendar answers read from the mailbox") { db in
            // The inbound_message table again, for the 'calendar-reply' kind (a CHECK cannot change in place).
            try db.execute(sql: """
                CREATE TABLE new_inbound_message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    folder TEXT NOT NULL,
                    uid_validity INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    message_id TEXT,
                    kind TEXT NOT NULL CHECK (kind IN ('delivery-report', 'unsubscribe', 'auto-reply', 'other', 'too-large',
                                                       'calendar-reply')),
                    state TEXT NOT NULL CHECK (state IN ('handled', 'for-coordinator', 'failing')),
                    action TEXT NOT NULL,
                    delivery_id INTEGER REFERENCES delivery(id) ON DELETE SET NULL,
                    member_id INTEGER REFERENCES member(id) ON DELETE SET NULL,
                    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
                    first_seen_at DATETIME NOT NULL,
                    handled_at DATETIME NOT NULL,
                    UNIQUE (folder, uid_validity, uid)
                );
                INSERT INTO new_inbound_message (id, folder, uid_validity, uid, message_id, kind, state, action, delivery_id,
                                                 member_id, attempts, first_seen_at, handled_at)
                SELECT id, folder, uid_validity, uid, message_id, kind, state, action, delivery_id, member_id, attempts,
                       first_seen_at, handled_at FROM inbound_message;
                DROP TABLE inbound_message;
                ALTER TABLE new_inbound_message RENAME TO inbound_message;
                CREATE INDEX inbound_by_message_id ON inbound_message(message_id) WHERE message_id IS NOT NULL;
                CREATE INDEX inbound_by_member ON inbound_message(member_id) WHERE member_id IS NOT NULL;
                CREATE INDEX inbound_by_delivery ON inbound_message(delivery_id) WHERE delivery_id IS NOT NULL;
                CREATE INDEX inbound_by_time ON inbound_message(handled_at);
                """)
        }
        return migrator
    }
}
