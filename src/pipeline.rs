//! One poll cycle for one account: for each watched mailbox, ask the server for new
//! candidates, fetch them in bounded batches, classify, and store each batch together with
//! the cursor that covers it. The only place where `source`, `extract` and `store` meet.
//!
//! Crash safety: a batch and its cursor are committed in one transaction, so a crash at
//! any instant either stored the batch and moved the cursor, or neither. Opt-in
//! `after_processing` actions run after the commit: a crash in between leaves the mail in
//! place (never a lost invitation), at the price of an action not applied.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::ScopedJoinHandle;

use tracing::{debug, info, warn};

use crate::config::{AccountConfig, Action};
use crate::extract;
use crate::model::{Kind, MessageKey};
use crate::source::imap::{Fetched, ImapSource, SearchSlice, SourceError};
use crate::store::{Cursor, NewMessage, ScanStat, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl PollError {
    pub fn is_transient(&self) -> bool {
        match self {
            PollError::Source(e) => e.is_transient(),
            PollError::Store(_) => true,
        }
    }
}

/// A message we did not store, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub uid: u32,
    pub reason: String,
}

/// What one poll of one mailbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxSummary {
    pub mailbox: String,
    /// Candidate messages fetched and classified.
    pub scanned: usize,
    /// Invitation, reminder and phishing mails not stored before. Mails seen again (a
    /// rescan after a UIDVALIDITY change, a copy in another watched folder) count only in
    /// `duplicates`.
    pub invitations: usize,
    pub reminders: usize,
    pub phishing: usize,
    pub other: usize,
    /// New digest items stored (not duplicates).
    pub new_items: usize,
    pub duplicates: usize,
    pub skipped: Vec<Skipped>,
    pub uidvalidity_reset: bool,
    /// Messages in the mailbox.
    pub exists: u32,
}

/// What one poll of one account did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    pub account: String,
    pub mailboxes: Vec<MailboxSummary>,
}

impl PollSummary {
    /// One line for logs and `poll --once`.
    pub fn line(&self) -> String {
        let sum = |f: fn(&MailboxSummary) -> usize| self.mailboxes.iter().map(f).sum::<usize>();
        let skipped: Vec<String> = self
            .mailboxes
            .iter()
            .flat_map(|m| {
                m.skipped
                    .iter()
                    .map(move |s| format!("{} uid {}: {}", m.mailbox, s.uid, s.reason))
            })
            .collect();
        let mut line = format!(
            "{}: scanned {}, new invitations {}, reminders {}, phishing {}, other {}, duplicates {}",
            self.account,
            sum(|m| m.scanned),
            sum(|m| m.invitations),
            sum(|m| m.reminders),
            sum(|m| m.phishing),
            sum(|m| m.other),
            sum(|m| m.duplicates),
        );
        if skipped.is_empty() {
            line.push_str(", skipped 0");
        } else {
            line.push_str(&format!(
                ", skipped {} ({})",
                skipped.len(),
                skipped.join("; ")
            ));
        }
        line
    }
}

