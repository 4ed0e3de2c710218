//! Turns the serde mirror ([`super::raw`]) into the resolved [`Config`]: fills defaults,
//! compiles regexes, parses durations, sizes, the schedule and the time zone, checks that
//! secret sources are usable, and reports every problem it finds (not just the first) as
//! `FILE:LINE:COL: key.path: what is wrong`.
//!
//! It does not run password commands or read secrets from the environment at check time:
//! a config is often checked on a machine (CI, a laptop) that does not hold the secrets.
//! The one secret it does read is `password_file`, because a daemon whose file is missing
//! cannot log in and the mistake is almost always a typo in the path.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use secrecy::SecretString;

use super::locate::{Location, Locator};
use super::raw::{
    self, OneOrMany, RawAccount, RawAfterProcessing, RawConfig, RawDigest, RawDuration, RawFilter,
    RawNotes, RawPort, RawSecret, RawSize, RawSmtp,
};
use super::{
    AccountConfig, Action, AfterProcessing, AuthMethod, AuthenticityConfig, Config, DigestConfig,
    Filter, FilterEffect, LogConfig, NoteCueConfig, ScoringConfig, SecretError, SecretSource,
    SmtpConfig, StateConfig, TlsMode,
};
use crate::model::Verdict;
use crate::schedule::{self, Schedule};

/// The schedule used when `[digest]` has none: every day at 08:00.
pub const DEFAULT_SCHEDULE: &str = "0 8 * * *";
/// The subject used when `[digest]` has none. `{summary}` leaves out zero counts:
/// "LinkedIn invitations: 2 to accept, 5 to ignore — 27 Nov".
pub const DEFAULT_SUBJECT: &str = "LinkedIn invitations: {summary} — {date}";
/// Placeholders the digest fills in a subject.
pub const SUBJECT_PLACEHOLDERS: &[&str] = &[
    "accept",
    "review",
    "ignore",
    "suspicious",
    "total",
    "date",
    "summary",
];
/// The state directory when the environment names none: the usual place for a system
/// daemon's state.
const FALLBACK_STATE_DIR: &str = "/var/lib/invite-digest";
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Polling more often than this hammers the server for mail that arrives a few times a day.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(30);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const MIN_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);
const DEFAULT_MAX_MESSAGE_SIZE: u64 = 2 * 1024 * 1024;
/// 20 invitations (~1 MB) per FETCH: the response is held twice while it is parsed, so
/// the batch size sets the daemon's private memory (bench/RESULTS.md: 100 -> 10 MiB,
/// 20 -> 8 MiB at the 10k mailbox), while 50 round trips per 1,000 invitations cost
/// milliseconds on a first scan and nothing afterwards.
const DEFAULT_FETCH_BATCH: i64 = 20;
const MAX_FETCH_BATCH: i64 = 10_000;
/// Every way an account or the SMTP server can get its secret, in the order messages list
/// them.
const SECRET_KEYS: &[&str] = &[
    "password_file",
    "password_command",
    "password_env",
    "password_credential",
    "oauth2_token_command",
    "password",
];

/// How bad an issue is. Warnings do not stop the program; `config check` prints them and
/// still exits 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// Which part of a `key = value` line an issue points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The key: unknown keys, conflicting keys.
    Key,
    /// The value: wrong types, bad values. Missing keys fall back to their table header.
    Value,
}

/// An issue before it has a position: what the parsing and validation stages produce.
#[derive(Debug, Clone)]
pub struct Issue {
    pub severity: Severity,
    /// Key path such as `filters[2].headline`; empty for syntax errors.
    pub path: String,
    pub anchor: Anchor,
    pub message: String,
}

impl Issue {
    pub fn error(path: impl Into<String>, anchor: Anchor, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            path: path.into(),
            anchor,
            message: message.into(),
        }
    }

    pub fn warning(path: impl Into<String>, anchor: Anchor, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            ..Issue::error(path, anchor, message)
        }
    }
}

/// One problem in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub severity: Severity,
    /// Key path such as `accounts[0].host`; empty for TOML syntax errors.
    pub path: String,
    /// What is wrong, and usually how to fix it.
    pub message: String,
    /// Where in the file; `None` for checks made after loading (see
    /// [`Config::require_sending`]), which concern keys that are absent.
    pub location: Option<Location>,
}

impl ConfigIssue {
    /// `FILE:LINE:COL: [warning: ]path: message`.
    pub fn render(&self, file: &str) -> String {
        self.render_with(file, self.severity == Severity::Warning)
    }

    /// `FILE:LINE:COL: path: message`, without the `warning:` marker, for callers that
    /// show the severity their own way (a log level, a `warning:` prefix).
    pub fn render_unmarked(&self, file: &str) -> String {
        self.render_with(file, false)
    }

    fn render_with(&self, file: &str, mark_warning: bool) -> String {
        let mut s = String::from(file);
        if let Some(loc) = self.location {
            s.push_str(&format!(":{loc}"));
        }
        s.push_str(": ");
        if mark_warning {
            s.push_str("warning: ");
        }
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file itself could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but has problems. `issues` holds every error and warning, sorted by
    /// position; `rendered` is the same, one `FILE:LINE:COL: path: message` line each.
    #[error("{rendered}")]
    Invalid {
        issues: Vec<ConfigIssue>,
        rendered: String,
    },
}

impl ConfigError {
    /// Builds an `Invalid` error from issues, rendering them against `file`.
    pub fn invalid(issues: Vec<ConfigIssue>, file: &str) -> Self {
        let rendered = render_all(&issues, file);
        ConfigError::Invalid { issues, rendered }
    }
}

fn render_all(issues: &[ConfigIssue], file: &str) -> String {
    issues
        .iter()
        .map(|i| i.render(file))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How the validator reads the environment; a parameter so tests do not depend on the
/// machine they run on.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The real environment.
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The name shown for a config in messages: its path as given, or `<config>` for text
/// that came from nowhere in particular.
pub fn file_label(path: Option<&Path>) -> String {
    path.map_or_else(|| "<config>".to_string(), |p| p.display().to_string())
}

/// Reads and checks the file at `path`, returning the config and its warnings as
/// `FILE:LINE:COL: warning: path: message` lines. Errors come back as
/// [`ConfigError::Invalid`], with any warnings among them marked, so the user sees
/// everything at once.
pub fn check(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (config, issues) = check_text(&text, Some(path), &process_env)?;
    // Same shape as errors (`FILE:LINE:COL: warning: path: message`) so editors can jump
    // to the place.
    let file = file_label(Some(path));
    let lines = issues.iter().map(|i| i.render(&file)).collect();
    Ok((config, lines))
}

/// Parses and validates `text`; `path` is used for messages and as the base for relative
/// paths inside the file. Returns the config and its warnings.
pub fn check_text(
    text: &str,
    path: Option<&Path>,
    env: EnvLookup,
) -> Result<(Config, Vec<ConfigIssue>), ConfigError> {
    let file = file_label(path);
    let locator = Locator::new(text);
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            let location = locator.position(e.span().map_or(0, |s| s.start));
            let issue = ConfigIssue {
                severity: Severity::Error,
                path: String::new(),
                message: syntax_message(e.message()),
                location: Some(location),
            };
            return Err(ConfigError::invalid(vec![issue], &file));
        }
    };
    let parsed = raw::parse(table);
    // Relative paths in the config are relative to the config file (to the working
    // directory for text with no file), and stored absolute so a later change of working
    // directory cannot change their meaning.
    let base_dir = match path.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
        }
        _ => std::env::current_dir().unwrap_or_default(),
    };
    let mut v = Validator {
        base_dir,
        env,
        removed: parsed.removed,
        issues: parsed.issues,
    };
    let config = v.config(parsed.raw, path);
    let mut issues: Vec<ConfigIssue> = v
        .issues
        .into_iter()
        .map(|i| ConfigIssue {
            location: Some(locator.locate(&i.path, i.anchor)),
            severity: i.severity,
            path: i.path,
            message: i.message,
        })
        .collect();
    // Top to bottom reads best; the sort is stable, so issues at one place keep the order
    // they were found in.
    issues.sort_by_key(|i| i.location);
    let has_errors = issues.iter().any(|i| i.severity == Severity::Error);
    match config {
        Some(mut config) if !has_errors => {
            config.warnings = issues.iter().map(|w| w.render_unmarked(&file)).collect();
            Ok((config, issues))
        }
        _ => Err(ConfigError::invalid(issues, &file)),
    }
}

