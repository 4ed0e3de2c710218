//! invite-digest: watches a mailbox for LinkedIn connection invitations and sends one
//! scheduled digest that says, per invitation, accept, review or ignore, and why.
//!
//! Architecture (dependencies point down only):
//!
//! - `model`: plain domain types (Classified, InvitationData, Verdict, Reason).
//! - `config`: TOML -> validated `Config`; secret sources.
//! - Pure core, no I/O:
//!   - `extract`: raw bytes -> `Classified` (kind, authenticity, inviter, note).
//!   - `score`: `InvitationData` + rules + user filters -> `Judgement`.
//!   - `digest`: judged items -> a digest rendered as text, HTML and a MIME message.
//!   - `schedule`: cron expression + time zone + now -> next firing time.
//!   - `explain`: one message's classification and judgement as JSON or text.
//! - Adapters:
//!   - `source`: where mail comes from (local files, IMAP).
//!   - `store`: the SQLite state (cursors, invitations, outbox).
//!   - `send`: SMTP delivery.
//!   - `tls`: what both mail adapters share about TLS set-up (CA bundles, kept connectors).
//! - Composition: `pipeline` (one poll: fetch -> extract -> store), `deliver` (store ->
//!   score -> digest -> outbox -> send -> mark reported), `daemon` (loops, signals,
//!   systemd), `cli` (subcommands; the only module that knows clap).
//!
//! Data flow: source -> extract -> store; at digest time store -> score -> digest -> send
//! -> store (mark reported only after the server accepted the digest).

pub mod cli;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod digest;
pub mod explain;
pub mod extract;
pub mod model;
pub mod pipeline;
pub mod schedule;
pub mod score;
pub mod send;
pub mod source;
pub mod store;
pub mod tls;

/// Formats an error with its chain of sources ("a: b: c"), skipping a cause whose text
/// the outer message already includes. Used at the edges (CLI, logs, digest footer).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}
