//! The serde mirror of the TOML file: field names and shapes only, no logic. Every field is
//! optional here so that a missing key is reported by `validate` (which collects all
//! problems) instead of by serde (which stops at the first). Values whose meaning needs
//! parsing (durations, TLS modes, regexes, cron expressions) stay strings until `validate`.
//!
//! This module also owns turning serde's one-error-at-a-time behaviour into a list: after
//! each error the offending key is removed and deserialization is retried, so one typo does
//! not hide the next (see [`parse`]).

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::validate::{did_you_mean, Anchor, Issue};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub accounts: Option<Vec<RawAccount>>,
    pub state: Option<RawState>,
    pub digest: Option<RawDigest>,
    pub smtp: Option<RawSmtp>,
    pub scoring: Option<RawScoring>,
    pub filters: Option<Vec<RawFilter>>,
    pub authenticity: Option<RawAuthenticity>,
    pub notes: Option<RawNotes>,
    pub log: Option<RawLog>,
}

/// One `[[accounts]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<RawPort>,
    pub tls: Option<String>,
    pub allow_plaintext: Option<bool>,
    pub username: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    pub password_env: Option<String>,
    pub password_credential: Option<String>,
    pub oauth2_token_command: Option<String>,
    pub password: Option<RawSecret>,
    pub ca_file: Option<String>,
    pub mailboxes: Option<Vec<String>>,
    pub poll_interval: Option<RawDuration>,
    pub idle: Option<bool>,
    pub max_message_size: Option<RawSize>,
    pub timeout: Option<RawDuration>,
    pub fetch_batch: Option<i64>,
    pub after_processing: Option<RawAfterProcessing>,
}

/// `[accounts.after_processing]`: action strings such as `mark_seen` or `move:Folder`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAfterProcessing {
    pub invitations: Option<String>,
    pub other_linkedin: Option<String>,
    pub phishing: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub from: Option<String>,
    pub to: Option<OneOrMany>,
    pub send_empty: Option<bool>,
    pub weekly_all_quiet: Option<bool>,
    pub subject: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: Option<String>,
    pub port: Option<RawPort>,
    pub tls: Option<String>,
    pub allow_plaintext: Option<bool>,
    pub username: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    pub password_env: Option<String>,
    pub password_credential: Option<String>,
    pub oauth2_token_command: Option<String>,
    pub password: Option<RawSecret>,
    pub ca_file: Option<String>,
    pub timeout: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScoring {
    pub accept_at: Option<f64>,
    pub ignore_below: Option<f64>,
    pub many_mutual_connections: Option<i64>,
}

/// One `[[filters]]` entry. `name` labels the filter; the inviter's name is matched by
/// `inviter_name`, since `name` cannot mean both.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    pub name: Option<String>,
    pub inviter_name: Option<String>,
    pub headline: Option<String>,
    pub location: Option<String>,
    pub note: Option<String>,
    pub min_mutual_connections: Option<i64>,
    pub has_note: Option<bool>,
    pub language: Option<String>,
    pub weight: Option<f64>,
    pub verdict: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthenticity {
    pub trusted_authserv_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotes {
    pub context: Option<Vec<String>>,
    pub objective: Option<Vec<String>>,
    pub pitch: Option<Vec<String>>,
    pub default_texts: Option<Vec<RawDefaultText>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaultText {
    pub language: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
}

/// Every section's keys, for "did you mean" across sections (a key written under the wrong
/// header is a common TOML mistake: keys after `[log]` belong to `[log]`). A unit test
/// checks these lists against what serde itself expects.
pub const SECTION_KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "accounts",
            "state",
            "digest",
            "smtp",
            "scoring",
            "filters",
            "authenticity",
            "notes",
            "log",
        ],
    ),
    (
        "[[accounts]]",
        &[
            "name",
            "host",
            "port",
            "tls",
            "allow_plaintext",
            "username",
            "password_file",
            "password_command",
            "password_env",
            "password_credential",
            "oauth2_token_command",
            "password",
            "ca_file",
            "mailboxes",
            "poll_interval",
            "idle",
            "max_message_size",
            "timeout",
            "fetch_batch",
            "after_processing",
        ],
    ),
    (
        "[accounts.after_processing]",
        &["invitations", "other_linkedin", "phishing"],
    ),
    ("[state]", &["dir"]),
    (
        "[digest]",
        &[
            "schedule",
            "timezone",
            "from",
            "to",
            "send_empty",
            "weekly_all_quiet",
            "subject",
        ],
    ),
    (
        "[smtp]",
        &[
            "host",
            "port",
            "tls",
            "allow_plaintext",
            "username",
            "password_file",
            "password_command",
            "password_env",
            "password_credential",
            "oauth2_token_command",
            "password",
            "ca_file",
            "timeout",
        ],
    ),
    (
        "[scoring]",
        &["accept_at", "ignore_below", "many_mutual_connections"],
    ),
    (
        "[[filters]]",
        &[
            "name",
            "inviter_name",
            "headline",
            "location",
            "note",
            "min_mutual_connections",
            "has_note",
            "language",
            "weight",
            "verdict",
        ],
    ),
    ("[authenticity]", &["trusted_authserv_ids"]),
    (
        "[notes]",
        &["context", "objective", "pitch", "default_texts"],
    ),
    ("[[notes.default_texts]]", &["language", "text"]),
    ("[log]", &["level"]),
];

