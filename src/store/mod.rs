//! The state database (`state.db`, SQLite): IMAP cursors, the invitations, reminders and
//! phishing mails found so far, the digest outbox, and the problems and scan statistics the next
//! digest's footer shows, plus a little key-value metadata.
//!
//! This module owns durability and deduplication, not policy: what to fetch, what goes into a
//! digest and when to send it are decided by the caller. Two rules hold whatever the caller
//! does:
//!
//! - A mailbox cursor moves only in the transaction that stores the messages it covers
//!   ([`Store::commit_batch`]), so a crash at any instant neither loses a message nor stores one
//!   twice: the worst case is fetching a batch again, and deduplication absorbs that.
//! - An item counts as reported only once the SMTP server has accepted the digest carrying it
//!   ([`Store::mark_digest_sent`], one transaction). Until then it stays in
//!   [`Store::pending_items`].
//!
//! All calls block on SQLite. [`Store`] is `Send` but not `Sync`: give it one owner (a
//! `spawn_blocking` task or a `Mutex`), which is also what keeps writes in a single order.

mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::model::{Classified, Kind, MessageKey};

/// File name of the database inside the state directory.
pub const DB_FILE_NAME: &str = "state.db";

/// How long a statement waits for another connection's write lock before failing with
/// "database is locked". A CLI command reading state while the daemon commits a batch should
/// wait, not fail; no transaction of ours holds the lock for anything like this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong in the state database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create state directory {path}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot create state database {path}")]
    CreateFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot open state database {path}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "state database {path} has schema version {found}, but this build of invite-digest \
         only knows versions up to {supported}; run a newer invite-digest, or move the state \
         directory aside to start afresh"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("cannot migrate the state database to schema version {version}")]
    Migrate {
        version: u32,
        source: rusqlite::Error,
    },

    #[error("state database query failed")]
    Sqlite(#[from] rusqlite::Error),

    #[error("cannot encode {what} as JSON")]
    Encode {
        what: String,
        source: serde_json::Error,
    },

    #[error("stored {what} does not decode")]
    Decode {
        what: String,
        source: serde_json::Error,
    },

    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: String, detail: String },

    #[error(
        "message {}/{} UIDVALIDITY {} UID {} does not belong to the batch for \
         {account}/{mailbox} with UIDVALIDITY {uidvalidity}",
        .key.account, .key.mailbox, .key.uidvalidity, .key.uid
    )]
    ForeignMessage {
        key: MessageKey,
        account: String,
        mailbox: String,
        uidvalidity: u32,
    },

    #[error("no digest with id {id} in the outbox")]
    UnknownDigest { id: String },

    #[error("a digest with id {id} already exists")]
    DigestExists { id: String },

    #[error("digest {id} was already sent")]
    DigestAlreadySent { id: String },

    #[error("no item with id {item_id}")]
    UnknownItem { item_id: i64 },

    #[error(
        "item {item_id} already belongs to digest {digest_id}; supersede that digest before \
         queueing the item again"
    )]
    ItemTaken { item_id: i64, digest_id: String },
}

/// How far a mailbox has been read. UIDs are only meaningful with their UIDVALIDITY: when the
/// server reports a different one, the caller starts over and stores the new pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// One fetched and classified message, as handed to [`Store::commit_batch`].
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub key: MessageKey,
    pub classified: Classified,
    /// When the mailbox received it (INTERNALDATE), Unix seconds.
    pub received_at: i64,
}

/// What [`Store::commit_batch`] did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Messages that created a new item.
    pub new_items: usize,
    /// Further mails about an item already stored (a reminder, or the invitation after its
    /// reminder): `times_seen` went up.
    pub merged: usize,
    /// Mails already stored (same mailbox position, or same Message-ID for the same item):
    /// a rescan, a UIDVALIDITY reset or a copy in another folder. Nothing changed.
    pub duplicates: usize,
    /// Of `duplicates`, how many were invitations, reminders and phishing, so a caller can
    /// count the mails that were new to it.
    pub duplicate_invitations: usize,
    pub duplicate_reminders: usize,
    pub duplicate_phishing: usize,
    /// Messages of kinds that are not kept (other LinkedIn mail, not LinkedIn): only counted.
    pub skipped: usize,
}