/// toml's messages are several lines ("invalid string\nexpected `\"`"); ours are one.
fn syntax_message(message: &str) -> String {
    let joined = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let mut out = if joined.is_empty() {
        "TOML syntax error".to_string()
    } else {
        format!("TOML syntax error: {joined}")
    };
    if joined.contains("escape") {
        // Nearly always a regex such as "\d+" in a double-quoted string.
        out.push_str(
            "; for a regex, use single quotes ('\\d+') or double each backslash (\"\\\\d+\")",
        );
    }
    out
}

/// Checks a loaded config for what sending a digest needs, listing everything missing.
pub(crate) fn require_sending(config: &Config) -> Result<(), ConfigError> {
    let mut issues = Vec::new();
    let mut missing = |path: &str, message: &str| {
        issues.push(ConfigIssue {
            severity: Severity::Error,
            path: path.to_string(),
            message: message.to_string(),
            location: None,
        })
    };
    if config.digest.from.is_none() {
        missing(
            "digest.from",
            "no sender configured; add `from = \"invite-digest <you@example.com>\"` under [digest]",
        );
    }
    if config.digest.to.is_empty() {
        missing(
            "digest.to",
            "no recipient configured; add `to = [\"you@example.com\"]` under [digest]",
        );
    }
    if config.smtp.is_none() {
        missing(
            "smtp",
            "no mail server configured; add an [smtp] section with at least `host`",
        );
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            issues,
            &file_label(config.path.as_deref()),
        ))
    }
}

/// The default state directory, from the values of `$STATE_DIRECTORY` (set by systemd's
/// `StateDirectory=`), `$XDG_STATE_HOME` and `$HOME`, in that order. Pure so it can be
/// tested; see [`default_state_dir_from_env`].
pub fn default_state_dir(
    state_directory: Option<&OsStr>,
    xdg_state_home: Option<&OsStr>,
    home: Option<&OsStr>,
) -> Option<PathBuf> {
    if let Some(dirs) = state_directory.and_then(OsStr::to_str) {
        // systemd joins several StateDirectory= entries with ':'; ours is the first.
        if let Some(first) = dirs.split(':').find(|d| !d.is_empty()) {
            return Some(PathBuf::from(first));
        }
    }
    if let Some(xdg) = xdg_state_home.filter(|x| !x.is_empty()) {
        let xdg = Path::new(xdg);
        // The XDG spec says relative values are invalid and must be ignored.
        if xdg.is_absolute() {
            return Some(xdg.join("invite-digest"));
        }
    }
    home.filter(|h| !h.is_empty())
        .map(|h| Path::new(h).join(".local/state/invite-digest"))
}

/// [`default_state_dir`] with the process environment.
pub fn default_state_dir_from_env() -> Option<PathBuf> {
    state_dir_with(&process_env)
}

fn state_dir_with(env: EnvLookup) -> Option<PathBuf> {
    default_state_dir(
        env("STATE_DIRECTORY").as_deref(),
        env("XDG_STATE_HOME").as_deref(),
        env("HOME").as_deref(),
    )
}

/// The closest candidate to `word`, for "did you mean" hints: a prefix match first
/// (`warning` → `warn`, `mailbox` → `mailboxes`), then the smallest edit distance within a
/// limit that grows with the word's length. Case-insensitive.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let w = word.to_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if w.chars().count() >= 3 {
        if let Some(c) = candidates.iter().find(|c| {
            let c = c.to_lowercase();
            c != w && (c.starts_with(&w) || w.starts_with(&c)) && c.len() >= 3
        }) {
            return Some(c);
        }
    }
    let limit = match w.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, which are
/// the most common typo (`hsot`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The secret-source keys of one section, borrowed from the raw struct.
struct SecretKeys<'a> {
    values: [Option<&'a str>; 6],
}

impl<'a> SecretKeys<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        file: &'a Option<String>,
        command: &'a Option<String>,
        env: &'a Option<String>,
        credential: &'a Option<String>,
        oauth2: &'a Option<String>,
        literal: &'a Option<RawSecret>,
    ) -> Self {
        SecretKeys {
            values: [
                file.as_deref(),
                command.as_deref(),
                env.as_deref(),
                credential.as_deref(),
                oauth2.as_deref(),
                literal.as_ref().map(|s| s.0.as_str()),
            ],
        }
    }
}

struct Validator<'a> {
    base_dir: PathBuf,
    env: EnvLookup<'a>,
    /// Keys the serde stage removed as unusable: already reported, so never "missing".
    removed: BTreeSet<String>,
    issues: Vec<Issue>,
}

