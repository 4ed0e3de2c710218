//! The IMAP source adapter: connects to one account (TLS verified, STARTTLS without
//! downgrade, plaintext only on loopback), logs in with a password or XOAUTH2, finds new
//! LinkedIn-looking messages by UID, fetches them in bounded batches without setting
//! `\Seen`, applies the opt-in after-processing actions, and waits with IDLE.
//!
//! It is blocking (the `imap` crate is); the daemon runs it on a blocking thread. Nothing
//! outside this module sees the `imap` crate: callers get [`ImapSource`], [`SourceError`] and
//! plain data. It does not parse or classify messages and keeps no state between runs; the
//! caller owns the UID cursor (UIDVALIDITY + last UID) and decides what to fetch and act on.
//!
//! Secrets: the password or token is read at each login, exposed only to build the LOGIN /
//! AUTHENTICATE line, and never logged or put in an error. The `imap` crate's wire dump
//! (`debug`, printed to stderr) stays off.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imap::types::UnsolicitedResponse;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use tracing::{debug, info, warn};

mod fetch;
mod tls;

use self::tls::{HandshakeFailure, Transport};
use crate::config::secret::run_secret_command;
use crate::config::{AccountConfig, Action, AuthMethod, SecretError, TlsMode};

type Session = imap::Session<Transport>;

/// The search run by [`ImapSource::search_slice`], after the UID range.
///
/// We want genuine LinkedIn mail *and* mail pretending to be LinkedIn, so that phishing can
/// be flagged in the digest. `HEADER From "linkedin"` matches the decoded From header as a
/// case-insensitive substring, display name included, so it catches
/// `invitations@linkedin.com` as well as `"LinkedIn" <x@evil.example>` and
/// `linkedin-mail.example`. `linkedln` (l-n) adds the most common typo-squat, and
/// `SUBJECT "linkedin"` catches look-alikes whose From says nothing (and forwards, which the
/// extractor labels as not LinkedIn). Homoglyph senders (Cyrillic `і`) are not caught here;
/// matching them would mean fetching every new message. All of it is one `UID SEARCH`.
///
/// Why `HEADER From` rather than `FROM`: both are RFC 3501 (6.4.4) and select the same
/// mail on Dovecot (`tests/imap_sync.rs` pins the set against a real server), but Dovecot
/// answers `FROM` by parsing every cached From header as an address list, and `HEADER`
/// by a plain substring match: a first scan's search of 100,000 messages costs the server
/// about a quarter less (bench/RESULTS.md). Exchange is also known to match `FROM` against
/// the display name only. Gmail gets [`GMAIL_SEARCH_CRITERIA`].
pub const SEARCH_CRITERIA: &str =
    r#"OR OR HEADER From "linkedin" HEADER From "linkedln" SUBJECT "linkedin""#;

/// [`SEARCH_CRITERIA`] for Gmail (capability `X-GM-EXT-1`), whose IMAP search runs on its
/// own index and matches whole words: `FROM` is the criterion documented to work there,
/// while `HEADER` searches of arbitrary fields are not. `linkedin` is a whole word of
/// `invitations@linkedin.com` in that index.
pub const GMAIL_SEARCH_CRITERIA: &str =
    r#"OR OR FROM "linkedin" FROM "linkedln" SUBJECT "linkedin""#;

/// The longest UID set put into one command. Servers limit command lines (Dovecot: 64 KiB,
/// some others 8 KiB); sets are compressed into ranges, so this is rarely reached.
const MAX_UID_SET_LEN: usize = 4000;

/// About how many messages one `UID SEARCH` of a first scan covers; see
/// [`ImapSource::search_plan`].
const SEARCH_SLICE_MESSAGES: u32 = 20_000;

/// At most this many full slices, however large the mailbox (plus the taper's three).
const MAX_SEARCH_SLICES: u32 = 16;

/// From this many messages on, the plan's last slice is tapered; see
/// [`ImapSource::search_plan`]. Below it, the last slice's work is small anyway.
const TAPER_FROM_MESSAGES: u32 = 4_000;

/// Longest line accepted before the `imap` crate takes over (greeting, pre-TLS CAPABILITY).
const MAX_PRELOGIN_LINE: usize = 16 * 1024;

/// IDLE is re-issued by the caller; this caps one wait below the 29 minutes after which
/// servers may drop an idle client (RFC 2177).
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

/// What can go wrong talking to an IMAP account. Messages name the account and say what to
/// check; they never contain a password or token.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("account {account}: cannot connect to {host}:{port}: {source}")]
    Connect {
        account: String,
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("account {account}: TLS: {detail}")]
    Tls { account: String, detail: String },
    #[error("account {account}: login failed: {detail} (check the username and the password or token source)")]
    Auth { account: String, detail: String },
    #[error("account {account}: cannot read the credential: {source}")]
    Secret {
        account: String,
        source: SecretError,
    },
    #[error("account {account}: IMAP protocol error: {detail}")]
    Protocol { account: String, detail: String },
    #[error("account {account}: the server did not answer {op} in time (see `timeout` for this account)")]
    Timeout { account: String, op: &'static str },
    #[error("account {account}: connection failed during {op}: {source}")]
    Io {
        account: String,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("account {account}: mailbox {mailbox:?}: {detail}")]
    Mailbox {
        account: String,
        mailbox: String,
        detail: String,
    },
    #[error("account {account}: refusing plaintext IMAP to {host}: tls = \"plain\" is only allowed for 127.0.0.1, ::1 and localhost; use \"implicit\" (port 993) or \"starttls\" (port 143)")]
    PlaintextRefused { account: String, host: String },
    #[error("account {account}: {detail}")]
    Unsupported { account: String, detail: String },
    #[error(
        "account {account}: not connected (call connect first, or again after a connection error)"
    )]
    NotConnected { account: String },
}

impl SourceError {
    /// True for failures that may go away by themselves (network, timeouts, a server hiccup):
    /// retry with backoff. False for ones that need the user (wrong password, missing secret,
    /// certificate, configuration); the daemon still retries those, but slowly, and reports
    /// them as a problem.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Connect { .. }
            | SourceError::Protocol { .. }
            | SourceError::Timeout { .. }
            | SourceError::Io { .. }
            | SourceError::NotConnected { .. } => true,
            SourceError::Tls { .. }
            | SourceError::Auth { .. }
            | SourceError::Secret { .. }
            | SourceError::Mailbox { .. }
            | SourceError::PlaintextRefused { .. }
            | SourceError::Unsupported { .. } => false,
        }
    }

    /// The account the error is about.
    pub fn account(&self) -> &str {
        match self {
            SourceError::Connect { account, .. }
            | SourceError::Tls { account, .. }
            | SourceError::Auth { account, .. }
            | SourceError::Secret { account, .. }
            | SourceError::Protocol { account, .. }
            | SourceError::Timeout { account, .. }
            | SourceError::Io { account, .. }
            | SourceError::Mailbox { account, .. }
            | SourceError::PlaintextRefused { account, .. }
            | SourceError::Unsupported { account, .. }
            | SourceError::NotConnected { account } => account,
        }
    }
}

/// What EXAMINE/SELECT reported about a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxStatus {
    /// When this changes, every stored UID for the mailbox is void.
    pub uidvalidity: u32,
    /// The UID the next message will get, if the server said.
    pub uidnext: Option<u32>,
    pub exists: u32,
}

/// One fetched message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    /// RFC822.SIZE in bytes.
    pub size: u32,
    /// The whole message; `None` when it is larger than `max_message_size` and was skipped.
    pub raw: Option<Vec<u8>>,
}

/// How [`ImapSource::idle_wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleOutcome {
    /// The server announced new messages (or did so before the wait started).
    NewMail,
    /// Nothing arrived within the timeout.
    Timeout,
    /// The server has no IDLE capability: poll instead.
    Unsupported,
}

/// The mailbox currently selected on the session.
#[derive(Debug)]
struct Selected {
    name: String,
    read_only: bool,
}

/// A command rejected by the server with NO or BAD; the session is still usable.
#[derive(Debug)]
struct Rejected {
    status: &'static str,
    information: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "server said {}: {}", self.status, self.information)
    }
}

/// Capabilities this adapter acts on.
const KNOWN_CAPABILITIES: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "IDLE",
    "MOVE",
    "UIDPLUS",
    "X-GM-EXT-1",
];

/// The result of one command: rejected (session kept) or failed (already mapped; the session
/// was dropped if the connection is unusable).
enum CallError {
    Rejected(Rejected),
    Failed(SourceError),
}

/// A range of UIDs to search: above `after`, up to `last` (`None`: up to `*`, whatever
/// has arrived since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchSlice {
    pub after: u32,
    pub last: Option<u32>,
}

/// One IMAP account: its settings and, once connected, a live session.
pub struct ImapSource {
    account: AccountConfig,
    session: Option<Session>,
    /// Post-login capabilities among [`KNOWN_CAPABILITIES`].
    caps: HashSet<&'static str>,
    selected: Option<Selected>,
    /// Set by `examine` and cleared by every other command: the status is still current, so
    /// `search_new` may answer from UIDNEXT without a round trip.
    fresh_status: Option<MailboxStatus>,
    /// The server sent an untagged EXISTS since the mailbox was examined. Servers send it
    /// when messages arrive (expunges are reported with EXPUNGE instead), so it means "poll
    /// again"; a rare false alarm costs one poll.
    new_mail_seen: bool,
    /// Action target folders known to exist on this session.
    known_folders: HashSet<String>,
    /// The server's hierarchy delimiter (`LIST "" ""`), asked once per session when a
    /// folder name with '/' needs translating.
    delimiter: Option<Option<char>>,
    sent: Arc<AtomicU64>,
    /// A second handle on the session's stream, for [`fetch::uid_fetch`].
    raw: Option<Transport>,
    /// Tags of the commands sent through `raw`: `F1`, `F2`, ... (the `imap` crate uses
    /// `a1`, `a2`, ..., so the two never collide).
    raw_tag: u32,
}

