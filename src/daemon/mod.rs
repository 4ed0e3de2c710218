//! The long-running service: one poll loop per account and one digest loop, on tokio.
//! Shutdown is a future passed in; reloads arrive on a channel. Every long wait is
//! `select!`ed against the stop signal, and work stops only at safe points: a poll's batch
//! and cursor commit together, and a digest is marked sent only after the server's 250.
//!
//! Blocking work (IMAP, SQLite, secret commands) runs on blocking threads. A poll that is
//! in flight when shutdown comes is abandoned rather than awaited: whatever it committed is
//! consistent, and what it did not commit is fetched again next time.

pub mod memory;
pub mod notify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::{AccountConfig, Config};
use crate::deliver::{self, WhenEmpty};
use crate::extract;
use crate::pipeline::{self, PollError, PollSummary};
use crate::source::imap::{IdleOutcome, ImapSource};
use crate::store::{Problem, Store, StoreError};

/// IMAP servers drop IDLE after 30 minutes (RFC 2177); re-issue well before.
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);
/// Retry policy for a failing account: doubling from 5 s to 15 min, with jitter.
const POLL_BACKOFF_MIN: Duration = Duration::from_secs(5);
const POLL_BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Retry policy for a digest the SMTP server did not accept: doubling from 1 min to 1 h.
const SEND_BACKOFF_MIN: Duration = Duration::from_secs(60);
const SEND_BACKOFF_MAX: Duration = Duration::from_secs(3600);
/// Longest single sleep: wall-clock deadlines are re-checked at least this often, so a
/// machine that was suspended catches up soon after it wakes.
const MAX_NAP: Duration = Duration::from_secs(30);
/// Meta key: the last schedule slot a digest run was made for (Unix seconds).
const META_LAST_SLOT: &str = "last_digest_slot";
/// Meta key: the last time an "all quiet" note was sent.
const META_LAST_QUIET: &str = "last_all_quiet";
/// How long a digest that is due at start-up (missed while the daemon was down) waits for
/// the accounts' first poll, so that it carries the mail that arrived in the meantime.
const FIRST_POLL_WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config lacks what sending a digest needs (`digest.from`, `digest.to`, `[smtp]`):
    /// a daemon that can never deliver would only fill its outbox.
    #[error("the daemon sends digests, but the configuration cannot: {0}")]
    Config(#[source] crate::config::ConfigError),
    #[error("cannot open the state store in {dir}: {source}")]
    Store {
        dir: PathBuf,
        // Boxed: the store error is large and this path is cold.
        source: Box<StoreError>,
    },
}

/// Doubling backoff with +-20% jitter. The policy lives in the constants above.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Option<Duration>,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            current: None,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let base = match self.current {
            None => self.min,
            Some(d) => (d * 2).min(self.max),
        };
        self.current = Some(base);
        jitter(base)
    }

    pub fn reset(&mut self) {
        self.current = None;
    }
}