impl Validator<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue::error(path, Anchor::Value, message));
    }

    fn error_at_key(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue::error(path, Anchor::Key, message));
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues
            .push(Issue::warning(path, Anchor::Value, message));
    }

    fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// Whether the serde stage already reported `path`: its value was unusable, or an
    /// unknown key in the same table looks like a typo of it (`pasword_file`). Reporting
    /// such a key as missing too would only repeat the first message.
    fn rejected(&self, path: &str) -> bool {
        if self.removed.contains(path) {
            return true;
        }
        let Some((parent, key)) = path.rsplit_once('.') else {
            return false;
        };
        self.removed.iter().any(|r| {
            r.rsplit_once('.')
                .is_some_and(|(p, k)| p == parent && did_you_mean(k, [key]).is_some())
        })
    }

    /// Reports a missing required key, unless it was present but already reported.
    fn missing(&mut self, path: &str, why: &str) {
        if !self.rejected(path) {
            self.error(path, format!("missing; {why}"));
        }
    }

    fn config(&mut self, raw: RawConfig, path: Option<&Path>) -> Option<Config> {
        let accounts = self.accounts(raw.accounts.unwrap_or_default());
        let state = self.state(raw.state.and_then(|s| s.dir));
        let digest = self.digest(raw.digest.unwrap_or_default());
        let smtp = raw.smtp.map(|s| self.smtp(s, &accounts));
        let scoring = self.scoring(raw.scoring.unwrap_or_default());
        let filters = self.filters(raw.filters.unwrap_or_default());
        let authenticity = self.authenticity(
            raw.authenticity
                .and_then(|a| a.trusted_authserv_ids)
                .unwrap_or_default(),
        );
        let notes = self.notes(raw.notes.unwrap_or_default());
        let log = self.log(raw.log.and_then(|l| l.level));
        if self.has_errors() {
            return None;
        }
        Some(Config {
            path: path.map(Path::to_path_buf),
            accounts,
            state: state?,
            digest: digest?,
            smtp,
            scoring,
            filters,
            authenticity,
            notes,
            log,
            warnings: Vec::new(),
        })
    }

    // ----- accounts -------------------------------------------------------------------

    fn accounts(&mut self, raw: Vec<RawAccount>) -> Vec<AccountConfig> {
        let mut out: Vec<AccountConfig> = Vec::with_capacity(raw.len());
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, a) in raw.into_iter().enumerate() {
            let explicit_name = a.name.is_some();
            let account = self.account(i, a);
            if !account.name.is_empty() {
                if let Some(first) = seen.get(&account.name) {
                    let path = format!("accounts[{i}].name");
                    if explicit_name {
                        self.error(
                            path,
                            format!(
                                "duplicate account name {:?} (also used by accounts[{first}]); each account needs its own name",
                                account.name
                            ),
                        );
                    } else {
                        self.error(
                            path,
                            format!(
                                "missing, and the default (the host, {:?}) is already used by accounts[{first}]; give each account a distinct `name`",
                                account.name
                            ),
                        );
                    }
                } else {
                    seen.insert(account.name.clone(), i);
                }
            }
            out.push(account);
        }
        out
    }

    fn account(&mut self, i: usize, a: RawAccount) -> AccountConfig {
        let p = format!("accounts[{i}]");
        let host = self.host(
            &p,
            a.host.as_deref(),
            "every account needs its IMAP server, e.g. `host = \"imap.example.com\"`",
        );
        let name = match &a.name {
            Some(n) => self.name(&format!("{p}.name"), n),
            // The host is the most recognisable stand-in for an unnamed account.
            None => host.clone(),
        };
        let tls = self.tls(&p, a.tls.as_deref());
        let default_port = match tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::Plain => 143,
        };
        let port = self.port(&p, a.port, default_port);
        self.port_matches_tls(&p, a.port.is_some(), port, tls, 993, &[143]);
        self.plaintext(&p, tls, &host, a.allow_plaintext);
        let username = match &a.username {
            Some(u) => self.non_empty(&format!("{p}.username"), u),
            None => {
                self.missing(
                    &format!("{p}.username"),
                    "the login name, usually your email address",
                );
                String::new()
            }
        };
        let keys = SecretKeys::new(
            &a.password_file,
            &a.password_command,
            &a.password_env,
            &a.password_credential,
            &a.oauth2_token_command,
            &a.password,
        );
        let auth = self
            .secret(&p, &keys, true)
            .unwrap_or_else(|| AuthMethod::Password(SecretSource::Env(String::new())));
        let ca_file = a
            .ca_file
            .as_deref()
            .and_then(|f| self.ca_file(&format!("{p}.ca_file"), f));
        let mailboxes = self.mailboxes(&p, a.mailboxes);
        let poll_interval = self.duration(
            &format!("{p}.poll_interval"),
            a.poll_interval,
            DEFAULT_POLL_INTERVAL,
            MIN_POLL_INTERVAL,
            MAX_POLL_INTERVAL,
        );
        let max_message_size = self.size(
            &format!("{p}.max_message_size"),
            a.max_message_size,
            DEFAULT_MAX_MESSAGE_SIZE,
        );
        let timeout = self.duration(
            &format!("{p}.timeout"),
            a.timeout,
            DEFAULT_TIMEOUT,
            MIN_TIMEOUT,
            MAX_TIMEOUT,
        );
        let fetch_batch = self.int_in(
            &format!("{p}.fetch_batch"),
            a.fetch_batch,
            DEFAULT_FETCH_BATCH,
            1,
            MAX_FETCH_BATCH,
        );
        let after_processing = self.after_processing(&p, a.after_processing, &mailboxes);
        AccountConfig {
            name,
            host,
            port,
            tls,
            username,
            auth,
            ca_file,
            mailboxes,
            poll_interval,
            idle: a.idle.unwrap_or(false),
            max_message_size,
            timeout,
            fetch_batch: usize::try_from(fetch_batch).unwrap_or(20),
            after_processing,
        }
    }

    /// A display name: shown in logs and the digest, so no control characters.
    fn name(&mut self, path: &str, name: &str) -> String {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            self.error(path, "is empty");
        } else if trimmed.chars().any(char::is_control) {
            self.error(path, "contains a control character");
        }
        trimmed.to_string()
    }

    fn non_empty(&mut self, path: &str, value: &str) -> String {
        if value.trim().is_empty() {
            self.error(path, "is empty");
        }
        value.trim().to_string()
    }

    fn host(&mut self, section: &str, raw: Option<&str>, why: &str) -> String {
        let path = format!("{section}.host");
        let Some(host) = raw else {
            self.missing(&path, why);
            return String::new();
        };
        match check_host(host) {
            Ok(h) => h,
            Err(e) => {
                self.error(path, e);
                host.trim().to_string()
            }
        }
    }

    fn tls(&mut self, section: &str, raw: Option<&str>) -> TlsMode {
        let Some(s) = raw else {
            return TlsMode::Implicit;
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "implicit" => TlsMode::Implicit,
            "starttls" => TlsMode::Starttls,
            "plain" => TlsMode::Plain,
            other => {
                let hint = match other {
                    "ssl" | "tls" | "ssl/tls" => {
                        " (`implicit` is what mail programs call SSL/TLS)".to_string()
                    }
                    "none" | "off" | "false" => {
                        " (`plain` is the unencrypted mode, for a local test server only)".into()
                    }
                    _ => did_you_mean(other, ["implicit", "starttls", "plain"])
                        .map(|m| format!(" (did you mean `{m}`?)"))
                        .unwrap_or_default(),
                };
                self.error(
                    format!("{section}.tls"),
                    format!(
                        "unknown TLS mode {s:?}; expected `implicit`, `starttls` or `plain`{hint}"
                    ),
                );
                TlsMode::Implicit
            }
        }
    }

    fn port(&mut self, section: &str, raw: Option<RawPort>, default: u16) -> u16 {
        let Some(RawPort(n)) = raw else {
            return default;
        };
        match u16::try_from(n) {
            Ok(p) if p != 0 => p,
            _ => {
                self.error(
                    format!("{section}.port"),
                    format!("expected an integer from 1 to 65535, found {n}"),
                );
                default
            }
        }
    }

    /// Warns about the classic mix-up of the implicit-TLS port with STARTTLS or back,
    /// which shows up later as a hang or a TLS handshake error far from its cause.
    fn port_matches_tls(
        &mut self,
        section: &str,
        explicit: bool,
        port: u16,
        tls: TlsMode,
        implicit_port: u16,
        starttls_ports: &[u16],
    ) {
        if !explicit {
            return;
        }
        let message = match tls {
            TlsMode::Starttls | TlsMode::Plain if port == implicit_port => format!(
                "port {port} expects TLS from the first byte; use `tls = \"implicit\"` or the STARTTLS port {}",
                starttls_ports.first().copied().unwrap_or(implicit_port)
            ),
            TlsMode::Implicit if starttls_ports.contains(&port) => format!(
                "port {port} is normally a STARTTLS port; use `tls = \"starttls\"` or port {implicit_port}"
            ),
            _ => return,
        };
        self.warn(format!("{section}.port"), message);
    }

    fn plaintext(&mut self, section: &str, tls: TlsMode, host: &str, allow: Option<bool>) {
        if tls == TlsMode::Plain {
            if !host.is_empty() && !super::is_loopback_host(host) {
                self.error(
                    format!("{section}.tls"),
                    format!(
                        "`plain` (no encryption) is only allowed to 127.0.0.1, ::1 or localhost, not {host}; use `implicit` or `starttls`"
                    ),
                );
            } else if allow != Some(true) {
                self.error(
                    format!("{section}.tls"),
                    "`plain` sends the password unencrypted; add `allow_plaintext = true` to this section to confirm (meant for a local test server)",
                );
            }
        } else if allow == Some(true) {
            self.warn(
                format!("{section}.allow_plaintext"),
                "has no effect unless `tls = \"plain\"`",
            );
        }
    }

    /// Checks the secret-source keys of one section: at most one may be set (exactly one
    /// when `required`), and the one set must be usable.
    fn secret(&mut self, section: &str, keys: &SecretKeys, required: bool) -> Option<AuthMethod> {
        let present: Vec<(&str, &str)> = SECRET_KEYS
            .iter()
            .zip(keys.values.iter())
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect();
        let Some(&(key, value)) = present.first() else {
            let any_removed = SECRET_KEYS
                .iter()
                .any(|k| self.rejected(&format!("{section}.{k}")));
            if required && !any_removed {
                self.error(
                    section,
                    "no password source; set one of `password_file`, `password_command`, `password_env`, `password_credential`, `oauth2_token_command` or `password`",
                );
            }
            return None;
        };
        if present.len() > 1 {
            for (other, _) in &present[1..] {
                self.error_at_key(
                    format!("{section}.{other}"),
                    format!("`{key}` and `{other}` are both set; keep only one password source"),
                );
            }
            return None;
        }
        let path = format!("{section}.{key}");
        if value.trim().is_empty() {
            self.error(path, "is empty");
            return None;
        }
        let source = match key {
            "password_file" => {
                let file = self.resolve_path(&path, value)?;
                if let Err(e) = SecretSource::File(file.clone()).resolve() {
                    self.error(path, secret_file_error(&e));
                    return None;
                }
                SecretSource::File(file)
            }
            "password_command" => SecretSource::Command(value.to_string()),
            "oauth2_token_command" => {
                return Some(AuthMethod::OAuth2 {
                    token_command: value.to_string(),
                })
            }
            "password_env" => {
                let name = value.trim();
                if name.contains(['=', '\0']) || name.chars().any(char::is_whitespace) {
                    self.error(
                        path,
                        format!("{name:?} is not a valid environment variable name"),
                    );
                    return None;
                }
                if (self.env)(name).is_none_or(|v| v.is_empty()) {
                    // A warning, not an error: configs are checked on machines without the
                    // secrets (CI, a laptop), and the daemon reports it again at login.
                    self.warn(
                        path,
                        format!("environment variable {name} is not set here; the daemon needs it to log in"),
                    );
                }
                SecretSource::Env(name.to_string())
            }
            "password_credential" => {
                let name = value.trim();
                if name.contains('/') || name == "." || name == ".." {
                    self.error(
                        path,
                        format!("{name:?} is not a credential name; use the name from `LoadCredential=NAME:/path` in the unit"),
                    );
                    return None;
                }
                SecretSource::Credential(name.to_string())
            }
            _ => {
                self.warn(
                    path,
                    "a password in the config file is readable by anyone who can read the file; prefer password_file or password_credential",
                );
                SecretSource::Literal(SecretString::from(value.to_string()))
            }
        };
        Some(AuthMethod::Password(source))
    }

    /// Expands a leading `~/` and makes relative paths relative to the config file.
    fn resolve_path(&mut self, path: &str, value: &str) -> Option<PathBuf> {
        let value = value.trim();
        let p = if value == "~" || value.starts_with("~/") {
            match (self.env)("HOME").filter(|h| !h.is_empty()) {
                Some(home) => {
                    Path::new(&home).join(value.trim_start_matches('~').trim_start_matches('/'))
                }
                None => {
                    self.error(
                        path,
                        "cannot expand `~`: $HOME is not set; write the full path",
                    );
                    return None;
                }
            }
        } else {
            PathBuf::from(value)
        };
        Some(if p.is_absolute() {
            p
        } else {
            self.base_dir.join(p)
        })
    }

    fn ca_file(&mut self, path: &str, value: &str) -> Option<PathBuf> {
        if value.trim().is_empty() {
            self.error(path, "is empty");
            return None;
        }
        let file = self.resolve_path(path, value)?;
        match std::fs::read(&file) {
            Ok(bytes) => {
                if !bytes
                    .windows(b"-----BEGIN CERTIFICATE-----".len())
                    .any(|w| w == b"-----BEGIN CERTIFICATE-----")
                {
                    self.error(
                        path,
                        format!(
                            "{} contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
                            file.display()
                        ),
                    );
                }
            }
            Err(e) => self.error(
                path,
                format!("cannot read {}: {}", file.display(), io_text(&e)),
            ),
        }
        Some(file)
    }

    fn mailboxes(&mut self, section: &str, raw: Option<Vec<String>>) -> Vec<String> {
        let path = format!("{section}.mailboxes");
        let Some(list) = raw else {
            return vec!["INBOX".to_string()];
        };
        if list.is_empty() {
            self.error(
                &path,
                "is empty; list at least one mailbox to watch, e.g. `mailboxes = [\"INBOX\"]`",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, m) in list.iter().enumerate() {
            if m.trim().is_empty() {
                self.error(format!("{path}[{i}]"), "is empty");
            } else if !seen.insert(m.as_str()) {
                self.error(format!("{path}[{i}]"), format!("{m:?} is listed twice"));
            }
        }
        list
    }

    fn duration(
        &mut self,
        path: &str,
        raw: Option<RawDuration>,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Duration {
        let Some(RawDuration(s)) = raw else {
            return default;
        };
        match humantime::parse_duration(s.trim()) {
            Ok(d) if d < min => {
                self.error(
                    path,
                    format!(
                        "{s:?} is too short; the minimum is {}",
                        humantime::format_duration(min)
                    ),
                );
                default
            }
            Ok(d) if d > max => {
                self.error(
                    path,
                    format!(
                        "{s:?} is too long; the maximum is {}",
                        humantime::format_duration(max)
                    ),
                );
                default
            }
            Ok(d) => d,
            Err(e) => {
                // humantime lists every unit it knows; a short example reads better.
                let why = match e {
                    humantime::DurationError::UnknownUnit { unit, .. } if !unit.is_empty() => {
                        format!("unknown unit {unit:?}")
                    }
                    other => other.to_string(),
                };
                self.error(
                    path,
                    format!("invalid duration {s:?}: {why}; write e.g. \"90s\", \"5m\" or \"1h\""),
                );
                default
            }
        }
    }

    fn size(&mut self, path: &str, raw: Option<RawSize>, default: u64) -> u64 {
        let result = match raw {
            None => return default,
            Some(RawSize::Bytes(n)) => u64::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("must be a positive number of bytes, found {n}")),
            Some(RawSize::Text(s)) => parse_size(&s),
        };
        result.unwrap_or_else(|e| {
            self.error(path, e);
            default
        })
    }

    fn int_in(&mut self, path: &str, raw: Option<i64>, default: i64, min: i64, max: i64) -> i64 {
        match raw {
            None => default,
            Some(n) if (min..=max).contains(&n) => n,
            Some(n) => {
                self.error(
                    path,
                    format!("expected an integer from {min} to {max}, found {n}"),
                );
                default
            }
        }
    }

    fn after_processing(
        &mut self,
        section: &str,
        raw: Option<RawAfterProcessing>,
        mailboxes: &[String],
    ) -> AfterProcessing {
        let Some(raw) = raw else {
            return AfterProcessing::default();
        };
        let p = format!("{section}.after_processing");
        let action = |v: &mut Self, key: &str, value: Option<String>| {
            value.and_then(|s| v.action(&format!("{p}.{key}"), &s, mailboxes))
        };
        AfterProcessing {
            invitations: action(self, "invitations", raw.invitations),
            other_linkedin: action(self, "other_linkedin", raw.other_linkedin),
            phishing: action(self, "phishing", raw.phishing),
        }
    }

    fn action(&mut self, path: &str, s: &str, mailboxes: &[String]) -> Option<Action> {
        let t = s.trim();
        if t == "mark_seen" {
            return Some(Action::MarkSeen);
        }
        if t == "none" {
            return None;
        }
        let (verb, folder) = match t.split_once(':') {
            Some((verb @ ("move" | "copy"), folder)) => (verb, folder.trim()),
            _ => {
                let word = t.split([':', ' ']).next().unwrap_or(t);
                let hint = if matches!(word, "move" | "copy") {
                    format!(" (write `{word}:FOLDER`, with a colon)")
                } else {
                    did_you_mean(word, ["mark_seen", "move", "copy", "none"])
                        .map(|m| format!(" (did you mean `{m}`?)"))
                        .unwrap_or_default()
                };
                self.error(
                    path,
                    format!("unknown action {s:?}; expected `mark_seen`, `move:FOLDER`, `copy:FOLDER` or `none`{hint}"),
                );
                return None;
            }
        };
        if folder.is_empty() {
            self.error(
                path,
                format!("`{verb}:` needs a folder, e.g. `{verb}:LinkedIn/Invitations`"),
            );
            return None;
        }
        if mailboxes.iter().any(|m| m == folder) {
            self.error(
                path,
                format!("{folder:?} is a watched mailbox of this account; the message would be processed again there. Pick a folder that is not in `mailboxes`"),
            );
            return None;
        }
        Some(if verb == "move" {
            Action::Move(folder.to_string())
        } else {
            Action::Copy(folder.to_string())
        })
    }

    // ----- state, digest, smtp --------------------------------------------------------

    fn state(&mut self, dir: Option<String>) -> Option<StateConfig> {
        let dir = match dir {
            Some(d) if d.trim().is_empty() => {
                self.error("state.dir", "is empty");
                return None;
            }
            Some(d) => {
                let dir = self.resolve_path("state.dir", &d)?;
                if dir.exists() && !dir.is_dir() {
                    self.error(
                        "state.dir",
                        format!("{} exists and is not a directory", dir.display()),
                    );
                }
                dir
            }
            None => match state_dir_with(self.env) {
                Some(d) => d,
                None => {
                    // Not an error: offline commands never touch the state directory, and
                    // they should work in a bare environment such as `env -i`.
                    self.warn(
                        "state.dir",
                        format!("$STATE_DIRECTORY, $XDG_STATE_HOME and $HOME are all unset; using {FALLBACK_STATE_DIR} (set `dir` under [state] to choose)"),
                    );
                    PathBuf::from(FALLBACK_STATE_DIR)
                }
            },
        };
        Some(StateConfig { dir })
    }

    fn digest(&mut self, d: RawDigest) -> Option<DigestConfig> {
        let tz = match d.timezone.as_deref() {
            Some(name) => match schedule::parse_timezone(name.trim()) {
                Ok(tz) => Some(tz),
                Err(e) => {
                    self.error("digest.timezone", e.to_string());
                    None
                }
            },
            None => Some(schedule::system_timezone()),
        };
        let expr = d.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE).trim();
        // With a bad time zone the expression is still checked, against the system zone,
        // so both mistakes are reported in one run.
        let parsed = if expr.is_empty() {
            self.error(
                "digest.schedule",
                "is empty; e.g. \"0 8 * * *\" for 08:00 daily",
            );
            None
        } else {
            match Schedule::parse(expr, tz.unwrap_or_else(schedule::system_timezone)) {
                Ok(s) => Some(s),
                Err(e) => {
                    self.error("digest.schedule", e.to_string());
                    None
                }
            }
        };
        let from = d.from.map(|f| {
            if let Err(e) = check_mailbox(&f) {
                self.error("digest.from", e);
            }
            f.trim().to_string()
        });
        let to: Vec<String> = match d.to {
            None => Vec::new(),
            Some(OneOrMany(list)) => {
                let single = list.len() == 1;
                for (i, addr) in list.iter().enumerate() {
                    if let Err(e) = check_mailbox(addr) {
                        let path = if single {
                            // Could be `to = "x"` or `to = ["x"]`; the locator finds the
                            // value either way from the parent key.
                            "digest.to[0]".to_string()
                        } else {
                            format!("digest.to[{i}]")
                        };
                        self.error(path, e);
                    }
                }
                list.into_iter().map(|a| a.trim().to_string()).collect()
            }
        };
        let subject = d.subject.unwrap_or_else(|| DEFAULT_SUBJECT.to_string());
        if let Err(e) = check_subject(&subject) {
            self.error("digest.subject", e);
        }
        Some(DigestConfig {
            schedule: parsed?,
            from,
            to,
            send_empty: d.send_empty.unwrap_or(false),
            weekly_all_quiet: d.weekly_all_quiet.unwrap_or(false),
            subject,
        })
    }

    fn smtp(&mut self, s: RawSmtp, accounts: &[AccountConfig]) -> SmtpConfig {
        let host = self.host(
            "smtp",
            s.host.as_deref(),
            "the mail server that sends the digest, e.g. `host = \"smtp.example.com\"`",
        );
        let tls = self.tls("smtp", s.tls.as_deref());
        let default_port = match tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::Plain => 25,
        };
        let port = self.port("smtp", s.port, default_port);
        self.port_matches_tls("smtp", s.port.is_some(), port, tls, 465, &[587, 25]);
        self.plaintext("smtp", tls, &host, s.allow_plaintext);
        let keys = SecretKeys::new(
            &s.password_file,
            &s.password_command,
            &s.password_env,
            &s.password_credential,
            &s.oauth2_token_command,
            &s.password,
        );
        let auth = self.secret("smtp", &keys, false);
        let secret_set = keys.values.iter().any(Option::is_some)
            || SECRET_KEYS
                .iter()
                .any(|k| self.rejected(&format!("smtp.{k}")));
        let username = match (&s.username, secret_set) {
            (Some(u), true) => Some(self.non_empty("smtp.username", u)),
            (Some(u), false) => {
                self.error(
                    "smtp.username",
                    "set, but no password source; add `password_file` (or another source), or remove `username` for a relay that needs no login",
                );
                Some(u.clone())
            }
            // Most people send through the provider they read from, with the same login.
            (None, true) if accounts.len() == 1 => Some(accounts[0].username.clone()),
            (None, true) => {
                self.missing(
                    "smtp.username",
                    "needed to log in; it defaults to the account's username only when there is exactly one account",
                );
                None
            }
            (None, false) => None,
        };
        let ca_file = s
            .ca_file
            .as_deref()
            .and_then(|f| self.ca_file("smtp.ca_file", f));
        let timeout = self.duration(
            "smtp.timeout",
            s.timeout,
            DEFAULT_TIMEOUT,
            MIN_TIMEOUT,
            MAX_TIMEOUT,
        );
        SmtpConfig {
            host,
            port,
            tls,
            username,
            auth,
            ca_file,
            timeout,
        }
    }

    // ----- scoring and filters --------------------------------------------------------

    fn scoring(&mut self, s: raw::RawScoring) -> ScoringConfig {
        let defaults = ScoringConfig::default();
        let number = |v: &mut Self, key: &str, raw: Option<f64>, default: f64| match raw {
            Some(x) if !x.is_finite() => {
                v.error(
                    format!("scoring.{key}"),
                    format!("must be a finite number, found {x}"),
                );
                None
            }
            Some(x) => Some(x),
            None => Some(default),
        };
        let accept_at = number(self, "accept_at", s.accept_at, defaults.accept_at);
        let ignore_below = number(self, "ignore_below", s.ignore_below, defaults.ignore_below);
        if let (Some(a), Some(i)) = (accept_at, ignore_below) {
            if a <= i {
                if s.accept_at.is_some() {
                    self.error(
                        "scoring.accept_at",
                        format!("must be greater than ignore_below ({i}); scores from ignore_below up to accept_at go to review"),
                    );
                } else {
                    self.error(
                        "scoring.ignore_below",
                        format!("must be less than accept_at ({a}, the default); scores from ignore_below up to accept_at go to review"),
                    );
                }
            }
        }
        let many = match s.many_mutual_connections {
            None => defaults.many_mutual_connections,
            Some(n) => u32::try_from(n).unwrap_or_else(|_| {
                self.error(
                    "scoring.many_mutual_connections",
                    format!("expected a non-negative integer, found {n}"),
                );
                defaults.many_mutual_connections
            }),
        };
        ScoringConfig {
            accept_at: accept_at.unwrap_or(defaults.accept_at),
            ignore_below: ignore_below.unwrap_or(defaults.ignore_below),
            many_mutual_connections: many,
        }
    }

    fn filters(&mut self, raw: Vec<RawFilter>) -> Vec<Filter> {
        let mut out = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (i, f) in raw.into_iter().enumerate() {
            if let Some(filter) = self.filter(i, f) {
                if let Some(first) = names.get(&filter.name) {
                    self.warn(
                        format!("filters[{i}].name"),
                        format!("same name as filters[{first}]; the digest's reasons will not tell them apart"),
                    );
                } else {
                    names.insert(filter.name.clone(), i);
                }
                out.push(filter);
            }
        }
        out
    }

    fn filter(&mut self, i: usize, f: RawFilter) -> Option<Filter> {
        let p = format!("filters[{i}]");
        let name = match &f.name {
            Some(n) => self.name(&format!("{p}.name"), n),
            None => {
                self.missing(
                    &format!("{p}.name"),
                    "every filter needs a `name`; it is shown in the digest's reasons",
                );
                String::new()
            }
        };
        let re = |v: &mut Self, key: &str, raw: &Option<String>| {
            raw.as_deref()
                .and_then(|s| v.regex(&format!("{p}.{key}"), s))
        };
        let name_re = re(self, "inviter_name", &f.inviter_name);
        let headline = re(self, "headline", &f.headline);
        let location = re(self, "location", &f.location);
        let note = re(self, "note", &f.note);
        let min_mutual_connections = f.min_mutual_connections.and_then(|n| {
            u32::try_from(n).ok().or_else(|| {
                self.error(
                    format!("{p}.min_mutual_connections"),
                    format!("expected a non-negative integer, found {n}"),
                );
                None
            })
        });
        let language = f
            .language
            .as_deref()
            .and_then(|l| self.language(&format!("{p}.language"), l));
        let conditions = [
            f.inviter_name.is_some(),
            f.headline.is_some(),
            f.location.is_some(),
            f.note.is_some(),
            f.min_mutual_connections.is_some(),
            f.has_note.is_some(),
            f.language.is_some(),
        ];
        let any_removed = [
            "inviter_name",
            "headline",
            "location",
            "note",
            "min_mutual_connections",
            "has_note",
            "language",
        ]
        .iter()
        .any(|k| self.rejected(&format!("{p}.{k}")));
        if !conditions.contains(&true) && !any_removed {
            self.warn(
                &p,
                "no conditions, so this filter applies to every invitation; narrow it with `headline`, `inviter_name`, `location`, `note`, `min_mutual_connections`, `has_note` or `language`",
            );
        }
        let effect = match (f.weight, f.verdict.as_deref()) {
            (Some(_), Some(_)) => {
                self.error_at_key(
                    format!("{p}.verdict"),
                    "`weight` and `verdict` are both set; a filter either adds a weight or forces a verdict",
                );
                None
            }
            (None, None) => {
                let removed =
                    self.rejected(&format!("{p}.weight")) || self.rejected(&format!("{p}.verdict"));
                if !removed {
                    self.error(
                        &p,
                        "no effect; set `weight = 2.0` (added to the score) or `verdict = \"accept\"` (accept, review or ignore)",
                    );
                }
                None
            }
            (Some(w), None) if !w.is_finite() => {
                self.error(
                    format!("{p}.weight"),
                    format!("must be a finite number, found {w}"),
                );
                None
            }
            (Some(w), None) => Some(FilterEffect::Weight(w)),
            (None, Some(v)) => self
                .verdict(&format!("{p}.verdict"), v)
                .map(FilterEffect::Verdict),
        };
        Some(Filter {
            name,
            name_re,
            headline,
            location,
            note,
            min_mutual_connections,
            has_note: f.has_note,
            language,
            effect: effect?,
        })
    }

    fn verdict(&mut self, path: &str, v: &str) -> Option<Verdict> {
        match v.trim().to_ascii_lowercase().as_str() {
            "accept" => Some(Verdict::Accept),
            "review" => Some(Verdict::Review),
            "ignore" => Some(Verdict::Ignore),
            "suspicious" => {
                self.error(
                    path,
                    "`suspicious` cannot be set by a filter: it is reserved for mail that fails LinkedIn's authenticity checks; use accept, review or ignore",
                );
                None
            }
            other => {
                let hint = did_you_mean(other, ["accept", "review", "ignore"])
                    .map(|m| format!(" (did you mean `{m}`?)"))
                    .unwrap_or_default();
                self.error(
                    path,
                    format!("unknown verdict {v:?}; expected `accept`, `review` or `ignore`{hint}"),
                );
                None
            }
        }
    }

    fn regex(&mut self, path: &str, pattern: &str) -> Option<Regex> {
        if pattern.is_empty() {
            self.error(
                path,
                "empty pattern, which matches everything; remove the key instead",
            );
            return None;
        }
        if pattern.contains('\u{8}') {
            // TOML turns "\b" in a double-quoted string into a backspace: valid TOML, a
            // valid regex, and a filter that silently never matches.
            self.warn(
                path,
                "contains a backspace character: in a \"...\" string `\\b` is a backspace, not a word boundary; write the regex in single quotes ('\\bacme\\b') or double the backslash",
            );
        }
        match Regex::new(pattern) {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(path, format!("invalid regex: {}", regex_error_text(&e)));
                None
            }
        }
    }

    fn language(&mut self, path: &str, code: &str) -> Option<String> {
        let c = code.trim();
        // ISO 639-1, as the extractor reports it.
        if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            Some(c.to_ascii_lowercase())
        } else {
            self.error(
                path,
                format!(
                    "expected a two-letter language code such as \"en\" or \"de\", found {code:?}"
                ),
            );
            None
        }
    }

    // ----- authenticity, notes, log ---------------------------------------------------

    fn authenticity(&mut self, ids: Vec<String>) -> AuthenticityConfig {
        for (i, id) in ids.iter().enumerate() {
            let path = format!("authenticity.trusted_authserv_ids[{i}]");
            if id.trim().is_empty() {
                self.error(path, "is empty");
            } else if id.trim().chars().any(char::is_whitespace) {
                self.error(
                    path,
                    format!("{id:?} contains a space; an authserv-id is a host name such as \"mx.example.net\""),
                );
            }
        }
        AuthenticityConfig {
            trusted_authserv_ids: ids.into_iter().map(|s| s.trim().to_string()).collect(),
        }
    }

    fn notes(&mut self, n: RawNotes) -> NoteCueConfig {
        let cues = |v: &mut Self, key: &str, list: Option<Vec<String>>| -> Vec<Regex> {
            list.unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, s)| v.regex(&format!("notes.{key}[{i}]"), s))
                .collect()
        };
        let context = cues(self, "context", n.context);
        let objective = cues(self, "objective", n.objective);
        let pitch = cues(self, "pitch", n.pitch);
        let mut default_texts = Vec::new();
        for (i, t) in n.default_texts.unwrap_or_default().into_iter().enumerate() {
            let p = format!("notes.default_texts[{i}]");
            let language = match &t.language {
                Some(l) => self.language(&format!("{p}.language"), l),
                None => {
                    self.missing(
                        &format!("{p}.language"),
                        "the language of the text, e.g. `language = \"sv\"`",
                    );
                    None
                }
            };
            let text = match &t.text {
                Some(s) if s.trim().is_empty() => {
                    self.error(format!("{p}.text"), "is empty");
                    None
                }
                Some(s) => Some(s.trim().to_string()),
                None => {
                    self.missing(&format!("{p}.text"), "the sentence LinkedIn inserts");
                    None
                }
            };
            if let (Some(l), Some(t)) = (language, text) {
                default_texts.push((l, t));
            }
        }
        NoteCueConfig {
            context,
            objective,
            pitch,
            default_texts,
        }
    }

    fn log(&mut self, level: Option<String>) -> LogConfig {
        if let Some(l) = &level {
            if let Err(e) = check_log_level(l) {
                self.error("log.level", e);
            }
        }
        LogConfig {
            level: level.map(|l| l.trim().to_string()),
        }
    }
}