/// A port: kept as i64 so `validate` can say "from 1 to 65535" for 0 or 70000 too; the
/// custom visitor only exists to word the type error the same way.
#[derive(Debug, Clone, Copy)]
pub struct RawPort(pub i64);

impl<'de> Deserialize<'de> for RawPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawPort;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer from 1 to 65535")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPort, E> {
                Ok(RawPort(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPort, E> {
                Ok(RawPort(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_i64(V)
    }
}

/// A humantime duration string such as `"5m"`; parsed in `validate`.
#[derive(Debug, Clone)]
pub struct RawDuration(pub String);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"5m\" or \"90s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A byte size: an integer, or a string such as `"2MiB"`; parsed in `validate`.
#[derive(Debug, Clone)]
pub enum RawSize {
    Bytes(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"2MiB\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `to = "a@example.com"` or `to = ["a@example.com", "b@example.com"]`: a single recipient
/// written without brackets is what people type first, so it is accepted.
#[derive(Debug, Clone, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an email address or an array of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The literal `password` key. Its own type so `Debug` of the raw config cannot print it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct RawSecret(pub String);

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawSecret(<redacted>)")
    }
}

/// Keys whose values must never be echoed in a message.
const SECRET_KEYS: &[&str] = &["password"];

/// Where a table is expected, and how it is written, for the shape check.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Table,
    ArrayOfTables,
}

/// Tables whose shape is checked before serde sees them: serde's derived struct visitor
/// accepts an array positionally (`digest = ["x"]` would fill the first field), and
/// `[accounts]` instead of `[[accounts]]` deserves a message that shows the fix.
const TOP_SHAPES: &[(&str, Shape)] = &[
    ("accounts", Shape::ArrayOfTables),
    ("filters", Shape::ArrayOfTables),
    ("state", Shape::Table),
    ("digest", Shape::Table),
    ("smtp", Shape::Table),
    ("scoring", Shape::Table),
    ("authenticity", Shape::Table),
    ("notes", Shape::Table),
    ("log", Shape::Table),
];

/// The result of the serde stage.
#[derive(Debug, Default)]
pub struct RawParse {
    pub raw: RawConfig,
    /// Problems found by serde or the shape check, with their key paths.
    pub issues: Vec<Issue>,
    /// Key paths that were removed because their value was unusable, so `validate` does
    /// not also report them as missing.
    pub removed: BTreeSet<String>,
}

/// Deserializes an already syntax-checked TOML table into [`RawConfig`], collecting every
/// unknown key and wrong type rather than stopping at the first.
///
/// serde reports one error and gives up, so after each error the offending key is removed
/// from the value and deserialization is retried. A bounded loop: each round removes one
/// key, and a round that cannot remove anything ends it.
pub fn parse(mut root: toml::Table) -> RawParse {
    let mut out = RawParse::default();
    check_shapes(&mut root, &mut out);
    // A file has far fewer keys than this; the bound only guards against a loop that
    // somehow makes no progress.
    for _ in 0..10_000 {
        match serde_path_to_error::deserialize::<_, RawConfig>(toml::Value::Table(root.clone())) {
            Ok(raw) => {
                out.raw = raw;
                return out;
            }
            Err(err) => {
                let segs: Vec<Seg> = err
                    .path()
                    .iter()
                    .filter_map(|s| match s {
                        serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                        serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                        _ => None,
                    })
                    .collect();
                let message = err.inner().message().to_string();
                let value = lookup(&root, &segs);
                let (anchor, text) = explain_serde_error(&message, &segs, value);
                out.issues
                    .push(Issue::error(render_path(&segs), anchor, text));
                match remove_key(&mut root, &segs) {
                    Some(removed) => {
                        out.removed.insert(removed);
                    }
                    None => return out,
                }
            }
        }
    }
    out
}

/// Checks that sections are tables and `[[...]]` lists are arrays of tables, removing (and
/// reporting) any that are not.
fn check_shapes(root: &mut toml::Table, out: &mut RawParse) {
    for &(key, shape) in TOP_SHAPES {
        check_shape(root, key, key, shape, out);
    }
    if let Some(toml::Value::Array(accounts)) = root.get_mut("accounts") {
        for (i, account) in accounts.iter_mut().enumerate() {
            if let toml::Value::Table(t) = account {
                let path = format!("accounts[{i}].after_processing");
                check_shape(t, "after_processing", &path, Shape::Table, out);
            }
        }
    }
    if let Some(toml::Value::Table(notes)) = root.get_mut("notes") {
        check_shape(
            notes,
            "default_texts",
            "notes.default_texts",
            Shape::ArrayOfTables,
            out,
        );
    }
}

fn check_shape(table: &mut toml::Table, key: &str, path: &str, shape: Shape, out: &mut RawParse) {
    let Some(value) = table.get(key) else {
        return;
    };
    let problem = match (shape, value) {
        (Shape::Table, toml::Value::Table(_)) => None,
        (Shape::Table, toml::Value::Array(_)) => Some((
            path.to_string(),
            format!("expected a table, found an array; write `[{path}]` with one pair of brackets"),
        )),
        (Shape::Table, other) => Some((
            path.to_string(),
            format!("expected a table `[{path}]`, found {}", describe(other, key)),
        )),
        (Shape::ArrayOfTables, toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_table())
            .map(|(i, v)| {
                (
                    format!("{path}[{i}]"),
                    format!(
                        "expected a table (one `[[{path}]]` section each), found {}",
                        describe(v, key)
                    ),
                )
            }),
        (Shape::ArrayOfTables, toml::Value::Table(_)) => Some((
            path.to_string(),
            format!(
                "expected a list of tables, found a single table; write `[[{path}]]` with two pairs of brackets"
            ),
        )),
        (Shape::ArrayOfTables, other) => Some((
            path.to_string(),
            format!(
                "expected `[[{path}]]` sections, found {}",
                describe(other, key)
            ),
        )),
    };
    if let Some((at, message)) = problem {
        out.issues.push(Issue::error(at, Anchor::Value, message));
        table.remove(key);
        out.removed.insert(path.to_string());
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders segments the way messages show them: `filters[2].headline`. Keys that are not
/// bare TOML keys are quoted so the path stays unambiguous.
pub fn render_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                if is_bare_key(k) {
                    s.push_str(k);
                } else {
                    s.push_str(&format!("{k:?}"));
                }
            }
        }
    }
    s
}

