//! The resolved configuration: what the rest of the program reads. Parsing and validation
//! live in `raw` (a serde mirror of the TOML with no logic) and `validate` (which compiles
//! regexes, parses the schedule and time zone, checks secret sources and reports errors as
//! `FILE:LINE:COL: key.path: what is wrong`); `locate` turns key paths into line:column.
//! The documented example of every key is `config/invite-digest.example.toml`.

pub mod locate;
pub mod raw;
pub mod secret;
pub mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

pub use locate::Location;
pub use secret::{SecretError, SecretSource};
pub use validate::{
    check, default_state_dir, default_state_dir_from_env, ConfigError, ConfigIssue, Severity,
};

/// The hosts a plaintext (`tls = "plain"`) connection may go to: traffic to them never
/// leaves the machine. One definition, used by validation and again by both adapters
/// before they connect; a name that merely starts with "127." is not an address.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The whole program's settings after validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from, for messages.
    pub path: Option<PathBuf>,
    pub accounts: Vec<AccountConfig>,
    pub state: StateConfig,
    pub digest: DigestConfig,
    pub smtp: Option<SmtpConfig>,
    pub scoring: ScoringConfig,
    pub filters: Vec<Filter>,
    pub authenticity: AuthenticityConfig,
    pub notes: NoteCueConfig,
    pub log: LogConfig,
    /// Problems that do not stop the program, as `FILE:LINE:COL: key.path: message` lines.
    /// Kept rather than logged at load time because logging is configured from the config
    /// itself, after loading: the caller logs them once it can (see [`Config::warnings`]).
    /// Private so a `Config` can only come from validation.
    warnings: Vec<String>,
}

impl Config {
    /// Reads, parses and validates the file at `path`. Warnings are not logged here
    /// (logging is set up from the config, afterwards): see [`Config::warnings`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str(&text, Some(path))
    }

    /// Parses and validates `text`. `path` names the file in messages and is the base for
    /// relative paths inside it (the current directory when `None`).
    pub fn from_str(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        validate::check_text(text, path, &validate::process_env).map(|(config, _)| config)
    }

    /// Warnings found while loading, as `FILE:LINE:COL: key.path: message` lines without
    /// a `warning:` marker, for the caller to log once logging is set up.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Checks what sending a digest needs (`digest.from`, `digest.to`, `[smtp]`), which
    /// parsing leaves optional so offline commands work without it. The error lists
    /// everything missing, each with the line to add.
    pub fn require_sending(&self) -> Result<(), ConfigError> {
        validate::require_sending(self)
    }
}

/// How to reach a server securely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain greeting, then STARTTLS before anything else (IMAP 143, SMTP 587).
    Starttls,
    /// No TLS at all. Only accepted for 127.0.0.1 / ::1 / localhost when the user said so.
    Plain,
}

/// How an account logs in.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// LOGIN / PLAIN with a password from one secret source.
    Password(SecretSource),
    /// XOAUTH2 with an access token printed by a command (run at each login).
    OAuth2 { token_command: String },
}

/// What to do to a message once it has been stored (opt-in; default is read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MarkSeen,
    Move(String),
    Copy(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterProcessing {
    pub invitations: Option<Action>,
    pub other_linkedin: Option<Action>,
    pub phishing: Option<Action>,
}

impl AfterProcessing {
    pub fn is_read_only(&self) -> bool {
        self.invitations.is_none() && self.other_linkedin.is_none() && self.phishing.is_none()
    }
}

/// One IMAP account to watch.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// Used in logs, errors and the digest.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub auth: AuthMethod,
    /// Trust the CA certificates in this PEM file instead of the system roots (only them:
    /// a private CA); verification stays on.
    pub ca_file: Option<PathBuf>,
    pub mailboxes: Vec<String>,
    pub poll_interval: Duration,
    pub idle: bool,
    /// Messages larger than this are skipped with a logged reason.
    pub max_message_size: u64,
    /// Connect, read and write timeout on the socket.
    pub timeout: Duration,
    /// How many messages one UID FETCH asks for.
    pub fetch_batch: usize,
    pub after_processing: AfterProcessing,
}

#[derive(Debug, Clone)]
pub struct StateConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub schedule: crate::schedule::Schedule,
    /// Required for sending; offline commands work without it.
    pub from: Option<String>,
    pub to: Vec<String>,
    pub send_empty: bool,
    /// Send a short "all quiet" note once a week when nothing new arrived.
    pub weekly_all_quiet: bool,
    /// Subject template; `{accept}`, `{review}`, `{ignore}`, `{suspicious}`, `{total}`,
    /// `{date}`, `{summary}`.
    pub subject: String,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub auth: Option<AuthMethod>,
    pub ca_file: Option<PathBuf>,
    /// Upper bound on one whole send (connect + dialogue), since lettre's own timeout
    /// only covers connecting.
    pub timeout: Duration,
}

/// Thresholds and built-in rule weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringConfig {
    /// score >= accept_at -> accept.
    pub accept_at: f64,
    /// score < ignore_below -> ignore; in between -> review.
    pub ignore_below: f64,
    /// This many connections in common lift a note-less invitation to review.
    pub many_mutual_connections: u32,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            accept_at: 3.0,
            ignore_below: 0.0,
            many_mutual_connections: 10,
        }
    }
}

/// What a user filter does when all its conditions match.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterEffect {
    Weight(f64),
    Verdict(crate::model::Verdict),
}

/// A user filter from `[[filters]]`: all present conditions must match.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub name_re: Option<Regex>,
    pub headline: Option<Regex>,
    pub location: Option<Regex>,
    pub note: Option<Regex>,
    pub min_mutual_connections: Option<u32>,
    pub has_note: Option<bool>,
    pub language: Option<String>,
    pub effect: FilterEffect,
}

#[derive(Debug, Clone, Default)]
pub struct AuthenticityConfig {
    /// When non-empty, only `Authentication-Results` from these authserv-ids are trusted;
    /// otherwise only the topmost header is.
    pub trusted_authserv_ids: Vec<String>,
}

/// Extra note-analysis cues per language, added to the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct NoteCueConfig {
    pub context: Vec<Regex>,
    pub objective: Vec<Regex>,
    pub pitch: Vec<Regex>,
    /// Extra LinkedIn default sentences (language, text), compared after normalisation.
    pub default_texts: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    /// A tracing filter directive such as `info` or `invite_digest=debug`.
    pub level: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "127.evil.example",
            "127.0.0.1.example.com",
            "imap.example.com",
            "localhost.example.com",
            "10.0.0.1",
            "::2",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