impl std::fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSource")
            .field("account", &self.account.name)
            .field("host", &self.account.host)
            .field("port", &self.account.port)
            .field("connected", &self.session.is_some())
            .field("selected", &self.selected.as_ref().map(|s| &s.name))
            .finish()
    }
}

impl ImapSource {
    pub fn new(account: AccountConfig) -> Self {
        ImapSource {
            account,
            session: None,
            caps: HashSet::new(),
            selected: None,
            fresh_status: None,
            new_mail_seen: false,
            known_folders: HashSet::new(),
            delimiter: None,
            sent: Arc::new(AtomicU64::new(0)),
            raw: None,
            raw_tag: 0,
        }
    }

    pub fn account(&self) -> &AccountConfig {
        &self.account
    }

    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    /// Opens a fresh session, replacing any existing one: TCP (connect timeout, then read and
    /// write timeouts = `account.timeout`), TLS as configured, login, CAPABILITY.
    ///
    /// Round trips: implicit TLS 2 (LOGIN, CAPABILITY); STARTTLS 3 or 4 (CAPABILITY before
    /// TLS unless the greeting lists capabilities, STARTTLS, LOGIN, CAPABILITY).
    pub fn connect(&mut self) -> Result<(), SourceError> {
        self.drop_session();
        let a = &self.account;
        if a.tls == TlsMode::Plain && !crate::config::is_loopback_host(&a.host) {
            return Err(SourceError::PlaintextRefused {
                account: a.name.clone(),
                host: a.host.clone(),
            });
        }
        self.sent = Arc::new(AtomicU64::new(0));
        debug!(account = %a.name, host = %a.host, port = a.port, tls = ?a.tls, "connecting");
        let tcp = tls::connect_tcp(&a.host, a.port, a.timeout).map_err(|source| {
            if is_timeout(&source) {
                SourceError::Timeout {
                    account: a.name.clone(),
                    op: "connect",
                }
            } else {
                SourceError::Connect {
                    account: a.name.clone(),
                    host: a.host.clone(),
                    port: a.port,
                    source,
                }
            }
        })?;
        let transport = match a.tls {
            TlsMode::Plain => {
                warn!(account = %a.name, host = %a.host, "IMAP without TLS (loopback only)");
                Transport::plain(tcp, self.sent.clone(), a.timeout)
            }
            TlsMode::Implicit => {
                let tls = self.tls_handshake(tcp)?;
                Transport::tls(tls, self.sent.clone(), a.timeout)
            }
            TlsMode::Starttls => {
                let mut plain = Transport::plain(tcp, self.sent.clone(), a.timeout);
                let greeting = self.read_greeting(&mut plain)?;
                self.starttls(&mut plain, &greeting)?;
                // Cannot fail: `plain` was built from a TcpStream just above.
                let tcp = plain.into_tcp().expect("plain transport");
                let tls = self.tls_handshake(tcp)?;
                // No greeting after STARTTLS: the session continues.
                return self
                    .start_session(Transport::tls(tls, self.sent.clone(), a.timeout), false);
            }
        };
        self.start_session(transport, true)
    }

    /// Greeting (if not read yet), login, capability check.
    fn start_session(
        &mut self,
        mut transport: Transport,
        greeting: bool,
    ) -> Result<(), SourceError> {
        if greeting {
            self.read_greeting(&mut transport)?;
        }
        let raw = transport.share();
        let client = imap::Client::new(transport);
        let mut session = self.login(client)?;
        // The crate prints every line, LOGIN included, to stderr when this is set. It is off
        // by default; make sure it stays off.
        session.debug = false;
        let caps = match session.capabilities() {
            Ok(c) => c,
            Err(e) => return Err(self.map_imap_error("CAPABILITY", e).0),
        };
        // `has_str` rather than iterating: the capability type lives in `imap-proto`, which
        // this crate does not depend on directly. Atoms compare case-sensitively; servers
        // send these upper-case.
        self.caps = KNOWN_CAPABILITIES
            .iter()
            .copied()
            .filter(|c| caps.has_str(c))
            .collect();
        drop(caps);
        if !self.caps.contains("IMAP4rev1") && !self.caps.contains("IMAP4rev2") {
            return Err(self.protocol("the server does not announce IMAP4rev1".to_string()));
        }
        info!(
            account = %self.account.name,
            idle = self.caps.contains("IDLE"),
            r#move = self.caps.contains("MOVE"),
            uidplus = self.caps.contains("UIDPLUS"),
            "logged in"
        );
        self.session = Some(session);
        self.raw = Some(raw);
        Ok(())
    }

    fn tls_handshake(
        &self,
        tcp: std::net::TcpStream,
    ) -> Result<openssl::ssl::SslStream<std::net::TcpStream>, SourceError> {
        let a = &self.account;
        let connector = tls::connector(a.ca_file.as_deref()).map_err(|e| SourceError::Tls {
            account: a.name.clone(),
            detail: e.to_string(),
        })?;
        tls::handshake(&connector, &a.host, tcp).map_err(|e| match e {
            HandshakeFailure::TimedOut => SourceError::Timeout {
                account: a.name.clone(),
                op: "TLS handshake",
            },
            HandshakeFailure::Failed(detail) => {
                let hint = if a.ca_file.is_none() && detail.contains("verify") {
                    " (if the server uses a private CA, set ca_file to its PEM certificate)"
                } else if a.tls == TlsMode::Implicit && detail.contains("wrong version number") {
                    // OpenSSL's words for "the server answered in plaintext": the usual
                    // cause is tls = "implicit" (the default) pointed at port 143.
                    " (the server did not answer with TLS; if this is a STARTTLS port such as 143, set tls = \"starttls\")"
                } else {
                    ""
                };
                SourceError::Tls {
                    account: a.name.clone(),
                    detail: format!(
                        "handshake with {}:{} failed: {detail}{hint}",
                        a.host, a.port
                    ),
                }
            }
        })
    }

    /// Reads and checks the server greeting, byte by byte so nothing is buffered past it.
    fn read_greeting(&self, t: &mut Transport) -> Result<String, SourceError> {
        let line = self.prelogin_line(t, "greeting")?;
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("* OK") {
            Ok(line)
        } else if upper.starts_with("* PREAUTH") {
            Err(self.protocol(
                "the server greeted with PREAUTH (already logged in), which is not supported"
                    .to_string(),
            ))
        } else if upper.starts_with("* BYE") {
            Err(self.protocol(format!(
                "the server refused the connection: {}",
                line.trim_end()
            )))
        } else {
            Err(self.protocol(format!("unexpected greeting: {}", truncate(&line, 200))))
        }
    }