/// Polls every mailbox of the account once. The source must be connected.
///
/// A mailbox the server refuses (missing, renamed, no permission) does not stop the others:
/// they are polled and stored, and the first such error is returned at the end. Any other
/// error (connection, store) ends the poll at once.
pub fn poll_account(
    src: &mut ImapSource,
    account: &AccountConfig,
    store: &mut Store,
    opts: &extract::Options,
    now: i64,
) -> Result<PollSummary, PollError> {
    let mut summary = PollSummary {
        account: account.name.clone(),
        mailboxes: Vec::new(),
    };
    let mut mailbox_error = None;
    for mailbox in &account.mailboxes {
        match poll_mailbox(src, account, mailbox, store, opts, now) {
            Ok(m) => summary.mailboxes.push(m),
            Err(PollError::Source(e @ SourceError::Mailbox { .. })) if src.is_connected() => {
                debug!(account = %account.name, mailbox, "{}; polling the other mailboxes", crate::error_chain(&e));
                mailbox_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match mailbox_error {
        Some(e) => Err(PollError::Source(e)),
        None => Ok(summary),
    }
}

/// After-processing actions to apply once the poll's batches are stored, by action.
type Actions = BTreeMap<String, (Action, Vec<u32>)>;

/// What every batch of one mailbox poll shares.
struct BatchContext<'a> {
    account: &'a AccountConfig,
    mailbox: &'a str,
    uidvalidity: u32,
    now: i64,
}

/// One fetched message as the classifying stage hands it to the storing one.
struct Read {
    uid: u32,
    size: u32,
    /// `None`: larger than `max_message_size`, not fetched.
    classified: Option<Result<crate::model::Classified, extract::ExtractError>>,
}

/// Classifies every message of one fetched batch: the pure, costly part of a batch's work,
/// which `classify_pool` runs on several threads.
fn classify_batch(opts: &extract::Options, batch: Vec<Fetched>) -> Vec<Read> {
    batch
        .into_iter()
        .map(|f| Read {
            uid: f.uid,
            size: f.size,
            classified: f.raw.map(|raw| extract::classify(&raw, opts)),
        })
        .collect()
}

/// Stores one classified batch together with the cursor that covers it.
fn store_batch(
    ctx: &BatchContext<'_>,
    batch: Vec<Read>,
    sum: &mut MailboxSummary,
    actions: &mut Actions,
    last_uid: &mut u32,
    store: &mut Store,
) -> Result<(), StoreError> {
    let (account, mailbox) = (ctx.account, ctx.mailbox);
    let mut messages = Vec::with_capacity(batch.len());
    let mut batch_max = *last_uid;
    for f in batch {
        batch_max = batch_max.max(f.uid);
        let Some(classified) = f.classified else {
            let reason = format!(
                "{} bytes exceeds max_message_size {}",
                f.size, account.max_message_size
            );
            warn!(account = %account.name, mailbox, uid = f.uid, "skipped: {reason}");
            sum.skipped.push(Skipped { uid: f.uid, reason });
            continue;
        };
        sum.scanned += 1;
        let classified = match classified {
            Ok(c) => c,
            Err(e) => {
                let reason = crate::error_chain(&e);
                warn!(account = %account.name, mailbox, uid = f.uid, "unreadable message skipped: {reason}");
                sum.skipped.push(Skipped { uid: f.uid, reason });
                continue;
            }
        };
        let action = match classified.kind {
            Kind::Invitation | Kind::Reminder => {
                sum.invitations += usize::from(classified.kind == Kind::Invitation);
                sum.reminders += usize::from(classified.kind == Kind::Reminder);
                account.after_processing.invitations.as_ref()
            }
            Kind::Phishing => {
                sum.phishing += 1;
                account.after_processing.phishing.as_ref()
            }
            Kind::OtherLinkedin => {
                sum.other += 1;
                account.after_processing.other_linkedin.as_ref()
            }
            Kind::NotLinkedin => {
                sum.other += 1;
                None
            }
        };
        if let Some(a) = action {
            actions
                .entry(format!("{a:?}"))
                .or_insert_with(|| (a.clone(), Vec::new()))
                .1
                .push(f.uid);
        }
        messages.push(NewMessage {
            key: MessageKey {
                account: account.name.clone(),
                mailbox: mailbox.to_string(),
                uidvalidity: ctx.uidvalidity,
                uid: f.uid,
            },
            received_at: classified.date.unwrap_or(ctx.now),
            classified,
        });
    }
    let outcome = store.commit_batch(
        &account.name,
        mailbox,
        Cursor {
            uidvalidity: ctx.uidvalidity,
            last_uid: batch_max,
        },
        &messages,
    )?;
    sum.new_items += outcome.new_items;
    sum.duplicates += outcome.duplicates;
    sum.invitations = sum
        .invitations
        .saturating_sub(outcome.duplicate_invitations);
    sum.reminders = sum.reminders.saturating_sub(outcome.duplicate_reminders);
    sum.phishing = sum.phishing.saturating_sub(outcome.duplicate_phishing);
    *last_uid = batch_max;
    Ok(())
}

/// Searches every slice of `plan` on `src` and fetches what each finds, sending every
/// fetched batch, in ascending UID order, to `tx` (the classify-and-store worker).
///
/// A plan of several slices (a scan of thousands of messages: a first scan, or catching up
/// after a long pause) is fetched over a second connection, opened while the first slice
/// is searched: the server then searches the next slice while it sends the mail of the
/// previous one, in two processes that can use two cores. The first body fetch of a
/// session can cost the server far more than the rest (Dovecot with Maildir reads the
/// whole folder listing: ~350 ms at 100,000 messages), and that too is hidden behind the
/// searches. If the second connection cannot be opened (a server limit on connections,
/// say) or its thread cannot be started, everything is fetched on `src`, as for a plan of
/// one slice.
fn search_and_fetch<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    src: &mut ImapSource,
    mailbox: &'scope str,
    uidvalidity: u32,
    plan: Vec<SearchSlice>,
    tx: SyncSender<Vec<Fetched>>,
) -> Result<(), SourceError> {
    let mut helper = (plan.len() > 1)
        .then(|| Fetcher::spawn(scope, src.account(), mailbox, uidvalidity, tx.clone()))
        .flatten();
    let name = src.account().name.clone();
    let mut sink = |batch| tx.send(batch).map_err(|_| abandoned(&name));
    let mut outcome = Ok(());
    for slice in plan {
        let uids = match src.search_slice(slice) {
            Ok(uids) => uids,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        };
        if let Some(h) = &mut helper {
            if h.is_open() {
                if h.uids.send(uids).is_err() {
                    // It stopped on an error, reported below.
                    break;
                }
                continue;
            }
            helper = None;
        }
        if let Err(e) = src.fetch(&uids, &mut sink) {
            outcome = Err(e);
            break;
        }
    }
    if let Some(h) = helper {
        // Lets it finish the slices already sent, so their mail is stored.
        drop(h.uids);
        let fetched = h
            .handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        outcome = outcome.and(fetched);
    }
    outcome
}

fn abandoned(account: &str) -> SourceError {
    SourceError::Protocol {
        account: account.to_string(),
        detail: "fetch abandoned after a state store error".into(),
    }
}

/// The second connection of [`search_and_fetch`], on its own thread: it opens the mailbox
/// read-only, then fetches each list of UIDs it is sent, until the sender goes away.
struct Fetcher<'scope> {
    /// The outcome of opening the connection, until it has been read.
    ready: Option<Receiver<Result<(), SourceError>>>,
    open: bool,
    uids: Sender<Vec<u32>>,
    handle: ScopedJoinHandle<'scope, Result<(), SourceError>>,
}