pub fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn lookup<'a>(root: &'a toml::Table, segs: &[Seg]) -> Option<&'a toml::Value> {
    let (first, rest) = segs.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = root.get(k)?;
    for seg in rest {
        cur = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => t.get(k)?,
            (Seg::Index(i), toml::Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the deepest key on `segs` (never an array element, which would shift the
/// indices of later messages) and returns the removed key's path. `None` when there is no
/// key to remove, which ends the retry loop.
fn remove_key(root: &mut toml::Table, segs: &[Seg]) -> Option<String> {
    let last_key = segs.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
    let Seg::Key(key) = &segs[last_key] else {
        return None;
    };
    let mut table: &mut toml::Table = root;
    let mut i = 0;
    while i < last_key {
        let Seg::Key(k) = &segs[i] else {
            return None;
        };
        let mut value = table.get_mut(k)?;
        i += 1;
        while i < last_key {
            let Seg::Index(n) = &segs[i] else { break };
            value = value.as_array_mut()?.get_mut(*n)?;
            i += 1;
        }
        table = value.as_table_mut()?;
    }
    table.remove(key)?;
    Some(render_path(&segs[..=last_key]))
}

/// Splits serde's "unknown field `KEY`, expected one of `a`, `b`" (or "expected `a`", or
/// "there are no fields") into the key and the allowed keys.
pub fn parse_unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    Some((key, expected))
}

/// Turns serde's message into ours: unknown fields get a suggestion, type errors say what
/// was expected and what was found (described from the actual value, so a date-time shows
/// as one rather than as serde's internal "map").
fn explain_serde_error(
    message: &str,
    segs: &[Seg],
    value: Option<&toml::Value>,
) -> (Anchor, String) {
    let key = match segs.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    if let Some((_, expected)) = parse_unknown_field(message) {
        let section = section_of(&expected);
        return (Anchor::Key, unknown_key_message(key, &expected, section));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((_, expected)) = rest.rsplit_once(", expected ") {
                let found = value
                    .map(|v| describe(v, key))
                    .unwrap_or_else(|| rest.split(", expected ").next().unwrap_or("").into());
                return (
                    Anchor::Value,
                    format!("expected {}, found {found}", plain_expected(expected)),
                );
            }
        }
    }
    (Anchor::Value, message.to_string())
}

/// Which section a list of expected keys belongs to (for "belongs in" hints).
fn section_of(expected: &[&str]) -> Option<&'static str> {
    SECTION_KEYS
        .iter()
        .find(|(_, keys)| keys.len() == expected.len() && keys.iter().all(|k| expected.contains(k)))
        .map(|(s, _)| *s)
}

