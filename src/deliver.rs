//! Building and delivering a digest from the store: pending items are scored with the
//! current rules, rendered, put in the outbox, sent, and only after the SMTP server
//! accepted the message are the items marked reported. Shared by `digest --now` and the
//! daemon's digest loop.
//!
//! Delivery guarantee: an item stays pending until a digest carrying it was accepted
//! (250). A crash between the server's acceptance and our commit can send the same digest
//! again, with the same Message-ID, so it is recognisable as a duplicate; it can never
//! lose an invitation.

use chrono::{TimeZone, Utc};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use crate::config::Config;
use crate::digest::{self, Digest, DigestItem, Footer, ScanLine};
use crate::score;
use crate::send::{self, SendError};
use crate::store::{DigestStatus, NewDigest, Store, StoreError, StoredItem};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Email(#[from] digest::EmailError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("{0}")]
    NotConfigured(String),
}

impl DeliverError {
    pub fn is_transient(&self) -> bool {
        match self {
            DeliverError::Send(e) => e.is_transient(),
            DeliverError::Store(_) => true,
            _ => false,
        }
    }
}

/// A digest ready to send, already in the outbox.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: String,
    pub message_id: String,
    pub eml: Vec<u8>,
    pub item_ids: Vec<i64>,
    pub summary: String,
}

/// Turns stored items into judged digest items with the current rules.
pub fn judged_items(cfg: &Config, items: &[StoredItem]) -> Vec<(i64, DigestItem)> {
    let rules = score::Rules {
        scoring: &cfg.scoring,
        filters: &cfg.filters,
        cues: &cfg.notes,
    };
    let multi = cfg.accounts.len() > 1;
    items
        .iter()
        .filter_map(|it| {
            let j = score::judge(&it.classified, rules)?;
            Some((
                it.id,
                DigestItem {
                    classified: it.classified.clone(),
                    judgement: j,
                    account: multi.then(|| it.account.clone()),
                    times_seen: it.times_seen,
                },
            ))
        })
        .collect()
}

/// Builds the digest of everything pending, with the footer from the store.
pub fn build(cfg: &Config, store: &Store, now: i64) -> Result<(Digest, Vec<i64>), DeliverError> {
    let pending = store.pending_items()?;
    let judged = judged_items(cfg, &pending);
    let ids: Vec<i64> = judged.iter().map(|(id, _)| *id).collect();
    let tz = cfg.digest.schedule.timezone();
    let local = Utc
        .timestamp_opt(now, 0)
        .single()
        .unwrap_or_else(Utc::now)
        .with_timezone(&tz);
    let since = store.last_sent_digest_at()?.unwrap_or(0);
    let problems = summarize_problems(&store.problems_since(since)?, &tz);
    let scans = store
        .scans()?
        .into_iter()
        .map(|s| ScanLine {
            account: s.account,
            mailbox: s.mailbox,
            messages: s.messages_scanned,
        })
        .collect();
    let footer = Footer {
        generated: local.format("%a %-d %b %Y %H:%M %Z").to_string(),
        scans,
        problems,
    };
    let d = Digest::build(
        judged.into_iter().map(|(_, i)| i).collect(),
        footer,
        &local.format("%-d %b").to_string(),
    );
    Ok((d, ids))
}

/// Groups repeated problems (an account failing every poll for two days is one line with a
/// count and a time range, not five hundred lines).
fn summarize_problems(problems: &[crate::store::Problem], tz: &chrono_tz::Tz) -> Vec<String> {
    let mut groups: Vec<(String, String, i64, i64, usize, String)> = Vec::new();
    for p in problems {
        let acct = p.account.clone().unwrap_or_default();
        match groups.iter_mut().find(|g| g.0 == acct && g.1 == p.kind) {
            Some(g) => {
                g.2 = g.2.min(p.at);
                g.3 = g.3.max(p.at);
                g.4 += 1;
                g.5 = p.detail.clone();
            }
            None => groups.push((acct, p.kind.clone(), p.at, p.at, 1, p.detail.clone())),
        }
    }
    let fmt = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .single()
            .map(|d| d.with_timezone(tz).format("%a %-d %b %H:%M").to_string())
            .unwrap_or_default()
    };
    groups
        .into_iter()
        .map(|(acct, kind, first, last, n, detail)| {
            let who = if acct.is_empty() {
                String::new()
            } else {
                format!("account \"{acct}\": ")
            };
            if n == 1 {
                format!(
                    "{who}{} at {}: {detail}",
                    kind.replace('_', " "),
                    fmt(first)
                )
            } else {
                format!(
                    "{who}{} {n} times, {} to {}; last: {detail}",
                    kind.replace('_', " "),
                    fmt(first),
                    fmt(last)
                )
            }
        })
        .collect()
}