fn jitter(d: Duration) -> Duration {
    // No RNG dependency: the sub-second clock is random enough to spread retries.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.8 + (nanos % 1000) as f64 / 1000.0 * 0.4;
    d.mul_f64(factor)
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What the daemon shows in `systemctl status`.
#[derive(Debug, Default)]
struct Board {
    polls: Vec<(String, String)>,
    next_digest: String,
}

impl Board {
    fn publish(&self) {
        let polls: Vec<String> = self
            .polls
            .iter()
            .map(|(a, s)| format!("{a}: {s}"))
            .collect();
        let mut parts = polls;
        if !self.next_digest.is_empty() {
            parts.push(format!("next digest {}", self.next_digest));
        }
        if !parts.is_empty() {
            notify::status(&parts.join("; "));
        }
    }
}

enum Outcome {
    Shutdown,
    Reload,
}

/// Runs until `shutdown` resolves. A message on `reload` re-reads the config from
/// `config_path`; an invalid new config is logged and the running one kept.
pub async fn run(
    config_path: PathBuf,
    mut cfg: Config,
    shutdown: impl std::future::Future<Output = ()>,
    mut reload: mpsc::UnboundedReceiver<()>,
) -> Result<(), DaemonError> {
    cfg.require_sending().map_err(DaemonError::Config)?;
    open_store(&cfg.state.dir)?;
    notify::ready();
    info!(
        accounts = cfg.accounts.len(),
        schedule = %cfg.digest.schedule,
        state = %cfg.state.dir.display(),
        "invite-digest running"
    );
    let watchdog = notify::watchdog_interval().map(|every| {
        tokio::spawn(async move {
            loop {
                notify::watchdog();
                tokio::time::sleep(every).await;
            }
        })
    });
    tokio::pin!(shutdown);
    let result = loop {
        let (stop_tx, stop_rx) = watch::channel(false);
        let board = Arc::new(Mutex::new(Board::default()));
        let cfg_arc = Arc::new(cfg.clone());
        let mut tasks = Vec::new();
        for account in &cfg.accounts {
            tasks.push(tokio::spawn(account_loop(
                account.clone(),
                cfg_arc.clone(),
                stop_rx.clone(),
                board.clone(),
            )));
        }
        tasks.push(tokio::spawn(digest_loop(
            cfg_arc.clone(),
            stop_rx.clone(),
            board.clone(),
        )));
        let outcome = tokio::select! {
            _ = &mut shutdown => Outcome::Shutdown,
            r = reload.recv() => match r { Some(()) => Outcome::Reload, None => Outcome::Shutdown },
        };
        let _ = stop_tx.send(true);
        // Loops return at their next safe point; a bounded wait keeps shutdown within a
        // few seconds even if one is stuck in a slow SMTP dialogue.
        let joined = tokio::time::timeout(Duration::from_secs(4), async {
            for t in tasks.iter_mut() {
                let _ = t.await;
            }
        })
        .await;
        if joined.is_err() {
            warn!("some work did not stop in time and was abandoned (nothing is lost: it resumes at the next start)");
            for t in &tasks {
                t.abort();
            }
        }
        match outcome {
            Outcome::Shutdown => break Ok(()),
            Outcome::Reload => {
                notify::reloading();
                let loaded = Config::load(&config_path).and_then(|new| {
                    new.require_sending()?;
                    Ok(new)
                });
                match loaded {
                    Ok(new) => {
                        info!("configuration reloaded from {}", config_path.display());
                        cfg = new;
                    }
                    Err(e) => error!(
                        "configuration reload failed; still running with the previous configuration:\n{}",
                        crate::error_chain(&e)
                    ),
                }
                notify::ready();
            }
        }
    };
    notify::stopping();
    if let Some(w) = watchdog {
        w.abort();
    }
    info!("invite-digest stopped");
    result
}

fn open_store(dir: &Path) -> Result<Store, DaemonError> {
    Store::open(dir).map_err(|source| DaemonError::Store {
        dir: dir.to_path_buf(),
        source: Box::new(source),
    })
}

/// Sleeps until `stop` changes or `d` passes. Returns true when stopping.
async fn nap(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = stop.changed() => true,
        _ = tokio::time::sleep(d) => *stop.borrow(),
    }
}

/// Sleeps until the wall-clock time `until` (Unix seconds), in naps, so a suspend or a
/// clock change is noticed. Returns true when stopping.
async fn sleep_until_wall(stop: &mut watch::Receiver<bool>, until: i64) -> bool {
    loop {
        let now = chrono::Utc::now();
        let left_ms = until * 1000 - now.timestamp_millis();
        if left_ms <= 0 {
            return *stop.borrow();
        }
        let d = Duration::from_millis(left_ms as u64).min(MAX_NAP);
        if nap(stop, d).await {
            return true;
        }
    }
}

fn extract_options(cfg: &Config) -> extract::Options {
    extract::Options {
        trusted_authserv_ids: cfg.authenticity.trusted_authserv_ids.clone(),
        extra_default_texts: cfg.notes.default_texts.clone(),
    }
}

/// Connects if needed and polls all mailboxes once. On failure the session is dropped so
/// the next attempt reconnects, and the problem is recorded for the next digest.
///
/// A session kept open since the previous poll may have gone stale in between (the server
/// dropped an idle client, restarted, or lost track of a mailbox that was recreated under
/// it: Dovecot then answers `NO [SERVERBUG]`). So when a poll on a reused session fails, it
/// is retried once on a fresh connection, and only that result counts. A poll that
/// connected afresh is not retried: its failure is the server's answer.
pub fn poll_once(
    src: &mut ImapSource,
    account: &AccountConfig,
    state_dir: &Path,
    opts: &extract::Options,
) -> Result<PollSummary, PollError> {
    let attempt = |src: &mut ImapSource| {
        // Connecting waits on the server most of the time; opening the state database
        // (creating it, the first time) on fsync. They run side by side.
        let (connected, store) = std::thread::scope(|scope| {
            let opening = scope.spawn(|| Store::open(state_dir));
            let connected = if src.is_connected() {
                Ok(())
            } else {
                src.connect()
            };
            let store = opening
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (connected, store)
        });
        connected?;
        let mut store = store?;
        pipeline::poll_account(src, account, &mut store, opts, now_unix())
    };
    let reused = src.is_connected();
    let mut result = attempt(src);
    if reused {
        if let Err(PollError::Source(e)) = &result {
            info!(
                account = %account.name,
                "the open session failed ({}); retrying on a new connection",
                crate::error_chain(e)
            );
            src.logout();
            result = attempt(src);
        }
    }
    if let Err(e) = &result {
        src.logout();
        if let Ok(mut store) = Store::open(state_dir) {
            let _ = store.record_problem(&Problem {
                at: now_unix(),
                account: Some(account.name.clone()),
                kind: problem_kind(e).to_string(),
                detail: crate::error_chain(e),
            });
        }
    }
    result
}

