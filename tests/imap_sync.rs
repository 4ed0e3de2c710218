//! IMAP integration tests against a real Dovecot (tests/support/rig.rs): mail appended over
//! IMAP is found, classified and stored exactly once; polls are incremental and cheap; the
//! source survives UIDVALIDITY changes, outages and wrong passwords, verifies TLS, stays
//! read-only unless asked, applies `after_processing` idempotently, and never leaks the
//! password, whichever secret source supplies it.
//!
//! Every test starts its own rig (throw-away Dovecot on free ports), so they run in
//! parallel. A rig that cannot start fails the test; nothing is skipped.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use invite_digest::config::{AccountConfig, Config};
use invite_digest::daemon::poll_once;
use invite_digest::extract;
use invite_digest::model::Kind;
use invite_digest::pipeline::{PollError, PollSummary};
use invite_digest::source::imap::{IdleOutcome, ImapSource, SourceError};
use invite_digest::store::{Store, StoredItem};
use support::proxy::OneConnectionProxy;
use support::rig::MailRig;

const BIN: &str = env!("CARGO_BIN_EXE_invite-digest");
/// Dovecot's hierarchy separator is `.`.
const MOVE_FOLDER: &str = "LinkedIn.Invitations";

// ---- fixtures ------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The synthetic fixture whose file name starts with `prefix` (e.g. "001").
fn synthetic(prefix: &str) -> Vec<u8> {
    let dir = fixtures_dir().join("synthetic");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with(&format!("{prefix}-")) && n.ends_with(".eml")
        })
        .collect();
    assert_eq!(found.len(), 1, "fixture {prefix}: {found:?}");
    std::fs::read(found.pop().unwrap()).unwrap()
}

/// Every message of tests/fixtures/corpus/negatives (not LinkedIn), by file name.
fn negatives() -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir().join("corpus/negatives");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "negatives: {}", out.len());
    out
}

/// The invitation ID LinkedIn gave a fixture, as the extractor reads it.
fn invitation_id(raw: &[u8]) -> String {
    let c = extract::classify(raw, &opts()).unwrap();
    c.invitation
        .and_then(|i| i.invitation_id)
        .expect("fixture has an invitation id")
}

// ---- configuration -------------------------------------------------------------------------

/// One test's world: a rig, a state directory and a directory for secrets and configs.
struct World {
    rig: MailRig,
    state: tempfile::TempDir,
    files: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            rig: MailRig::start(),
            state: tempfile::tempdir().unwrap(),
            files: tempfile::tempdir().unwrap(),
        }
    }

    fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// Writes `content` to a file in the world's file directory and returns its path.
    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `[[accounts]]` for `user` over implicit TLS with the rig's CA, password from a file.
    /// `extra` is appended inside the section (more keys, or sub-tables at the end).
    fn account(&self, name: &str, user: &str, password: &str, extra: &str) -> String {
        let pw = self.file(&format!("{name}.pw"), &format!("{password}\n"));
        format!(
            r#"
[[accounts]]
name = "{name}"
host = "127.0.0.1"
port = {port}
tls = "implicit"
username = "{user}"
password_file = "{pw}"
ca_file = "{ca}"
timeout = "10s"
{extra}
"#,
            port = self.rig.imaps_port(),
            pw = pw.display(),
            ca = self.rig.ca_file().display(),
        )
    }

    /// A whole config: the accounts plus `[state]`.
    fn config_text(&self, accounts: &str) -> String {
        format!(
            "{accounts}\n[state]\ndir = \"{}\"\n",
            self.state_dir().display()
        )
    }

    fn config(&self, accounts: &str) -> Config {
        let text = self.config_text(accounts);
        Config::from_str(&text, None).unwrap_or_else(|e| panic!("{e}\n--- config ---\n{text}"))
    }

    /// The single account of a config made of `accounts`.
    fn only_account(&self, accounts: &str) -> AccountConfig {
        let cfg = self.config(accounts);
        assert_eq!(cfg.accounts.len(), 1);
        cfg.accounts[0].clone()
    }

    /// alice's account, named "alice-acct".
    fn alice(&self, extra: &str) -> AccountConfig {
        self.only_account(&self.account("alice-acct", "alice", "alicepw", extra))
    }

    fn poll(
        &self,
        src: &mut ImapSource,
        account: &AccountConfig,
    ) -> Result<PollSummary, PollError> {
        poll_once(src, account, self.state_dir(), &opts())
    }

    fn poll_ok(&self, src: &mut ImapSource, account: &AccountConfig) -> PollSummary {
        self.poll(src, account).unwrap_or_else(|e| {
            panic!(
                "poll failed: {}\n--- dovecot log ---\n{}",
                invite_digest::error_chain(&e),
                tail(&self.rig.dovecot_log(), 30)
            )
        })
    }

    fn store(&self) -> Store {
        Store::open(self.state_dir()).unwrap()
    }

    fn pending(&self) -> Vec<StoredItem> {
        self.store().pending_items().unwrap()
    }

    /// Writes the config to a file and runs the binary with `args` plus `--config FILE`.
    fn run_bin(&self, config_text: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = self.file("config.toml", config_text);
        let mut cmd = Command::new(BIN);
        cmd.args(args).arg("--config").arg(&path);
        // A clean logging environment unless the test asks for one.
        cmd.env_remove("RUST_LOG")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("INVITE_DIGEST_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run invite-digest")
    }
}

/// APPENDs several messages over one session (`MailRig::append` opens one per message).
fn append_many(rig: &MailRig, user: &str, mailbox: &str, messages: &[Vec<u8>]) {
    let mut s = rig.session(user).unwrap();
    for raw in messages {
        s.append(mailbox, raw).finish().unwrap();
    }
    s.logout().unwrap();
}