    /// The plaintext part of STARTTLS, done by hand rather than by the `imap` crate: lines
    /// are read one byte at a time, so nothing a man-in-the-middle appends after the OK can
    /// sit in a buffer and be mistaken for a TLS-protected response (it breaks the
    /// handshake instead). A server that does not offer STARTTLS is an error, never a
    /// silent fallback to plaintext.
    fn starttls(&self, t: &mut Transport, greeting: &str) -> Result<(), SourceError> {
        let caps = match greeting_capabilities(greeting) {
            Some(c) => c,
            None => {
                let lines = self.prelogin_command(t, "S1", "CAPABILITY")?;
                lines
                    .iter()
                    .filter_map(|l| {
                        let u = l.to_ascii_uppercase();
                        u.strip_prefix("* CAPABILITY ")
                            .map(|c| c.trim_end().to_string())
                    })
                    .flat_map(|c| {
                        c.split_ascii_whitespace()
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
        };
        if !caps.contains("STARTTLS") {
            return Err(SourceError::Tls {
                account: self.account.name.clone(),
                detail: format!(
                    "{}:{} does not offer STARTTLS; refusing to continue without TLS (use tls = \"implicit\" with port 993 if the server has it)",
                    self.account.host, self.account.port
                ),
            });
        }
        let lines = self.prelogin_command(t, "S2", "STARTTLS")?;
        let last = lines.last().map(String::as_str).unwrap_or("");
        if !last.to_ascii_uppercase().starts_with("S2 OK") {
            return Err(SourceError::Tls {
                account: self.account.name.clone(),
                detail: format!("the server refused STARTTLS: {}", truncate(last, 200)),
            });
        }
        Ok(())
    }

    /// Sends one command before the `imap` crate owns the stream; returns all lines up to
    /// and including the tagged one.
    fn prelogin_command(
        &self,
        t: &mut Transport,
        tag: &str,
        command: &'static str,
    ) -> Result<Vec<String>, SourceError> {
        use std::io::Write;
        let io = |source: std::io::Error| self.io_error(command, source);
        t.write_all(format!("{tag} {command}\r\n").as_bytes())
            .map_err(io)?;
        t.flush().map_err(io)?;
        let mut lines = Vec::new();
        loop {
            let line = self.prelogin_line(t, command)?;
            let done = line.len() > tag.len()
                && line[..tag.len()].eq_ignore_ascii_case(tag)
                && line.as_bytes()[tag.len()] == b' ';
            lines.push(line);
            if done {
                return Ok(lines);
            }
            if lines.len() > 100 {
                return Err(self.protocol(format!("no tagged response to {command}")));
            }
        }
    }

    fn prelogin_line(&self, t: &mut Transport, op: &'static str) -> Result<String, SourceError> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match t.read(&mut byte) {
                Ok(0) => {
                    return Err(self.io_error(
                        op,
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the server closed the connection",
                        ),
                    ))
                }
                Ok(_) => {
                    line.push(byte[0]);
                    if byte[0] == b'\n' {
                        return Ok(String::from_utf8_lossy(&line).into_owned());
                    }
                    if line.len() > MAX_PRELOGIN_LINE {
                        return Err(self.protocol(format!("{op}: line too long")));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(op, e)),
            }
        }
    }

    fn login(&self, client: imap::Client<Transport>) -> Result<Session, SourceError> {
        let a = &self.account;
        let secret_err = |source| SourceError::Secret {
            account: a.name.clone(),
            source,
        };
        match &a.auth {
            AuthMethod::Password(source) => {
                let password = source.resolve().map_err(secret_err)?;
                debug!(account = %a.name, user = %a.username, "LOGIN");
                client
                    .login(&a.username, password.expose_secret())
                    .map_err(|(e, _)| self.auth_error("LOGIN", e, None))
            }
            AuthMethod::OAuth2 { token_command } => {
                let token = run_secret_command(token_command).map_err(secret_err)?;
                debug!(account = %a.name, user = %a.username, "AUTHENTICATE XOAUTH2");
                let auth = XOAuth2::new(&a.username, &token);
                client
                    .authenticate("XOAUTH2", &auth)
                    .map_err(|(e, _)| self.auth_error("AUTHENTICATE", e, auth.server_error()))
            }
        }
    }

    fn auth_error(
        &self,
        op: &'static str,
        e: imap::Error,
        oauth_detail: Option<String>,
    ) -> SourceError {
        let account = self.account.name.clone();
        let with_oauth = |mut detail: String| {
            if let Some(j) = &oauth_detail {
                detail.push_str(&format!(" (XOAUTH2 error: {j})"));
            }
            detail
        };
        match e {
            imap::Error::No(no) => SourceError::Auth {
                account,
                detail: with_oauth(format!("server said NO: {}", no.information)),
            },
            imap::Error::Bad(bad) => SourceError::Auth {
                account,
                detail: with_oauth(format!("server said BAD: {}", bad.information)),
            },
            // Raised before anything is sent. Its Display names the argument and the
            // offending character (a CR or LF), never the value.
            imap::Error::Validate(v) => SourceError::Auth {
                account,
                detail: format!("cannot send the credentials: {v}"),
            },
            other => self.map_imap_error(op, other).0,
        }
    }

    /// EXAMINE (read-only) the mailbox, or SELECT it when an after-processing action is
    /// configured (actions need a read-write mailbox). One round trip.
    pub fn examine(&mut self, mailbox: &str) -> Result<MailboxStatus, SourceError> {
        let encoded =
            encode_mailbox_name(mailbox).map_err(|detail| self.mailbox_err(mailbox, detail))?;
        let read_only = self.account.after_processing.is_read_only();
        let op = if read_only { "EXAMINE" } else { "SELECT" };
        self.selected = None;
        let result = self.call(op, |s| {
            if read_only {
                s.examine(&encoded)
            } else {
                s.select(&encoded)
            }
        });
        let mb = match result {
            Ok(mb) => mb,
            Err(CallError::Rejected(r)) => return Err(self.mailbox_err(mailbox, r.to_string())),
            Err(CallError::Failed(e)) => return Err(e),
        };
        let uidvalidity = mb.uid_validity.ok_or_else(|| {
            self.mailbox_err(
                mailbox,
                "the server sent no UIDVALIDITY, so UIDs cannot be tracked".to_string(),
            )
        })?;
        if !read_only && mb.is_read_only {
            warn!(account = %self.account.name, mailbox, "SELECT gave a read-only mailbox; after-processing actions will fail");
        }
        let status = MailboxStatus {
            uidvalidity,
            uidnext: mb.uid_next,
            exists: mb.exists,
        };
        debug!(account = %self.account.name, mailbox, ?status, "{op}");
        self.selected = Some(Selected {
            name: mailbox.to_string(),
            read_only: read_only || mb.is_read_only,
        });
        self.new_mail_seen = false;
        self.fresh_status = Some(status);
        Ok(status)
    }

    /// UIDs greater than `after_uid` of messages that look like LinkedIn mail or an imitation
    /// of it (see [`SEARCH_CRITERIA`]), ascending: every slice of [`Self::search_plan`]
    /// searched in turn. A caller that wants to work on the results of one slice while the
    /// server searches the next uses the plan itself.
    pub fn search_new(&mut self, after_uid: u32) -> Result<Vec<u32>, SourceError> {
        let mut uids = Vec::new();
        for slice in self.search_plan(after_uid) {
            uids.extend(self.search_slice(slice)?);
        }
        Ok(uids)
    }

    /// How to search the UIDs above `after_uid`: no slice at all when the EXAMINE just
    /// before showed UIDNEXT <= `after_uid` + 1 (nothing can be new, so an idle poll costs
    /// no SEARCH); else consecutive UID ranges, the last one open (`n:*`) so it also covers
    /// mail that arrived since.
    ///
    /// Why slices: searching 100,000 messages keeps the server busy for most of a second,
    /// during which a single SEARCH leaves the client idle and the client's work on the
    /// results starts only after it. Searching about 20,000 messages at a time
    /// (`SEARCH_SLICE_MESSAGES`) lets the fetching and classification of one slice's mail
    /// overlap the next slice's search (the poll fetches on a second connection when the
    /// plan has several slices; see `pipeline`); the server does the same total work plus
    /// one short command per slice. Slices are sized from EXISTS and UIDNEXT, so sparse
    /// UIDs do not multiply empty searches.
    ///
    /// The last slice is tapered (cut into 1/2, 1/4, 1/8 and the last 1/8 of it): the
    /// client's work on the mail of the final slice is the one part that nothing on the
    /// server overlaps, so the poll ends soon after the server's last answer when that
    /// slice is small, and each smaller search still gives the client time to catch up on
    /// the slice before it. Three more short commands per first scan.
    ///
    /// Cursor advice: once the results of every slice are stored, the caller may advance its
    /// cursor to `max(last returned UID, uidnext - 1)` with `uidnext` from that EXAMINE
    /// (every UID below it existed then and was searched). An unchanged mailbox then costs
    /// one round trip per poll (EXAMINE) instead of two, even when non-LinkedIn mail arrived
    /// since the last match.
    pub fn search_plan(&self, after_uid: u32) -> Vec<SearchSlice> {
        let Some(first) = after_uid.checked_add(1) else {
            return Vec::new();
        };
        let Some(MailboxStatus {
            uidnext: Some(next),
            exists,
            ..
        }) = self.fresh_status
        else {
            return vec![SearchSlice {
                after: after_uid,
                last: None,
            }];
        };
        if next <= first {
            debug!(account = %self.account.name, after_uid, uidnext = next, "nothing new (UIDNEXT)");
            return Vec::new();
        }
        // UIDs first..next-1 existed at EXAMINE; at most `exists` of them are messages.
        let span = next - first;
        let messages = span.min(exists).max(1);
        let slices = messages
            .div_ceil(SEARCH_SLICE_MESSAGES)
            .clamp(1, MAX_SEARCH_SLICES);
        let width = span.div_ceil(slices);
        // Widths of every slice but the last, which is open and takes the rest.
        let mut widths = vec![width; slices as usize - 1];
        if messages >= TAPER_FROM_MESSAGES {
            // width * (slices - 1) <= span whenever slices > 1 (span >= 20,000 per extra slice).
            let last = span.saturating_sub(width * (slices - 1));
            widths.extend([last / 2, last / 4, last / 8]);
        }
        let mut plan = Vec::with_capacity(widths.len() + 1);
        let mut after = after_uid;
        for w in widths {
            plan.push(SearchSlice {
                after,
                last: Some(after + w),
            });
            after += w;
        }
        plan.push(SearchSlice { after, last: None });
        plan
    }

    /// [`SEARCH_CRITERIA`], or [`GMAIL_SEARCH_CRITERIA`] on Gmail.
    fn search_criteria(&self) -> &'static str {
        if self.caps.contains("X-GM-EXT-1") {
            GMAIL_SEARCH_CRITERIA
        } else {
            SEARCH_CRITERIA
        }
    }

    /// Searches one slice of a [`Self::search_plan`]: one `UID SEARCH`. Results ascending.
    ///
    /// `UID n:*` always includes the highest UID in the mailbox even when it is below `n`
    /// (RFC 3501 6.4.8: `*` is the largest UID in use), so results are filtered.
    pub fn search_slice(&mut self, slice: SearchSlice) -> Result<Vec<u32>, SourceError> {
        self.require_selected()?;
        // Cannot overflow: a plan only holds slices with after < u32::MAX.
        let first = slice.after + 1;
        let criteria = self.search_criteria();
        let query = match slice.last {
            Some(last) => format!("UID {first}:{last} {criteria}"),
            None => format!("UID {first}:* {criteria}"),
        };
        let found = self
            .call("UID SEARCH", |s| s.uid_search(&query))
            .map_err(|e| self.call_error("UID SEARCH", e))?;
        let last = slice.last.unwrap_or(u32::MAX);
        let mut uids: Vec<u32> = found
            .into_iter()
            .filter(|&u| u > slice.after && u <= last)
            .collect();
        uids.sort_unstable();
        debug!(account = %self.account.name, after_uid = slice.after, last = ?slice.last, found = uids.len(), "UID SEARCH");
        Ok(uids)
    }