impl BatchOutcome {
    fn count_duplicate(&mut self, kind: Kind) {
        self.duplicates += 1;
        match kind {
            Kind::Invitation => self.duplicate_invitations += 1,
            Kind::Reminder => self.duplicate_reminders += 1,
            Kind::Phishing => self.duplicate_phishing += 1,
            Kind::OtherLinkedin | Kind::NotLinkedin => {}
        }
    }
}

/// An invitation, reminder or phishing mail as stored, with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    pub id: i64,
    /// [`item_key`] of the classified message.
    pub dedupe_key: String,
    /// The richest mail seen for this item: the invitation once one has been seen, else the
    /// first reminder.
    pub classified: Classified,
    /// Earliest and latest `received_at` of the mails merged into this item.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Number of distinct mails merged into this item (duplicates of one mail count once).
    pub times_seen: u32,
    /// Where `classified` came from.
    pub account: String,
    pub mailbox: String,
    /// The sent digest that reported this item, and when it was accepted for delivery.
    pub reported_in: Option<String>,
    pub reported_at: Option<i64>,
}

/// A digest to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewDigest {
    /// Caller-chosen identifier, unique among digests.
    pub id: String,
    /// The Message-ID header inside `eml`, kept so a retry is recognisably the same message.
    pub message_id: String,
    pub created_at: i64,
    /// The complete rendered message, exactly as it will be handed to SMTP.
    pub eml: Vec<u8>,
    /// The items the digest reports, in the order it shows them.
    pub item_ids: Vec<i64>,
}

/// A digest in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxDigest {
    pub id: String,
    pub message_id: String,
    pub created_at: i64,
    /// Empty for sent digests older than a [`Store::prune`] cutoff.
    pub eml: Vec<u8>,
    pub item_ids: Vec<i64>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub status: DigestStatus,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestStatus {
    /// Not yet accepted by the SMTP server.
    Pending,
    /// Accepted by the SMTP server; its items are reported.
    Sent,
}

impl DigestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestStatus::Pending => "pending",
            DigestStatus::Sent => "sent",
        }
    }

    fn parse(s: &str) -> Option<DigestStatus> {
        match s {
            "pending" => Some(DigestStatus::Pending),
            "sent" => Some(DigestStatus::Sent),
            _ => None,
        }
    }
}

/// Something that went wrong and that the owner should read about in the next digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: i64,
    /// The account concerned, if the problem is specific to one.
    pub account: Option<String>,
    /// Short machine-friendly category (`login_failed`, `fetch_failed`, ...), for grouping.
    pub kind: String,
    pub detail: String,
}

/// Poll statistics for one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanStat {
    pub account: String,
    pub mailbox: String,
    pub last_poll_at: i64,
    /// Given to [`Store::record_scan`]: messages scanned by this poll. Returned by
    /// [`Store::scans`]: messages scanned since the totals reported by the last sent digest.
    pub messages_scanned: u64,
    /// Messages in the mailbox at the last poll, when the server said.
    pub mailbox_size: Option<u64>,
}

/// What [`Store::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub problems: usize,
    pub digest_bodies: usize,
}

/// Whether a message of this kind becomes an item. Other kinds are only counted: the digest
/// has nothing to say about them, and storing them would keep mail content for no purpose.
pub fn is_kept(kind: Kind) -> bool {
    matches!(kind, Kind::Invitation | Kind::Reminder | Kind::Phishing)
}