fn opts() -> extract::Options {
    // The fixtures carry Authentication-Results from mx.example.net on top; the default
    // (trust the topmost header) is what a user without configuration gets.
    extract::Options::default()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn total(s: &PollSummary, f: fn(&invite_digest::pipeline::MailboxSummary) -> usize) -> usize {
    s.mailboxes.iter().map(f).sum()
}

fn scanned(s: &PollSummary) -> usize {
    total(s, |m| m.scanned)
}

fn new_items(s: &PollSummary) -> usize {
    total(s, |m| m.new_items)
}

fn kinds(items: &[StoredItem]) -> Vec<Kind> {
    let mut k: Vec<Kind> = items.iter().map(|i| i.classified.kind).collect();
    k.sort_by_key(|k| k.as_str());
    k
}

fn invitation_ids(items: &[StoredItem]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .filter_map(|i| i.classified.invitation.as_ref()?.invitation_id.clone())
        .collect();
    ids.sort();
    ids
}

/// The Message-ID of a raw message, as the extractor reads it.
fn message_id(raw: &[u8]) -> String {
    extract::classify(raw, &opts())
        .unwrap()
        .message_id
        .expect("fixture has a Message-ID")
}

/// Message-IDs of alice's `mailbox`, in UID order. (Compared instead of the raw bytes:
/// the server normalises line ends.) Reads over its own session rather than with
/// `MailRig::fetch_all`, whose LIST does not quote names with spaces.
fn message_ids(w: &World, mailbox: &str) -> Vec<String> {
    let mut s = w.rig.session("alice").unwrap();
    let mb = s
        .examine(mailbox)
        .unwrap_or_else(|e| panic!("EXAMINE {mailbox}: {e}"));
    let mut out = Vec::new();
    if mb.exists > 0 {
        let fetches = s.uid_fetch("1:*", "(UID BODY.PEEK[])").unwrap();
        let mut msgs: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .map(|f| (f.uid.unwrap(), f.body().unwrap().to_vec()))
            .collect();
        msgs.sort();
        out = msgs.iter().map(|(_, raw)| message_id(raw)).collect();
    }
    s.logout().unwrap();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn output_text(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---- finding, classifying, storing -----------------------------------------------------------

#[test]
fn appended_mail_is_classified_and_stored_once_and_polls_are_incremental() {
    let w = World::new();
    let inv1 = synthetic("001");
    let inv2 = synthetic("002");
    w.rig.append("alice", "INBOX", &inv1);
    w.rig.append("alice", "INBOX", &synthetic("013"));
    w.rig.append("alice", "INBOX", &synthetic("017"));
    let negs: Vec<Vec<u8>> = negatives().into_iter().map(|(_, raw)| raw).collect();
    append_many(&w.rig, "alice", "INBOX", &negs);
    w.rig.append("alice", "INBOX", &inv2);

    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(s.account, "alice-acct");
    assert_eq!(s.mailboxes.len(), 1);
    let m = &s.mailboxes[0];
    // The search finds the LinkedIn-looking mail only: 001, 002, 013 (look-alike), 017.
    assert_eq!(m.scanned, 4, "{s:?}");
    assert_eq!((m.invitations, m.reminders, m.phishing), (2, 0, 1), "{s:?}");
    assert_eq!(m.other, 1, "the job alert: {s:?}");
    assert_eq!(m.new_items, 3, "{s:?}");
    assert!(m.skipped.is_empty(), "{s:?}");
    assert!(!m.uidvalidity_reset);

    let items = w.pending();
    assert_eq!(
        kinds(&items),
        vec![Kind::Invitation, Kind::Invitation, Kind::Phishing],
        "{items:#?}"
    );
    assert_eq!(
        invitation_ids(&items),
        sorted(vec![invitation_id(&inv1), invitation_id(&inv2)])
    );
    assert!(items
        .iter()
        .all(|i| i.times_seen == 1 && i.account == "alice-acct"));

    // An unchanged mailbox on the live session: nothing scanned, at most 3 round trips.
    assert!(src.is_connected());
    let before = src.round_trips();
    let s = w.poll_ok(&mut src, &account);
    let cost = src.round_trips() - before;
    assert_eq!(scanned(&s), 0, "{s:?}");
    assert_eq!(new_items(&s), 0);
    assert!(cost <= 3, "unchanged mailbox cost {cost} round trips");
    assert_eq!(w.pending().len(), 3);

    // New mail: only the new candidate is fetched (a new non-LinkedIn message is not).
    let (_, negative) = negatives().swap_remove(0);
    let inv3 = synthetic("003");
    w.rig.append("alice", "INBOX", &negative);
    w.rig.append("alice", "INBOX", &inv3);
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(scanned(&s), 1, "{s:?}");
    assert_eq!(new_items(&s), 1, "{s:?}");
    let items = w.pending();
    assert_eq!(items.len(), 4);
    assert!(invitation_ids(&items).contains(&invitation_id(&inv3)));

    // A fresh session (as after a restart) also finds nothing new.
    let mut fresh = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut fresh, &account);
    assert_eq!(scanned(&s), 0, "{s:?}");

    // Read-only: no message gained \Seen (or any other flag).
    let all = w.rig.fetch_all("alice", "INBOX");
    assert_eq!(all.len(), negatives().len() + 6);
    for (uid, flags, _) in &all {
        assert!(
            !flags.iter().any(|f| f == "\\Seen" || f == "\\Deleted"),
            "uid {uid} flags {flags:?}"
        );
    }
    src.logout();
    fresh.logout();
}

#[test]
fn reminder_after_its_invitation_merges_into_the_same_item() {
    let w = World::new();
    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    w.rig.append("alice", "INBOX", &synthetic("001"));
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 1);

    w.rig.append("alice", "INBOX", &synthetic("010"));
    let s = w.poll_ok(&mut src, &account);
    let m = &s.mailboxes[0];
    assert_eq!((m.scanned, m.reminders, m.new_items), (1, 1, 0), "{s:?}");
    let items = w.pending();
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].times_seen, 2);
    // The item keeps the invitation (it has the note), not the reminder.
    assert_eq!(items[0].classified.kind, Kind::Invitation);
    assert_eq!(
        invitation_ids(&items),
        vec![invitation_id(&synthetic("001"))]
    );
}