/// The digest footer groups problems by this and shows it ("login failed", ...), so it says
/// what kind of failure it was: a TLS or mailbox error is not a failed login.
fn problem_kind(e: &PollError) -> &'static str {
    use crate::source::imap::SourceError;
    match e {
        PollError::Source(s) => match s {
            SourceError::Auth { .. } | SourceError::Secret { .. } => "login_failed",
            SourceError::Tls { .. } => "tls_failed",
            SourceError::Mailbox { .. } => "mailbox_error",
            SourceError::Connect { .. }
            | SourceError::Timeout { .. }
            | SourceError::Io { .. }
            | SourceError::NotConnected { .. } => "server_unreachable",
            SourceError::Protocol { .. } => "server_error",
            SourceError::PlaintextRefused { .. } | SourceError::Unsupported { .. } => "poll_failed",
        },
        PollError::Store(_) => "state_store_error",
    }
}

async fn account_loop(
    account: AccountConfig,
    cfg: Arc<Config>,
    mut stop: watch::Receiver<bool>,
    board: Arc<Mutex<Board>>,
) {
    let mut backoff = Backoff::new(POLL_BACKOFF_MIN, POLL_BACKOFF_MAX);
    let opts = extract_options(&cfg);
    let mut src = Some(ImapSource::new(account.clone()));
    loop {
        let Some(mut s) = src.take() else { return };
        let acct = account.clone();
        let dir = cfg.state.dir.clone();
        let o = opts.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let r = poll_once(&mut s, &acct, &dir, &o);
            // Everything the poll allocated is freed by now (its store connection too):
            // hand it back before the long wait for the next one.
            memory::trim();
            (s, r)
        });
        let (s, result) = tokio::select! {
            r = handle => match r {
                Ok(v) => v,
                Err(e) => {
                    error!(account = %account.name, "poll task failed: {e}");
                    (ImapSource::new(account.clone()), Err(PollError::Source(crate::source::imap::SourceError::Protocol {
                        account: account.name.clone(),
                        detail: "poll task failed".into(),
                    })))
                }
            },
            _ = stop.changed() => return,
        };
        let wait = match &result {
            Ok(summary) => {
                backoff.reset();
                info!("{}", summary.line());
                set_board(
                    &board,
                    &account.name,
                    format!("last poll {}", chrono::Local::now().format("%H:%M:%S")),
                );
                None
            }
            Err(e) => {
                // A failure that needs the user (wrong password, certificate, missing
                // mailbox) is retried no faster than the poll interval: logging in with a
                // wrong password every few seconds gets accounts locked by providers.
                let mut d = backoff.next_delay();
                if !e.is_transient() {
                    d = d.max(account.poll_interval);
                }
                error!(account = %account.name, "poll failed (retrying in {}s): {}", d.as_secs(), crate::error_chain(e));
                set_board(&board, &account.name, "failing".to_string());
                Some(d)
            }
        };
        src = Some(s);
        if let Some(d) = wait {
            if nap(&mut stop, d).await {
                return;
            }
            continue;
        }
        // Wait for the next poll: IDLE when asked for and supported, else the interval.
        let use_idle = account.idle
            && src
                .as_ref()
                .is_some_and(|s| s.is_connected() && s.has_idle());
        if use_idle {
            let Some(mut s) = src.take() else { return };
            let t = account.poll_interval.min(MAX_IDLE);
            let handle = tokio::task::spawn_blocking(move || {
                let r = s.idle_wait(t);
                (s, r)
            });
            tokio::select! {
                r = handle => match r {
                    Ok((s, Ok(IdleOutcome::Unsupported))) => {
                        src = Some(s);
                        if nap(&mut stop, account.poll_interval).await { return; }
                    }
                    Ok((s, Ok(_))) => src = Some(s),
                    Ok((mut s, Err(e))) => {
                        warn!(account = %account.name, "IDLE ended: {}", crate::error_chain(&e));
                        s.logout();
                        src = Some(s);
                    }
                    Err(_) => src = Some(ImapSource::new(account.clone())),
                },
                _ = stop.changed() => return,
            }
        } else if nap(&mut stop, account.poll_interval).await {
            return;
        }
    }
}

