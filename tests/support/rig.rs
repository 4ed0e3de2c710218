//! `MailRig`: a real Dovecot (IMAP, IMAPS, LMTP) and optionally a real Postfix
//! (SMTP, submission with STARTTLS + AUTH, submissions with implicit TLS + AUTH)
//! on 127.0.0.1, private to one test.
//!
//! The servers are started by the shell scripts in `tests/servers/` (adapted
//! from the project's verified test-server recipe); everything lives in one
//! temporary directory `/tmp/mailtest.XXXXXX` (override the parent with
//! `MAILTEST_TMPDIR`). Each rig picks its own free ports, so tests in one test
//! binary run in parallel. Dropping the rig stops the servers and removes the
//! directory; with `KEEP_MAILTEST=1` the directory (config, logs, Maildirs) is
//! kept and its path printed.
//!
//! Users: `alice:alicepw`, `bob:bobpw`, `digest:digestpw`, domain `example.test`.
//! TLS: a private CA ([`MailRig::ca_file`]) and a server certificate for
//! `localhost`, `mail.example.test`, 127.0.0.1 and 127.0.0.2.
//! Plaintext LOGIN on 127.0.0.1 is accepted by Dovecot (loopback counts as
//! secured); connect to 127.0.0.2 on [`MailRig::imap_port`] for a server that
//! advertises LOGINDISABLED and forces STARTTLS.
//! Dovecot's hierarchy separator is `.` (Maildir++).
//!
//! Requires root and the packages from `tests/servers/install-deps.sh`. A rig
//! that cannot start panics (with the script output and the server log tail):
//! tests fail, they never skip.

use std::fs;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

use imap::types::Flag;

/// The test users (`user`, `password`), as passed to the scripts in `TEST_USERS`.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "alicepw"),
    ("bob", "bobpw"),
    ("digest", "digestpw"),
];
/// One message as returned by [`MailRig::fetch_all`]: `(uid, flags, raw message)`.
pub type Message = (u32, Vec<String>, Vec<u8>);

/// Mail domain of the test users (`alice@example.test`).
pub const DOMAIN: &str = "example.test";

/// Password of one of the [`USERS`]; panics for an unknown user.
pub fn password(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("MailRig: unknown test user {user:?} (known: {USERS:?})"))
}

/// Directory of the server scripts.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers")
}

/// Python interpreter for helper scripts: Debian's (installed by
/// install-deps.sh), not whatever `python3` comes first in PATH.
pub fn python3() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);
const START_ATTEMPTS: usize = 4;
/// Ports are taken from here: below the kernel's ephemeral range (32768-60999
/// by default), so outgoing connections never occupy a port a rig picked.
const PORT_LO: u32 = 20000;
const PORT_HI: u32 = 32000;

/// A logged-in IMAPS session, as returned by [`MailRig::session`].
pub type ImapSession = imap::Session<native_tls::TlsStream<TcpStream>>;

#[derive(Clone, Copy, Debug)]
struct Ports {
    imap: u16,
    imaps: u16,
    lmtp: u16,
    smtp: u16,
    submission: u16,
    submissions: u16,
}

/// One private Dovecot (+ Postfix) instance; see the module docs.
pub struct MailRig {
    /// `Some` until dropped; owns the directory.
    tmp: Option<tempfile::TempDir>,
    path: PathBuf,
    ports: Ports,
    with_smtp: bool,
}

/// Output of a failed script run.
struct ScriptFailure {
    what: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl ScriptFailure {
    fn addr_in_use(&self) -> bool {
        self.stderr.contains("Address already in use")
            || self.stdout.contains("Address already in use")
    }
}

impl MailRig {
    /// Dovecot only (IMAP, IMAPS, LMTP). Panics if it cannot start.
    pub fn start() -> MailRig {
        Self::start_inner(false)
    }

    /// Dovecot + Postfix (SMTP, submission, submissions). Panics if either
    /// cannot start.
    pub fn start_with_smtp() -> MailRig {
        Self::start_inner(true)
    }

    fn start_inner(with_smtp: bool) -> MailRig {
        reap_stale_rigs();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let rig = MailRig::new_dir(with_smtp);
            let mut result = rig.run_script("start-dovecot.sh", &[]);
            if result.is_ok() && with_smtp {
                result = rig.run_script("start-smtp.sh", &[]);
            }
            match result {
                Ok(()) => return rig,
                // Another process took one of the ports between our check and
                // the server's bind(): try again with fresh ports.
                Err(f) if f.addr_in_use() && attempt < START_ATTEMPTS => {
                    eprintln!(
                        "MailRig: port clash on attempt {attempt} ({:?}), retrying with other ports",
                        rig.ports
                    );
                    drop(rig);
                }
                Err(f) => rig.fail(&f),
            }
        }
    }