#[test]
fn uidvalidity_change_rescans_without_duplicates() {
    let w = World::new();
    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    w.rig.append("alice", "INBOX", &synthetic("001"));
    w.rig.append("alice", "INBOX", &synthetic("002"));
    w.rig.append("alice", "INBOX", &synthetic("013"));
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 3);
    let old = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();

    w.rig.recreate_mailbox("alice", "INBOX");
    // The poll right after: Dovecot may have closed our session (its mailbox vanished under
    // it); that must not count against the poll.
    let s = w.poll_ok(&mut src, &account);
    let m = &s.mailboxes[0];
    assert!(m.uidvalidity_reset, "{s:?}");
    assert_eq!(m.scanned, 3, "rescanned: {s:?}");
    assert_eq!(m.new_items, 0, "{s:?}");
    assert_eq!(m.duplicates, 3, "{s:?}");
    // Nothing is reported as new.
    assert_eq!((m.invitations, m.reminders, m.phishing), (0, 0, 0), "{s:?}");
    assert!(
        s.line().contains(
            "scanned 3, new invitations 0, reminders 0, phishing 0, other 0, duplicates 3"
        ),
        "{}",
        s.line()
    );
    assert_eq!(w.pending().len(), 3);
    let new = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();
    assert_ne!(new.uidvalidity, old.uidvalidity);
    assert_eq!(new.uidvalidity, w.rig.uid_validity("alice", "INBOX"));
    // The stale session was replaced without a problem for the digest footer.
    assert!(w.store().problems_since(0).unwrap().is_empty());

    // And then it is incremental again under the new UIDVALIDITY.
    w.rig.append("alice", "INBOX", &synthetic("010"));
    let s = w.poll_ok(&mut src, &account);
    let m = &s.mailboxes[0];
    assert!(!m.uidvalidity_reset);
    assert_eq!((m.scanned, m.reminders, m.new_items), (1, 1, 0), "{s:?}");
    assert_eq!(w.pending().len(), 3);
}

#[test]
fn outage_fails_one_poll_transiently_and_the_next_recovers_everything() {
    let w = World::new();
    let account = w.alice("idle = true\n");
    let mut src = ImapSource::new(account.clone());
    w.rig.append("alice", "INBOX", &synthetic("001"));
    assert_eq!(new_items(&w.poll_ok(&mut src, &account)), 1);
    // A second session waits in IDLE, as the daemon does between polls.
    let mut idler = ImapSource::new(account.clone());
    w.poll_ok(&mut idler, &account);

    // Mail arrives, then the server goes away (gracefully: clients get BYE).
    w.rig.append("alice", "INBOX", &synthetic("002"));
    w.rig.append("alice", "INBOX", &synthetic("013"));
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            // Mail arrived already, so a first wait returns at once; the second one must
            // end with the shutdown, not hang until its timeout.
            let _ = idler.idle_wait(Duration::from_secs(60));
            let t = Instant::now();
            let r = idler.idle_wait(Duration::from_secs(60));
            (r, t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        w.rig.stop_imap();
        let (r, waited) = waiting.join().unwrap();
        assert!(waited < Duration::from_secs(20), "IDLE hung for {waited:?}");
        if let Ok(outcome) = r {
            // Dovecot may report the arrivals before it says BYE.
            assert_eq!(outcome, IdleOutcome::NewMail);
        }
    });

    let e = w.poll(&mut src, &account).expect_err("server is down");
    assert!(e.is_transient(), "{e:?}");
    let msg = invite_digest::error_chain(&e);
    assert!(msg.contains("alice-acct"), "{msg}");
    assert!(!src.is_connected());
    let problems = w.store().problems_since(0).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].account.as_deref(), Some("alice-acct"));
    assert_eq!(problems[0].kind, "server_unreachable");
    assert!(problems[0].detail.contains("alice-acct"), "{problems:?}");
    // Nothing was lost or half-stored.
    assert_eq!(w.pending().len(), 1);

    // The CLI says "try again later" (75) and names the account.
    let text = w.config_text(&w.account("alice-acct", "alice", "alicepw", ""));
    let out = w.run_bin(&text, &["poll", "--once"], &[]);
    assert_eq!(out.status.code(), Some(75), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("alice-acct"),
        "{}",
        output_text(&out)
    );

    w.rig.start_imap();
    let s = w.poll_ok(&mut src, &account);
    let m = &s.mailboxes[0];
    assert_eq!((m.scanned, m.new_items), (2, 2), "{s:?}");
    assert_eq!(w.pending().len(), 3);
    // And nothing is fetched twice afterwards.
    assert_eq!(scanned(&w.poll_ok(&mut src, &account)), 0);

    // A restart between two polls leaves the open session dead; the next poll reconnects
    // by itself and is no problem for the digest footer.
    let before = w.store().problems_since(0).unwrap().len();
    w.rig.stop_imap();
    w.rig.start_imap();
    w.rig.append("alice", "INBOX", &synthetic("003"));
    assert!(src.is_connected(), "the client has not noticed yet");
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((scanned(&s), new_items(&s)), (1, 1), "{s:?}");
    assert_eq!(w.store().problems_since(0).unwrap().len(), before);
}

// ---- credentials and TLS -------------------------------------------------------------------

#[test]
fn wrong_password_is_a_clear_permanent_error_naming_the_account() {
    let w = World::new();
    let account = w.only_account(&w.account("alice-acct", "alice", "not-alices-pw", ""));
    let mut src = ImapSource::new(account.clone());
    let e = w.poll(&mut src, &account).expect_err("wrong password");
    assert!(!e.is_transient(), "{e:?}");
    assert!(
        matches!(e, PollError::Source(SourceError::Auth { .. })),
        "{e:?}"
    );
    let msg = invite_digest::error_chain(&e);
    assert!(
        msg.contains("alice-acct") && msg.contains("login failed"),
        "{msg}"
    );
    assert!(!msg.contains("not-alices-pw") && !format!("{e:?}").contains("not-alices-pw"));
    let problems = w.store().problems_since(0).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, "login_failed");
    assert!(!problems[0].detail.contains("not-alices-pw"));
}