impl<'scope> Fetcher<'scope> {
    fn spawn(
        scope: &'scope std::thread::Scope<'scope, '_>,
        account: &AccountConfig,
        mailbox: &'scope str,
        uidvalidity: u32,
        tx: SyncSender<Vec<Fetched>>,
    ) -> Option<Self> {
        let (ready_tx, ready) = mpsc::channel();
        let (uids, uids_rx) = mpsc::channel::<Vec<u32>>();
        let mut account = account.clone();
        // Fetching needs no write access, and EXAMINE leaves \Recent alone.
        account.after_processing = Default::default();
        let spawned = std::thread::Builder::new()
            .name("fetch".into())
            .spawn_scoped(scope, move || {
                let mut fetcher = ImapSource::new(account);
                let opened = fetcher.connect().and_then(|()| {
                    let status = fetcher.examine(mailbox)?;
                    if status.uidvalidity == uidvalidity {
                        return Ok(());
                    }
                    Err(SourceError::Protocol {
                        account: fetcher.account().name.clone(),
                        detail: format!(
                            "the UIDVALIDITY of {mailbox} changed from {uidvalidity} to {}",
                            status.uidvalidity
                        ),
                    })
                });
                let open = opened.is_ok();
                // The receiver is gone only when the scan has already ended.
                let _ = ready_tx.send(opened);
                if !open {
                    return Ok(());
                }
                // The first slice's search on the other connection leaves time for this.
                fetcher.warm_up()?;
                let name = fetcher.account().name.clone();
                let mut sink = |batch| tx.send(batch).map_err(|_| abandoned(&name));
                let fetched = uids_rx
                    .into_iter()
                    .try_for_each(|uids| fetcher.fetch(&uids, &mut sink));
                fetcher.logout();
                fetched
            });
        match spawned {
            Ok(handle) => Some(Fetcher {
                ready: Some(ready),
                open: false,
                uids,
                handle,
            }),
            Err(e) => {
                // A `TasksMax` reached, say: the scan fetches on the first connection.
                info!("no second connection for this scan, fetching on one: cannot start a thread: {e}");
                None
            }
        }
    }