    fn new_dir(with_smtp: bool) -> MailRig {
        let parent = mailtest_tmpdir();
        let tmp = tempfile::Builder::new()
            .prefix("mailtest.")
            .tempdir_in(&parent)
            .unwrap_or_else(|e| {
                panic!(
                    "MailRig: cannot create a temp dir in {}: {e}",
                    parent.display()
                )
            });
        let path = tmp.path().to_path_buf();
        // Lets a later test process stop these servers if this one is killed
        // before Drop runs (see reap_stale_rigs).
        let me = std::process::id();
        let owner = format!(
            "{me} {} {}\n",
            proc_start_time(me).unwrap_or(0),
            keep_requested() as u8
        );
        fs::write(path.join("rig-owner"), owner).expect("MailRig: write rig-owner");
        let p = alloc_ports(6);
        MailRig {
            tmp: Some(tmp),
            path,
            ports: Ports {
                imap: p[0],
                imaps: p[1],
                lmtp: p[2],
                smtp: p[3],
                submission: p[4],
                submissions: p[5],
            },
            with_smtp,
        }
    }

    /// The rig's directory (config in `etc/`, logs in `log/`, Maildirs in
    /// `mail/<user>/Maildir`, Postfix in `postfix/`, `env.sh` with all settings).
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// PEM file of the private CA that signed the servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.path.join("tls/ca.pem")
    }

    /// IMAP with STARTTLS (on 127.0.0.1 and 127.0.0.2).
    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }

    /// IMAP over implicit TLS.
    pub fn imaps_port(&self) -> u16 {
        self.ports.imaps
    }

    /// Dovecot LMTP (no auth; delivers to `user@example.test`).
    pub fn lmtp_port(&self) -> u16 {
        self.ports.lmtp
    }

    /// Postfix submission: STARTTLS required, AUTH required.
    pub fn submission_port(&self) -> u16 {
        self.ports.submission
    }

    /// Postfix submissions: implicit TLS, AUTH required.
    pub fn submissions_port(&self) -> u16 {
        self.ports.submissions
    }

    /// Postfix plain SMTP (MX-style: no AUTH, STARTTLS offered, relays for 127/8).
    pub fn smtp_port(&self) -> u16 {
        self.ports.smtp
    }

    /// Whether the rig was started with [`MailRig::start_with_smtp`].
    pub fn has_smtp(&self) -> bool {
        self.with_smtp
    }

    /// APPENDs `raw` to `mailbox` of `user` over IMAPS (certificate verified
    /// against the rig's CA), creating the mailbox if missing. Returns the UID
    /// (from the UIDPLUS APPENDUID response).
    pub fn append(&self, user: &str, mailbox: &str, raw: &[u8]) -> u32 {
        let ctx = format!("append to {user}/{mailbox}");
        let mut s = self
            .session(user)
            .unwrap_or_else(|e| self.fail_imap(&ctx, &e));
        self.ensure_mailbox(&mut s, mailbox)
            .unwrap_or_else(|e| self.fail_imap(&ctx, &e));
        let appended = s
            .append(mailbox, raw)
            .finish()
            .unwrap_or_else(|e| self.fail_imap(&ctx, &format!("APPEND: {e}")));
        let uid =
            appended_uid(&mut s, mailbox, &appended).unwrap_or_else(|e| self.fail_imap(&ctx, &e));
        let _ = s.logout();
        uid
    }

    /// Writes `messages` straight into `user`'s INBOX Maildir (`cur/`), for mailboxes
    /// too big to fill by APPEND (Dovecot rewrites its UID list at every APPEND, so
    /// thousands take many seconds). No IMAP session of `user` may be open. The file names
    /// sort in the order given, and Dovecot gives the new files UIDs in that order at the
    /// next session's sync, after every message already there.
    pub fn write_inbox_maildir(&self, user: &str, messages: &[Vec<u8>]) {
        use std::os::unix::fs::MetadataExt;
        let mail = self.path.join("mail");
        let meta = fs::metadata(&mail).expect("MailRig: the mail directory");
        let (uid, gid) = (meta.uid(), meta.gid());
        let home = mail.join(user);
        let maildir = home.join("Maildir");
        for d in [
            home.clone(),
            maildir.clone(),
            maildir.join("cur"),
            maildir.join("new"),
            maildir.join("tmp"),
        ] {
            match fs::create_dir(&d) {
                Ok(()) => std::os::unix::fs::chown(&d, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("MailRig: chown {}: {e}", d.display())),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("MailRig: create {}: {e}", d.display()),
            }
        }
        // Later than any file there: names start with the time, and Dovecot sorts by it.
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let pid = std::process::id();
        for (i, raw) in messages.iter().enumerate() {
            let vsize = raw.len() + raw.iter().filter(|&&b| b == b'\n').count();
            let name = format!(
                "{}.M{i}P{pid}.mailrig,S={},W={vsize}:2,",
                base + i as u64,
                raw.len()
            );
            let path = maildir.join("cur").join(name);
            fs::write(&path, raw)
                .and_then(|()| std::os::unix::fs::chown(&path, Some(uid), Some(gid)))
                .unwrap_or_else(|e| panic!("MailRig: write {}: {e}", path.display()));
        }
    }

    /// All messages of `mailbox`, by UID: `(uid, flags, raw message)`. Read-only
    /// (EXAMINE + `BODY.PEEK[]`): sets no flag. `\Recent` is left out of the
    /// flags (it depends on the session). Panics if the mailbox does not exist.
    pub fn fetch_all(&self, user: &str, mailbox: &str) -> Vec<Message> {
        let ctx = format!("fetch_all {user}/{mailbox}");
        match self.try_fetch_all(user, mailbox) {
            Ok(Some(msgs)) => msgs,
            Ok(None) => self.fail_imap(&ctx, "mailbox does not exist"),
            Err(e) => self.fail_imap(&ctx, &e),
        }
    }

    /// Like `fetch_all`, but `Ok(None)` for a missing mailbox and errors
    /// returned instead of panicking.
    pub fn try_fetch_all(&self, user: &str, mailbox: &str) -> Result<Option<Vec<Message>>, String> {
        let mut s = self.session(user)?;
        let mut msgs = Vec::new();
        let exists = fetch_each(&mut s, mailbox, |f| {
            let (uid, flags, raw) = uid_flags_raw(f)?;
            msgs.push((uid, flags.iter().map(|fl| fl.to_string()).collect(), raw));
            Ok(())
        })?;
        let _ = s.logout();
        msgs.sort_by_key(|m| m.0);
        Ok(exists.then_some(msgs))
    }

    /// UIDVALIDITY of `mailbox` (EXAMINE).
    pub fn uid_validity(&self, user: &str, mailbox: &str) -> u32 {
        let ctx = format!("uid_validity {user}/{mailbox}");
        let mut s = self
            .session(user)
            .unwrap_or_else(|e| self.fail_imap(&ctx, &e));
        let mb = s
            .examine(mailbox)
            .unwrap_or_else(|e| self.fail_imap(&ctx, &format!("EXAMINE: {e}")));
        let _ = s.logout();
        mb.uid_validity
            .unwrap_or_else(|| self.fail_imap(&ctx, "no UIDVALIDITY in EXAMINE response"))
    }

    /// Names of all mailboxes of `user` (`LIST "" "*"`), e.g. `["INBOX", "Archive"]`.
    pub fn mailbox_names(&self, user: &str) -> Vec<String> {
        let ctx = format!("mailbox_names {user}");
        let mut s = self
            .session(user)
            .unwrap_or_else(|e| self.fail_imap(&ctx, &e));
        let names = s
            .list(Some(""), Some("*"))
            .unwrap_or_else(|e| self.fail_imap(&ctx, &format!("LIST: {e}")));
        let out = names.iter().map(|n| n.name().to_string()).collect();
        let _ = s.logout();
        out
    }

    /// Deletes `mailbox` and recreates it with the same messages (raw, flags,
    /// INTERNALDATE), so its UIDVALIDITY changes and UIDs restart at 1. Panics
    /// if the UIDVALIDITY did not change.
    ///
    /// Sessions that have the mailbox selected are disconnected by Dovecot
    /// ("Selected mailbox was deleted" / "IMAP session state is inconsistent"),
    /// as with a real server. Dovecot refuses to DELETE INBOX; for INBOX the
    /// messages are expunged and INBOX's index and `dovecot-uidlist` removed,
    /// which makes Dovecot assign a new UIDVALIDITY (from its per-user counter)
    /// exactly as for a recreated mailbox.
    pub fn recreate_mailbox(&self, user: &str, mailbox: &str) {
        let ctx = format!("recreate_mailbox {user}/{mailbox}");
        let fail = |e: String| -> ! { self.fail_imap(&ctx, &e) };

        // 1. save the messages (own session: deleting a selected mailbox
        //    disconnects the session that selected it)
        let mut s = self.session(user).unwrap_or_else(|e| fail(e));
        let old_validity = s
            .examine(mailbox)
            .unwrap_or_else(|e| fail(format!("EXAMINE: {e}")))
            .uid_validity
            .unwrap_or_else(|| fail("no UIDVALIDITY".into()));
        let mut saved = Vec::new();
        let exists = fetch_each(&mut s, mailbox, |f| {
            let (uid, flags, raw) = uid_flags_raw(f)?;
            saved.push((uid, flags, f.internal_date(), raw));
            Ok(())
        })
        .unwrap_or_else(|e| fail(e));
        if !exists {
            fail("mailbox does not exist".into());
        }
        saved.sort_by_key(|m| m.0);
        let _ = s.logout();

        // 2. delete
        let mut s = self.session(user).unwrap_or_else(|e| fail(e));
        if mailbox.eq_ignore_ascii_case("INBOX") {
            if !saved.is_empty() {
                s.select(mailbox)
                    .unwrap_or_else(|e| fail(format!("SELECT: {e}")));
                s.uid_store("1:*", "+FLAGS.SILENT (\\Deleted)")
                    .unwrap_or_else(|e| fail(format!("UID STORE \\Deleted: {e}")));
                s.expunge()
                    .unwrap_or_else(|e| fail(format!("EXPUNGE: {e}")));
            }
            let _ = s.logout();
            let maildir = self.path.join("mail").join(user).join("Maildir");
            for f in [
                "dovecot-uidlist",
                "dovecot.index",
                "dovecot.index.log",
                "dovecot.index.log.2",
                "dovecot.index.cache",
            ] {
                match fs::remove_file(maildir.join(f)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => fail(format!("remove {}: {e}", maildir.join(f).display())),
                }
            }
        } else {
            s.delete(mailbox)
                .unwrap_or_else(|e| fail(format!("DELETE: {e}")));
            s.create(mailbox)
                .unwrap_or_else(|e| fail(format!("CREATE: {e}")));
            let _ = s.logout();
        }

        // 3. put the messages back, in UID order
        let mut s = self.session(user).unwrap_or_else(|e| fail(e));
        for (_, flags, date, raw) in &saved {
            let mut cmd = s.append(mailbox, raw);
            cmd.flags(flags.iter().cloned());
            if let Some(date) = date {
                cmd.internal_date(*date);
            }
            cmd.finish()
                .unwrap_or_else(|e| fail(format!("APPEND: {e}")));
        }
        let new_validity = s
            .examine(mailbox)
            .unwrap_or_else(|e| fail(format!("EXAMINE: {e}")))
            .uid_validity
            .unwrap_or_else(|| fail("no UIDVALIDITY".into()));
        let _ = s.logout();
        if new_validity == old_validity {
            fail(format!("UIDVALIDITY did not change ({old_validity})"));
        }
    }

    /// Stops Dovecot gracefully (clients get `* BYE Server shutting down`; ~1.1-1.5 s).
    /// Data, CA and certificate stay; [`MailRig::start_imap`] restarts it on the same ports.
    pub fn stop_imap(&self) {
        if let Err(f) = self.run_script("stop-dovecot.sh", &[]) {
            self.fail(&f);
        }
    }

    /// (Re)starts Dovecot on the same ports with the same data (~0.15 s).
    pub fn start_imap(&self) {
        if let Err(f) = self.run_script("start-dovecot.sh", &[]) {
            self.fail(&f);
        }
    }

    /// Stops Postfix (~0.05 s). Its queue is kept.
    pub fn stop_smtp(&self) {
        if let Err(f) = self.run_script("stop-smtp.sh", &[]) {
            self.fail(&f);
        }
    }

    /// (Re)starts Postfix on the same ports (~0.4 s); also works on a rig
    /// started without SMTP. Needs Dovecot running (SASL + LMTP).
    pub fn start_smtp(&self) {
        if let Err(f) = self.run_script("start-smtp.sh", &[]) {
            self.fail(&f);
        }
    }

    /// Polls `mailbox` of `user` (every 50 ms, a new IMAPS session each time,
    /// so it survives server restarts) until it holds at least `min_count`
    /// messages; returns all raw messages in UID order. A missing mailbox
    /// counts as empty. Panics on timeout, with the logs.
    pub fn wait_for_message(
        &self,
        user: &str,
        mailbox: &str,
        min_count: usize,
        timeout: Duration,
    ) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            match self.try_fetch_all(user, mailbox) {
                Ok(Some(msgs)) if msgs.len() >= min_count => {
                    return msgs.into_iter().map(|(_, _, raw)| raw).collect();
                }
                Ok(Some(msgs)) => last = format!("{} message(s)", msgs.len()),
                Ok(None) => last = "mailbox does not exist".to_string(),
                Err(e) => last = format!("error: {e}"),
            }
            if Instant::now() >= deadline {
                self.fail_imap(
                    &format!("wait_for_message {user}/{mailbox}"),
                    &format!(
                        "fewer than {min_count} message(s) after {timeout:?}; last poll: {last}"
                    ),
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Dovecot's log (`log/dovecot.log`), empty if there is none yet.
    pub fn dovecot_log(&self) -> String {
        read_lossy(&self.path.join("log/dovecot.log"))
    }

    /// Postfix's log (`log/postfix.log`), empty if there is none.
    pub fn postfix_log(&self) -> String {
        read_lossy(&self.path.join("log/postfix.log"))
    }

    /// Logged-in IMAPS session for `user`, certificate verified against the
    /// rig's CA (host name `localhost`), 30 s I/O timeouts.
    pub fn session(&self, user: &str) -> Result<ImapSession, String> {
        let addr = ("127.0.0.1", self.ports.imaps);
        let tcp = TcpStream::connect(addr)
            .map_err(|e| format!("connect 127.0.0.1:{}: {e}", self.ports.imaps))?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let pem = fs::read(self.ca_file())
            .map_err(|e| format!("read {}: {e}", self.ca_file().display()))?;
        let ca = native_tls::Certificate::from_pem(&pem).map_err(|e| format!("CA: {e}"))?;
        let connector = native_tls::TlsConnector::builder()
            .add_root_certificate(ca)
            .disable_built_in_roots(true)
            .build()
            .map_err(|e| format!("TLS connector: {e}"))?;
        let tls = connector
            .connect("localhost", tcp)
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let mut client = imap::Client::new(tls);
        client
            .read_greeting()
            .map_err(|e| format!("greeting: {e}"))?;
        client
            .login(user, password(user))
            .map_err(|(e, _)| format!("LOGIN {user}: {e}"))
    }

    fn ensure_mailbox(&self, s: &mut ImapSession, mailbox: &str) -> Result<(), String> {
        let names = s
            .list(Some(""), Some(&quote_mailbox(mailbox)))
            .map_err(|e| format!("LIST {mailbox}: {e}"))?;
        if names.is_empty() {
            s.create(mailbox)
                .map_err(|e| format!("CREATE {mailbox}: {e}"))?;
        }
        Ok(())
    }

    /// Runs `tests/servers/<script> DIR` with the rig's ports; output goes to
    /// files (never pipes: a daemon could keep a pipe open forever).
    fn run_script(&self, script: &str, extra_args: &[&str]) -> Result<(), ScriptFailure> {
        let out_path = self.path.join(format!("rig-{script}.out"));
        let err_path = self.path.join(format!("rig-{script}.err"));
        let what = format!("{script} {}", self.path.display());
        let spawn_fail = |e: io::Error| ScriptFailure {
            what: what.clone(),
            status: None,
            stdout: String::new(),
            stderr: format!("cannot run {script}: {e}"),
        };
        let out = fs::File::create(&out_path).map_err(spawn_fail)?;
        let err = fs::File::create(&err_path).map_err(spawn_fail)?;
        let users: Vec<String> = USERS.iter().map(|(u, p)| format!("{u}:{p}")).collect();
        let mut child = Command::new("bash")
            .arg(scripts_dir().join(script))
            .args(extra_args)
            .arg(&self.path)
            .env_remove("MAILTEST_DIR")
            .env("IMAP_PORT", self.ports.imap.to_string())
            .env("IMAPS_PORT", self.ports.imaps.to_string())
            .env("LMTP_PORT", self.ports.lmtp.to_string())
            .env("SMTP_PORT", self.ports.smtp.to_string())
            .env("SUBMISSION_PORT", self.ports.submission.to_string())
            .env("SUBMISSIONS_PORT", self.ports.submissions.to_string())
            .env("TEST_USERS", users.join(" "))
            .env("MAIL_DOMAIN", DOMAIN)
            .env("PYTHON", python3())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(spawn_fail)?;
        let deadline = Instant::now() + SCRIPT_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        if status.is_some_and(|s| s.success()) {
            return Ok(());
        }
        let mut stderr = read_lossy(&err_path);
        if status.is_none() {
            stderr.push_str(&format!("\n(killed after {SCRIPT_TIMEOUT:?})"));
        }
        Err(ScriptFailure {
            what,
            status,
            stdout: read_lossy(&out_path),
            stderr,
        })
    }

    fn logs_tail(&self) -> String {
        let mut s = String::new();
        for name in [
            "dovecot.log",
            "dovecot-start.log",
            "postfix.log",
            "postfix-start.log",
        ] {
            let p = self.path.join("log").join(name);
            if p.exists() {
                s.push_str(&format!(
                    "--- {} (last 40 lines) ---\n{}\n",
                    p.display(),
                    tail(&read_lossy(&p), 40)
                ));
            }
        }
        s.push_str(if keep_requested() {
            "(KEEP_MAILTEST=1: the directory is kept)\n"
        } else {
            "(set KEEP_MAILTEST=1 to keep the directory)\n"
        });
        s
    }

    fn fail(&self, f: &ScriptFailure) -> ! {
        panic!(
            "MailRig: {} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\n{}",
            f.what,
            f.status.map_or("timed out".to_string(), |s| s.to_string()),
            f.stdout.trim_end(),
            f.stderr.trim_end(),
            self.logs_tail()
        )
    }

    fn fail_imap(&self, ctx: &str, err: &str) -> ! {
        panic!(
            "MailRig ({}): {ctx}: {err}\n{}",
            self.path.display(),
            self.logs_tail()
        )
    }
}

impl Drop for MailRig {
    fn drop(&mut self) {
        let keep = keep_requested();
        // Fast stop (SIGKILL) unless the directory is kept for inspection.
        let _ = self.run_script("stop-smtp.sh", &[]);
        let args: &[&str] = if keep { &[] } else { &["--kill"] };
        if let Err(f) = self.run_script("stop-dovecot.sh", args) {
            eprintln!("MailRig: {} failed: {}", f.what, f.stderr);
        }
        if let Some(tmp) = self.tmp.take() {
            if keep {
                let _ = fs::write(self.path.join("rig-kept"), "");
                eprintln!("MailRig: KEEP_MAILTEST=1, kept {}", tmp.keep().display());
            }
            // else: TempDir's Drop removes the directory
        }
    }
}

/// EXAMINE + `UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])`, calling `each`
/// per message (in server order). `Ok(false)` if the mailbox does not exist.
/// (A callback rather than a struct, so that this module needs no chrono
/// dependency for the INTERNALDATE type.)
fn fetch_each(
    s: &mut ImapSession,
    mailbox: &str,
    mut each: impl FnMut(&imap::types::Fetch<'_>) -> Result<(), String>,
) -> Result<bool, String> {
    let names = s
        .list(Some(""), Some(mailbox))
        .map_err(|e| format!("LIST {mailbox}: {e}"))?;
    if names.is_empty() {
        return Ok(false);
    }
    let mb = s
        .examine(mailbox)
        .map_err(|e| format!("EXAMINE {mailbox}: {e}"))?;
    if mb.exists > 0 {
        let fetches = s
            .uid_fetch("1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
            .map_err(|e| format!("UID FETCH: {e}"))?;
        for f in fetches.iter() {
            each(f)?;
        }
    }
    Ok(true)
}

/// UID, flags without `\Recent`, raw message of one FETCH response.
fn uid_flags_raw(f: &imap::types::Fetch<'_>) -> Result<(u32, Vec<Flag<'static>>, Vec<u8>), String> {
    let uid = f.uid.ok_or("FETCH response without UID")?;
    let raw = f
        .body()
        .ok_or_else(|| format!("FETCH response without BODY[] for UID {uid}"))?;
    let flags = f
        .flags()
        .iter()
        .filter(|fl| **fl != Flag::Recent)
        .map(|fl| fl.clone().into_owned())
        .collect();
    Ok((uid, flags, raw.to_vec()))
}

/// UID of the message just appended, from the APPENDUID response code. The
/// imap crate does not re-export imap-proto's `UidSetMember`, so the UID is
/// found by comparing against `UidSetMember::from(u32)`, counting down from
/// UIDNEXT-1 (normally the first candidate).
fn appended_uid(
    s: &mut ImapSession,
    mailbox: &str,
    appended: &imap::types::Appended,
) -> Result<u32, String> {
    fn is_single<M: From<u32> + PartialEq>(members: &[M], uid: u32) -> bool {
        members.len() == 1 && members[0] == M::from(uid)
    }
    let members = appended
        .uids
        .as_ref()
        .ok_or("no APPENDUID in the APPEND response (server without UIDPLUS?)")?;
    let mb = s
        .examine(mailbox)
        .map_err(|e| format!("EXAMINE {mailbox}: {e}"))?;
    let next = mb.uid_next.ok_or("no UIDNEXT in EXAMINE response")?;
    (1..next)
        .rev()
        .find(|&u| is_single(members, u))
        .ok_or_else(|| "APPENDUID names no single UID below UIDNEXT".to_string())
}

fn keep_requested() -> bool {
    std::env::var("KEEP_MAILTEST").is_ok_and(|v| v == "1")
}

fn mailtest_tmpdir() -> PathBuf {
    // Not TMPDIR: the parent must be traversable by the 'dovecot' and 'postfix'
    // users, and Unix socket paths under it must stay short.
    std::env::var_os("MAILTEST_TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `n` ports that are free on 127.0.0.1 and 127.0.0.2 right now. Each process
/// starts at its own offset in [PORT_LO, PORT_HI) and never hands out a port
/// twice, so rigs in one process (parallel tests) never share ports and rigs
/// in different processes rarely collide; a collision with anything else
/// shows up as "Address already in use" at start, and the rig retries.
fn alloc_ports(n: usize) -> Vec<u16> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = PORT_HI - PORT_LO;
    let offset = std::process::id().wrapping_mul(2_654_435_761) % span;
    let mut ports = Vec::with_capacity(n);
    for _ in 0..span {
        if ports.len() == n {
            break;
        }
        let i = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (PORT_LO + (offset + i) % span) as u16;
        let free = TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.2", port)).is_ok();
        if free {
            ports.push(port);
        }
    }
    assert_eq!(
        ports.len(),
        n,
        "MailRig: no free ports in {PORT_LO}..{PORT_HI}"
    );
    ports
}

/// Start time of a process (field 22 of /proc/PID/stat), to tell a live owner
/// from a reused PID.
fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Once per process: stop the servers of rigs whose test process died without
/// running Drop (killed, Ctrl-C, `panic = "abort"`), and remove their
/// directories (unless they were started with KEEP_MAILTEST=1). Only touches
/// `mailtest.*` directories that a MailRig created (they have `rig-owner`).
fn reap_stale_rigs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = fs::read_dir(mailtest_tmpdir()) else {
            return;
        };
        for e in entries.flatten() {
            let dir = e.path();
            if !e.file_name().to_string_lossy().starts_with("mailtest.")
                || dir.join("rig-kept").exists()
            {
                continue;
            }
            let Ok(owner) = fs::read_to_string(dir.join("rig-owner")) else {
                continue;
            };
            let f: Vec<u64> = owner
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let [pid, start, keep] = f[..] else { continue };
            let owner_alive = u32::try_from(pid).ok().and_then(proc_start_time) == Some(start);
            if owner_alive {
                continue;
            }
            let run = |script: &str, args: &[&str]| {
                let _ = Command::new("bash")
                    .arg(scripts_dir().join(script))
                    .args(args)
                    .arg(&dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            };
            run("stop-smtp.sh", &[]);
            run("stop-dovecot.sh", &["--kill"]);
            if keep == 1 {
                let _ = fs::write(dir.join("rig-kept"), "");
            } else {
                let _ = fs::remove_dir_all(&dir);
            }
            eprintln!(
                "MailRig: cleaned up stale rig {} (owner pid {pid} is gone)",
                dir.display()
            );
        }
    });
}

/// Quotes a mailbox name for LIST (the imap crate passes the pattern through as is, so a
/// name with spaces would be split into extra arguments).
fn quote_mailbox(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