#[test]
fn cli_poll_once_with_one_bad_account_stores_the_good_one_and_exits_69() {
    let w = World::new();
    w.rig.append("alice", "INBOX", &synthetic("001"));
    w.rig.append("alice", "INBOX", &synthetic("002"));
    w.rig.append("bob", "INBOX", &synthetic("003"));
    let accounts = format!(
        "{}{}",
        w.account("alice-acct", "alice", "alicepw", ""),
        w.account("bob-acct", "bob", "bobs-wrong-pw", "")
    );
    let text = w.config_text(&accounts);
    let out = w.run_bin(&text, &["poll", "--once"], &[]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(69), "{all}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("bob-acct") && stderr.contains("login failed"),
        "{all}"
    );
    assert!(
        !all.contains("bobs-wrong-pw") && !all.contains("alicepw"),
        "{all}"
    );
    assert!(
        stdout.contains("alice-acct: scanned 2, new invitations 2"),
        "{all}"
    );
    let items = w.pending();
    assert_eq!(items.len(), 2, "{items:#?}");
    assert!(items.iter().all(|i| i.account == "alice-acct"));

    // `pending` shows them.
    let out = w.run_bin(&text, &["pending"], &[]);
    assert!(out.status.success(), "{}", output_text(&out));
    let pending = String::from_utf8_lossy(&out.stdout);
    assert!(
        pending.contains("Dana Whitfield") && pending.contains("Jordan Okafor"),
        "{pending}"
    );
}

#[test]
fn private_ca_is_refused_without_ca_file_and_accepted_with_it() {
    let w = World::new();
    let with_ca = w.alice("");
    let mut without = with_ca.clone();
    without.ca_file = None;
    let mut src = ImapSource::new(without.clone());
    let e = src.connect().expect_err("untrusted certificate");
    assert!(matches!(e, SourceError::Tls { .. }), "{e:?}");
    assert!(!e.is_transient());
    let msg = e.to_string();
    assert!(msg.contains("alice-acct"), "{msg}");
    assert!(
        msg.contains("certificate") || msg.contains("verify"),
        "says why: {msg}"
    );
    assert!(msg.contains("ca_file"), "says what to do: {msg}");

    let mut src = ImapSource::new(with_ca.clone());
    src.connect().unwrap();
    assert!(src.is_connected());
    src.logout();

    // Implicit TLS pointed at the STARTTLS port: the error says what to change.
    let mut wrong_port = with_ca.clone();
    wrong_port.port = w.rig.imap_port();
    let e = ImapSource::new(wrong_port)
        .connect()
        .expect_err("plaintext port");
    assert!(matches!(e, SourceError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("tls = \"starttls\""), "{e}");
}

#[test]
fn starttls_on_a_server_that_requires_it() {
    let w = World::new();
    w.rig.append("alice", "INBOX", &synthetic("001"));
    // 127.0.0.2 advertises LOGINDISABLED until STARTTLS.
    let account = w.only_account(&format!(
        r#"
[[accounts]]
name = "starttls-acct"
host = "127.0.0.2"
port = {port}
tls = "starttls"
username = "alice"
password_file = "{pw}"
ca_file = "{ca}"
timeout = "10s"
"#,
        port = w.rig.imap_port(),
        pw = w.file("pw", "alicepw\n").display(),
        ca = w.rig.ca_file().display(),
    ));
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 1, "{s:?}");
    src.logout();
}

// ---- after_processing ------------------------------------------------------------------------

#[test]
fn after_processing_move_is_applied_once_and_is_idempotent() {
    let w = World::new();
    let inv1 = synthetic("001");
    let inv2 = synthetic("002");
    let job = synthetic("017");
    w.rig.append("alice", "INBOX", &inv1);
    w.rig.append("alice", "INBOX", &job);
    w.rig.append("alice", "INBOX", &inv2);
    // Written with '/' as users write folder paths; Dovecot's Maildir++ delimiter is '.',
    // and the adapter translates.
    let account = w.alice(&format!(
        "[accounts.after_processing]\ninvitations = \"move:{}\"\n",
        MOVE_FOLDER.replace('.', "/")
    ));
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 2, "{s:?}");

    assert_eq!(
        message_ids(&w, "INBOX"),
        vec![message_id(&job)],
        "only the job alert stays"
    );
    assert!(
        w.rig
            .mailbox_names("alice")
            .iter()
            .any(|n| n == MOVE_FOLDER),
        "{:?}",
        w.rig.mailbox_names("alice")
    );
    assert_eq!(
        message_ids(&w, MOVE_FOLDER),
        vec![message_id(&inv1), message_id(&inv2)]
    );

    // Again, on the live session and on a fresh one: no failure, nothing moved twice,
    // nothing stored twice.
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((scanned(&s), new_items(&s)), (0, 0), "{s:?}");
    let mut fresh = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut fresh, &account);
    assert_eq!((scanned(&s), new_items(&s)), (0, 0), "{s:?}");
    assert_eq!(w.rig.fetch_all("alice", MOVE_FOLDER).len(), 2);
    assert_eq!(w.rig.fetch_all("alice", "INBOX").len(), 1);

    // A new invitation later goes the same way; the folder exists now.
    let inv3 = synthetic("003");
    w.rig.append("alice", "INBOX", &inv3);
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((scanned(&s), new_items(&s)), (1, 1), "{s:?}");
    assert_eq!(w.rig.fetch_all("alice", MOVE_FOLDER).len(), 3);
    assert_eq!(w.rig.fetch_all("alice", "INBOX").len(), 1);
    assert_eq!(w.pending().len(), 3);
    assert!(w.store().problems_since(0).unwrap().is_empty());
    src.logout();
    fresh.logout();
}

// ---- secrets through the binary ------------------------------------------------------------