    /// Fetches `uids` from the selected mailbox in batches of `account.fetch_batch`, calling
    /// `sink` once per batch so at most one batch is in memory. Never sets `\Seen`
    /// (`BODY.PEEK`).
    ///
    /// One round trip per batch: `UID FETCH set (UID RFC822.SIZE BODY.PEEK[]<0.max+1>)`. The
    /// partial fetch caps what an oversized message costs at `max_message_size` + 1 bytes;
    /// such messages come back with `raw: None`. (Asking for sizes first and bodies second
    /// would transfer less for oversized mail, which is rare, at the price of a second round
    /// trip for every batch.)
    ///
    /// UIDs no longer in the mailbox are left out of the batches.
    pub fn fetch(
        &mut self,
        uids: &[u32],
        sink: &mut dyn FnMut(Vec<Fetched>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        self.require_selected()?;
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        let max = self.account.max_message_size;
        let query = if max < u64::from(u32::MAX) {
            format!("(UID RFC822.SIZE BODY.PEEK[]<0.{}>)", max + 1)
        } else {
            "(UID RFC822.SIZE BODY.PEEK[])".to_string()
        };
        for batch in uids.chunks(self.account.fetch_batch.max(1)) {
            let fetched = self.fetch_batch(batch, &query, max)?;
            sink(fetched)?;
        }
        Ok(())
    }

    /// Reads the first byte of the newest message in the selected mailbox and discards it:
    /// one round trip that pays, ahead of time, whatever the server's first body access of
    /// a session costs. Dovecot with Maildir lists the whole folder then (~300 ms at
    /// 100,000 messages, against ~1 ms for later fetches), so a connection that will fetch
    /// soon, but must wait for a search on another connection first, does this in the wait.
    ///
    /// A refusal (an empty mailbox, say) is not an error: the warm-up is only an
    /// optimisation. A failed connection is.
    pub fn warm_up(&mut self) -> Result<(), SourceError> {
        self.require_selected()?;
        match self.raw_fetch("*", "(BODY.PEEK[]<0.1>)", 1) {
            Ok(_) => Ok(()),
            Err(CallError::Rejected(r)) => {
                debug!(account = %self.account.name, "warm-up fetch refused: {r}");
                Ok(())
            }
            Err(e) => Err(self.call_error("UID FETCH", e)),
        }
    }

    fn fetch_batch(
        &mut self,
        batch: &[u32],
        query: &str,
        max: u64,
    ) -> Result<Vec<Fetched>, SourceError> {
        // One set string per batch; uid_sets only splits when the set would be too long.
        let mut by_uid: BTreeMap<u32, Fetched> = BTreeMap::new();
        for set in uid_sets(batch, MAX_UID_SET_LEN) {
            let mut retried = false;
            loop {
                match self.raw_fetch(&set, query, max.saturating_add(1)) {
                    Ok(items) => {
                        for fetch::Item { uid, size, body } in items {
                            let Some(uid) = uid else { continue };
                            // Unsolicited FETCH responses (flag changes) can be mixed in.
                            if batch.binary_search(&uid).is_err() {
                                continue;
                            }
                            let Some(f) = to_fetched(uid, size, body, max) else {
                                continue;
                            };
                            if f.raw.is_none() {
                                info!(account = %self.account.name, uid, size = f.size, max, "skipping message larger than max_message_size");
                            }
                            by_uid.entry(uid).or_insert(f);
                        }
                        break;
                    }
                    // Dovecot answers NO [EXPUNGEISSUED] when another client expunged some of
                    // the messages; a NOOP lets the server report the expunges, after which
                    // the remaining ones can be fetched.
                    Err(CallError::Rejected(r)) if r.status == "NO" && !retried => {
                        debug!(account = %self.account.name, "UID FETCH: {r}; retrying after NOOP");
                        retried = true;
                        self.call("NOOP", |s| s.noop())
                            .map_err(|e| self.call_error("NOOP", e))?;
                    }
                    Err(e) => return Err(self.call_error("UID FETCH", e)),
                }
            }
        }
        let missing = batch.len() - by_uid.len();
        if missing > 0 {
            debug!(account = %self.account.name, missing, "some UIDs are no longer in the mailbox");
        }
        Ok(by_uid.into_values().collect())
    }

    /// Applies an after-processing action to messages of the selected mailbox (which must have
    /// been opened read-write, i.e. with after-processing configured).
    ///
    /// * `MarkSeen`: `UID STORE +FLAGS.SILENT (\Seen)`.
    /// * `Copy(folder)`: `UID COPY`. Target folders are checked with LIST and created if
    ///   missing, once per session (so the first action into a folder costs 1-2 extra round
    ///   trips).
    /// * `Move(folder)`: `UID MOVE` if the server has MOVE; else `UID COPY`, `UID STORE
    ///   +FLAGS.SILENT (\Deleted)`, `UID EXPUNGE` if it has UIDPLUS; else refused, because a
    ///   plain EXPUNGE would also remove every other message anyone marked `\Deleted`.
    ///
    /// UIDs no longer in the mailbox (already moved) are silently skipped by the server, so
    /// repeating a move or mark is harmless; repeating a copy of present messages copies again.
    pub fn apply_action(&mut self, uids: &[u32], action: &Action) -> Result<(), SourceError> {
        if uids.is_empty() {
            return Ok(());
        }
        let sel = self.require_selected()?;
        if sel.read_only {
            let name = sel.name.clone();
            return Err(self.mailbox_err(
                &name,
                "opened read-only; after-processing actions need it SELECTed read-write (examine() does that when after_processing is configured)".to_string(),
            ));
        }
        if let Action::Move(dest) = action {
            if !self.caps.contains("MOVE") && !self.caps.contains("UIDPLUS") {
                return Err(SourceError::Unsupported {
                    account: self.account.name.clone(),
                    detail: format!(
                        "cannot move to {dest:?}: the server has neither MOVE nor UIDPLUS, and a plain EXPUNGE would also delete every other message marked \\Deleted in the mailbox; use a copy action instead"
                    ),
                });
            }
        }
        let mut sorted = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for set in uid_sets(&sorted, MAX_UID_SET_LEN) {
            match action {
                Action::MarkSeen => self.uid_command(
                    "UID STORE",
                    &format!("UID STORE {set} +FLAGS.SILENT (\\Seen)"),
                )?,
                Action::Copy(dest) => self.copy_or_move_to("UID COPY", &set, dest)?,
                Action::Move(dest) if self.caps.contains("MOVE") => {
                    self.copy_or_move_to("UID MOVE", &set, dest)?
                }
                Action::Move(dest) => {
                    self.copy_or_move_to("UID COPY", &set, dest)?;
                    self.uid_command(
                        "UID STORE",
                        &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
                    )?;
                    self.uid_command("UID EXPUNGE", &format!("UID EXPUNGE {set}"))?;
                }
            }
        }
        debug!(account = %self.account.name, n = sorted.len(), ?action, "action applied");
        Ok(())
    }

    /// `UID COPY` / `UID MOVE` into `dest`, creating the folder first if it is missing.
    fn copy_or_move_to(
        &mut self,
        op: &'static str,
        set: &str,
        dest: &str,
    ) -> Result<(), SourceError> {
        let encoded = self.ensure_folder(dest)?;
        let command = format!("{op} {set} {}", quote(&encoded));
        match self.raw_command(op, &command) {
            Ok(()) => Ok(()),
            Err(CallError::Rejected(r)) => Err(self.mailbox_err(dest, format!("{op}: {r}"))),
            Err(CallError::Failed(e)) => Err(e),
        }
    }

    /// Makes sure `dest` exists (LIST, then CREATE if needed), once per session; returns its
    /// encoded name.
    ///
    /// Why not just COPY and react to `NO [TRYCREATE]`: Dovecot puts the folder name, in
    /// UTF-8, into that NO text, and the `imap` crate's parser (imap-proto) rejects non-ASCII
    /// response text, so the reply to a COPY into a missing `Entwürfe` reads as an unparsable
    /// response and kills the session. LIST answers in modified UTF-7, which is ASCII.
    fn ensure_folder(&mut self, dest: &str) -> Result<String, SourceError> {
        let local = self.server_folder_name(dest)?;
        let encoded =
            encode_mailbox_name(&local).map_err(|detail| self.mailbox_err(dest, detail))?;
        if self.known_folders.contains(dest) {
            return Ok(encoded);
        }
        let pattern = quote(&encoded);
        let exists = match self.call("LIST", |s| {
            s.list(Some(""), Some(&pattern)).map(|names| {
                names.iter().any(|n| {
                    n.name() == encoded
                        || (n.name().eq_ignore_ascii_case("INBOX")
                            && encoded.eq_ignore_ascii_case("INBOX"))
                })
            })
        }) {
            Ok(exists) => exists,
            Err(CallError::Rejected(r)) => return Err(self.mailbox_err(dest, format!("LIST: {r}"))),
            Err(CallError::Failed(e)) => return Err(e),
        };
        if !exists {
            match self.call("CREATE", |s| s.create(&encoded)) {
                Ok(()) => info!(account = %self.account.name, folder = dest, "created folder"),
                Err(CallError::Rejected(r)) => {
                    return Err(self.mailbox_err(
                        dest,
                        format!("cannot create it: {r} (write the folder name as the server spells it, with its hierarchy delimiter)"),
                    ))
                }
                Err(CallError::Failed(e)) => return Err(e),
            }
        }
        self.known_folders.insert(dest.to_string());
        Ok(encoded)
    }

    /// Folder names in the config use '/' between levels (`LinkedIn/Invitations`), as
    /// mail clients show them; servers differ (Dovecot's Maildir++ uses '.'), so '/' is
    /// replaced by the server's own delimiter. Names without '/' are used as written.
    fn server_folder_name(&mut self, dest: &str) -> Result<String, SourceError> {
        if !dest.contains('/') {
            return Ok(dest.to_string());
        }
        if self.delimiter.is_none() {
            let found = match self.call("LIST", |s| {
                s.list(Some(""), Some("\"\"")).map(|names| {
                    names
                        .iter()
                        .find_map(|n| n.delimiter().and_then(|d| d.chars().next()))
                })
            }) {
                Ok(d) => d,
                Err(CallError::Rejected(r)) => {
                    return Err(self.mailbox_err(dest, format!("LIST: {r}")))
                }
                Err(CallError::Failed(e)) => return Err(e),
            };
            self.delimiter = Some(found);
        }
        Ok(match self.delimiter.flatten() {
            Some(d) if d != '/' => dest.replace('/', &d.to_string()),
            _ => dest.to_string(),
        })
    }

    fn uid_command(&mut self, op: &'static str, command: &str) -> Result<(), SourceError> {
        self.raw_command(op, command)
            .map_err(|e| self.call_error(op, e))
    }

    /// Runs a command whose reply carries no data we need. The `imap` crate's
    /// `run_command_and_check_ok` (behind `uid_copy`, `uid_mv`) throws untagged lines away,
    /// and with them an `* n EXISTS` announcing new mail; this keeps an eye on them.
    fn raw_command(&mut self, op: &'static str, command: &str) -> Result<(), CallError> {
        let (data, done_at) = self.call(op, |s| s.run(command))?;
        if self.selected.is_some() && has_exists_line(&data[..done_at.min(data.len())]) {
            self.new_mail_seen = true;
        }
        Ok(())
    }

    /// Waits up to `timeout` (at most 25 minutes; at least 1 second) for new mail in the
    /// selected mailbox with IDLE. Returns at once with `NewMail` if the server already
    /// announced new messages during earlier commands, and with `Unsupported` if the server
    /// has no IDLE. Two round trips (IDLE, DONE).
    pub fn idle_wait(&mut self, timeout: Duration) -> Result<IdleOutcome, SourceError> {
        if !self.has_idle() {
            return Ok(IdleOutcome::Unsupported);
        }
        if std::mem::take(&mut self.new_mail_seen) {
            return Ok(IdleOutcome::NewMail);
        }
        self.require_selected()?;
        let timeout = timeout.clamp(Duration::from_secs(1), MAX_IDLE);
        let mut bye: Option<String> = None;
        let result = self.call("IDLE", |s| {
            let mut handle = s.idle();
            // keepalive(false): one wait, no silent re-IDLE; the caller loops.
            handle.timeout(timeout).keepalive(false);
            handle.wait_while(|response| match response {
                UnsolicitedResponse::Exists(_) => false,
                UnsolicitedResponse::Recent(n) => n == 0,
                UnsolicitedResponse::Bye { information, .. } => {
                    bye = Some(information.unwrap_or_default());
                    false
                }
                _ => true,
            })
            // `handle` drops here and sends DONE.
        });
        let outcome = result.map_err(|e| self.call_error("IDLE", e))?;
        if let Some(info) = bye {
            self.drop_session();
            return Err(self.protocol(format!(
                "the server closed the connection during IDLE: {info}"
            )));
        }
        Ok(match outcome {
            imap::extensions::idle::WaitOutcome::TimedOut => IdleOutcome::Timeout,
            imap::extensions::idle::WaitOutcome::MailboxChanged => IdleOutcome::NewMail,
        })
    }

    /// Whether the logged-in server offers IDLE. False before `connect`.
    pub fn has_idle(&self) -> bool {
        self.caps.contains("IDLE")
    }

    /// Best-effort LOGOUT and close. Errors are ignored: the connection is going away anyway.
    pub fn logout(&mut self) {
        if let Some(mut s) = self.session.take() {
            if let Err(e) = s.logout() {
                debug!(account = %self.account.name, "LOGOUT: {e}");
            }
        }
        self.drop_session();
    }

    /// Lines sent to the server since the last `connect` (commands, SASL responses, IDLE's
    /// DONE); each is one round trip.
    pub fn round_trips(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    // ---- internals ----

    fn drop_session(&mut self) {
        self.session = None;
        self.raw = None;
        self.selected = None;
        self.fresh_status = None;
        self.new_mail_seen = false;
        self.known_folders.clear();
        self.delimiter = None;
        self.caps.clear();
    }

    fn require_selected(&self) -> Result<&Selected, SourceError> {
        if self.session.is_none() {
            return Err(SourceError::NotConnected {
                account: self.account.name.clone(),
            });
        }
        self.selected
            .as_ref()
            .ok_or_else(|| self.protocol("no mailbox selected (call examine first)".to_string()))
    }

    /// `UID FETCH` through [`fetch`] rather than the `imap` crate (see there why), with the
    /// same error handling as [`Self::call`].
    fn raw_fetch(
        &mut self,
        set: &str,
        query: &str,
        max_literal: u64,
    ) -> Result<Vec<fetch::Item>, CallError> {
        const OP: &str = "UID FETCH";
        self.fresh_status = None;
        let Some(raw) = self.raw.as_mut() else {
            return Err(CallError::Failed(SourceError::NotConnected {
                account: self.account.name.clone(),
            }));
        };
        self.raw_tag += 1;
        let tag = format!("F{}", self.raw_tag);
        let result = fetch::uid_fetch(raw, &tag, set, query, max_literal);
        let err = match result {
            Ok(reply) => {
                if reply.exists {
                    self.new_mail_seen = true;
                }
                if let Some(text) = &reply.bye {
                    debug!(account = %self.account.name, "server BYE: {text}");
                }
                match reply.status {
                    fetch::Status::Ok => return Ok(reply.items),
                    fetch::Status::No | fetch::Status::Bad => {
                        return Err(CallError::Rejected(Rejected {
                            status: if reply.status == fetch::Status::No {
                                "NO"
                            } else {
                                "BAD"
                            },
                            information: reply.text,
                        }))
                    }
                }
            }
            Err(fetch::FetchError::Io(e)) => self.io_error(OP, e),
            Err(fetch::FetchError::Protocol(detail)) => self.protocol(format!("{OP}: {detail}")),
        };
        self.drop_session();
        Err(CallError::Failed(err))
    }

    /// Runs one command on the session. NO/BAD come back as `Rejected` with the session kept;
    /// anything else (I/O, timeout, BYE, unparsable data) drops the session, since its state
    /// is unknown, and is mapped to a `SourceError`. Drains unsolicited responses afterwards
    /// so they do not pile up in a long-lived session, noting new mail.
    fn call<R>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Session) -> imap::Result<R>,
    ) -> Result<R, CallError> {
        self.fresh_status = None;
        let Some(session) = self.session.as_mut() else {
            return Err(CallError::Failed(SourceError::NotConnected {
                account: self.account.name.clone(),
            }));
        };
        let result = f(session);
        let unsolicited: Vec<_> = session.take_all_unsolicited().collect();
        self.note_unsolicited(unsolicited);
        match result {
            Ok(r) => Ok(r),
            Err(imap::Error::No(no)) => Err(CallError::Rejected(Rejected {
                status: "NO",
                information: no.information,
            })),
            Err(imap::Error::Bad(bad)) => Err(CallError::Rejected(Rejected {
                status: "BAD",
                information: bad.information,
            })),
            Err(e) => {
                let (err, fatal) = self.map_imap_error(op, e);
                if fatal {
                    self.drop_session();
                }
                Err(CallError::Failed(err))
            }
        }
    }