// ----- value checks, pure -------------------------------------------------------------

/// A host name or IP address without scheme or port.
fn check_host(raw: &str) -> Result<String, String> {
    let host = raw.trim();
    if host.is_empty() {
        return Err("is empty".into());
    }
    if host.contains("://") {
        return Err(format!(
            "{raw:?}: write only the host name (e.g. \"imap.example.com\"); `tls` and `port` say how to connect"
        ));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{raw:?} contains a space"));
    }
    if host.contains(':') {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(bare.to_string());
        }
        if let Some((_, port)) = host.rsplit_once(':') {
            if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "{raw:?} includes a port; put it in `port = {port}` instead"
                ));
            }
        }
        return Err(format!("{raw:?} is not a valid host name"));
    }
    Ok(host.to_string())
}

/// An address as it appears in a header: `name@example.com` or `Name <name@example.com>`.
/// Deliberately loose: the SMTP adapter parses it properly; this catches the mistakes
/// people actually make (no `@`, a missing `>`, a line break).
fn check_mailbox(s: &str) -> Result<(), String> {
    if s.contains(['\r', '\n']) {
        return Err("must be on one line".into());
    }
    let t = s.trim();
    let addr = if let Some(open) = t.rfind('<') {
        match t[open + 1..].strip_suffix('>') {
            Some(inner) => inner.trim(),
            None => return Err(format!("{s:?} has `<` without a closing `>` at the end")),
        }
    } else if t.contains('>') {
        return Err(format!("{s:?} has `>` without `<`"));
    } else {
        t
    };
    let bad = || {
        format!(
            "{s:?} is not an email address (expected \"name@example.com\" or \"Name <name@example.com>\")"
        )
    };
    let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || addr
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(())
}

