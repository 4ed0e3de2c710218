//! End-to-end tests of the daemon (`invite-digest run`) and of `digest --now` against real
//! servers: Dovecot (IMAPS) and Postfix (submission/submissions) from the test rig
//! (`tests/support/rig.rs`). The daemon runs as the real binary, as a child process with
//! its log in a file; the digest is read back over IMAP from user `digest`'s INBOX and
//! parsed as a MIME message.
//!
//! Timing: the digest schedule fires every few seconds (6-field cron with seconds), so
//! each test takes seconds, not minutes. New mail reaches a running daemon through IMAP
//! IDLE (the poll interval cannot go below 30 s).
//!
//! Every test starts its own rig; a rig that cannot start fails the test (never skips).

mod support;

use std::fs;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use invite_digest::store::Store;
use support::rig::MailRig;

const BIN: &str = env!("CARGO_BIN_EXE_invite-digest");

/// Every 2 seconds: a digest slot is never far away.
const FAST: &str = "*/2 * * * * *";
/// Once a year: no slot during a test.
const NEVER_SOON: &str = "0 0 0 1 1 *";

const DANA: &str = "Dana Whitfield"; // 001: accept
const JORDAN: &str = "Jordan Okafor"; // 002: ignore
const EVE_TEXT: &str = "Eve <script>alert(1)</script> Hacker"; // 011: review, hostile
const PHISH_FROM: &str = "invitations@linkedln.com"; // 013: suspicious

// ---- fixtures --------------------------------------------------------------------------

/// The synthetic fixture whose file name starts with `prefix` (e.g. "001").
fn fixture(prefix: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/synthetic");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with(&format!("{prefix}-")) && n.ends_with(".eml")
        })
        .collect();
    assert_eq!(found.len(), 1, "fixture {prefix}: {found:?}");
    fs::read(found.pop().unwrap()).unwrap()
}

// ---- configuration and one-shot commands ------------------------------------------------

#[derive(Clone)]
struct Opts {
    schedule: String,
    idle: bool,
    /// "starttls" (submission port) or "implicit" (submissions port).
    smtp_tls: &'static str,
    send_empty: bool,
}

impl Opts {
    fn new(schedule: &str) -> Opts {
        Opts {
            schedule: schedule.to_string(),
            idle: false,
            smtp_tls: "starttls",
            send_empty: false,
        }
    }

    fn idle(mut self) -> Opts {
        self.idle = true;
        self
    }
}