    /// Whether the connection is open: waits for the outcome the first time, and logs why
    /// when it could not be opened.
    fn is_open(&mut self) -> bool {
        if let Some(ready) = self.ready.take() {
            match ready.recv() {
                Ok(Ok(())) => self.open = true,
                Ok(Err(e)) => {
                    info!(
                        "no second connection for this scan, fetching on one: {}",
                        crate::error_chain(&e)
                    );
                }
                // Cannot happen: the thread sends before it can end.
                Err(_) => {}
            }
        }
        self.open
    }
}

/// Fetched batches that may wait for classification; see `poll_mailbox`.
const QUEUED_BATCHES: usize = 8;

/// At most this many threads classify the batches of one large scan; see
/// [`classify_pool`].
const MAX_CLASSIFIERS: usize = 2;

/// Yields the batches received on `rx` classified, in the order they were received, so
/// that each batch is still stored with the cursor that covers it and nothing after it.
/// With `n` > 1 the work is dealt in turn to `n` classifying threads; otherwise (and when
/// no second thread can be started: a `TasksMax` reached, say) the caller's thread
/// classifies, as for every small poll.
///
/// Why several: in a large scan, the server's search of the next slice and its sending of
/// the last one take two cores, and one classifying thread gets what is left; once the
/// searches end, the last slice's mail arrives faster than one core classifies it (at
/// 100,000 messages, classification was most of the scan's tail). Batch `j` goes to
/// classifier `j % n` and is read back from it in turn, so the order needs no reordering
/// buffer, and at most `2 n` batches are out with the classifiers.
fn classify_pool<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    rx: Receiver<Vec<Fetched>>,
    opts: &'scope extract::Options,
    n: usize,
) -> Classified<'scope> {
    // One classifying thread is no faster than classifying on the caller's.
    let threads = if n > 1 { n } else { 0 };
    let mut pool = Vec::new();
    for _ in 0..threads {
        let (jobs, jobs_rx) = mpsc::channel::<Vec<Fetched>>();
        let (done_tx, done) = mpsc::channel::<Vec<Read>>();
        let spawned = std::thread::Builder::new()
            .name("classify".into())
            .spawn_scoped(scope, move || {
                for batch in jobs_rx {
                    if done_tx.send(classify_batch(opts, batch)).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(_) => pool.push(Classifier { jobs, done }),
            Err(e) => {
                debug!("classifying on {} threads, not {n}: {e}", pool.len().max(1));
                break;
            }
        }
    }
    if pool.len() == 1 {
        // The second could not be started (see above); dropping the first ends it.
        pool.clear();
    }
    Classified {
        rx,
        opts,
        pool,
        dealt: 0,
        taken: 0,
        ended: false,
    }
}

/// One classifying thread of [`classify_pool`]: batches in, classified batches out.
struct Classifier {
    jobs: Sender<Vec<Fetched>>,
    done: Receiver<Vec<Read>>,
}

/// The classified batches of [`classify_pool`], in order.
struct Classified<'a> {
    rx: Receiver<Vec<Fetched>>,
    opts: &'a extract::Options,
    pool: Vec<Classifier>,
    /// Batches dealt to the pool, and taken back from it, so far.
    dealt: usize,
    taken: usize,
    /// `rx` has nothing more.
    ended: bool,
}