/// Stable identity of a digest: the same pending items give the same Message-ID, so a
/// re-send after a crash is recognisable, and a retry reuses the stored message as is.
pub fn digest_identity(item_ids: &[i64], now: i64, from: &str) -> (String, String) {
    let mut h = Sha256::new();
    if item_ids.is_empty() {
        // An empty ("all quiet", or `send_empty`) digest has no items to identify it. Each
        // one is a new message: identified by the second it was built, so that several on
        // one day (a schedule that fires more than daily) do not collide with one already
        // sent. Nothing can be reported twice by re-sending one.
        h.update(format!("empty:{now}").as_bytes());
    }
    for id in item_ids {
        h.update(id.to_le_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(10)
        .map(|b| format!("{b:02x}"))
        .collect();
    let domain = from
        .rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty() && !d.contains(' '))
        .unwrap_or("invite-digest.invalid");
    (format!("d-{hex}"), format!("digest.{hex}@{domain}"))
}

/// What the caller wants when nothing is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenEmpty {
    Skip,
    Send,
}

/// Builds the digest and puts it in the outbox (reusing an unsent one with the same
/// items; superseding unsent ones that carry fewer). None when there is nothing to send.
pub fn prepare(
    cfg: &Config,
    store: &mut Store,
    now: i64,
    when_empty: WhenEmpty,
) -> Result<Option<Prepared>, DeliverError> {
    let from = cfg
        .digest
        .from
        .clone()
        .ok_or_else(|| DeliverError::NotConfigured("digest.from is not set".into()))?;
    if cfg.digest.to.is_empty() {
        return Err(DeliverError::NotConfigured("digest.to is empty".into()));
    }
    let (d, ids) = build(cfg, store, now)?;
    if d.is_empty() && when_empty == WhenEmpty::Skip {
        return Ok(None);
    }
    let (id, message_id) = digest_identity(&ids, now, &from);
    let eml = digest::to_email(
        &d,
        &cfg.digest.subject,
        &from,
        &cfg.digest.to,
        &message_id,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64),
    )?;
    for old in store.unsent_digests()? {
        if old.id == id && old.status == DigestStatus::Pending {
            // Same items, so the same Message-ID: a retry, rendered afresh so its footer
            // says why it is late.
            store.refresh_digest_eml(&old.id, &eml)?;
            return Ok(Some(Prepared {
                id: old.id,
                message_id: old.message_id,
                eml,
                item_ids: old.item_ids,
                summary: d.summary(),
            }));
        }
        // New items arrived since that digest was built: it is replaced by one that
        // carries everything still pending.
        store.supersede_digest(&old.id)?;
    }
    store.enqueue_digest(&NewDigest {
        id: id.clone(),
        message_id: message_id.clone(),
        created_at: now,
        eml: eml.clone(),
        item_ids: ids.clone(),
    })?;
    Ok(Some(Prepared {
        id,
        message_id,
        eml,
        item_ids: ids,
        summary: d.summary(),
    }))
}

/// Sends a prepared digest once and records the outcome. On failure the items stay
/// pending and `next_attempt_at` is set from `retry_delay`.
pub async fn send_prepared(
    cfg: &Config,
    store: &mut Store,
    p: &Prepared,
    now: impl Fn() -> i64,
    retry_delay: std::time::Duration,
) -> Result<(), DeliverError> {
    let smtp = cfg
        .smtp
        .as_ref()
        .ok_or_else(|| DeliverError::NotConfigured("no [smtp] section: cannot send".into()))?;
    let from = cfg.digest.from.clone().unwrap_or_default();
    let env = send::envelope(&from, &cfg.digest.to)?;
    match send::send(smtp, &env, &p.eml).await {
        Ok(()) => {
            store.mark_digest_sent(&p.id, now())?;
            info!(digest = %p.id, items = p.item_ids.len(), "digest sent: {}", p.summary);
            Ok(())
        }
        Err(e) => {
            let msg = crate::error_chain(&e);
            warn!(digest = %p.id, "digest not sent: {msg}");
            let next = now() + retry_delay.as_secs() as i64;
            store.record_send_failure(&p.id, &msg, next)?;
            Err(e.into())
        }
    }
}