/// Checks `{placeholder}`s in a subject template.
fn check_subject(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("is empty".into());
    }
    if s.contains(['\r', '\n']) {
        return Err("must be on one line".into());
    }
    let list = || {
        SUBJECT_PLACEHOLDERS
            .iter()
            .map(|p| format!("{{{p}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rest = s;
    while let Some(pos) = rest.find(['{', '}']) {
        if rest[pos..].starts_with('}') {
            return Err(format!(
                "has a `}}` without `{{`; placeholders are {}",
                list()
            ));
        }
        let after = &rest[pos + 1..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "has a `{{` without `}}`; placeholders are {}",
                list()
            ));
        };
        let name = &after[..end];
        if !SUBJECT_PLACEHOLDERS.contains(&name) {
            let hint = did_you_mean(name, SUBJECT_PLACEHOLDERS.iter().copied())
                .map(|m| format!(" (did you mean `{{{m}}}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown placeholder `{{{name}}}`{hint}; available: {}",
                list()
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// `"2MiB"`, `"512 KiB"`, `"1.5M"`, `"1000000"`. Binary units for K/M/G alone, because
/// that is what people mean by a message size limit; `KB`/`MB`/`GB` are decimal.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let bad =
        |why: &str| format!("invalid size {s:?}: {why} (examples: \"2MiB\", \"512KiB\", 1048576)");
    let value: f64 = num.parse().map_err(|_| bad("expected a number first"))?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(bad(&format!(
                "unknown unit {unit:?}; use B, KiB, MiB, GiB, KB, MB or GB"
            )))
        }
    };
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(bad("must be at least one byte"));
    }
    // Truncation is intended: a fractional byte count rounds down.
    Ok(bytes as u64)
}

/// Checks the levels in a tracing filter such as `info` or `invite_digest=debug,imap=warn`.
/// A bare word that is not a level is a target name (all levels), which tracing accepts,
/// so only words close to a level are flagged.
fn check_log_level(s: &str) -> Result<(), String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    if s.trim().is_empty() {
        return Err("is empty; e.g. \"info\"".into());
    }
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        // Span-field filters (`target[span{field=x}]=debug`) are left to tracing.
        if directive.contains('[') {
            continue;
        }
        let expected = "expected trace, debug, info, warn, error or off";
        match directive.rsplit_once('=') {
            Some((_, level)) => {
                if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
                    let hint = did_you_mean(level.trim(), LEVELS.iter().copied())
                        .map(|m| format!(" (did you mean `{m}`?)"))
                        .unwrap_or_default();
                    return Err(format!(
                        "unknown level `{level}` in `{directive}`{hint}; {expected}"
                    ));
                }
            }
            None => {
                let lower = directive.to_ascii_lowercase();
                if !LEVELS.contains(&lower.as_str()) {
                    if let Some(m) = did_you_mean(&lower, LEVELS.iter().copied()) {
                        return Err(format!(
                            "unknown level `{directive}` (did you mean `{m}`?); {expected}"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The last line of regex's multi-line syntax error ("error: unclosed group").
fn regex_error_text(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(s)
            .to_string(),
        regex::Error::CompiledTooBig(limit) => {
            format!("too large once compiled (the limit is {limit} bytes)")
        }
        other => other.to_string(),
    }
}

fn secret_file_error(e: &SecretError) -> String {
    match e {
        SecretError::File { path, source } => {
            format!("cannot read {}: {}", path.display(), io_text(source))
        }
        SecretError::EmptyFile { path } => format!(
            "{} is empty; the password is the file's first line",
            path.display()
        ),
        other => other.to_string(),
    }
}

/// An I/O error without Rust's " (os error 2)" suffix, which means nothing to a user.
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed environment, so results do not depend on the machine.
    fn fake_env(name: &str) -> Option<OsString> {
        match name {
            "HOME" => Some("/home/alex".into()),
            "SET_PASSWORD" => Some("x".into()),
            _ => None,
        }
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// Runs one config and renders what a user would see: the error, or the warnings.
    /// Paths are shown relative to the fixture directory so expectations are portable.
    fn outcome(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap();
        let dir = path.parent().unwrap();
        let file = file_label(Some(path));
        let out = match check_text(&text, Some(path), &fake_env) {
            Ok((_, warnings)) => render_all(&warnings, &file),
            Err(e) => e.to_string(),
        };
        out.replace(&format!("{}/", dir.display()), "")
    }

    /// An expected line ending in `...` matches any line with that prefix; used where the
    /// message comes from another module (the schedule's cron and time-zone errors).
    fn lines_match(expected: &str, actual: &str) -> bool {
        let e: Vec<&str> = expected.lines().collect();
        let a: Vec<&str> = actual.lines().collect();
        e.len() == a.len()
            && e.iter().zip(&a).all(|(e, a)| match e.strip_suffix("...") {
                Some(prefix) => a.starts_with(prefix),
                None => e == a,
            })
    }

    /// Golden test: each `tests/fixtures/configs/NAME.toml` has a `NAME.expected` with the
    /// exact lines a user sees. A mismatch writes `NAME.failed` next to it with the actual
    /// output, to diff or copy over.
    #[test]
    fn fixture_configs_report_expected_issues() {
        let dir = manifest_dir().join("tests/fixtures/configs");
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "no fixtures in {}", dir.display());
        let mut failures = Vec::new();
        for path in &entries {
            let actual = outcome(path);
            let expected_path = path.with_extension("expected");
            let failed_path = path.with_extension("failed");
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if lines_match(expected.trim_end(), &actual) {
                let _ = std::fs::remove_file(&failed_path);
            } else {
                std::fs::write(&failed_path, format!("{actual}\n")).unwrap();
                failures.push(format!(
                    "{}:\n--- expected\n{}\n--- actual\n{actual}",
                    path.display(),
                    expected.trim_end()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn every_broken_fixture_is_an_error() {
        let dir = manifest_dir().join("tests/fixtures/configs");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml")
                && !path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("warn-")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    check_text(&text, Some(&path), &fake_env).is_err(),
                    "{} should not validate",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn example_config_validates() {
        let path = manifest_dir().join("config/invite-digest.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let (config, warnings) = match check_text(&text, Some(&path), &fake_env) {
            Ok(ok) => ok,
            Err(e) => panic!("{e}"),
        };
        // Only the unset password variables of this environment are worth a warning.
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().all(|w| w.path.ends_with(".password_env")));
        assert_eq!(config.accounts.len(), 1);
        let a = &config.accounts[0];
        assert_eq!(
            (a.name.as_str(), a.port, a.tls),
            ("work", 993, TlsMode::Implicit)
        );
        assert_eq!(
            a.after_processing.phishing,
            Some(Action::Move("Junk".into()))
        );
        assert_eq!(config.filters.len(), 4);
        assert_eq!(
            config.filters[2].effect,
            FilterEffect::Verdict(Verdict::Ignore)
        );
        assert!(config.filters[0]
            .headline
            .as_ref()
            .unwrap()
            .is_match("Engineer at ACME"));
        assert_eq!(config.notes.default_texts[0].0, "sv");
        assert_eq!(
            config.state.dir,
            PathBuf::from("/home/alex/.local/state/invite-digest")
        );
        config.require_sending().unwrap();
    }

    #[test]
    fn empty_file_is_valid_and_cannot_send() {
        let (config, warnings) = check_text("", None, &fake_env).unwrap();
        assert!(warnings.is_empty());
        assert!(config.accounts.is_empty());
        assert_eq!(config.scoring, ScoringConfig::default());
        assert_eq!(config.digest.subject, DEFAULT_SUBJECT);
        let err = config.require_sending().unwrap_err().to_string();
        assert_eq!(
            err,
            "<config>: digest.from: no sender configured; add `from = \"invite-digest <you@example.com>\"` under [digest]\n\
             <config>: digest.to: no recipient configured; add `to = [\"you@example.com\"]` under [digest]\n\
             <config>: smtp: no mail server configured; add an [smtp] section with at least `host`"
        );
    }

    /// The ten-line config from the README works, with relative password files.
    #[test]
    fn minimal_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("imap-password"), "imap-secret\n").unwrap();
        std::fs::write(dir.path().join("smtp-password"), "smtp-secret\n").unwrap();
        let text = r#"[[accounts]]
host = "imap.example.com"
username = "alex@example.com"
password_file = "imap-password"

[digest]
from = "alex@example.com"
to = "alex@example.com"

[smtp]
host = "smtp.example.com"
password_file = "smtp-password"
"#;
        let path = dir.path().join("config.toml");
        let (config, warnings) = check_text(text, Some(&path), &fake_env).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let a = &config.accounts[0];
        assert_eq!(a.name, "imap.example.com");
        assert_eq!(a.mailboxes, vec!["INBOX"]);
        assert_eq!(a.poll_interval, Duration::from_secs(300));
        assert_eq!(a.max_message_size, 2 * 1024 * 1024);
        assert!(a.after_processing.is_read_only());
        match &a.auth {
            AuthMethod::Password(SecretSource::File(p)) => {
                assert_eq!(p, &dir.path().join("imap-password"))
            }
            other => panic!("{other:?}"),
        }
        let smtp = config.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.tls), (465, TlsMode::Implicit));
        assert_eq!(smtp.username.as_deref(), Some("alex@example.com"));
        assert_eq!(config.digest.to, vec!["alex@example.com"]);
        config.require_sending().unwrap();
    }

    #[test]
    fn state_dir_defaults() {
        let os = |s: &str| OsString::from(s);
        assert_eq!(
            default_state_dir(Some(&os("/var/lib/a:/var/lib/b")), None, Some(&os("/h"))),
            Some(PathBuf::from("/var/lib/a"))
        );
        assert_eq!(
            default_state_dir(None, Some(&os("/x/state")), Some(&os("/h"))),
            Some(PathBuf::from("/x/state/invite-digest"))
        );
        // Relative XDG values are invalid per the spec and ignored.
        assert_eq!(
            default_state_dir(None, Some(&os("rel")), Some(&os("/h"))),
            Some(PathBuf::from("/h/.local/state/invite-digest"))
        );
        assert_eq!(default_state_dir(Some(&os("")), None, None), None);
        let (config, warnings) = check_text("", None, &no_env).unwrap();
        assert_eq!(config.state.dir, PathBuf::from(FALLBACK_STATE_DIR));
        assert_eq!(warnings.len(), 1);
        assert_eq!(config.warnings().len(), 1);
        assert!(
            config.warnings()[0].starts_with("<config>:1:1: state.dir: $STATE_DIRECTORY"),
            "{:?}",
            config.warnings()
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1.5M"), Ok(1024 * 1024 * 3 / 2));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("2 parsecs").is_err());
        assert!(parse_size("99999999999999999999999GiB").is_err());
    }

    #[test]
    fn mailbox_addresses() {
        assert!(check_mailbox("alex@example.com").is_ok());
        assert!(check_mailbox("invite-digest <digest@example.com>").is_ok());
        assert!(check_mailbox("\"Alex, A.\" <a@example.com>").is_ok());
        assert!(check_mailbox("alex").is_err());
        assert!(check_mailbox("Alex <alex@example.com").is_err());
        assert!(check_mailbox("a@b\nBcc: x@y").is_err());
        assert!(check_mailbox("@example.com").is_err());
    }

    #[test]
    fn subjects() {
        assert!(check_subject(DEFAULT_SUBJECT).is_ok());
        assert!(check_subject("{total} new").is_ok());
        let e = check_subject("{acept} to accept").unwrap_err();
        assert!(
            e.starts_with("unknown placeholder `{acept}` (did you mean `{accept}`?)"),
            "{e}"
        );
        assert!(check_subject("{date").is_err());
        assert!(check_subject("date}").is_err());
        assert!(check_subject("a\nb").is_err());
    }

    #[test]
    fn log_levels() {
        assert!(check_log_level("info").is_ok());
        assert!(check_log_level("invite_digest=debug,imap=warn").is_ok());
        assert!(check_log_level("invite_digest").is_ok());
        assert!(check_log_level("warning")
            .unwrap_err()
            .contains("did you mean `warn`"));
        assert!(check_log_level("x=loud").is_err());
    }

    #[test]
    fn suggestions() {
        let keys = ["password_file", "password_command", "host", "port"];
        assert_eq!(did_you_mean("pasword_file", keys), Some("password_file"));
        assert_eq!(did_you_mean("hsot", keys), Some("host"));
        assert_eq!(did_you_mean("completely_else", keys), None);
        assert_eq!(did_you_mean("", keys), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            check_host(" imap.example.com "),
            Ok("imap.example.com".into())
        );
        assert_eq!(check_host("[::1]"), Ok("::1".into()));
        assert!(check_host("imaps://imap.example.com").is_err());
        assert!(check_host("imap.example.com:993")
            .unwrap_err()
            .contains("port = 993"));
    }

    /// Arbitrary bytes never panic the loader.
    #[test]
    fn garbage_does_not_panic() {
        let samples = [
            "\u{0}",
            "[[",
            "a = [[[[[[",
            "[accounts]\n[[accounts]]",
            "accounts = 5\nfilters = [1, {name = 2}]\n",
            "[[accounts]]\nafter_processing = [1]\nport = -1\nmax_message_size = -5\n",
            "[[filters]]\nname = \"\"\nweight = nan\n[scoring]\naccept_at = inf\n",
            "[notes]\ndefault_texts = 3\ncontext = [\"(\"]\n",
            "[digest]\nto = []\nsubject = \"{\"\n",
            "\u{feff}[log]\nlevel = \"\"\n",
            "[[accounts]]\nport = 99999999999999999999\n",
        ];
        for s in samples {
            let _ = check_text(s, None, &fake_env);
        }
    }

    #[test]
    fn env_password_is_a_warning_only() {
        let text = "[[accounts]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"NOT_SET\"\n[[accounts]]\nname = \"b\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"SET_PASSWORD\"\n";
        let (_, warnings) = check_text(text, Some(Path::new("c.toml")), &fake_env).unwrap();
        let lines: Vec<String> = warnings.iter().map(|w| w.render("c.toml")).collect();
        assert_eq!(
            lines,
            vec!["c.toml:5:16: warning: accounts[0].password_env: environment variable NOT_SET is not set here; the daemon needs it to log in"]
        );
    }
}