#[test]
fn every_password_source_works_with_the_binary_and_never_leaks() {
    let w = World::new();
    w.rig.append("alice", "INBOX", &synthetic("001"));
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("imap-alice"), "alicepw\n").unwrap();
    let pw_file = w.file("alice.secret", "alicepw\n");
    let creds_dir = creds.path().display().to_string();

    /// (label, the secret key line, environment for the child)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "file",
            format!("password_file = \"{}\"", pw_file.display()),
            vec![],
        ),
        (
            "command",
            // The password is assembled by the command so it does not appear in the config
            // (which some logs might quote) either.
            "password_command = \"printf '%s%s' alice pw\"".to_string(),
            vec![],
        ),
        (
            "env",
            "password_env = \"ALICE_IMAP_PW\"".to_string(),
            vec![("ALICE_IMAP_PW", "alicepw")],
        ),
        (
            "credential",
            "password_credential = \"imap-alice\"".to_string(),
            vec![("CREDENTIALS_DIRECTORY", creds_dir.as_str())],
        ),
    ];
    for (label, secret_line, env) in cases {
        let state = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[[accounts]]
name = "alice-{label}"
host = "127.0.0.1"
port = {port}
tls = "implicit"
username = "alice"
{secret_line}
ca_file = "{ca}"
timeout = "10s"

[state]
dir = "{state}"
"#,
            port = w.rig.imaps_port(),
            ca = w.rig.ca_file().display(),
            state = state.path().display(),
        );
        let mut env = env;
        env.push(("RUST_LOG", "debug"));
        let out = w.run_bin(&text, &["poll", "--once"], &env);
        let all = output_text(&out);
        assert!(out.status.success(), "{label}: {all}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("alice-{label}: scanned 1, new invitations 1")),
            "{label}: {all}"
        );
        // Debug logging is on, so the login is logged, but never the password.
        assert!(all.contains("LOGIN"), "{label}: debug logging is on: {all}");
        assert!(!all.contains("alicepw"), "{label}: password leaked: {all}");
        let items = Store::open(state.path()).unwrap().pending_items().unwrap();
        assert_eq!(items.len(), 1, "{label}");
    }

    // A secret that is missing at login time (the variable is not set for the service) is
    // a clear, permanent error that names the account and the variable.
    let text = w.config_text(&format!(
        r#"
[[accounts]]
name = "alice-noenv"
host = "127.0.0.1"
port = {port}
username = "alice"
password_env = "ALICE_IMAP_PW_UNSET"
ca_file = "{ca}"
"#,
        port = w.rig.imaps_port(),
        ca = w.rig.ca_file().display(),
    ));
    let out = w.run_bin(&text, &["poll", "--once"], &[]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(69), "{all}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("alice-noenv") && stderr.contains("ALICE_IMAP_PW_UNSET"),
        "{all}"
    );
}

// ---- size limit ----------------------------------------------------------------------------

#[test]
fn oversized_message_is_skipped_with_a_reason() {
    let w = World::new();
    let big = synthetic("001");
    assert!(big.len() > 1024);
    let uid = w.rig.append("alice", "INBOX", &big);
    let account = w.alice("max_message_size = \"1KiB\"\n");
    assert_eq!(account.max_message_size, 1024);
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    let m = &s.mailboxes[0];
    assert_eq!((m.scanned, m.new_items), (0, 0), "{s:?}");
    assert_eq!(m.skipped.len(), 1, "{s:?}");
    assert_eq!(m.skipped[0].uid, uid);
    // The size is the server's RFC822.SIZE (CRLF line ends), not the fixture's.
    let reason = &m.skipped[0].reason;
    assert!(
        reason.contains("bytes exceeds max_message_size 1024"),
        "{reason}"
    );
    let line = s.line();
    assert!(
        line.contains(&format!("skipped 1 (INBOX uid {uid}: ")),
        "{line}"
    );
    assert!(w.pending().is_empty());
    // Skipped once, not at every poll.
    let s = w.poll_ok(&mut src, &account);
    assert!(s.mailboxes[0].skipped.is_empty(), "{s:?}");

    // The binary prints the same line.
    let state = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[state]\ndir = \"{}\"\n",
        w.account(
            "alice-acct",
            "alice",
            "alicepw",
            "max_message_size = \"1KiB\"\n"
        ),
        state.path().display()
    );
    let out = w.run_bin(&text, &["poll", "--once"], &[]);
    let all = output_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("skipped 1 (INBOX uid {uid}: ")),
        "{all}"
    );
}

// ---- more mailbox shapes -------------------------------------------------------------------

#[test]
fn a_missing_mailbox_does_not_stop_the_others() {
    let w = World::new();
    let inv1 = synthetic("001");
    w.rig.append("alice", "INBOX", &inv1);
    // The same mail in a second watched folder (a filter copied it): one item, not two.
    w.rig.append("alice", "Archive", &inv1);
    w.rig.append("alice", "Archive", &synthetic("002"));
    let account = w.alice("mailboxes = [\"Nope\", \"INBOX\", \"Archive\"]\n");
    let mut src = ImapSource::new(account.clone());
    let e = w.poll(&mut src, &account).expect_err("Nope does not exist");
    assert!(
        matches!(e, PollError::Source(SourceError::Mailbox { ref mailbox, .. }) if mailbox == "Nope"),
        "{e:?}"
    );
    assert!(!e.is_transient());
    let msg = invite_digest::error_chain(&e);
    assert!(msg.contains("alice-acct") && msg.contains("Nope"), "{msg}");
    // INBOX and Archive were polled all the same.
    let items = w.pending();
    assert_eq!(
        invitation_ids(&items),
        sorted(vec![invitation_id(&inv1), invitation_id(&synthetic("002"))]),
        "{items:#?}"
    );
    assert!(items.iter().all(|i| i.times_seen == 1), "{items:#?}");
    let store = w.store();
    assert!(store.cursor("alice-acct", "INBOX").unwrap().is_some());
    assert!(store.cursor("alice-acct", "Archive").unwrap().is_some());
    let problems = store.problems_since(0).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, "mailbox_error");

    // Once the folder exists, it is polled like the others.
    w.rig.append("alice", "Nope", &synthetic("003"));
    let s = w.poll_ok(&mut src, &account);
    let names: Vec<&str> = s.mailboxes.iter().map(|m| m.mailbox.as_str()).collect();
    assert_eq!(names, ["Nope", "INBOX", "Archive"]);
    assert_eq!(new_items(&s), 1, "{s:?}");
    assert_eq!(w.pending().len(), 3);
}