    fn note_unsolicited(&mut self, responses: Vec<UnsolicitedResponse>) {
        for r in responses {
            match r {
                UnsolicitedResponse::Exists(_) if self.selected.is_some() => {
                    self.new_mail_seen = true;
                }
                UnsolicitedResponse::Bye { information, .. } => {
                    debug!(account = %self.account.name, "server BYE: {}", information.unwrap_or_default());
                }
                _ => {}
            }
        }
    }

    fn call_error(&self, op: &'static str, e: CallError) -> SourceError {
        match e {
            CallError::Rejected(r) => self.protocol(format!("{op}: {r}")),
            CallError::Failed(e) => e,
        }
    }

    /// Maps an `imap` error; the flag says whether the connection is unusable afterwards.
    fn map_imap_error(&self, op: &'static str, e: imap::Error) -> (SourceError, bool) {
        let account = self.account.name.clone();
        match e {
            imap::Error::Io(source) => (self.io_error(op, source), true),
            imap::Error::ConnectionLost => (
                self.io_error(
                    op,
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ),
                ),
                true,
            ),
            imap::Error::Bye(bye) => (
                self.protocol(format!(
                    "{op}: the server closed the session: {}",
                    bye.information
                )),
                true,
            ),
            imap::Error::No(no) => (
                self.protocol(format!("{op}: server said NO: {}", no.information)),
                false,
            ),
            imap::Error::Bad(bad) => (
                self.protocol(format!("{op}: server said BAD: {}", bad.information)),
                false,
            ),
            imap::Error::Tls(e) => (
                SourceError::Tls {
                    account,
                    detail: format!("{op}: {e}"),
                },
                true,
            ),
            imap::Error::Validate(v) => (self.protocol(format!("{op}: {v}")), false),
            // Parse errors carry raw server bytes (possibly message content): keep it short.
            other => (
                self.protocol(format!("{op}: {}", truncate(&other.to_string(), 200))),
                true,
            ),
        }
    }

    fn io_error(&self, op: &'static str, source: std::io::Error) -> SourceError {
        if is_timeout(&source) {
            SourceError::Timeout {
                account: self.account.name.clone(),
                op,
            }
        } else {
            SourceError::Io {
                account: self.account.name.clone(),
                op,
                source,
            }
        }
    }

    fn protocol(&self, detail: String) -> SourceError {
        SourceError::Protocol {
            account: self.account.name.clone(),
            detail,
        }
    }

    fn mailbox_err(&self, mailbox: &str, detail: String) -> SourceError {
        SourceError::Mailbox {
            account: self.account.name.clone(),
            mailbox: mailbox.to_string(),
            detail,
        }
    }

    /// Starts a session over a scripted stream (unit tests).
    #[cfg(test)]
    fn connect_over(&mut self, stream: tls::mock::MockStream) -> Result<(), SourceError> {
        self.drop_session();
        self.sent = Arc::new(AtomicU64::new(0));
        let t = Transport::mock(stream, self.sent.clone());
        self.start_session(t, true)
    }
}