/// "unknown key (did you mean `x`?)", or a hint that the key belongs to another section,
/// or the list of keys that are allowed here.
pub fn unknown_key_message(key: &str, expected: &[&str], section: Option<&str>) -> String {
    if let Some(best) = did_you_mean(key, expected.iter().copied()) {
        return format!("unknown key (did you mean `{best}`?)");
    }
    let elsewhere: Vec<&str> = SECTION_KEYS
        .iter()
        .filter(|(s, keys)| Some(*s) != section && keys.contains(&key))
        .map(|(s, _)| *s)
        .collect();
    if let Some(first) = elsewhere.first() {
        let place = if first.is_empty() {
            "at the top level, before any [section] header".to_string()
        } else {
            format!("under {first}")
        };
        return format!("unknown key here; `{key}` belongs {place}");
    }
    if expected.is_empty() {
        "unknown key; this table takes no keys".to_string()
    } else {
        let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
        format!("unknown key; expected one of {}", list.join(", "))
    }
}

/// serde's and Rust's type names, in the words of a TOML user.
fn plain_expected(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        s if s.starts_with("struct ") => "a table".into(),
        s => s.into(),
    }
}

/// A short description of a TOML value for "found ..." messages. Secrets are described by
/// type only.
pub fn describe(value: &toml::Value, key: &str) -> String {
    if SECRET_KEYS.contains(&key) {
        return match value {
            toml::Value::String(_) => "a string".into(),
            toml::Value::Integer(_) => "an integer".into(),
            toml::Value::Float(_) => "a float".into(),
            toml::Value::Boolean(_) => "a boolean".into(),
            toml::Value::Datetime(_) => "a date-time".into(),
            toml::Value::Array(_) => "an array".into(),
            toml::Value::Table(_) => "a table".into(),
        };
    }
    match value {
        toml::Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                format!("string {:?}…", shown)
            } else {
                format!("string {s:?}")
            }
        }
        toml::Value::Integer(i) => format!("integer {i}"),
        toml::Value::Float(f) => format!("float {f}"),
        toml::Value::Boolean(b) => format!("boolean {b}"),
        toml::Value::Datetime(d) => format!("date-time {d}"),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(text: &str) -> Vec<String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        parse(table)
            .issues
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect()
    }

    #[test]
    fn collects_every_serde_error() {
        let got = issues(
            "[[accounts]]\nhost = 1\npasword_file = \"x\"\nmailboxes = [\"a\", 2]\n[digest]\nsend_empty = \"yes\"\n",
        );
        assert_eq!(
            got,
            vec![
                "accounts[0].host: expected a string, found integer 1",
                "accounts[0].mailboxes[1]: expected a string, found integer 2",
                "accounts[0].pasword_file: unknown key (did you mean `password_file`?)",
                "digest.send_empty: expected a boolean, found string \"yes\"",
            ]
        );
    }

    #[test]
    fn secret_values_are_not_echoed() {
        let got = issues("[[accounts]]\npassword = 123456\n");
        assert_eq!(
            got,
            vec!["accounts[0].password: expected a string, found an integer"]
        );
    }

    #[test]
    fn single_bracket_accounts_gets_a_fix() {
        let got = issues("[accounts]\nhost = \"x\"\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("write `[[accounts]]`"), "{got:?}");
    }

    #[test]
    fn array_for_a_table_is_not_read_positionally() {
        let got = issues("digest = [\"0 8 * * *\"]\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("digest: expected a table"), "{got:?}");
    }

    #[test]
    fn misplaced_key_names_its_section() {
        let got = issues("[log]\naccept_at = 3\n");
        assert_eq!(
            got,
            vec!["log.accept_at: unknown key here; `accept_at` belongs under [scoring]"]
        );
    }

    /// `SECTION_KEYS` is a hand-written copy of the struct fields; serde's own "expected
    /// one of" list is the truth.
    #[test]
    fn section_keys_match_serde() {
        let probes = [
            ("", "bogus_key = 1\n"),
            ("[[accounts]]", "[[accounts]]\nbogus_key = 1\n"),
            (
                "[accounts.after_processing]",
                "[[accounts]]\n[accounts.after_processing]\nbogus_key = 1\n",
            ),
            ("[state]", "[state]\nbogus_key = 1\n"),
            ("[digest]", "[digest]\nbogus_key = 1\n"),
            ("[smtp]", "[smtp]\nbogus_key = 1\n"),
            ("[scoring]", "[scoring]\nbogus_key = 1\n"),
            ("[[filters]]", "[[filters]]\nbogus_key = 1\n"),
            ("[authenticity]", "[authenticity]\nbogus_key = 1\n"),
            ("[notes]", "[notes]\nbogus_key = 1\n"),
            (
                "[[notes.default_texts]]",
                "[[notes.default_texts]]\nbogus_key = 1\n",
            ),
            ("[log]", "[log]\nbogus_key = 1\n"),
        ];
        assert_eq!(probes.len(), SECTION_KEYS.len());
        for (section, text) in probes {
            let value: toml::Value = toml::from_str(text).unwrap();
            let err = serde_path_to_error::deserialize::<_, RawConfig>(value).unwrap_err();
            let msg = err.inner().message().to_string();
            let listed = SECTION_KEYS.iter().find(|(s, _)| *s == section).unwrap().1;
            let (_, mut expected) = parse_unknown_field(&msg).unwrap();
            let mut listed: Vec<&str> = listed.to_vec();
            expected.sort();
            listed.sort();
            assert_eq!(expected, listed, "{section}: {msg}");
        }
    }
}