/// One rig, one state directory, one config file.
struct Setup {
    rig: MailRig,
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let rig = MailRig::start_with_smtp();
        // KEEP_MAILTEST=1 keeps this directory too (config, state, daemon logs).
        let keep = std::env::var("KEEP_MAILTEST").is_ok_and(|v| v == "1");
        let tmp = tempfile::Builder::new()
            .prefix("daemon-e2e.")
            .disable_cleanup(keep)
            .tempdir()
            .unwrap();
        if keep {
            eprintln!("KEEP_MAILTEST=1: keeping {}", tmp.path().display());
        }
        fs::write(tmp.path().join("alice.pw"), "alicepw\n").unwrap();
        Setup { rig, tmp }
    }

    fn config_path(&self) -> PathBuf {
        self.tmp.path().join("config.toml")
    }

    fn state_dir(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    fn config_text(&self, o: &Opts) -> String {
        let ca = self.rig.ca_file();
        let pw = self.tmp.path().join("alice.pw");
        let smtp_port = match o.smtp_tls {
            "implicit" => self.rig.submissions_port(),
            _ => self.rig.submission_port(),
        };
        format!(
            r#"[[accounts]]
name = "alice"
host = "127.0.0.1"
port = {imaps}
tls = "implicit"
username = "alice"
password_file = "{pw}"
ca_file = "{ca}"
mailboxes = ["INBOX"]
poll_interval = "30s"
idle = {idle}
timeout = "15s"

[state]
dir = "{state}"

[digest]
schedule = "{schedule}"
timezone = "UTC"
from = "invite-digest <alice@example.test>"
to = ["digest@example.test"]
send_empty = {send_empty}
subject = "Invitations: {{accept}} accept, {{review}} review, {{ignore}} ignore, {{suspicious}} suspicious, {{total}} in all"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "{tls}"
username = "alice"
password_file = "{pw}"
ca_file = "{ca}"
timeout = "15s"

[authenticity]
trusted_authserv_ids = ["mx.example.net"]
"#,
            imaps = self.rig.imaps_port(),
            pw = pw.display(),
            ca = ca.display(),
            idle = o.idle,
            state = self.state_dir().display(),
            schedule = o.schedule,
            tls = o.smtp_tls,
            send_empty = o.send_empty,
        )
    }

    fn write_config(&self, o: &Opts) {
        // Written to a temporary file and renamed, so a reload never reads half a file.
        let tmp = self.tmp.path().join("config.toml.new");
        fs::write(&tmp, self.config_text(o)).unwrap();
        fs::rename(&tmp, self.config_path()).unwrap();
    }

    fn append(&self, prefixes: &[&str]) {
        for p in prefixes {
            self.rig.append("alice", "INBOX", &fixture(p));
        }
    }

    /// Runs a one-shot command (`poll --once`, `pending`, `digest --now`, ...).
    fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_config(&self.config_path(), args)
    }

    fn cli_with_config(&self, config: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null());
        cmd.output().expect("run invite-digest")
    }

    fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "invite-digest {args:?} failed: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn store(&self) -> Store {
        Store::open(&self.state_dir()).expect("open the state store")
    }

    /// Names (or phish senders) of the pending items.
    fn pending_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .store()
            .pending_items()
            .unwrap()
            .iter()
            .map(|it| match &it.classified.invitation {
                Some(inv) => inv.inviter.name.clone(),
                None => it.classified.from.clone().unwrap_or_default(),
            })
            .collect();
        names.sort();
        names
    }

    /// Digests in digest@'s INBOX right now.
    fn digests(&self) -> Vec<Vec<u8>> {
        match self.rig.try_fetch_all("digest", "INBOX") {
            Ok(Some(m)) => m.into_iter().map(|(_, _, raw)| raw).collect(),
            Ok(None) => Vec::new(),
            Err(e) => panic!("fetch digest/INBOX: {e}"),
        }
    }

    fn wait_digests(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        self.rig.wait_for_message("digest", "INBOX", n, timeout)
    }

    fn spawn(&self) -> Daemon {
        Daemon::spawn(self, None)
    }
}

// ---- the daemon as a child process --------------------------------------------------------

struct Daemon {
    child: Child,
    log: PathBuf,
}