fn to_fetched(uid: u32, size: Option<u32>, body: Option<Vec<u8>>, max: u64) -> Option<Fetched> {
    let size = size.or_else(|| body.as_ref().map(|b| b.len() as u32))?;
    if u64::from(size) > max {
        return Some(Fetched {
            uid,
            size,
            raw: None,
        });
    }
    // A FETCH for a wanted UID without a body is an unsolicited flag update; the real one
    // comes separately.
    let raw = body?;
    Some(Fetched {
        uid,
        size,
        raw: Some(raw),
    })
}

/// Whether a raw response holds an untagged `* n EXISTS` line.
fn has_exists_line(data: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"* ") else {
            return false;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        digits > 0 && rest[digits..].eq_ignore_ascii_case(b" EXISTS")
    })
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// Capabilities listed in a greeting's `[CAPABILITY ...]` code, upper-cased.
fn greeting_capabilities(greeting: &str) -> Option<HashSet<String>> {
    let upper = greeting.to_ascii_uppercase();
    let start = upper.find("[CAPABILITY ")? + "[CAPABILITY ".len();
    let end = start + upper[start..].find(']')?;
    Some(
        upper[start..end]
            .split_ascii_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.trim_end();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// An IMAP quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Compresses sorted, deduplicated UIDs into IMAP sets (`1:3,7,9:12`), split so no set is
/// longer than `max_len` characters.
fn uid_sets(sorted: &[u32], max_len: usize) -> Vec<String> {
    let mut sets = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = sorted[i];
        }
        i += 1;
        let part = if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        };
        if !current.is_empty() && current.len() + 1 + part.len() > max_len {
            sets.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&part);
    }
    if !current.is_empty() {
        sets.push(current);
    }
    sets
}

/// Encodes a mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3), so `Entwürfe` or
/// `Входящие` from the config reach the server as it names them.
fn encode_mailbox_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("empty mailbox name".to_string());
    }
    if name.contains(['\r', '\n', '\0']) {
        return Err("mailbox name contains a line break or NUL".to_string());
    }
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&modified_base64(&bytes));
        out.push('-');
        pending.clear();
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    Ok(out)
}

/// Base64 with `,` for `/` and no padding, as modified UTF-7 wants.
fn modified_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for k in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
        }
    }
    out
}

/// SASL XOAUTH2 (Google/Microsoft): one initial response
/// `user=<u>^Aauth=Bearer <token>^A^A`. On failure the server sends a base64 JSON challenge,
/// which must be answered with an empty line before the tagged NO; it is kept for the error.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a SecretString,
    calls: Cell<u32>,
    server_error: RefCell<Option<String>>,
}

impl<'a> XOAuth2<'a> {
    fn new(user: &'a str, token: &'a SecretString) -> Self {
        XOAuth2 {
            user,
            token,
            calls: Cell::new(0),
            server_error: RefCell::new(None),
        }
    }

    fn server_error(&self) -> Option<String> {
        self.server_error.borrow().clone()
    }
}