fn set_board(board: &Arc<Mutex<Board>>, account: &str, text: String) {
    // A poisoned lock only means another task panicked mid-update; the board is cosmetic.
    if let Ok(mut b) = board.lock() {
        match b.polls.iter_mut().find(|(a, _)| a == account) {
            Some(p) => p.1 = text,
            None => b.polls.push((account.to_string(), text)),
        }
        b.publish();
    }
}

async fn digest_loop(cfg: Arc<Config>, mut stop: watch::Receiver<bool>, board: Arc<Mutex<Board>>) {
    let mut send_backoff = Backoff::new(SEND_BACKOFF_MIN, SEND_BACKOFF_MAX);
    let sched = cfg.digest.schedule.clone();
    let mut store = {
        let mut open_backoff = Backoff::new(POLL_BACKOFF_MIN, POLL_BACKOFF_MAX);
        loop {
            match Store::open(&cfg.state.dir) {
                Ok(s) => break s,
                Err(e) => {
                    let d = open_backoff.next_delay();
                    error!(
                        "digest loop cannot open the state store (retrying in {}s): {}",
                        d.as_secs(),
                        crate::error_chain(&e)
                    );
                    if nap(&mut stop, d).await {
                        return;
                    }
                }
            }
        }
    };
    let now = now_unix();
    let last_slot = store
        .get_meta(META_LAST_SLOT)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<i64>().ok());
    let last_slot_dt = last_slot.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    let missed = match last_slot_dt {
        None => {
            // First start: nothing was missed.
            let _ = store.set_meta(META_LAST_SLOT, &now.to_string());
            None
        }
        Some(last) => sched.missed_slot(Some(last), chrono::Utc::now()),
    };
    let unsent = store.unsent_digests().map(|d| d.len()).unwrap_or(0);
    if missed.is_some() || unsent > 0 {
        // Mail that arrived while the daemon was down belongs in this digest: let every
        // account finish its first poll (or fail it) before building it.
        if wait_first_polls(&cfg, &board, &mut stop).await {
            return;
        }
    }
    if let Some(slot) = missed {
        info!(
            "a digest was due at {} while the daemon was not running: sending it now",
            slot
        );
        run_slot(&cfg, &mut store, slot.timestamp(), &mut send_backoff).await;
    } else if unsent > 0 {
        // A digest that failed (or was interrupted) before the restart: retrying now is
        // the point of a restart after fixing the mail server or the config.
        info!("retrying the unsent digest left from before the restart");
        retry_unsent(&cfg, &mut store, &mut send_backoff, true).await;
    }
    // No retry before this time (see below).
    let mut retry_floor = 0;
    loop {
        let now = chrono::Utc::now();
        let Some(next_slot) = sched.next_after(now) else {
            warn!(
                "the schedule {} never fires again; the digest loop stops",
                sched
            );
            return;
        };
        if let Ok(mut b) = board.lock() {
            b.next_digest = next_slot
                .with_timezone(&sched.timezone())
                .format("%a %-d %b %H:%M:%S %Z")
                .to_string();
            b.publish();
        }
        let next_retry = store
            .unsent_digests()
            .ok()
            .and_then(|ds| ds.iter().filter_map(|d| d.next_attempt_at).min())
            .map(|r| r.max(retry_floor));
        let (wake, is_slot) = match next_retry {
            Some(r) if r < next_slot.timestamp() => (r, false),
            _ => (next_slot.timestamp(), true),
        };
        if sleep_until_wall(&mut stop, wake).await {
            return;
        }
        if is_slot {
            run_slot(&cfg, &mut store, wake, &mut send_backoff).await;
            // What building and sending the digest used is freed; the next one is hours away.
            memory::trim();
        } else {
            retry_unsent(&cfg, &mut store, &mut send_backoff, false).await;
            // A retry that left a digest due (the store failing, a send error that could
            // not be recorded) must not wake the loop again at once.
            let now = now_unix();
            let still_due = store.unsent_digests().map_or(true, |ds| {
                ds.iter()
                    .any(|d| d.next_attempt_at.is_some_and(|t| t <= now))
            });
            if still_due {
                retry_floor = now + send_backoff.next_delay().as_secs().max(1) as i64;
            }
            memory::trim();
        }
    }
}