/// The key an item is stored under: [`Classified::dedupe_key`] (which keeps phishing in a
/// namespace of its own).
pub fn item_key(classified: &Classified) -> String {
    // The phishing namespace lives in `Classified::dedupe_key` itself, so preview and the
    // store agree on what merges.
    classified.dedupe_key()
}

/// The SQLite state database. See the module documentation for the guarantees.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const ITEM_COLUMNS: &str = "id, dedupe_key, classified, first_seen, last_seen, times_seen, \
                            account, mailbox, reported_in, reported_at";

const DIGEST_COLUMNS: &str = "id, message_id, created_at, eml, attempts, last_error, \
                              next_attempt_at, status, sent_at";

impl Store {
    /// Opens (creating if needed) `dir/state.db` and brings its schema up to date.
    ///
    /// A missing `dir` is created with mode 0700 and a new database file with mode 0600: the
    /// database holds profile and accept links, which are as private as the mailbox. Existing
    /// permissions are left alone (systemd's `StateDirectory=` manages them).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let path = dir.join(DB_FILE_NAME);
        create_private_file(&path)?;
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Store::init(conn, path, true)
    }

    /// A private database that lives as long as the value: for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Store::init(conn, path, false)
    }

    fn init(mut conn: Connection, path: PathBuf, on_disk: bool) -> Result<Store, StoreError> {
        configure(&conn, on_disk).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        schema::migrate(&mut conn, &path)?;
        Ok(Store { conn, path })
    }

    /// Where the database lives (`:memory:` for [`Store::open_in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this build writes; a database with a higher one is refused.
    pub fn schema_version() -> u32 {
        schema::supported_version()
    }

    // ---- cursors and messages -------------------------------------------------------------

    /// How far `account`/`mailbox` has been read, or `None` if never.
    pub fn cursor(&self, account: &str, mailbox: &str) -> Result<Option<Cursor>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT uidvalidity, last_uid FROM cursors WHERE account = ?1 AND mailbox = ?2",
        )?;
        let cursor = stmt
            .query_row(params![account, mailbox], |row| {
                Ok(Cursor {
                    uidvalidity: row.get(0)?,
                    last_uid: row.get(1)?,
                })
            })
            .optional()?;
        Ok(cursor)
    }

    /// Stores a fetched batch and moves the mailbox cursor to `cursor`, in one transaction:
    /// either all of it happens or none of it does.
    ///
    /// Invitations, reminders and phishing become items, merged by [`item_key`]:
    /// - a mail already stored (same account, mailbox, UIDVALIDITY and UID, or same Message-ID
    ///   as a mail of the same item) is a duplicate and changes nothing;
    /// - another mail about a stored item increments `times_seen` and widens
    ///   `first_seen`/`last_seen`;
    /// - if the stored item came from a reminder and the new mail is the invitation, the item
    ///   takes the invitation's data (it has the note) but keeps its report status;
    /// - otherwise the stored data stays. In particular a reminder never makes a reported
    ///   invitation pending again.
    ///
    /// Other kinds are only counted. The cursor is overwritten, including with a different
    /// UIDVALIDITY or a lower UID (a deliberate rescan; deduplication absorbs it). Every message
    /// must come from `account`/`mailbox` under `cursor.uidvalidity`, or nothing is stored.
    pub fn commit_batch(
        &mut self,
        account: &str,
        mailbox: &str,
        cursor: Cursor,
        messages: &[NewMessage],
    ) -> Result<BatchOutcome, StoreError> {
        if let Some(m) = messages.iter().find(|m| {
            m.key.account != account
                || m.key.mailbox != mailbox
                || m.key.uidvalidity != cursor.uidvalidity
        }) {
            return Err(StoreError::ForeignMessage {
                key: m.key.clone(),
                account: account.to_owned(),
                mailbox: mailbox.to_owned(),
                uidvalidity: cursor.uidvalidity,
            });
        }

        let tx = self.write_tx()?;
        let outcome = store_messages(&tx, messages)?;
        tx.prepare_cached(
            "INSERT INTO cursors (account, mailbox, uidvalidity, last_uid) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account, mailbox) DO UPDATE
             SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
        )?
        .execute(params![
            account,
            mailbox,
            cursor.uidvalidity,
            cursor.last_uid
        ])?;
        tx.commit()?;
        tracing::debug!(
            account,
            mailbox,
            uidvalidity = cursor.uidvalidity,
            last_uid = cursor.last_uid,
            new_items = outcome.new_items,
            merged = outcome.merged,
            duplicates = outcome.duplicates,
            skipped = outcome.skipped,
            "batch committed"
        );
        Ok(outcome)
    }

    /// Items not yet reported by a sent digest, oldest first. Items carried by an unsent digest
    /// are included: that digest may be superseded and its items rebuilt into a new one.
    pub fn pending_items(&self) -> Result<Vec<StoredItem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE reported_in IS NULL ORDER BY first_seen, id"
        ))?;
        let rows = stmt
            .query_map([], ItemRow::read)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(ItemRow::decode).collect()
    }

    /// The item stored under `key` (see [`item_key`]), reported or not.
    pub fn item_by_key(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE dedupe_key = ?1"
        ))?;
        let row = stmt.query_row([key], ItemRow::read).optional()?;
        row.map(ItemRow::decode).transpose()
    }

    // ---- outbox -------------------------------------------------------------------------------

    /// Puts a rendered digest in the outbox, pending. Its items must exist and must not belong
    /// to a sent digest or to another unsent one (supersede that first), so that no item can be
    /// delivered twice. The current scan totals are remembered with the digest so that sending
    /// it resets the footer counters to exactly what it showed.
    /// Replaces the message of an unsent digest with a fresh rendering of the same items
    /// (same Message-ID), so a retry shows the current footer (the delivery problem that
    /// delayed it) and data merged meanwhile (a reminder).
    pub fn refresh_digest_eml(&mut self, id: &str, eml: &[u8]) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE digests SET eml = ?2 WHERE id = ?1 AND status = 'pending'",
            params![id, eml],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownDigest { id: id.to_owned() });
        }
        Ok(())
    }

    pub fn enqueue_digest(&mut self, digest: &NewDigest) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        if digest_status(&tx, &digest.id)?.is_some() {
            return Err(StoreError::DigestExists {
                id: digest.id.clone(),
            });
        }
        tx.prepare_cached(
            "INSERT INTO digests (id, message_id, created_at, eml) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            digest.id,
            digest.message_id,
            digest.created_at,
            digest.eml
        ])?;
        {
            let mut reported_in =
                tx.prepare_cached("SELECT reported_in FROM items WHERE id = ?1")?;
            let mut queued_in = tx.prepare_cached(
                "SELECT d.id FROM digest_items di JOIN digests d ON d.id = di.digest_id
                 WHERE di.item_id = ?1 AND d.status = 'pending' LIMIT 1",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO digest_items (digest_id, position, item_id) VALUES (?1, ?2, ?3)",
            )?;
            for (position, &item_id) in digest.item_ids.iter().enumerate() {
                let reported: Option<Option<String>> = reported_in
                    .query_row([item_id], |row| row.get(0))
                    .optional()?;
                let holder = match reported {
                    None => return Err(StoreError::UnknownItem { item_id }),
                    Some(Some(digest_id)) => Some(digest_id),
                    Some(None) => queued_in
                        .query_row([item_id], |row| row.get::<_, String>(0))
                        .optional()?,
                };
                if let Some(digest_id) = holder {
                    return Err(StoreError::ItemTaken { item_id, digest_id });
                }
                insert.execute(params![digest.id, position as i64, item_id])?;
            }
        }
        tx.prepare_cached(
            "INSERT INTO digest_scans (digest_id, account, mailbox, total_scanned)
             SELECT ?1, account, mailbox, total_scanned FROM scans",
        )?
        .execute([&digest.id])?;
        tx.commit()?;
        tracing::debug!(
            digest = %digest.id,
            items = digest.item_ids.len(),
            bytes = digest.eml.len(),
            "digest queued"
        );
        Ok(())
    }

    /// Digests not yet accepted by the SMTP server, oldest first.
    pub fn unsent_digests(&self) -> Result<Vec<OutboxDigest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DIGEST_COLUMNS} FROM digests WHERE status = 'pending' ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map([], DigestRow::read)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|row| row.decode(&self.conn)).collect()
    }

    /// One digest, sent or not.
    pub fn digest(&self, id: &str) -> Result<Option<OutboxDigest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DIGEST_COLUMNS} FROM digests WHERE id = ?1"
        ))?;
        let row = stmt.query_row([id], DigestRow::read).optional()?;
        row.map(|row| row.decode(&self.conn)).transpose()
    }

    /// Records a failed delivery attempt of an unsent digest and when to try again.
    pub fn record_send_failure(
        &mut self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        require_pending(&tx, id)?;
        tx.prepare_cached(
            "UPDATE digests SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![id, error, next_attempt_at])?;
        tx.commit()?;
        Ok(())
    }

    /// Records that the SMTP server accepted digest `id`: in one transaction the digest becomes
    /// sent, each of its items not already reported gets `reported_in = id` and
    /// `reported_at = sent_at`, and the footer's scan counters restart from the totals the
    /// digest showed.
    ///
    /// Calling it again for a sent digest changes nothing and succeeds, so a retry after an
    /// ambiguous failure is harmless.
    pub fn mark_digest_sent(&mut self, id: &str, sent_at: i64) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        match digest_status(&tx, id)? {
            None => return Err(StoreError::UnknownDigest { id: id.to_owned() }),
            Some(DigestStatus::Sent) => {
                tracing::debug!(digest = id, "digest already marked sent");
                return Ok(());
            }
            Some(DigestStatus::Pending) => {}
        }
        tx.prepare_cached(
            "UPDATE digests SET status = 'sent', sent_at = ?2, next_attempt_at = NULL
             WHERE id = ?1",
        )?
        .execute(params![id, sent_at])?;
        let reported = tx
            .prepare_cached(
                "UPDATE items SET reported_in = ?1, reported_at = ?2
                 WHERE reported_in IS NULL
                   AND id IN (SELECT item_id FROM digest_items WHERE digest_id = ?1)",
            )?
            .execute(params![id, sent_at])?;
        tx.prepare_cached(
            "UPDATE scans SET reported_scanned = max(scans.reported_scanned, ds.total_scanned)
             FROM digest_scans AS ds
             WHERE ds.digest_id = ?1 AND ds.account = scans.account AND ds.mailbox = scans.mailbox",
        )?
        .execute([id])?;
        tx.commit()?;
        tracing::debug!(digest = id, items = reported, "digest marked sent");
        Ok(())
    }

    /// Removes an unsent digest, so its items can go into a fresh one (new items arrived before
    /// a retry). Its items stay pending.
    pub fn supersede_digest(&mut self, id: &str) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        require_pending(&tx, id)?;
        // digest_items and digest_scans rows go with it (ON DELETE CASCADE).
        tx.prepare_cached("DELETE FROM digests WHERE id = ?1")?
            .execute([id])?;
        tx.commit()?;
        tracing::debug!(digest = id, "digest superseded");
        Ok(())
    }

    /// When the SMTP server last accepted a digest.
    pub fn last_sent_digest_at(&self) -> Result<Option<i64>, StoreError> {
        let at = self.conn.query_row(
            "SELECT max(sent_at) FROM digests WHERE status = 'sent'",
            [],
            |row| row.get(0),
        )?;
        Ok(at)
    }

    // ---- footer: problems and scan statistics ------------------------------------------------

    pub fn record_problem(&mut self, problem: &Problem) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO problems (at, account, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                problem.at,
                problem.account,
                problem.kind,
                problem.detail
            ])?;
        Ok(())
    }

    /// Problems recorded at or after `since`, oldest first.
    pub fn problems_since(&self, since: i64) -> Result<Vec<Problem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, account, kind, detail FROM problems WHERE at >= ?1 ORDER BY at, id",
        )?;
        let problems = stmt
            .query_map([since], |row| {
                Ok(Problem {
                    at: row.get(0)?,
                    account: row.get(1)?,
                    kind: row.get(2)?,
                    detail: row.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(problems)
    }

    /// Records one poll of a mailbox: sets `last_poll_at` and `mailbox_size`, and adds
    /// `messages_scanned` to the count since the last sent digest.
    pub fn record_scan(&mut self, scan: &ScanStat) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO scans (account, mailbox, last_poll_at, total_scanned, mailbox_size)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account, mailbox) DO UPDATE
                 SET last_poll_at = excluded.last_poll_at,
                     total_scanned = scans.total_scanned + excluded.total_scanned,
                     mailbox_size = excluded.mailbox_size",
            )?
            .execute(params![
                scan.account,
                scan.mailbox,
                scan.last_poll_at,
                scan.messages_scanned,
                scan.mailbox_size
            ])?;
        Ok(())
    }

    /// Every mailbox ever polled, by account and mailbox, with `messages_scanned` counted since
    /// the last sent digest. Mailboxes no longer configured are included; filter them out.
    pub fn scans(&self) -> Result<Vec<ScanStat>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT account, mailbox, last_poll_at, total_scanned - reported_scanned, mailbox_size
             FROM scans ORDER BY account, mailbox",
        )?;
        let scans = stmt
            .query_map([], |row| {
                Ok(ScanStat {
                    account: row.get(0)?,
                    mailbox: row.get(1)?,
                    last_poll_at: row.get(2)?,
                    messages_scanned: row.get(3)?,
                    mailbox_size: row.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(scans)
    }

    // ---- metadata and housekeeping -----------------------------------------------------------

    pub fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        Ok(value)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([key, value])?;
        Ok(())
    }

    /// Forgets what a long-running daemon no longer needs: problems recorded before `before`,
    /// and the message bodies of digests sent before `before` (their rows stay, since items
    /// name them in `reported_in`). Items are never pruned: they are what stops a reminder
    /// months later from reporting an invitation again.
    pub fn prune(&mut self, before: i64) -> Result<Pruned, StoreError> {
        let tx = self.write_tx()?;
        let problems = tx.execute("DELETE FROM problems WHERE at < ?1", [before])?;
        let digest_bodies = tx.execute(
            "UPDATE digests SET eml = X''
             WHERE status = 'sent' AND sent_at < ?1 AND length(eml) > 0",
            [before],
        )?;
        tx.commit()?;
        Ok(Pruned {
            problems,
            digest_bodies,
        })
    }

    /// A write transaction that takes the write lock up front. A deferred transaction that
    /// reads first and writes later can fail with "database is locked" at its first write,
    /// without waiting, if another connection wrote in between; `IMMEDIATE` waits for the lock
    /// (busy timeout) instead.
    fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Per-connection settings. None of them persist in the file except `journal_mode`.
fn configure(conn: &Connection, on_disk: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Off by default in SQLite; the schema relies on them (ON DELETE CASCADE, reported_in).
    conn.pragma_update(None, "foreign_keys", true)?;
    if on_disk {
        // WAL lets the CLI read while the daemon writes, and commits cost one fsync.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some network file systems cannot do WAL; the rollback journal still works.
            tracing::warn!(journal_mode = %mode, "state database could not switch to WAL");
        }
    }
    // FULL, not WAL's usual NORMAL: NORMAL can lose the last commits on power loss, and losing
    // a "sent" mark means mailing the same digest twice. We commit a few times per poll, so
    // the extra fsync costs nothing noticeable.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// Creates the database file, empty, with mode 0600 if it does not exist. SQLite would create
/// it with the umask's permissions; it gives its `-wal` and `-shm` files the database file's.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    // Never open an existing database file here: on Linux, closing *any* descriptor of a
    // file drops all of this process's POSIX locks on it, including those of a SQLite
    // connection that is still open (the daemon's digest loop), which lets another process
    // check-point and delete the WAL under it.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The body of [`Store::commit_batch`], inside its transaction.
fn store_messages(
    tx: &Transaction<'_>,
    messages: &[NewMessage],
) -> Result<BatchOutcome, StoreError> {
    let mut outcome = BatchOutcome::default();
    let mut position_seen = tx.prepare_cached(
        "SELECT 1 FROM item_messages
         WHERE account = ?1 AND mailbox = ?2 AND uidvalidity = ?3 AND uid = ?4",
    )?;
    let mut message_id_seen =
        tx.prepare_cached("SELECT 1 FROM item_messages WHERE item_id = ?1 AND message_id = ?2")?;
    let mut find_item = tx.prepare_cached("SELECT id, kind FROM items WHERE dedupe_key = ?1")?;
    let mut insert_item = tx.prepare_cached(
        "INSERT INTO items (dedupe_key, kind, invitation_id, message_id, account, mailbox,
                            uidvalidity, uid, classified, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?;
    let mut replace_data = tx.prepare_cached(
        "UPDATE items SET kind = ?2, invitation_id = ?3, message_id = ?4, account = ?5,
                          mailbox = ?6, uidvalidity = ?7, uid = ?8, classified = ?9
         WHERE id = ?1",
    )?;
    let mut count_sighting = tx.prepare_cached(
        "UPDATE items SET times_seen = times_seen + 1,
                          first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?2)
         WHERE id = ?1",
    )?;
    let mut insert_message = tx.prepare_cached(
        "INSERT INTO item_messages (item_id, account, mailbox, uidvalidity, uid, message_id,
                                    kind, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;

    for m in messages {
        let c = &m.classified;
        let k = &m.key;
        if !is_kept(c.kind) {
            outcome.skipped += 1;
            continue;
        }
        if position_seen.exists(params![k.account, k.mailbox, k.uidvalidity, k.uid])? {
            outcome.count_duplicate(c.kind);
            continue;
        }
        let key = item_key(c);
        let json = serde_json::to_string(c).map_err(|source| StoreError::Encode {
            what: format!("message {}/{} uid {}", k.account, k.mailbox, k.uid),
            source,
        })?;
        let invitation_id = c
            .invitation
            .as_ref()
            .and_then(|i| i.invitation_id.as_deref());
        let existing: Option<(i64, String)> = find_item
            .query_row([&key], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let item_id = match existing {
            None => {
                insert_item.execute(params![
                    key,
                    c.kind.as_str(),
                    invitation_id,
                    c.message_id,
                    k.account,
                    k.mailbox,
                    k.uidvalidity,
                    k.uid,
                    json,
                    m.received_at
                ])?;
                outcome.new_items += 1;
                tx.last_insert_rowid()
            }
            Some((item_id, stored_kind)) => {
                if let Some(message_id) = &c.message_id {
                    if message_id_seen.exists(params![item_id, message_id])? {
                        outcome.count_duplicate(c.kind);
                        continue;
                    }
                }
                if stored_kind == Kind::Reminder.as_str() && c.kind == Kind::Invitation {
                    replace_data.execute(params![
                        item_id,
                        c.kind.as_str(),
                        invitation_id,
                        c.message_id,
                        k.account,
                        k.mailbox,
                        k.uidvalidity,
                        k.uid,
                        json
                    ])?;
                }
                count_sighting.execute(params![item_id, m.received_at])?;
                outcome.merged += 1;
                item_id
            }
        };
        insert_message.execute(params![
            item_id,
            k.account,
            k.mailbox,
            k.uidvalidity,
            k.uid,
            c.message_id,
            c.kind.as_str(),
            m.received_at
        ])?;
    }
    Ok(outcome)
}

fn digest_status(conn: &Connection, id: &str) -> Result<Option<DigestStatus>, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM digests WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    status
        .map(|s| {
            DigestStatus::parse(&s).ok_or_else(|| StoreError::Corrupt {
                what: format!("status of digest {id}"),
                detail: format!("unknown status {s:?}"),
            })
        })
        .transpose()
}

/// Fails unless digest `id` exists and is unsent.
fn require_pending(conn: &Connection, id: &str) -> Result<(), StoreError> {
    match digest_status(conn, id)? {
        None => Err(StoreError::UnknownDigest { id: id.to_owned() }),
        Some(DigestStatus::Sent) => Err(StoreError::DigestAlreadySent { id: id.to_owned() }),
        Some(DigestStatus::Pending) => Ok(()),
    }
}

/// An `items` row before its JSON is decoded, which cannot happen inside a rusqlite row
/// callback without losing the error type.
struct ItemRow {
    id: i64,
    dedupe_key: String,
    classified: String,
    first_seen: i64,
    last_seen: i64,
    times_seen: u32,
    account: String,
    mailbox: String,
    reported_in: Option<String>,
    reported_at: Option<i64>,
}

impl ItemRow {
    /// Reads the columns of [`ITEM_COLUMNS`], in that order.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRow> {
        Ok(ItemRow {
            id: row.get(0)?,
            dedupe_key: row.get(1)?,
            classified: row.get(2)?,
            first_seen: row.get(3)?,
            last_seen: row.get(4)?,
            times_seen: row.get(5)?,
            account: row.get(6)?,
            mailbox: row.get(7)?,
            reported_in: row.get(8)?,
            reported_at: row.get(9)?,
        })
    }

    fn decode(self) -> Result<StoredItem, StoreError> {
        let classified =
            serde_json::from_str(&self.classified).map_err(|source| StoreError::Decode {
                what: format!("item {} ({})", self.id, self.dedupe_key),
                source,
            })?;
        Ok(StoredItem {
            id: self.id,
            dedupe_key: self.dedupe_key,
            classified,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            times_seen: self.times_seen,
            account: self.account,
            mailbox: self.mailbox,
            reported_in: self.reported_in,
            reported_at: self.reported_at,
        })
    }
}

/// A `digests` row before its status is parsed and its items are read.
struct DigestRow {
    id: String,
    message_id: String,
    created_at: i64,
    eml: Vec<u8>,
    attempts: u32,
    last_error: Option<String>,
    next_attempt_at: Option<i64>,
    status: String,
    sent_at: Option<i64>,
}

impl DigestRow {
    /// Reads the columns of [`DIGEST_COLUMNS`], in that order.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<DigestRow> {
        Ok(DigestRow {
            id: row.get(0)?,
            message_id: row.get(1)?,
            created_at: row.get(2)?,
            eml: row.get(3)?,
            attempts: row.get(4)?,
            last_error: row.get(5)?,
            next_attempt_at: row.get(6)?,
            status: row.get(7)?,
            sent_at: row.get(8)?,
        })
    }

    fn decode(self, conn: &Connection) -> Result<OutboxDigest, StoreError> {
        let status = DigestStatus::parse(&self.status).ok_or_else(|| StoreError::Corrupt {
            what: format!("status of digest {}", self.id),
            detail: format!("unknown status {:?}", self.status),
        })?;
        let item_ids = conn
            .prepare_cached(
                "SELECT item_id FROM digest_items WHERE digest_id = ?1 ORDER BY position",
            )?
            .query_map([&self.id], |row| row.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(OutboxDigest {
            id: self.id,
            message_id: self.message_id,
            created_at: self.created_at,
            eml: self.eml,
            item_ids,
            attempts: self.attempts,
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            status,
            sent_at: self.sent_at,
        })
    }
}