impl imap::Authenticator for XOAuth2<'_> {
    // Zeroized on drop: the response holds the token.
    type Response = Zeroizing<Vec<u8>>;

    fn process(&self, challenge: &[u8]) -> Self::Response {
        let n = self.calls.get();
        self.calls.set(n + 1);
        if n == 0 {
            Zeroizing::new(
                format!(
                    "user={}\x01auth=Bearer {}\x01\x01",
                    self.user,
                    self.token.expose_secret()
                )
                .into_bytes(),
            )
        } else {
            // The JSON error (status, schemes, scope) never contains the token.
            *self.server_error.borrow_mut() =
                Some(truncate(&String::from_utf8_lossy(challenge), 300));
            Zeroizing::new(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tls::mock::MockStream;
    use super::*;
    use crate::config::{AfterProcessing, SecretSource};
    use std::path::PathBuf;

    const GREETING: &str =
        "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID IDLE AUTH=PLAIN] ready\r\n";
    const CAPS: &str = "* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS LITERAL+\r\n";

    fn account() -> AccountConfig {
        AccountConfig {
            name: "work".into(),
            host: "127.0.0.1".into(),
            port: 143,
            tls: TlsMode::Plain,
            username: "alice".into(),
            auth: AuthMethod::Password(SecretSource::Literal(SecretString::from(
                "hunter2".to_string(),
            ))),
            ca_file: None::<PathBuf>,
            mailboxes: vec!["INBOX".into()],
            poll_interval: Duration::from_secs(60),
            idle: true,
            max_message_size: 100,
            timeout: Duration::from_secs(5),
            fetch_batch: 2,
            after_processing: AfterProcessing::default(),
        }
    }

    fn logged_in(
        acct: AccountConfig,
        caps: &str,
        rest: &str,
    ) -> (ImapSource, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
        let script = format!("{GREETING}a1 OK Logged in\r\n{caps}a2 OK done\r\n{rest}");
        let (stream, written) = MockStream::new(&script);
        let mut src = ImapSource::new(acct);
        src.connect_over(stream).unwrap();
        (src, written)
    }

    fn written(w: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&w.lock().unwrap()).into_owned()
    }

    const EXAMINE_OK: &str = "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 77] ok\r\n* OK [UIDNEXT 10] ok\r\na3 OK [READ-ONLY] done\r\n";

    #[test]
    fn login_and_capabilities() {
        let (src, w) = logged_in(account(), CAPS, "");
        assert!(src.has_idle());
        assert_eq!(src.round_trips(), 2);
        let w = written(&w);
        assert!(
            w.starts_with("a1 LOGIN \"alice\" \"hunter2\"\r\na2 CAPABILITY\r\n"),
            "{w}"
        );
    }

    #[test]
    fn wrong_password_reports_server_text_not_password() {
        let script = format!("{GREETING}a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
        let (stream, _) = MockStream::new(&script);
        let mut src = ImapSource::new(account());
        let e = src.connect_over(stream).unwrap_err();
        assert!(matches!(e, SourceError::Auth { .. }), "{e:?}");
        assert!(!e.is_transient());
        let msg = e.to_string();
        assert!(msg.contains("Authentication failed"), "{msg}");
        assert!(
            !msg.contains("hunter2") && !format!("{e:?}").contains("hunter2"),
            "{msg}"
        );
        assert!(!src.is_connected());
    }

    #[test]
    fn bye_greeting_is_protocol_error() {
        let (stream, _) = MockStream::new("* BYE too many connections\r\n");
        let e = ImapSource::new(account()).connect_over(stream).unwrap_err();
        assert!(e.to_string().contains("too many connections"), "{e}");
        assert!(e.is_transient());
    }

    #[test]
    fn missing_imap4rev1_is_refused() {
        let script = format!("{GREETING}a1 OK in\r\n* CAPABILITY IDLE\r\na2 OK\r\n");
        let (stream, _) = MockStream::new(&script);
        let e = ImapSource::new(account()).connect_over(stream).unwrap_err();
        // imap-proto already refuses to parse a CAPABILITY list without IMAP4rev1; either
        // way it is a protocol error and no session is kept.
        assert!(matches!(e, SourceError::Protocol { .. }), "{e:?}");
    }

    #[test]
    fn plaintext_to_remote_host_is_refused_before_connecting() {
        let mut a = account();
        a.host = "imap.example.com".into();
        let e = ImapSource::new(a).connect().unwrap_err();
        assert!(matches!(e, SourceError::PlaintextRefused { .. }), "{e:?}");
    }

    #[test]
    fn xoauth2_sends_token_and_reports_json_error() {
        let mut a = account();
        a.auth = AuthMethod::OAuth2 {
            token_command: "printf tok123".into(),
        };
        // Success.
        let script = format!("{GREETING}+ \r\na1 OK welcome\r\n{CAPS}a2 OK\r\n");
        let (stream, w) = MockStream::new(&script);
        let mut src = ImapSource::new(a.clone());
        src.connect_over(stream).unwrap();
        let w = written(&w);
        let expected = base64_std(b"user=alice\x01auth=Bearer tok123\x01\x01");
        assert_eq!(
            w,
            format!("a1 AUTHENTICATE XOAUTH2\r\n{expected}\r\na2 CAPABILITY\r\n")
        );
        assert_eq!(src.round_trips(), 3);

        // Failure: JSON challenge, empty answer, NO.
        let json = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        let script = format!(
            "{GREETING}+ \r\n+ {}\r\na1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n",
            base64_std(json.as_bytes())
        );
        let (stream, w) = MockStream::new(&script);
        let e = ImapSource::new(a).connect_over(stream).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, SourceError::Auth { .. }), "{e:?}");
        assert!(
            msg.contains("\"status\":\"401\"") && msg.contains("Invalid credentials"),
            "{msg}"
        );
        assert!(!msg.contains("tok123"), "{msg}");
        assert!(written(&w).ends_with(&format!("{expected}\r\n\r\n")));
    }

    #[test]
    fn oauth_token_command_failure_is_secret_error() {
        let mut a = account();
        a.auth = AuthMethod::OAuth2 {
            token_command: "exit 4".into(),
        };
        let (stream, _) = MockStream::new(GREETING);
        let e = ImapSource::new(a).connect_over(stream).unwrap_err();
        assert!(matches!(e, SourceError::Secret { .. }), "{e:?}");
    }

    #[test]
    fn search_filters_the_star_quirk_and_sorts() {
        // Server returns the highest UID (5) even though it is below the range start.
        let rest = format!("{EXAMINE_OK}* SEARCH 5\r\na4 OK\r\n* SEARCH 12 11\r\na5 OK\r\n");
        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        assert_eq!(src.search_new(5).unwrap(), Vec::<u32>::new());
        assert_eq!(src.search_new(9).unwrap(), vec![11, 12]);
        let w = written(&w);
        assert!(w.contains("a3 EXAMINE \"INBOX\"\r\n"), "{w}");
        assert!(
            w.contains(&format!("a4 UID SEARCH UID 6:* {SEARCH_CRITERIA}\r\n")),
            "{w}"
        );
    }

    #[test]
    fn gmail_is_searched_with_from_and_others_with_header_from() {
        let rest = format!("{EXAMINE_OK}* SEARCH 12\r\na4 OK\r\n");
        let gmail = "* CAPABILITY IMAP4rev1 UNSELECT IDLE MOVE X-GM-EXT-1 UIDPLUS\r\n";
        let (mut src, w) = logged_in(account(), gmail, &rest);
        src.examine("INBOX").unwrap();
        assert_eq!(src.search_new(5).unwrap(), vec![12]);
        let w = written(&w);
        assert!(
            w.contains(
                r#"a4 UID SEARCH UID 6:* OR OR FROM "linkedin" FROM "linkedln" SUBJECT "linkedin""#
            ),
            "{w}"
        );

        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        assert_eq!(src.search_new(5).unwrap(), vec![12]);
        let w = written(&w);
        assert!(
            w.contains(r#"a4 UID SEARCH UID 6:* OR OR HEADER From "linkedin" HEADER From "linkedln" SUBJECT "linkedin""#),
            "{w}"
        );
    }

    #[test]
    fn search_skips_round_trip_when_uidnext_says_nothing_new() {
        let (mut src, _) = logged_in(account(), CAPS, EXAMINE_OK);
        let st = src.examine("INBOX").unwrap();
        assert_eq!(
            st,
            MailboxStatus {
                uidvalidity: 77,
                uidnext: Some(10),
                exists: 3
            }
        );
        let before = src.round_trips();
        assert_eq!(src.search_new(9).unwrap(), Vec::<u32>::new());
        assert_eq!(src.round_trips(), before);
        assert_eq!(src.search_new(u32::MAX).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn fetch_batches_and_skips_oversized() {
        let body = "From: a\r\n\r\nhi\r\n"; // 15 bytes
        let rest = format!(
            "{EXAMINE_OK}\
             * 1 FETCH (UID 3 RFC822.SIZE 15 BODY[]<0> {{15}}\r\n{body})\r\n\
             * 2 FETCH (UID 4 RFC822.SIZE 5000 BODY[]<0> {{3}}\r\nabc)\r\n\
             F1 OK\r\n\
             * 3 FETCH (FLAGS (\\Seen))\r\n\
             F2 OK\r\n"
        );
        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        let mut batches = Vec::new();
        src.fetch(&[7, 4, 3, 4], &mut |b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(
            batches[0],
            vec![
                Fetched {
                    uid: 3,
                    size: 15,
                    raw: Some(body.as_bytes().to_vec())
                },
                Fetched {
                    uid: 4,
                    size: 5000,
                    raw: None
                },
            ]
        );
        // UID 7 vanished: an empty batch, not an error.
        assert!(batches[1].is_empty());
        let w = written(&w);
        assert!(
            w.contains("F1 UID FETCH 3:4 (UID RFC822.SIZE BODY.PEEK[]<0.101>)\r\n"),
            "{w}"
        );
        assert!(w.contains("F2 UID FETCH 7 "), "{w}");
        assert!(!w.contains("BODY[]"), "never a non-PEEK fetch: {w}");
    }

    #[test]
    fn fetch_retries_once_after_expungeissued() {
        let rest = format!(
            "{EXAMINE_OK}F1 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n\
             * 2 EXPUNGE\r\na4 OK\r\n\
             * 1 FETCH (UID 3 RFC822.SIZE 2 BODY[]<0> {{2}}\r\nhi)\r\nF2 OK\r\n"
        );
        let (mut src, _) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        let mut got = Vec::new();
        src.fetch(&[3, 4], &mut |b| {
            got.extend(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![Fetched {
                uid: 3,
                size: 2,
                raw: Some(b"hi".to_vec())
            }]
        );
    }

    #[test]
    fn timeout_drops_the_session() {
        // Script ends after EXAMINE: the search read "times out".
        let (mut src, _) = logged_in(account(), CAPS, EXAMINE_OK);
        src.examine("INBOX").unwrap();
        let e = src.search_new(0).unwrap_err();
        assert!(
            matches!(
                e,
                SourceError::Timeout {
                    op: "UID SEARCH",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.is_transient());
        assert!(!src.is_connected());
        assert!(matches!(
            src.search_new(0).unwrap_err(),
            SourceError::NotConnected { .. }
        ));
    }

    fn rw_account() -> AccountConfig {
        let mut a = account();
        a.after_processing.invitations = Some(Action::Move("LinkedIn".into()));
        a
    }

    const SELECT_OK: &str = "* 3 EXISTS\r\n* OK [UIDVALIDITY 77] ok\r\n* OK [UIDNEXT 10] ok\r\na3 OK [READ-WRITE] done\r\n";

    #[test]
    fn move_creates_missing_folder_once_then_uses_move() {
        let rest = format!(
            "{SELECT_OK}a4 OK List completed\r\na5 OK created\r\n\
             * 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na6 OK done\r\n\
             a7 OK No messages found\r\n"
        );
        let (mut src, w) = logged_in(rw_account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        src.apply_action(&[5, 3, 4], &Action::Move("LinkedIn".into()))
            .unwrap();
        // Second time: folder known, UIDs gone; still OK.
        src.apply_action(&[5, 3, 4], &Action::Move("LinkedIn".into()))
            .unwrap();
        let w = written(&w);
        assert!(w.contains("a3 SELECT \"INBOX\"\r\n"), "{w}");
        assert!(
            w.contains("a4 LIST \"\" \"LinkedIn\"\r\na5 CREATE \"LinkedIn\"\r\na6 UID MOVE 3:5 \"LinkedIn\"\r\na7 UID MOVE 3:5 \"LinkedIn\"\r\n"),
            "{w}"
        );
    }

    #[test]
    fn move_without_move_uses_uidplus() {
        let caps = "* CAPABILITY IMAP4rev1 UIDPLUS\r\n";
        let rest = format!(
            "{SELECT_OK}* LIST (\\HasNoChildren) \".\" Done\r\na4 OK List\r\na5 OK\r\na6 OK\r\na7 OK\r\n"
        );
        let (mut src, w) = logged_in(rw_account(), caps, &rest);
        src.examine("INBOX").unwrap();
        src.apply_action(&[3], &Action::Move("Done".into()))
            .unwrap();
        let w = written(&w);
        assert!(
            w.contains("a4 LIST \"\" \"Done\"\r\na5 UID COPY 3 \"Done\"\r\na6 UID STORE 3 +FLAGS.SILENT (\\Deleted)\r\na7 UID EXPUNGE 3\r\n"),
            "{w}"
        );
    }

    #[test]
    fn move_without_move_or_uidplus_is_refused() {
        let caps = "* CAPABILITY IMAP4rev1\r\n";
        let (mut src, _) = logged_in(rw_account(), caps, SELECT_OK);
        src.examine("INBOX").unwrap();
        let before = src.round_trips();
        let e = src
            .apply_action(&[3], &Action::Move("Done".into()))
            .unwrap_err();
        assert!(matches!(e, SourceError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("UIDPLUS"), "{e}");
        assert_eq!(src.round_trips(), before, "nothing sent");
    }

    #[test]
    fn actions_need_a_read_write_mailbox() {
        let (mut src, _) = logged_in(account(), CAPS, EXAMINE_OK);
        src.examine("INBOX").unwrap();
        let e = src.apply_action(&[3], &Action::MarkSeen).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
    }

    #[test]
    fn idle_new_mail_and_timeout() {
        let rest = format!("{EXAMINE_OK}+ idling\r\n* 4 EXISTS\r\na4 OK Idle completed\r\n");
        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        assert_eq!(
            src.idle_wait(Duration::from_secs(5)).unwrap(),
            IdleOutcome::NewMail
        );
        assert!(written(&w).ends_with("a4 IDLE\r\nDONE\r\n"));
        assert!(src.is_connected());

        let (mut src, _) = logged_in(account(), "* CAPABILITY IMAP4rev1\r\n", "");
        assert_eq!(
            src.idle_wait(Duration::from_secs(5)).unwrap(),
            IdleOutcome::Unsupported
        );
    }

    #[test]
    fn exists_seen_earlier_short_circuits_idle() {
        let rest = format!("{EXAMINE_OK}* 4 EXISTS\r\na4 OK NOOP\r\n");
        let (mut src, _) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        // Any command that sees EXISTS grow; NOOP as used by the fetch retry.
        let _ = src.call("NOOP", |s| s.noop());
        let before = src.round_trips();
        assert_eq!(
            src.idle_wait(Duration::from_secs(5)).unwrap(),
            IdleOutcome::NewMail
        );
        assert_eq!(src.round_trips(), before);
    }

    #[test]
    fn search_plan_slices_large_ranges_by_message_count() {
        let mut src = ImapSource::new(account());
        let status = |uidnext, exists| {
            Some(MailboxStatus {
                uidvalidity: 1,
                uidnext: Some(uidnext),
                exists,
            })
        };
        let slice = |after, last| SearchSlice { after, last };
        // No status: one open search.
        assert_eq!(src.search_plan(7), vec![slice(7, None)]);
        // A first scan of 100,000 dense UIDs: 5 slices of 20,000, the last one tapered
        // into 10,000, 5,000, 2,500 and an open rest.
        src.fresh_status = status(100_001, 100_000);
        let plan = src.search_plan(0);
        assert_eq!(
            plan,
            vec![
                slice(0, Some(20_000)),
                slice(20_000, Some(40_000)),
                slice(40_000, Some(60_000)),
                slice(60_000, Some(80_000)),
                slice(80_000, Some(90_000)),
                slice(90_000, Some(95_000)),
                slice(95_000, Some(97_500)),
                slice(97_500, None),
            ]
        );
        // Consecutive and gap-free.
        for w in plan.windows(2) {
            assert_eq!(w[0].last, Some(w[1].after));
        }
        // Only the new part of it: 30,000 UIDs, 2 slices, the last tapered; 5,000: one,
        // tapered; 3,000: one.
        assert_eq!(
            src.search_plan(70_000),
            vec![
                slice(70_000, Some(85_000)),
                slice(85_000, Some(92_500)),
                slice(92_500, Some(96_250)),
                slice(96_250, Some(98_125)),
                slice(98_125, None)
            ]
        );
        assert_eq!(src.search_plan(95_000).len(), 4);
        assert_eq!(src.search_plan(97_000), vec![slice(97_000, None)]);
        // Sparse UIDs: few messages over a wide range is one search, not hundreds.
        src.fresh_status = status(1_000_001, 1_000);
        assert_eq!(src.search_plan(0), vec![slice(0, None)]);
        // Huge mailbox: capped.
        src.fresh_status = status(4_000_001, 4_000_000);
        assert_eq!(src.search_plan(0).len(), MAX_SEARCH_SLICES as usize + 3);
        // Nothing new, and the end of the UID space.
        assert!(src.search_plan(4_000_000).is_empty() && src.search_plan(u32::MAX).is_empty());
    }

    #[test]
    fn search_slice_is_bounded_and_filtered() {
        let rest = format!("{EXAMINE_OK}* SEARCH 4 5 9 12\r\na4 OK\r\n");
        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        let got = src
            .search_slice(SearchSlice {
                after: 4,
                last: Some(9),
            })
            .unwrap();
        assert_eq!(got, vec![5, 9]);
        let w = written(&w);
        assert!(
            w.contains(&format!("a4 UID SEARCH UID 5:9 {SEARCH_CRITERIA}\r\n")),
            "{w}"
        );
    }

    #[test]
    fn fetch_shares_the_stream_with_the_crate() {
        // The raw FETCH reads its response (with an EXISTS in it); the crate's next command
        // (a search) continues on the same stream with its own tags.
        let rest = format!(
            "{EXAMINE_OK}* 1 FETCH (UID 3 RFC822.SIZE 2 BODY[]<0> {{2}}\r\nhi)\r\n* 4 EXISTS\r\n\
             F1 OK\r\n* SEARCH 3 9\r\na4 OK\r\n"
        );
        let (mut src, w) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        let mut got = Vec::new();
        src.fetch(&[3], &mut |b| {
            got.extend(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(src.search_new(2).unwrap(), vec![3, 9]);
        assert!(src.new_mail_seen);
        assert_eq!(src.round_trips(), 5);
        let w = written(&w);
        assert!(
            w.contains("F1 UID FETCH 3 ") && w.contains("a4 UID SEARCH "),
            "{w}"
        );
    }

    #[test]
    fn broken_fetch_response_drops_the_session() {
        let rest = format!("{EXAMINE_OK}* 1 FETCH (UID x)\r\nF1 OK\r\n");
        let (mut src, _) = logged_in(account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        let e = src.fetch(&[3], &mut |_| Ok(())).unwrap_err();
        assert!(matches!(e, SourceError::Protocol { .. }), "{e:?}");
        assert!(e.to_string().contains("UID FETCH"), "{e}");
        assert!(!src.is_connected());
    }

    #[test]
    fn exists_during_an_action_is_not_lost() {
        let rest = format!(
            "{SELECT_OK}* LIST () \".\" Done\r\na4 OK List\r\n\
             * 1 EXPUNGE\r\n* 3 EXISTS\r\na5 OK [COPYUID 9 3 1] Moved\r\n"
        );
        let (mut src, _) = logged_in(rw_account(), CAPS, &rest);
        src.examine("INBOX").unwrap();
        src.apply_action(&[3], &Action::Move("Done".into()))
            .unwrap();
        let before = src.round_trips();
        assert_eq!(
            src.idle_wait(Duration::from_secs(5)).unwrap(),
            IdleOutcome::NewMail
        );
        assert_eq!(src.round_trips(), before);
        assert!(has_exists_line(b"* 12 EXISTS\r\n"));
        assert!(!has_exists_line(b"* 12 EXPUNGE\r\n* OK EXISTS\r\n"));
    }

    #[test]
    fn uid_set_compression() {
        assert_eq!(uid_sets(&[1, 2, 3, 5, 7, 8], 100), vec!["1:3,5,7:8"]);
        assert_eq!(uid_sets(&[], 100), Vec::<String>::new());
        assert_eq!(uid_sets(&[10, 20, 30, 40], 5), vec!["10,20", "30,40"]);
        assert_eq!(
            uid_sets(&[u32::MAX - 1, u32::MAX], 100),
            vec!["4294967294:4294967295"]
        );
    }

    #[test]
    fn mailbox_names_in_modified_utf7() {
        assert_eq!(encode_mailbox_name("INBOX").unwrap(), "INBOX");
        assert_eq!(encode_mailbox_name("Entwürfe").unwrap(), "Entw&APw-rfe");
        assert_eq!(encode_mailbox_name("A&B").unwrap(), "A&-B");
        // RFC 3501 5.1.3 example.
        assert_eq!(
            encode_mailbox_name("~peter/mail/台北/日本語").unwrap(),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert!(encode_mailbox_name("a\r\nb").is_err());
    }

    #[test]
    fn greeting_caps() {
        let c = greeting_capabilities(GREETING).unwrap();
        assert!(c.contains("IDLE") && c.contains("AUTH=PLAIN") && c.contains("IMAP4REV1"));
        assert!(greeting_capabilities("* OK ready\r\n").is_none());
    }

    /// A one-connection TCP server on 127.0.0.1: writes `steps[0]` on accept, then one
    /// step after each line it reads. Returns the port and a handle yielding what the
    /// client sent.
    fn fake_server(steps: Vec<&'static str>) -> (u16, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut got = String::new();
            for (i, step) in steps.iter().enumerate() {
                if i > 0 {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    got.push_str(&line);
                }
                sock.write_all(step.as_bytes()).unwrap();
            }
            // Drain whatever else arrives (e.g. a TLS ClientHello) until EOF or timeout.
            let mut rest = Vec::new();
            let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
            if !rest.is_empty() {
                got.push_str(&format!("<{} more bytes>", rest.len()));
            }
            got
        });
        (port, h)
    }

    fn starttls_account(port: u16) -> AccountConfig {
        let mut a = account();
        a.tls = TlsMode::Starttls;
        a.port = port;
        a.timeout = Duration::from_millis(500);
        a
    }

    #[test]
    fn starttls_not_offered_is_an_error_not_a_downgrade() {
        let (port, h) = fake_server(vec![
            "* OK ready\r\n",
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nS1 OK done\r\n",
        ]);
        let e = ImapSource::new(starttls_account(port))
            .connect()
            .unwrap_err();
        assert!(matches!(e, SourceError::Tls { .. }), "{e:?}");
        assert!(e.to_string().contains("does not offer STARTTLS"), "{e}");
        let sent = h.join().unwrap();
        assert_eq!(
            sent, "S1 CAPABILITY\r\n",
            "nothing after CAPABILITY, certainly no LOGIN"
        );
    }

    #[test]
    fn starttls_refused_by_server() {
        let (port, h) = fake_server(vec![
            "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
            "S2 NO not now\r\n",
        ]);
        let e = ImapSource::new(starttls_account(port))
            .connect()
            .unwrap_err();
        assert!(
            e.to_string().contains("refused STARTTLS: S2 NO not now"),
            "{e}"
        );
        assert_eq!(h.join().unwrap(), "S2 STARTTLS\r\n");
    }

    #[test]
    fn starttls_injected_plaintext_breaks_the_handshake() {
        // A man-in-the-middle appends a fake response after the OK. It must not be read as
        // if it came over TLS: it reaches the TLS layer and the handshake fails.
        let (port, h) = fake_server(vec![
            "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
            "S2 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1] injected\r\n",
        ]);
        let e = ImapSource::new(starttls_account(port))
            .connect()
            .unwrap_err();
        assert!(matches!(e, SourceError::Tls { .. }), "{e:?}");
        let sent = h.join().unwrap();
        assert!(
            sent.starts_with("S2 STARTTLS\r\n<"),
            "TLS ClientHello follows: {sent}"
        );
        assert!(!sent.contains("LOGIN"), "{sent}");
    }

    #[test]
    fn silent_server_times_out() {
        let (port, _h) = fake_server(vec![""]);
        let mut a = account();
        a.port = port;
        a.timeout = Duration::from_millis(300);
        let t = std::time::Instant::now();
        let e = ImapSource::new(a).connect().unwrap_err();
        assert!(
            matches!(e, SourceError::Timeout { op: "greeting", .. }),
            "{e:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    /// Standard base64, for building expected bytes in tests.
    fn base64_std(bytes: &[u8]) -> String {
        modified_base64(bytes).replace(',', "/")
            + match bytes.len() % 3 {
                1 => "==",
                2 => "=",
                _ => "",
            }
    }
}
