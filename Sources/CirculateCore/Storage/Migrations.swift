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
        return migrator
    }
}