#[test]
fn small_batches_and_a_non_ascii_mailbox_name() {
    let w = World::new();
    // "Entwürfe" in IMAP's modified UTF-7, as the rig's raw client must write it.
    let wire_name = "Entw&APw-rfe";
    let fixtures = ["001", "002", "003", "004", "005"];
    // The first append creates the folder.
    w.rig.append("alice", wire_name, &synthetic(fixtures[0]));
    let rest: Vec<Vec<u8>> = fixtures[1..].iter().map(|f| synthetic(f)).collect();
    append_many(&w.rig, "alice", wire_name, &rest);
    let account = w.alice("mailboxes = [\"Entwürfe\"]\nfetch_batch = 2\n");
    let mut src = ImapSource::new(account.clone());
    src.connect().unwrap();
    let before = src.round_trips();
    let s = w.poll_ok(&mut src, &account);
    let cost = src.round_trips() - before;
    assert_eq!(s.mailboxes[0].mailbox, "Entwürfe");
    assert_eq!((scanned(&s), new_items(&s)), (5, 5), "{s:?}");
    // EXAMINE, SEARCH, three FETCH batches.
    assert_eq!(cost, 5, "round trips");
    let expected: Vec<String> = fixtures
        .iter()
        .map(|f| invitation_id(&synthetic(f)))
        .collect();
    assert_eq!(invitation_ids(&w.pending()), sorted(expected));
    let cursor = w.store().cursor("alice-acct", "Entwürfe").unwrap().unwrap();
    assert_eq!(cursor.last_uid, 5);
}

#[test]
fn reminder_before_its_invitation_is_upgraded_by_it() {
    let w = World::new();
    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    w.rig.append("alice", "INBOX", &synthetic("010"));
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((s.mailboxes[0].reminders, new_items(&s)), (1, 1), "{s:?}");
    w.rig.append("alice", "INBOX", &synthetic("001"));
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((s.mailboxes[0].invitations, new_items(&s)), (1, 0), "{s:?}");
    let items = w.pending();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].times_seen, 2);
    assert_eq!(items[0].classified.kind, Kind::Invitation);
    assert!(items[0]
        .classified
        .invitation
        .as_ref()
        .is_some_and(|i| i.note.is_some()));
}

#[test]
fn mark_seen_and_a_second_action_in_one_poll() {
    let w = World::new();
    let inv = synthetic("001");
    let phish = synthetic("013");
    let job = synthetic("017");
    let inv_uid = w.rig.append("alice", "INBOX", &inv);
    w.rig.append("alice", "INBOX", &phish);
    let job_uid = w.rig.append("alice", "INBOX", &job);
    let account = w.alice(
        "[accounts.after_processing]\ninvitations = \"mark_seen\"\nphishing = \"move:Junk\"\n",
    );
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 2, "{s:?}");
    let inbox = w.rig.fetch_all("alice", "INBOX");
    let flags = |uid: u32| -> Vec<String> {
        inbox
            .iter()
            .find(|m| m.0 == uid)
            .map(|m| m.1.clone())
            .unwrap_or_else(|| panic!("uid {uid} not in INBOX"))
    };
    assert_eq!(inbox.len(), 2, "the phish moved out");
    assert!(flags(inv_uid).iter().any(|f| f == "\\Seen"));
    assert!(!flags(job_uid).iter().any(|f| f == "\\Seen"));
    assert_eq!(message_ids(&w, "Junk"), vec![message_id(&phish)]);
    // Nothing new: nothing is touched again.
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(scanned(&s), 0);
    assert_eq!(message_ids(&w, "Junk").len(), 1);
}

#[test]
fn idle_wakes_up_on_new_mail() {
    let w = World::new();
    let account = w.alice("idle = true\n");
    let mut src = ImapSource::new(account.clone());
    w.poll_ok(&mut src, &account);
    assert!(src.has_idle());

    // Nothing arrives: the wait times out (1 s is the shortest wait).
    let t = Instant::now();
    assert_eq!(
        src.idle_wait(Duration::from_secs(1)).unwrap(),
        IdleOutcome::Timeout
    );
    assert!(t.elapsed() < Duration::from_secs(5));

    // Mail arrives while idling: the wait ends early, and the session polls it.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            w.rig.append("alice", "INBOX", &synthetic("001"));
        });
        let t = Instant::now();
        assert_eq!(
            src.idle_wait(Duration::from_secs(20)).unwrap(),
            IdleOutcome::NewMail
        );
        assert!(t.elapsed() < Duration::from_secs(10));
    });
    assert!(src.is_connected());
    let before = src.round_trips();
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 1, "{s:?}");
    assert!(
        src.round_trips() - before <= 3,
        "polled on the same session"
    );
}

/// What the server-side search selects, on a real Dovecot: LinkedIn's own mail and
/// imitations of it (display name, RFC 2047-encoded display name, typo-squat domain,
/// subject), but not mail that only mentions LinkedIn in another header or in the body.
/// Pins `SEARCH_CRITERIA` (`HEADER From`, chosen because it costs Dovecot less than `FROM`)
/// to the selection `FROM` gave.
#[test]
fn the_search_selects_linkedin_mail_and_imitations_only() {
    let w = World::new();
    let cases: &[(&str, &str, bool)] = &[
        ("genuine", "From: Ann Lee via LinkedIn <invitations@linkedin.com>\r\nSubject: Ann wants to connect", true),
        ("display name", "From: \"LinkedIn\" <x@evil.example>\r\nSubject: hello", true),
        ("encoded name", "From: =?UTF-8?B?TGlua2VkSW4gU2VjdXJpdHk=?= <x@evil.example>\r\nSubject: hello", true),
        ("encoded-q name", "From: =?utf-8?q?Linked=49n?= <x@evil.example>\r\nSubject: hello", true),
        ("look-alike domain", "From: Team <team@linkedin-mail.example>\r\nSubject: hello", true),
        ("typo-squat", "From: Team <team@LINKEDLN.com>\r\nSubject: hello", true),
        ("folded From", "From: Someone\r\n <someone@linkedin.com>\r\nSubject: hi", true),
        ("comment", "From: x@evil.example (LinkedIn)\r\nSubject: hi", true),
        ("subject", "From: x@evil.example\r\nSubject: Your LinkedIn account", true),
        ("encoded subject", "From: x@evil.example\r\nSubject: =?UTF-8?B?WW91ciBMaW5rZWRJbiBhY2NvdW50?=", true),
        ("Cc only", "From: a@b.example\r\nCc: x@linkedin.com\r\nSubject: hi", false),
        ("Sender only", "From: a@b.example\r\nSender: x@linkedin.com\r\nSubject: hi", false),
        ("Reply-To only", "From: a@b.example\r\nReply-To: x@linkedin.com\r\nSubject: hi", false),
        ("body only", "From: a@b.example\r\nSubject: hi", false),
        ("split word", "From: \"Linked In\" <a@b.example>\r\nSubject: Linked in", false),
    ];
    let mut names = std::collections::HashMap::new();
    let mut expected = Vec::new();
    for (name, head, selected) in cases {
        let raw = format!(
            "{head}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@search.test>\r\n\r\n\
             linkedin.com/comm/mynetwork body\r\n",
            name.replace(' ', "-")
        );
        let uid = w.rig.append("alice", "INBOX", raw.as_bytes());
        names.insert(uid, *name);
        if *selected {
            expected.push(*name);
        }
    }
    let account = w.alice("");
    let mut src = ImapSource::new(account);
    src.connect().unwrap();
    src.examine("INBOX").unwrap();
    let found = src.search_new(0).unwrap();
    let selected: Vec<&str> = found.iter().map(|u| names[u]).collect();
    assert_eq!(selected, expected);
    src.logout();
}