static LOG_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Daemon {
    fn spawn(setup: &Setup, notify_socket: Option<&Path>) -> Daemon {
        let n = LOG_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = setup.tmp.path().join(format!("daemon-{n}.log"));
        let err = fs::File::create(&log).unwrap();
        let out = fs::File::create(setup.tmp.path().join(format!("daemon-{n}.out"))).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("run")
            .arg("--config")
            .arg(setup.config_path())
            .env("RUST_LOG", "debug")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if let Some(s) = notify_socket {
            cmd.env("NOTIFY_SOCKET", s);
        }
        let child = cmd.spawn().expect("spawn invite-digest run");
        Daemon { child, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Waits until `needle` occurs at least `n` times in the log. Panics (with the log) on
    /// timeout or if the daemon exits.
    fn wait_count(&mut self, needle: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.matches(needle).count() >= n {
                return log;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "daemon exited ({st}) while waiting for {n}x {needle:?}\n--- log ---\n{log}"
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {n}x {needle:?}\n--- log ---\n{log}"
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_log(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_count(needle, 1, timeout)
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{sig} {} failed", self.pid());
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM: must exit with status 0 within 5 s. Returns the log.
    fn stop(mut self) -> String {
        let t = Instant::now();
        self.signal("TERM");
        let st = self.wait_exit(Duration::from_secs(5));
        let log = self.log();
        match st {
            Some(st) => assert!(
                st.success(),
                "daemon exited with {st} after SIGTERM\n--- log ---\n{log}"
            ),
            None => panic!("daemon still running 5 s after SIGTERM\n--- log ---\n{log}"),
        }
        assert!(
            log.contains("invite-digest stopped"),
            "no clean stop logged\n{log}"
        );
        eprintln!("daemon stopped {:?} after SIGTERM", t.elapsed());
        log
    }

    /// SIGKILL: no chance to clean up.
    fn kill9(mut self) -> String {
        self.signal("KILL");
        assert!(
            self.wait_exit(Duration::from_secs(5)).is_some(),
            "SIGKILL did not end the daemon"
        );
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- reading a digest ----------------------------------------------------------------------

struct Parsed {
    subject: String,
    message_id: String,
    text: String,
    html: String,
}

fn parse_digest(raw: &[u8]) -> Parsed {
    use mailparse::MailHeaderMap;
    let m = mailparse::parse_mail(raw).expect("digest parses as MIME");
    assert_eq!(
        m.ctype.mimetype,
        "multipart/alternative",
        "digest:\n{}",
        String::from_utf8_lossy(raw)
    );
    assert_eq!(m.subparts.len(), 2, "text and HTML parts");
    assert_eq!(m.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(m.subparts[1].ctype.mimetype, "text/html");
    let subject = m.headers.get_first_value("Subject").unwrap_or_default();
    let message_id = m.headers.get_first_value("Message-ID").unwrap_or_default();
    assert_eq!(
        m.headers.get_first_value("To").as_deref(),
        Some("digest@example.test")
    );
    Parsed {
        subject,
        message_id,
        text: m.subparts[0].get_body().unwrap().replace("\r\n", "\n"),
        html: m.subparts[1].get_body().unwrap(),
    }
}

/// The text part's section `TITLE (n)`: from its heading to the next heading or the footer.
fn text_section<'a>(text: &'a str, title: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n{title} ("))? + 1;
    let rest = &text[start..];
    let end = [
        "\nACCEPT (",
        "\nREVIEW (",
        "\nIGNORE (",
        "\nSUSPICIOUS (",
        "\nMade by invite-digest",
    ]
    .iter()
    .filter_map(|h| rest.find(h))
    .min()
    .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&amp;", "&"))
        .collect()
}

fn is_linkedin_https(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host == "linkedin.com" || host.ends_with(".linkedin.com")
}

/// Checks the digest of fixtures 001, 002, 011, 013 (and 017, which must not show).
fn check_full_digest(d: &Parsed) {
    let t = &d.text;
    assert!(
        d.subject
            .starts_with("Invitations: 1 accept, 1 review, 1 ignore, 1 suspicious, 4 in all"),
        "subject: {}",
        d.subject
    );
    assert!(
        t.starts_with("LinkedIn invitations: 1 to accept, 1 to review, 1 to ignore, 1 suspicious"),
        "{t}"
    );
    let accept = text_section(t, "ACCEPT").unwrap_or_else(|| panic!("no ACCEPT section:\n{t}"));
    let review = text_section(t, "REVIEW").unwrap_or_else(|| panic!("no REVIEW section:\n{t}"));
    let ignore = text_section(t, "IGNORE").unwrap_or_else(|| panic!("no IGNORE section:\n{t}"));
    let susp =
        text_section(t, "SUSPICIOUS").unwrap_or_else(|| panic!("no SUSPICIOUS section:\n{t}"));
    assert!(accept.starts_with("ACCEPT (1)"), "{accept}");
    assert!(accept.contains(DANA), "{accept}");
    assert!(accept.contains("says how you know each other"), "{accept}");
    assert!(accept.contains("12 connections in common"), "{accept}");
    assert!(review.starts_with("REVIEW (1)"), "{review}");
    assert!(review.contains(EVE_TEXT), "{review}");
    assert!(review.contains("note contains HTML markup"), "{review}");
    assert!(ignore.starts_with("IGNORE (1)"), "{ignore}");
    assert!(ignore.contains(JORDAN), "{ignore}");
    assert!(ignore.contains("no personal note"), "{ignore}");
    assert!(susp.starts_with("SUSPICIOUS (1)"), "{susp}");
    assert!(susp.contains(PHISH_FROM), "{susp}");
    assert!(susp.contains("links to hosts outside LinkedIn"), "{susp}");
    assert!(
        !susp.contains("Accept:") && !susp.contains("http"),
        "{susp}"
    );
    // The job alert (017) is not an invitation: not in the digest.
    assert!(
        !t.contains("jobalerts") && !t.contains("rust engineer"),
        "{t}"
    );
    // Each invitation once.
    for name in [DANA, JORDAN] {
        assert_eq!(
            t.matches(&format!("* {name}\n")).count(),
            1,
            "{name} once:\n{t}"
        );
    }
    // Text links: only https LinkedIn.
    for line in t.lines() {
        let l = line.trim();
        if let Some(u) = l
            .strip_prefix("Accept: ")
            .or_else(|| l.strip_prefix("Profile: "))
        {
            assert!(is_linkedin_https(u), "text link {u}");
        }
    }

    // HTML: the same sections, hostile strings escaped, links only to LinkedIn over https.
    let h = &d.html;
    for s in ["Accept (1)", "Review (1)", "Ignore (1)", "Suspicious (1)"] {
        assert!(h.contains(s), "HTML section {s}:\n{h}");
    }
    let lower = h.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "raw <script> in HTML:\n{h}");
    assert!(!lower.contains("<img"), "raw <img in HTML:\n{h}");
    assert!(!lower.contains("onerror=alert(2)>"), "{h}");
    assert!(
        h.contains("Eve &lt;script&gt;alert(1)&lt;/script&gt; Hacker"),
        "escaped name:\n{h}"
    );
    assert!(
        h.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "escaped note:\n{h}"
    );
    let links = hrefs(h);
    // Accept + View profile for each of the three authentic invitations, none for the phish.
    assert_eq!(links.len(), 6, "links: {links:?}");
    for u in &links {
        assert!(is_linkedin_https(u), "HTML link {u}");
    }
    assert_eq!(h.matches(">Accept</a>").count(), 3, "{h}");
    assert_eq!(h.matches(">View profile</a>").count(), 3, "{h}");
    assert!(!h.contains("linkedln-invitations.example\""), "{h}");
    let phish_card = &h[h.find("Suspicious (1)").unwrap()..];
    assert!(
        !phish_card.contains("<a "),
        "link in the Suspicious section:\n{phish_card}"
    );
}

// ---- NOTIFY_SOCKET -------------------------------------------------------------------------

/// A unix datagram socket standing in for systemd's notify socket.
struct NotifySocket {
    path: PathBuf,
    got: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends when the test process ends; the socket file goes with the temp dir.
            loop {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    g.lock().unwrap().push(msg);
                }
            }
        });
        NotifySocket { path, got }
    }

    fn messages(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }

    fn wait_for(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| pred(m)) {
                return m;
            }
            if Instant::now() >= deadline {
                panic!("no matching notify message; got {:?}", self.messages());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

// ---- the tests -----------------------------------------------------------------------------

const T_DIGEST: Duration = Duration::from_secs(20);

/// The whole loop: invitations in alice's INBOX, the daemon polls, the digest fires on the
/// schedule and arrives over SMTP in digest@'s INBOX, and the items are reported. A
/// reminder that arrives afterwards (picked up through IDLE) is not reported again.
/// READY=1 and STATUS= reach NOTIFY_SOCKET; SIGTERM ends the daemon cleanly.
#[test]
fn full_loop_digest_arrives_and_reminder_is_not_reported_again() {
    let s = Setup::new();
    s.write_config(&Opts::new(FAST).idle());
    let out = s.cli_ok(&["schedule", "--next", "2"]);
    assert!(out.contains("*/2 * * * * *"), "{out}");
    s.append(&["001", "002", "011", "013", "017"]);
    let notify = NotifySocket::bind(s.tmp.path());
    let mut d = Daemon::spawn(&s, Some(&notify.path));
    notify.wait_for(|m| m.contains("READY=1"), Duration::from_secs(10));
    d.wait_log(
        "alice: scanned 5, new invitations 3",
        Duration::from_secs(15),
    );
    let log = d.wait_log("digest sent:", T_DIGEST);
    assert!(
        log.contains("1 to accept, 1 to review, 1 to ignore, 1 suspicious"),
        "{log}"
    );
    let msgs = s.wait_digests(1, T_DIGEST);
    assert_eq!(msgs.len(), 1);
    let digest = parse_digest(&msgs[0]);
    check_full_digest(&digest);
    assert!(s.pending_names().is_empty(), "{:?}", s.pending_names());
    notify.wait_for(
        |m| m.contains("STATUS=") && m.contains("next digest"),
        Duration::from_secs(5),
    );

    // A reminder for the invitation already reported (001): merged, never reported again.
    let sent_before = d.count("digest sent:");
    s.append(&["010"]);
    d.wait_log("reminders 1", Duration::from_secs(15));
    // Two more slots pass without a digest.
    let quiet = d.count("no new invitations: no digest sent");
    d.wait_count(
        "no new invitations: no digest sent",
        quiet + 2,
        Duration::from_secs(10),
    );
    assert_eq!(d.count("digest sent:"), sent_before, "{}", d.log());
    assert!(s.pending_names().is_empty(), "{:?}", s.pending_names());
    assert_eq!(s.digests().len(), 1, "no second digest");

    let log = d.stop();
    assert!(!log.contains(" ERROR "), "errors in the log:\n{log}");
    notify.wait_for(|m| m.contains("STOPPING=1"), Duration::from_secs(2));
}

/// SMTP is down at digest time: nothing is marked reported, the problem is logged and
/// recorded; when SMTP is back the next attempt (the next slot, sooner than the backoff)
/// delivers everything once, and the footer mentions the failure.
#[test]
fn smtp_down_at_digest_time_then_back() {
    let s = Setup::new();
    s.write_config(&Opts::new(FAST));
    s.append(&["001", "002"]);
    s.rig.stop_smtp();
    let mut d = s.spawn();
    d.wait_log(
        "alice: scanned 2, new invitations 2",
        Duration::from_secs(15),
    );
    let log = d.wait_log("will retry the digest", T_DIGEST);
    assert!(log.contains("digest not sent"), "{log}");
    assert_eq!(s.pending_names(), vec![DANA, JORDAN]);
    let pending = s.cli_ok(&["pending"]);
    assert!(
        pending.contains(DANA) && pending.contains(JORDAN),
        "{pending}"
    );
    let store = s.store();
    let problems = store.problems_since(0).unwrap();
    assert!(
        problems.iter().any(|p| p.kind == "digest_not_sent"),
        "{problems:?}"
    );
    let unsent = store.unsent_digests().unwrap();
    assert_eq!(unsent.len(), 1, "{unsent:?}");
    assert!(unsent[0].attempts >= 1);
    drop(store);

    // Let it fail once more at a later slot, then bring SMTP back.
    let failures = d.count("digest not sent");
    d.wait_count("digest not sent", failures + 1, Duration::from_secs(10));
    s.rig.start_smtp();
    d.wait_log("digest sent:", T_DIGEST);
    let msgs = s.wait_digests(1, T_DIGEST);
    let p = parse_digest(&msgs[0]);
    assert!(
        p.subject
            .starts_with("Invitations: 1 accept, 0 review, 1 ignore, 0 suspicious, 2 in all"),
        "{}",
        p.subject
    );
    assert_listed_once(&p.text, DANA);
    assert_listed_once(&p.text, JORDAN);
    // The retry keeps the Message-ID; the failure itself is in the store (checked above).
    assert!(s.pending_names().is_empty());
    // Nothing more is sent at later slots.
    let quiet = d.count("no new invitations: no digest sent");
    d.wait_count(
        "no new invitations: no digest sent",
        quiet + 2,
        Duration::from_secs(10),
    );
    d.stop();
    assert_eq!(s.digests().len(), 1);
}

/// SIGKILL after the poll stored the invitations but before any digest, and again after a
/// digest was queued but refused (SMTP down): after each restart nothing is lost, and the
/// digest that finally goes out (at start-up, retrying the outbox) carries each invitation
/// exactly once.
#[test]
fn sigkill_between_poll_and_digest_loses_nothing() {
    let s = Setup::new();
    s.write_config(&Opts::new(NEVER_SOON));
    s.append(&["001", "002", "013"]);
    let mut d = s.spawn();
    d.wait_log(
        "alice: scanned 3, new invitations 2",
        Duration::from_secs(15),
    );
    d.kill9();
    assert_eq!(s.pending_names().len(), 3);

    // A reminder arrives while the daemon is down; it comes back with SMTP down and a
    // schedule that fires soon: the digest is queued, refused, and the daemon killed.
    s.append(&["010"]);
    s.rig.stop_smtp();
    s.write_config(&Opts::new(FAST));
    let mut d = s.spawn();
    d.wait_log(
        "alice: scanned 1, new invitations 0, reminders 1",
        Duration::from_secs(15),
    );
    d.wait_log("will retry the digest", T_DIGEST);
    d.kill9();
    assert_eq!(s.pending_names().len(), 3);
    let dana = s.store().pending_items().unwrap();
    let dana = dana
        .iter()
        .find(|it| {
            it.classified
                .invitation
                .as_ref()
                .is_some_and(|i| i.inviter.name == DANA)
        })
        .unwrap();
    assert_eq!(dana.times_seen, 2, "the reminder was merged: {dana:?}");
    assert_eq!(s.store().unsent_digests().unwrap().len(), 1);

    // SMTP is back; the next start retries the outbox at once, not at the next slot.
    s.rig.start_smtp();
    s.write_config(&Opts::new(NEVER_SOON));
    let mut d = s.spawn();
    let log = d.wait_log("digest sent:", T_DIGEST);
    assert!(log.contains("retrying the unsent digest"), "{log}");
    let msgs = s.wait_digests(1, T_DIGEST);
    let p = parse_digest(&msgs[0]);
    assert_listed_once(&p.text, DANA);
    assert_listed_once(&p.text, JORDAN);
    assert_eq!(p.text.matches(PHISH_FROM).count(), 1, "{}", p.text);
    thread::sleep(Duration::from_secs(1));
    d.stop();
    assert_eq!(s.digests().len(), 1);
    assert!(s.pending_names().is_empty());
    assert!(s.store().unsent_digests().unwrap().is_empty());
}

/// `send_empty = true`: an empty digest goes out at every slot, also several times a day,
/// and one refused while SMTP was down is sent when it is back.
#[test]
fn send_empty_digests_every_slot_and_after_an_outage() {
    let s = Setup::new();
    s.write_config(&Opts {
        send_empty: true,
        ..Opts::new(FAST)
    });
    s.rig.stop_smtp();
    let mut d = s.spawn();
    d.wait_log("digest not sent", T_DIGEST);
    s.rig.start_smtp();
    d.wait_count("digest sent:", 2, T_DIGEST);
    let msgs = s.wait_digests(2, T_DIGEST);
    let log = d.stop();
    assert!(!log.contains(" ERROR "), "{log}");
    let a = parse_digest(&msgs[0]);
    let b = parse_digest(&msgs[1]);
    for p in [&a, &b] {
        assert!(p.text.contains("All quiet"), "{}", p.text);
        assert!(
            p.subject
                .starts_with("Invitations: 0 accept, 0 review, 0 ignore, 0 suspicious, 0 in all"),
            "{}",
            p.subject
        );
    }
    assert_ne!(a.message_id, b.message_id);
    assert!(
        a.text.contains("digest not sent"),
        "the outage is reported:\n{}",
        a.text
    );
}

/// SIGHUP with a broken config: logged, the old config stays in force and the next digest
/// is still delivered. SIGHUP with a good config reloads it.
#[test]
fn sighup_with_broken_config_keeps_running() {
    let s = Setup::new();
    let opts = Opts::new(FAST).idle();
    s.write_config(&opts);
    let notify = NotifySocket::bind(s.tmp.path());
    let mut d = Daemon::spawn(&s, Some(&notify.path));
    d.wait_log("alice: scanned 0", Duration::from_secs(15));
    let good = fs::read_to_string(s.config_path()).unwrap();
    {
        let tmp = s.tmp.path().join("broken.toml");
        let mut f = fs::File::create(&tmp).unwrap();
        f.write_all(b"[[accounts]\nname = \"alice\n").unwrap();
        fs::rename(&tmp, s.config_path()).unwrap();
    }
    d.signal("HUP");
    let log = d.wait_log("configuration reload failed", Duration::from_secs(10));
    assert!(log.contains("previous configuration"), "{log}");
    assert!(d.child.try_wait().unwrap().is_none(), "daemon exited");

    s.append(&["001", "002"]);
    d.wait_log("digest sent:", T_DIGEST);
    let msgs = s.wait_digests(1, T_DIGEST);
    let p = parse_digest(&msgs[0]);
    assert!(
        p.text.contains(DANA) && p.text.contains(JORDAN),
        "{}",
        p.text
    );

    // A good config is picked up.
    fs::write(s.config_path(), good).unwrap();
    d.signal("HUP");
    d.wait_log("configuration reloaded", Duration::from_secs(10));
    // systemd >= 253 needs MONOTONIC_USEC= with RELOADING=1, then READY=1 again.
    let reloading = notify.wait_for(|m| m.contains("RELOADING=1"), Duration::from_secs(2));
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    let msgs = notify.messages();
    let i = msgs.iter().position(|m| m.contains("RELOADING=1")).unwrap();
    assert!(
        msgs[i..].iter().any(|m| m.contains("READY=1")),
        "READY=1 after the reload: {msgs:?}"
    );
    d.stop();
}

/// `digest --now --dry-run` prints the .eml and marks nothing; `digest --now` sends it
/// (submission + STARTTLS); a later one goes over implicit TLS (submissions).
#[test]
fn digest_now_dry_run_then_send_starttls_and_implicit_tls() {
    let s = Setup::new();
    s.write_config(&Opts::new(NEVER_SOON));
    s.append(&["001", "002", "011", "013", "017"]);
    let out = s.cli_ok(&["poll", "--once"]);
    assert!(out.contains("new invitations 3"), "{out}");

    let out = s.cli(&["digest", "--now", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry = parse_digest(&out.stdout);
    check_full_digest(&dry);
    assert_eq!(s.pending_names().len(), 4, "dry run marked nothing");
    {
        let store = s.store();
        assert!(store.unsent_digests().unwrap().is_empty());
        assert_eq!(store.last_sent_digest_at().unwrap(), None);
    }

    let out = s.cli_ok(&["digest", "--now"]);
    assert!(out.contains("digest sent:"), "{out}");
    let msgs = s.wait_digests(1, T_DIGEST);
    let sent = parse_digest(&msgs[0]);
    check_full_digest(&sent);
    assert_eq!(
        sent.message_id, dry.message_id,
        "dry run shows the same Message-ID"
    );
    assert!(s.pending_names().is_empty());

    // Implicit TLS on the submissions port.
    s.append(&["005"]);
    s.cli_ok(&["poll", "--once"]);
    let implicit = s.tmp.path().join("implicit.toml");
    fs::write(
        &implicit,
        s.config_text(&Opts {
            smtp_tls: "implicit",
            ..Opts::new(NEVER_SOON)
        }),
    )
    .unwrap();
    let out = s.cli_with_config(&implicit, &["digest", "--now"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = s.wait_digests(2, T_DIGEST);
    let second = parse_digest(&msgs[1]);
    assert!(
        second
            .subject
            .starts_with("Invitations: 1 accept, 0 review, 0 ignore, 0 suspicious, 1 in all"),
        "{}",
        second.subject
    );
    assert!(second.text.contains("Jürgen Weißmüller"), "{}", second.text);
    assert!(!second.text.contains(DANA), "{}", second.text);
    assert!(s.pending_names().is_empty());

    // The SMTP server refuses the login: exit 69, the digest stays in the outbox and its
    // invitation pending; with the right password the same digest goes out.
    s.append(&["003"]);
    s.cli_ok(&["poll", "--once"]);
    let wrong_pw = s.tmp.path().join("wrong.pw");
    fs::write(&wrong_pw, "not-alicepw\n").unwrap();
    let text = s.config_text(&Opts::new(NEVER_SOON));
    let (accounts, smtp) = text.split_at(text.find("[smtp]").unwrap());
    let right_pw = s.tmp.path().join("alice.pw").display().to_string();
    let bad = s.tmp.path().join("bad-smtp.toml");
    fs::write(
        &bad,
        format!(
            "{accounts}{}",
            smtp.replace(&right_pw, &wrong_pw.display().to_string())
        ),
    )
    .unwrap();
    let out = s.cli_with_config(&bad, &["digest", "--now"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("stays in the outbox"), "{stderr}");
    assert!(
        !stderr.contains("not-alicepw"),
        "the password is never shown: {stderr}"
    );
    assert_eq!(s.pending_names().len(), 1);
    let unsent = s.store().unsent_digests().unwrap();
    assert_eq!(unsent.len(), 1);
    assert_eq!(unsent[0].attempts, 1);
    s.cli_ok(&["digest", "--now"]);
    let msgs = s.wait_digests(3, T_DIGEST);
    assert_eq!(
        parse_digest(&msgs[2]).message_id,
        format!("<{}>", unsent[0].message_id)
    );
    assert!(s.pending_names().is_empty());
    assert!(s.store().unsent_digests().unwrap().is_empty());
}

/// The daemon was down over a slot: on start it sends the missed digest once (after
/// polling, so mail that arrived while it was down is in it), and not again on the next
/// start.
#[test]
fn catch_up_sends_the_missed_digest_once() {
    let s = Setup::new();
    s.write_config(&Opts::new("0 * * * *"));
    let two_hours_ago = chrono::Utc::now().timestamp() - 7200;
    s.store()
        .set_meta("last_digest_slot", &two_hours_ago.to_string())
        .unwrap();
    s.append(&["001", "002"]);
    let mut d = s.spawn();
    let log = d.wait_log("digest sent:", T_DIGEST);
    assert!(log.contains("while the daemon was not running"), "{log}");
    let msgs = s.wait_digests(1, T_DIGEST);
    let p = parse_digest(&msgs[0]);
    assert!(
        p.text.contains(DANA) && p.text.contains(JORDAN),
        "{}",
        p.text
    );
    d.stop();

    let mut d = s.spawn();
    d.wait_log("alice: scanned 0", Duration::from_secs(15));
    thread::sleep(Duration::from_secs(1));
    let log = d.stop();
    assert!(!log.contains("while the daemon was not running"), "{log}");
    assert_eq!(s.digests().len(), 1);
}

/// The inviter appears exactly once among the digest's text entries.
fn assert_listed_once(text: &str, name: &str) {
    assert_eq!(text.matches(&format!("* {name}\n")).count(), 1, "{text}");
}

/// TLS trust, end to end with the binary: a `ca_file` is the only trust (the test CA offered
/// as OpenSSL's default roots does not help when `ca_file` names another CA); without
/// `ca_file` the default roots are used; and the certificate must be for the host name in
/// the config (`127.1` reaches the server's address but is not a name on its certificate).
#[test]
fn ca_file_is_the_only_trust_and_the_host_name_is_checked() {
    let s = Setup::new();
    let unrelated =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/unrelated-ca.pem");
    let base = s.config_text(&Opts::new(NEVER_SOON));
    let ca_line = format!("ca_file = \"{}\"", s.rig.ca_file().display());
    let imap_ca_line = |text: &str, with: Option<&str>| {
        // Only the account's ca_file (the first), not SMTP's.
        let replacement = with
            .map(|w| format!("ca_file = \"{w}\""))
            .unwrap_or_default();
        text.replacen(&ca_line, &replacement, 1)
    };
    let poll = |name: &str, text: String| -> Output {
        let path = s.tmp.path().join(name);
        fs::write(&path, text).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["poll", "--once", "--config"])
            .arg(&path)
            .env("SSL_CERT_FILE", s.rig.ca_file())
            .env("SSL_CERT_DIR", s.tmp.path().join("no-cert-dir"))
            .stdin(Stdio::null());
        cmd.output().expect("run invite-digest")
    };
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let other_ca = poll(
        "other-ca.toml",
        imap_ca_line(&base, Some(&unrelated.display().to_string())),
    );
    assert!(!other_ca.status.success(), "trusted a CA not in ca_file");
    assert!(
        stderr(&other_ca).contains("certificate verify failed"),
        "{}",
        stderr(&other_ca)
    );

    let default_roots = poll("default-roots.toml", imap_ca_line(&base, None));
    assert!(
        default_roots.status.success(),
        "without ca_file the default roots (here the test CA) are used: {}",
        stderr(&default_roots)
    );

    let other_name = poll(
        "other-name.toml",
        base.replacen("host = \"127.0.0.1\"", "host = \"127.1\"", 1),
    );
    assert!(
        !other_name.status.success(),
        "accepted a certificate for another name"
    );
    assert!(
        stderr(&other_name).contains("hostname mismatch"),
        "{}",
        stderr(&other_name)
    );
}
