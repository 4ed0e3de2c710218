//! The state database schema as an ordered list of migrations, and the code that brings a
//! database up to date. Owns nothing but DDL; queries live in `store/mod.rs`.
//!
//! Schema version N means "the first N entries of [`MIGRATIONS`] have been applied"; it is kept in
//! `PRAGMA user_version`, which SQLite stores in the file header, so it needs no table of its own.
//! Never edit a migration that has shipped: append a new one.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Each entry moves the schema from version `index` to `index + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    -- Where each mailbox was read up to. Written only by `commit_batch`, together with the
    -- messages the new position covers.
    CREATE TABLE cursors (
        account     TEXT    NOT NULL,
        mailbox     TEXT    NOT NULL,
        uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 0 AND 4294967295),
        last_uid    INTEGER NOT NULL CHECK (last_uid BETWEEN 0 AND 4294967295),
        PRIMARY KEY (account, mailbox)
    ) WITHOUT ROWID;

    -- Sent and unsent digests. `eml` is the exact message handed to SMTP, so a retry sends the
    -- same bytes with the same Message-ID.
    CREATE TABLE digests (
        id              TEXT    PRIMARY KEY NOT NULL,
        message_id      TEXT    NOT NULL UNIQUE,
        created_at      INTEGER NOT NULL,
        eml             BLOB    NOT NULL,
        status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error      TEXT,
        next_attempt_at INTEGER,
        sent_at         INTEGER,
        CHECK ((status = 'sent') = (sent_at IS NOT NULL))
    );
    CREATE INDEX digests_unsent ON digests (created_at) WHERE status = 'pending';
    CREATE INDEX digests_sent_at ON digests (sent_at) WHERE status = 'sent';

    -- One row per invitation (or phishing mail) worth reporting, whatever number of mails
    -- mentioned it. `classified` is the JSON of `model::Classified`; the other columns are
    -- copies of what queries need.
    CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        dedupe_key    TEXT    NOT NULL UNIQUE,
        kind          TEXT    NOT NULL CHECK (kind IN ('invitation', 'reminder', 'phishing')),
        invitation_id TEXT,
        message_id    TEXT,
        account       TEXT    NOT NULL,
        mailbox       TEXT    NOT NULL,
        uidvalidity   INTEGER NOT NULL,
        uid           INTEGER NOT NULL,
        classified    TEXT    NOT NULL CHECK (json_valid(classified)),
        first_seen    INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        times_seen    INTEGER NOT NULL DEFAULT 1 CHECK (times_seen >= 1),
        reported_in   TEXT    REFERENCES digests (id),
        reported_at   INTEGER,
        CHECK ((reported_in IS NULL) = (reported_at IS NULL))
    );
    -- `pending_items` reads exactly this partial index, in this order.
    CREATE INDEX items_pending ON items (first_seen, id) WHERE reported_in IS NULL;
    CREATE INDEX items_reported_in ON items (reported_in) WHERE reported_in IS NOT NULL;

    -- Every mail that contributed to an item. This is what tells "the same mail again" (a
    -- duplicate: rescan, UIDVALIDITY reset, the same mail in two folders) from "another mail
    -- about the same invitation" (a reminder: counts in `times_seen`).
    CREATE TABLE item_messages (
        item_id     INTEGER NOT NULL REFERENCES items (id),
        account     TEXT    NOT NULL,
        mailbox     TEXT    NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        message_id  TEXT,
        kind        TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (account, mailbox, uidvalidity, uid)
    ) WITHOUT ROWID;
    CREATE INDEX item_messages_item ON item_messages (item_id, message_id);

    -- Which items a digest carries, in the order the digest shows them.
    CREATE TABLE digest_items (
        digest_id TEXT    NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        item_id   INTEGER NOT NULL REFERENCES items (id),
        PRIMARY KEY (digest_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX digest_items_item ON digest_items (item_id);

    -- Things that went wrong (login failures, ...) for the next digest's footer.
    CREATE TABLE problems (
        id      INTEGER PRIMARY KEY,
        at      INTEGER NOT NULL,
        account TEXT,
        kind    TEXT    NOT NULL,
        detail  TEXT    NOT NULL
    );
    CREATE INDEX problems_at ON problems (at);

    -- Poll statistics per mailbox. Counters only grow; "since the last digest" is
    -- `total_scanned - reported_scanned`, where `reported_scanned` is the total that the last
    -- sent digest was built from (see `digest_scans`).
    CREATE TABLE scans (
        account          TEXT    NOT NULL,
        mailbox          TEXT    NOT NULL,
        last_poll_at     INTEGER NOT NULL,
        total_scanned    INTEGER NOT NULL CHECK (total_scanned >= 0),
        reported_scanned INTEGER NOT NULL DEFAULT 0 CHECK (reported_scanned >= 0),
        mailbox_size     INTEGER,
        PRIMARY KEY (account, mailbox)
    ) WITHOUT ROWID;

    -- The scan totals as they were when a digest was queued, so that sending it resets the
    -- footer counters to exactly what it reported, not to whatever was scanned until the
    -- SMTP server finally accepted it.
    CREATE TABLE digest_scans (
        digest_id     TEXT    NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        account       TEXT    NOT NULL,
        mailbox       TEXT    NOT NULL,
        total_scanned INTEGER NOT NULL,
        PRIMARY KEY (digest_id, account, mailbox)
    ) WITHOUT ROWID;

    -- Small settings the daemon must remember across restarts (`last_digest_slot`, ...).
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes and understands.
pub(super) fn supported_version() -> u32 {
    // MIGRATIONS is a short literal list; it cannot hold 2^32 entries.
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

/// Brings the database up to [`supported_version`], applying all missing migrations in one
/// transaction: a failure leaves the file exactly as it was.
///
/// The transaction is `IMMEDIATE` and the version is read inside it, so two processes opening
/// the same new file at once cannot both run migration 1; the second waits (busy timeout),
/// then finds nothing left to do.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let supported = supported_version();
    // Failing here means the file cannot be used at all (read-only, not a database, locked
    // beyond the busy timeout): report it as an open error that names the file.
    let open_error = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_error)?;
    let found: u32 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(open_error)?;
    if found > supported {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    if found == supported {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migrate { version, source })?;
        // PRAGMA takes no bound parameters; `version` is an integer we computed.
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))
            .map_err(|source| StoreError::Migrate { version, source })?;
    }
    tx.commit().map_err(open_error)?;
    tracing::info!(
        database = %path.display(),
        from = found,
        to = supported,
        "state database schema migrated"
    );
    Ok(())
}