#[test]
fn mail_expunged_between_search_and_fetch_is_left_out() {
    let w = World::new();
    let uids: Vec<u32> = ["001", "002", "003"]
        .iter()
        .map(|f| w.rig.append("alice", "INBOX", &synthetic(f)))
        .collect();
    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    src.connect().unwrap();
    src.examine("INBOX").unwrap();
    let found = src.search_new(0).unwrap();
    assert_eq!(found, uids);

    // Another client deletes the middle one before we fetch.
    let mut other = w.rig.session("alice").unwrap();
    other.select("INBOX").unwrap();
    other
        .uid_store(uids[1].to_string(), "+FLAGS.SILENT (\\Deleted)")
        .unwrap();
    other.expunge().unwrap();
    other.logout().unwrap();

    let mut got = Vec::new();
    src.fetch(&found, &mut |batch| {
        got.extend(batch.into_iter().map(|f| (f.uid, f.raw.is_some())));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, vec![(uids[0], true), (uids[2], true)]);
    assert!(src.is_connected());
    src.logout();
}

#[test]
fn move_into_a_folder_with_spaces_and_non_ascii_characters() {
    let w = World::new();
    let inv = synthetic("001");
    w.rig.append("alice", "INBOX", &inv);
    // Modified UTF-7 of "LinkedIn.Geprüfte Einladungen", as the server lists it.
    let wire = "LinkedIn.Gepr&APw-fte Einladungen";
    let account = w.alice(
        "[accounts.after_processing]\ninvitations = \"move:LinkedIn.Geprüfte Einladungen\"\n",
    );
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!(new_items(&s), 1, "{s:?}");
    assert!(
        w.rig.mailbox_names("alice").iter().any(|n| n == wire),
        "{:?}",
        w.rig.mailbox_names("alice")
    );
    assert_eq!(message_ids(&w, wire), vec![message_id(&inv)]);
    assert!(w.rig.fetch_all("alice", "INBOX").is_empty());
    assert!(w.store().problems_since(0).unwrap().is_empty());
    // The next invitation goes into the existing folder, on a fresh session too.
    w.rig.append("alice", "INBOX", &synthetic("002"));
    let mut fresh = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut fresh, &account);
    assert_eq!(new_items(&s), 1, "{s:?}");
    assert_eq!(message_ids(&w, wire).len(), 2);
}

/// Drops every IMAP connection of `user` at once (`doveadm kick`), as a network failure or a
/// server-side crash of the session would; the server itself stays up.
fn kick(rig: &MailRig, user: &str) {
    let out = Command::new("doveadm")
        .arg("-c")
        .arg(rig.dir().join("etc/dovecot.conf"))
        .args(["kick", user])
        .output()
        .expect("run doveadm");
    assert!(out.status.success(), "doveadm kick: {}", output_text(&out));
}

/// Every synthetic fixture (invitations, a reminder, phishing, other LinkedIn mail), in
/// file name order.
fn every_synthetic() -> Vec<Vec<u8>> {
    let dir = fixtures_dir().join("synthetic");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect()
}

/// What the store must hold once `raws` have all been polled, however often a poll was
/// cut: each digest item once, seen once per distinct mail. By dedupe key.
fn expected_items(raws: &[Vec<u8>]) -> BTreeMap<String, u32> {
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for raw in raws {
        let c = extract::classify(raw, &opts()).unwrap();
        if invite_digest::store::is_kept(c.kind) {
            expected
                .entry(c.dedupe_key())
                .or_default()
                .insert(c.message_id.clone().unwrap_or_default());
        }
    }
    expected
        .into_iter()
        .map(|(k, ids)| (k, ids.len() as u32))
        .collect()
}

/// What the store holds: times seen by dedupe key.
fn stored_items(w: &World) -> BTreeMap<String, u32> {
    w.pending()
        .into_iter()
        .map(|i| (i.dedupe_key, i.times_seen))
        .collect()
}

/// Starts `poll` on a thread and kicks alice off the server as soon as its first batch
/// is stored. The poll usually fails (transiently); it may also win the race.
fn poll_and_kick_after_first_batch(w: &World, src: &mut ImapSource, account: &AccountConfig) {
    std::thread::scope(|scope| {
        let polling = scope.spawn(|| w.poll(src, account));
        let deadline = Instant::now() + Duration::from_secs(20);
        while w.store().cursor("alice-acct", "INBOX").unwrap().is_none() {
            assert!(Instant::now() < deadline, "no batch was committed");
            std::thread::sleep(Duration::from_millis(2));
        }
        kick(&w.rig, "alice");
        match polling.join().unwrap() {
            // Usually: cut in the middle.
            Err(e) => assert!(e.is_transient(), "{e:?}"),
            // The poll may win the race on a fast machine; what follows still holds.
            Ok(s) => eprintln!("the poll finished before the kick: {}", s.line()),
        }
    });
}