/// Waits until every account has finished its first poll, successfully or not (the
/// account loops put each account on the board after each poll), at most
/// `FIRST_POLL_WAIT`. Returns true when stopping.
async fn wait_first_polls(
    cfg: &Config,
    board: &Arc<Mutex<Board>>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let deadline = tokio::time::Instant::now() + FIRST_POLL_WAIT;
    loop {
        let done = board.lock().map_or(true, |b| {
            cfg.accounts
                .iter()
                .all(|a| b.polls.iter().any(|(name, _)| *name == a.name))
        });
        if done {
            return false;
        }
        if tokio::time::Instant::now() >= deadline {
            warn!(
                "the first poll did not finish within {}s; building the digest without it",
                FIRST_POLL_WAIT.as_secs()
            );
            return false;
        }
        if nap(stop, Duration::from_millis(100)).await {
            return true;
        }
    }
}

/// One scheduled digest run.
async fn run_slot(cfg: &Config, store: &mut Store, slot: i64, backoff: &mut Backoff) {
    let _ = store.set_meta(META_LAST_SLOT, &slot.to_string());
    let now = now_unix();
    // "All quiet" means nothing was mailed for a week: neither a digest nor a note.
    let quiet_due = cfg.digest.weekly_all_quiet && {
        let last_quiet = store
            .get_meta(META_LAST_QUIET)
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok());
        let last_sent = store.last_sent_digest_at().ok().flatten();
        last_quiet
            .max(last_sent)
            .is_none_or(|t| now - t >= 7 * 86_400)
    };
    let when_empty = if cfg.digest.send_empty || quiet_due {
        WhenEmpty::Send
    } else {
        WhenEmpty::Skip
    };
    attempt(cfg, store, when_empty, backoff).await;
}

/// Retries the unsent digests that are due (all of them when `all`). The outbox copy is
/// sent as it is when its items are still exactly what is pending; otherwise it is
/// replaced by a digest of everything pending now.
async fn retry_unsent(cfg: &Config, store: &mut Store, backoff: &mut Backoff, all: bool) {
    let now = now_unix();
    let due: Vec<_> = match store.unsent_digests() {
        Ok(ds) => ds
            .into_iter()
            .filter(|d| all || d.next_attempt_at.is_none_or(|t| t <= now))
            .collect(),
        Err(e) => {
            error!("cannot read the outbox: {}", crate::error_chain(&e));
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    // An empty digest (send_empty, or the weekly "all quiet" note) is retried as such.
    let when_empty = if due.iter().any(|d| d.item_ids.is_empty()) {
        WhenEmpty::Send
    } else {
        WhenEmpty::Skip
    };
    if let Attempt::Nothing = attempt(cfg, store, when_empty, backoff).await {
        // The digests' items are no longer pending (another digest carried them):
        // nothing is left to retry.
        for d in &due {
            let _ = store.supersede_digest(&d.id);
        }
    }
}

enum Attempt {
    /// A digest was built and sent, or sending it failed (then it stays in the outbox
    /// with a retry time).
    Tried,
    /// Nothing to send.
    Nothing,
    /// The digest could not be built.
    Error,
}

async fn attempt(
    cfg: &Config,
    store: &mut Store,
    when_empty: WhenEmpty,
    backoff: &mut Backoff,
) -> Attempt {
    let now = now_unix();
    match deliver::prepare(cfg, store, now, when_empty) {
        Ok(None) => {
            info!("no new invitations: no digest sent");
            Attempt::Nothing
        }
        Ok(Some(p)) => {
            let delay = backoff.next_delay();
            match deliver::send_prepared(cfg, store, &p, now_unix, delay).await {
                Ok(()) => {
                    backoff.reset();
                    if p.item_ids.is_empty() {
                        // An empty digest tells the reader all is quiet, whatever the
                        // reason it was sent.
                        let _ = store.set_meta(META_LAST_QUIET, &now.to_string());
                    }
                    Attempt::Tried
                }
                Err(e) => {
                    let _ = store.record_problem(&Problem {
                        at: now,
                        account: None,
                        kind: "digest_not_sent".into(),
                        detail: crate::error_chain(&e),
                    });
                    warn!("will retry the digest in about {}s", delay.as_secs());
                    Attempt::Tried
                }
            }
        }
        Err(e) => {
            error!("cannot build the digest: {}", crate::error_chain(&e));
            Attempt::Error
        }
    }
}
