//! The long-running service: one poll loop per account and one digest loop, on tokio.
//! Shutdown is a future passed in; reloads arrive on a channel. Every long wait is
//! `select!`ed against the stop signal, and work stops only at safe points: a poll's batch
//! and cursor commit together, and a digest is marked sent only after the server's 250.
//!
//! Blocking work (IMAP, SQLite, secret commands) runs on blocking threads. A poll that is
//! in flight when shutdown comes is abandoned rather than awaited: whatever it committed is
//! consistent, and what it did not commit is fetched again next time.

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

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
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
        notify::status(&format!(
            "{}; next digest {}",
            polls.join("; "),
            self.next_digest
        ));
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
                match Config::load(&config_path) {
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
        if !src.is_connected() {
            src.connect()?;
        }
        let mut store = Store::open(state_dir)?;
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
    let mut store = match Store::open(&cfg.state.dir) {
        Ok(s) => s,
        Err(e) => {
            error!(
                "digest loop cannot open the state store: {}",
                crate::error_chain(&e)
            );
            return;
        }
    };
    let now = now_unix();
    let last_slot = store
        .get_meta(META_LAST_SLOT)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<i64>().ok());
    let last_slot_dt = last_slot.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    match last_slot_dt {
        None => {
            // First start: nothing was missed.
            let _ = store.set_meta(META_LAST_SLOT, &now.to_string());
        }
        Some(last) => {
            if let Some(slot) = sched.missed_slot(Some(last), chrono::Utc::now()) {
                info!(
                    "a digest was due at {} while the daemon was not running: sending it now",
                    slot
                );
                run_slot(&cfg, &mut store, slot.timestamp(), &mut send_backoff).await;
            }
        }
    }
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
                .format("%a %-d %b %H:%M %Z")
                .to_string();
            b.publish();
        }
        let next_retry = store
            .unsent_digests()
            .ok()
            .and_then(|ds| ds.iter().filter_map(|d| d.next_attempt_at).min());
        let wake = match next_retry {
            Some(r) if r < next_slot.timestamp() => r,
            _ => next_slot.timestamp(),
        };
        if sleep_until_wall(&mut stop, wake).await {
            return;
        }
        if wake == next_slot.timestamp() {
            run_slot(&cfg, &mut store, wake, &mut send_backoff).await;
        } else {
            retry_unsent(&cfg, &mut store, &mut send_backoff).await;
        }
    }
}

/// One scheduled digest run.
async fn run_slot(cfg: &Config, store: &mut Store, slot: i64, backoff: &mut Backoff) {
    let _ = store.set_meta(META_LAST_SLOT, &slot.to_string());
    let now = now_unix();
    let quiet_due = cfg.digest.weekly_all_quiet
        && store
            .get_meta(META_LAST_QUIET)
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok())
            .or(store.last_sent_digest_at().ok().flatten())
            .is_none_or(|t| now - t >= 7 * 86_400);
    let when_empty = if cfg.digest.send_empty || quiet_due {
        WhenEmpty::Send
    } else {
        WhenEmpty::Skip
    };
    attempt(cfg, store, when_empty, backoff, quiet_due).await;
}

async fn retry_unsent(cfg: &Config, store: &mut Store, backoff: &mut Backoff) {
    attempt(cfg, store, WhenEmpty::Skip, backoff, false).await;
}

async fn attempt(
    cfg: &Config,
    store: &mut Store,
    when_empty: WhenEmpty,
    backoff: &mut Backoff,
    quiet: bool,
) {
    let now = now_unix();
    match deliver::prepare(cfg, store, now, when_empty) {
        Ok(None) => info!("no new invitations: no digest sent"),
        Ok(Some(p)) => {
            let delay = backoff.next_delay();
            match deliver::send_prepared(cfg, store, &p, now_unix, delay).await {
                Ok(()) => {
                    backoff.reset();
                    if quiet && p.item_ids.is_empty() {
                        let _ = store.set_meta(META_LAST_QUIET, &now.to_string());
                    }
                }
                Err(e) => {
                    let _ = store.record_problem(&Problem {
                        at: now,
                        account: None,
                        kind: "digest_not_sent".into(),
                        detail: crate::error_chain(&e),
                    });
                    warn!("will retry the digest in about {}s", delay.as_secs());
                }
            }
        }
        Err(e) => error!("cannot build the digest: {}", crate::error_chain(&e)),
    }
}