#[test]
fn a_connection_lost_in_the_middle_of_a_poll_loses_nothing_and_stores_nothing_twice() {
    let w = World::new();
    let raws = every_synthetic();
    w.rig.append("alice", "INBOX", &raws[0]);
    append_many(&w.rig, "alice", "INBOX", &raws[1..]);
    let expected = expected_items(&raws);
    assert!(expected.len() >= 15, "{expected:?}");

    // One message per batch, and the connection drops as soon as the first one is stored.
    let account = w.alice("fetch_batch = 1\n");
    let mut src = ImapSource::new(account.clone());
    poll_and_kick_after_first_batch(&w, &mut src, &account);
    eprintln!(
        "stored before the reconnect: {} of {}",
        w.pending().len(),
        expected.len()
    );
    let s = w.poll_ok(&mut src, &account);
    let cursor = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();
    assert_eq!(cursor.last_uid, raws.len() as u32, "{s:?}");
    assert_eq!(stored_items(&w), expected);
}

// ---- large scans: a second connection ------------------------------------------------------

/// Ordinary messages in a mailbox big enough for a scan in several search slices (4,000
/// messages or more to scan, see `ImapSource::search_plan`), which fetches what the
/// searches find over a second connection.
const LARGE_MAILBOX_FILLER: usize = 4_200;

/// Fills alice's (empty) INBOX with [`LARGE_MAILBOX_FILLER`] short ordinary messages and
/// every synthetic fixture spread evenly among them, so each search slice finds some.
/// Returns the fixtures and the number of messages.
fn fill_large_mailbox(rig: &MailRig) -> (Vec<Vec<u8>>, u32) {
    let raws = every_synthetic();
    let per_gap = LARGE_MAILBOX_FILLER / raws.len();
    let mut messages = Vec::with_capacity(LARGE_MAILBOX_FILLER + raws.len());
    for (i, raw) in raws.iter().enumerate() {
        for j in 0..per_gap {
            let n = i * per_gap + j;
            messages.push(
                format!(
                    "From: Colleague {n} <colleague{n}@example.org>\r\nTo: alice@example.test\r\n\
                     Subject: Minutes of meeting {n}\r\nMessage-ID: <filler-{n}@example.org>\r\n\
                     Date: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nSee you on Thursday.\r\n"
                )
                .into_bytes(),
            );
        }
        messages.push(raw.clone());
    }
    rig.write_inbox_maildir("alice", &messages);
    (raws, messages.len() as u32)
}

/// Dovecot's log lines after the first `skip` bytes that say a session of alice ended,
/// once there are `n` of them (waits up to 10 s: Dovecot logs a disconnect after the
/// client has gone).
fn alice_disconnects(rig: &MailRig, skip: usize, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = rig.dovecot_log();
        let lines: Vec<String> = log[skip.min(log.len())..]
            .lines()
            .filter(|l| l.contains("imap(alice)") && l.contains("Disconnected"))
            .map(str::to_string)
            .collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `body_count` of a Dovecot disconnect line: message bodies the session fetched.
fn body_count(line: &str) -> u32 {
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("body_count="))
        .unwrap_or_else(|| panic!("no body_count in {line}"));
    value.parse().unwrap()
}

#[test]
fn a_large_first_scan_fetches_over_a_second_connection_and_stores_everything_once() {
    let w = World::new();
    let (raws, total) = fill_large_mailbox(&w.rig);
    let log_before = w.rig.dovecot_log().len();

    let account = w.alice("");
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    src.logout();
    assert_eq!(stored_items(&w), expected_items(&raws), "{s:?}");
    let cursor = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();
    assert_eq!(cursor.last_uid, total, "{s:?}");
    let fetched = scanned(&s) as u32;
    assert!(fetched >= 20, "{s:?}");

    // Two sessions: the first searched and fetched nothing; the second fetched every
    // candidate, plus the one-byte warm-up read.
    let lines = alice_disconnects(&w.rig, log_before, 2);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let mut bodies: Vec<u32> = lines.iter().map(|l| body_count(l)).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, vec![0, fetched + 1], "{lines:#?}");

    // The next poll finds nothing new, on one connection.
    let log_before = w.rig.dovecot_log().len();
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    src.logout();
    assert_eq!(scanned(&s), 0, "{s:?}");
    assert_eq!(alice_disconnects(&w.rig, log_before, 1).len(), 1);
}

#[test]
fn a_large_scan_fetches_on_one_connection_when_a_second_is_refused() {
    let w = World::new();
    let (raws, total) = fill_large_mailbox(&w.rig);
    let proxy = OneConnectionProxy::start(w.rig.imaps_port());
    let log_before = w.rig.dovecot_log().len();

    let mut account = w.alice("");
    account.port = proxy.port();
    let mut src = ImapSource::new(account.clone());
    let s = w.poll_ok(&mut src, &account);
    assert_eq!((proxy.relayed(), proxy.refused()), (1, 1), "{s:?}");
    src.logout();
    assert_eq!(stored_items(&w), expected_items(&raws), "{s:?}");
    let cursor = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();
    assert_eq!(cursor.last_uid, total, "{s:?}");

    let lines = alice_disconnects(&w.rig, log_before, 1);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(body_count(&lines[0]), scanned(&s) as u32, "{lines:#?}");
}

#[test]
fn a_large_scan_cut_in_the_middle_loses_nothing_and_stores_nothing_twice() {
    let w = World::new();
    let (raws, total) = fill_large_mailbox(&w.rig);
    // One message per batch, and both connections drop as soon as the first one is stored.
    let account = w.alice("fetch_batch = 1\n");
    let mut src = ImapSource::new(account.clone());
    poll_and_kick_after_first_batch(&w, &mut src, &account);
    let s = w.poll_ok(&mut src, &account);
    let cursor = w.store().cursor("alice-acct", "INBOX").unwrap().unwrap();
    assert_eq!(cursor.last_uid, total, "{s:?}");
    assert_eq!(stored_items(&w), expected_items(&raws));
}