impl Iterator for Classified<'_> {
    type Item = Vec<Read>;

    fn next(&mut self) -> Option<Vec<Read>> {
        let n = self.pool.len();
        if n == 0 {
            return self.rx.recv().ok().map(|b| classify_batch(self.opts, b));
        }
        // Keep every classifier busy while batches are waiting, but wait for one only when
        // none is out: a result may be ready meanwhile.
        while !self.ended && self.dealt - self.taken < 2 * n {
            let batch = if self.dealt == self.taken {
                self.rx.recv().ok()
            } else {
                match self.rx.try_recv() {
                    Ok(b) => Some(b),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => None,
                }
            };
            let Some(batch) = batch else {
                self.ended = true;
                break;
            };
            // A classifier that is gone panicked; the scope reports that when it ends.
            self.pool[self.dealt % n].jobs.send(batch).ok()?;
            self.dealt += 1;
        }
        if self.dealt == self.taken {
            return None;
        }
        let batch = self.pool[self.taken % n].done.recv().ok()?;
        self.taken += 1;
        Some(batch)
    }
}

fn poll_mailbox(
    src: &mut ImapSource,
    account: &AccountConfig,
    mailbox: &str,
    store: &mut Store,
    opts: &extract::Options,
    now: i64,
) -> Result<MailboxSummary, PollError> {
    let mut sum = MailboxSummary {
        mailbox: mailbox.to_string(),
        ..MailboxSummary::default()
    };
    let status = src.examine(mailbox)?;
    sum.exists = status.exists;
    let cursor = store.cursor(&account.name, mailbox)?;
    let after = match cursor {
        Some(c) if c.uidvalidity == status.uidvalidity => c.last_uid,
        Some(c) => {
            warn!(
                account = %account.name, mailbox,
                old = c.uidvalidity, new = status.uidvalidity,
                "UIDVALIDITY changed: rescanning the mailbox (already stored mail is deduplicated)"
            );
            sum.uidvalidity_reset = true;
            0
        }
        None => 0,
    };
    let plan = src.search_plan(after);
    let mut last_uid = after;
    let mut actions: Actions = BTreeMap::new();
    let ctx = BatchContext {
        account,
        mailbox,
        uidvalidity: status.uidvalidity,
        now,
    };
    // Classifying and storing batches overlaps with fetching the next ones and with
    // searching the next slice of the mailbox: a first scan then costs about the larger of
    // server time and our CPU time, not their sum. The channel holds up to
    // QUEUED_BATCHES batches, enough for the classification backlog built up while a
    // slice is fetched to be worked off while the server searches the next slice, and
    // still a bound on memory (8 batches of 20 invitations of ~45 KB: ~7 MB, and up to
    // two more per classifier in `classify_pool`). A store failure stops the storing
    // thread, which drops the receiver; the fetch's next send fails, which ends the
    // fetch, and the failure is reported as what it is.
    let mut store_failure: Option<StoreError> = None;
    let fetched = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Fetched>>(QUEUED_BATCHES);
        let (sum_w, actions_w, last_w, store_w, ctx_w) =
            (&mut sum, &mut actions, &mut last_uid, &mut *store, &ctx);
        let searching = !plan.is_empty();
        // Several classifying threads only for a scan large enough for a second connection.
        let classifiers = if plan.len() > 1 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_CLASSIFIERS)
        } else {
            1
        };
        let classified = classify_pool(scope, rx, opts, classifiers);
        let worker = scope.spawn(move || -> Result<(), StoreError> {
            if searching {
                // The extractor's regexes compile while the server searches, not at the
                // first message. An unchanged mailbox (no search) skips this.
                extract::prepare();
            }
            for batch in classified {
                store_batch(ctx_w, batch, sum_w, actions_w, last_w, store_w)?;
            }
            Ok(())
        });
        let fetched = search_and_fetch(scope, src, mailbox, status.uidvalidity, plan, tx);
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => store_failure = Some(e),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        fetched
    });
    if let Some(e) = store_failure {
        return Err(PollError::Store(e));
    }
    fetched?;
    // Everything below UIDNEXT was covered by the search, so the cursor may move past
    // non-candidate mail too; the next poll then asks only about newer messages.
    let covered = status
        .uidnext
        .map(|n| n.saturating_sub(1))
        .unwrap_or(last_uid)
        .max(last_uid);
    if covered != after || cursor.is_none() || sum.uidvalidity_reset {
        store.commit_batch(
            &account.name,
            mailbox,
            Cursor {
                uidvalidity: status.uidvalidity,
                last_uid: covered,
            },
            &[],
        )?;
    }
    for (_, (action, uids)) in actions {
        if let Err(e) = src.apply_action(&uids, &action) {
            // The mail is stored; failing to tidy the inbox is worth a warning, not a retry
            // of the whole poll.
            warn!(account = %account.name, mailbox, "after_processing {action:?} failed: {}", crate::error_chain(&e));
        }
    }
    store.record_scan(&ScanStat {
        account: account.name.clone(),
        mailbox: mailbox.to_string(),
        last_poll_at: now,
        messages_scanned: sum.scanned as u64,
        mailbox_size: Some(u64::from(status.exists)),
    })?;
    debug!(
        account = %account.name, mailbox,
        scanned = sum.scanned, invitations = sum.invitations, reminders = sum.reminders,
        phishing = sum.phishing, new_items = sum.new_items, skipped = sum.skipped.len(),
        "poll done"
    );
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small message; `words` makes some take longer to classify than others.
    fn fetched(uid: u32, words: usize) -> Fetched {
        let raw = format!(
            "From: a@example.org\r\nSubject: {uid}\r\n\r\n{}\r\n",
            "word ".repeat(words)
        );
        Fetched {
            uid,
            size: raw.len() as u32,
            raw: Some(raw.into_bytes()),
        }
    }

    /// Batches of uneven work come back whole and in the order they were sent, with one
    /// classifier or several.
    #[test]
    fn classify_pool_keeps_the_order_of_batches() {
        let opts = extract::Options::default();
        for n in [1, 2, 3] {
            let mut uid = 0;
            let batches: Vec<Vec<Fetched>> = (0..40)
                .map(|j| {
                    (0..1 + j % 7)
                        .map(|k| {
                            uid += 1;
                            // Every third batch is much slower to classify.
                            fetched(uid, if j % 3 == 0 { 20_000 } else { k })
                        })
                        .collect()
                })
                .collect();
            let sent: Vec<Vec<u32>> = batches
                .iter()
                .map(|b| b.iter().map(|f| f.uid).collect())
                .collect();
            let got: Vec<Vec<u32>> = std::thread::scope(|scope| {
                let (tx, rx) = mpsc::sync_channel(QUEUED_BATCHES);
                let classified = classify_pool(scope, rx, &opts, n);
                scope.spawn(move || {
                    for b in batches {
                        tx.send(b).unwrap();
                    }
                });
                classified
                    .map(|b| {
                        assert!(b.iter().all(|r| matches!(r.classified, Some(Ok(_)))));
                        b.iter().map(|r| r.uid).collect()
                    })
                    .collect()
            });
            assert_eq!(got, sent, "{n} classifiers");
        }
    }

    /// When the storing side stops (a store error), the fetch's sends start failing after
    /// a bounded number of batches, so the fetch ends instead of filling memory.
    #[test]
    fn classify_pool_stops_the_fetch_when_storing_stops() {
        let opts = extract::Options::default();
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel(QUEUED_BATCHES);
            let mut classified = classify_pool(scope, rx, &opts, 2);
            tx.send(vec![fetched(1, 1)]).unwrap();
            assert_eq!(classified.next().map(|b| b[0].uid), Some(1));
            drop(classified);
            let accepted = (2..1000)
                .take_while(|&uid| tx.send(vec![fetched(uid, 1)]).is_ok())
                .count();
            assert!(
                accepted < 100,
                "{accepted} batches accepted after the store stopped"
            );
        });
    }
}
