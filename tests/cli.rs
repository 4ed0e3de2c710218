//! The command line as a user meets it: the built binary, its exit codes (README, "Exit
//! codes"), its messages and its output formats. Offline only (no mail servers): the
//! commands that talk IMAP/SMTP are covered by the rig-based tests and
//! `scripts/syscall-check.sh`.
//!
//! Every command runs with a scrubbed environment (no `INVITE_DIGEST_CONFIG`,
//! `CONFIGURATION_DIRECTORY`, `XDG_*`, `RUST_LOG`; `HOME` is a fresh temp dir), so a config
//! on the machine running the tests cannot change the outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod support;
use support::emls_under;

const BIN: &str = env!("CARGO_BIN_EXE_invite-digest");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One finished run of the binary.
struct Run {
    args: Vec<String>,
    out: Output,
}

impl Run {
    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or_else(|| {
            panic!(
                "{:?} was killed by a signal: {}",
                self.args, self.out.status
            )
        })
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Everything needed to understand a failed assertion.
    fn dump(&self) -> String {
        format!(
            "invite-digest {:?}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.out.status,
            truncate(&self.stdout(), 4000),
            truncate(&self.stderr(), 4000)
        )
    }
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "unexpected exit code\n{}", self.dump());
        self.assert_no_panic()
    }
    fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr().contains("panicked") && self.code() != 101,
            "the binary panicked\n{}",
            self.dump()
        );
        self
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A command with a scrubbed environment and `cwd` as working directory.
fn command(cwd: &Path, home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(cwd);
    for var in [
        "INVITE_DIGEST_CONFIG",
        "CONFIGURATION_DIRECTORY",
        "STATE_DIRECTORY",
        "CREDENTIALS_DIRECTORY",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "RUST_LOG",
        "JOURNAL_STREAM",
        "NOTIFY_SOCKET",
        "INVITE_DIGEST_IMAP_PASSWORD",
        "INVITE_DIGEST_SMTP_PASSWORD",
    ] {
        c.env_remove(var);
    }
    c.env("HOME", home);
    c
}

fn run_in<S: AsRef<str>>(cwd: &Path, args: &[S]) -> Run {
    let home = tempfile::tempdir().unwrap();
    run_with(command(cwd, home.path()), args)
}

fn run_with<S: AsRef<str>>(mut cmd: Command, args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    cmd.args(&args);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    Run { args, out }
}

/// Runs from the repository root (where README's commands run).
fn run<S: AsRef<str>>(args: &[S]) -> Run {
    run_in(&root(), args)
}

// ---------------------------------------------------------------------------------------
// config check
// ---------------------------------------------------------------------------------------

#[test]
fn config_check_accepts_the_example_config() {
    let r = run(&["config", "check", "config/invite-digest.example.toml"]);
    r.assert_code(0);
    assert!(
        r.stdout().contains("config/invite-digest.example.toml: ok"),
        "{}",
        r.dump()
    );
    // The example takes its passwords from environment variables, which are not set
    // here: a warning each, not an error.
    for var in ["INVITE_DIGEST_IMAP_PASSWORD", "INVITE_DIGEST_SMTP_PASSWORD"] {
        assert!(
            r.stderr().contains(var),
            "no warning about {var}\n{}",
            r.dump()
        );
    }
}

/// The expectations of `tests/fixtures/configs` (see its README), shown by the binary:
/// every line of `NAME.expected` is on stderr, with FILE:LINE:COL, and the exit code is
/// 78 (0 for `warn-*`, which are valid configs with warnings).
///
/// The binary runs in the fixture directory with the relative file name, so it prints
/// `NAME.toml:LINE:COL: ...` as the expectations do. Paths the validator resolved (a
/// relative `ca_file`) are printed absolute; like the library-level test, the fixture
/// directory prefix is removed before comparing.
#[test]
fn config_check_reports_every_fixture_problem_with_file_line_col() {
    let dir = root().join("tests/fixtures/configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "only {} config fixtures", names.len());
    let prefix = format!("{}/", dir.display());
    let mut failures = Vec::new();
    for name in &names {
        // The README of the fixtures fixes the environment: HOME=/home/alex, nothing else.
        let mut cmd = command(&dir, Path::new("/home/alex"));
        cmd.env_clear().env("HOME", "/home/alex");
        let r = run_with(cmd, &["config", "check", name.as_str()]);
        r.assert_no_panic();
        let warn_only = name.starts_with("warn-");
        let want_code = if warn_only { 0 } else { 78 };
        if r.code() != want_code {
            failures.push(format!("{name}: exit {}, want {want_code}", r.code()));
        }
        let stderr = r.stderr().replace(&prefix, "");
        let expected_path = dir.join(name.replace(".toml", ".expected"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert!(
            !expected.trim().is_empty(),
            "{} is empty",
            expected_path.display()
        );
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            let found = match line.strip_suffix("...") {
                Some(start) => stderr.lines().any(|l| l.starts_with(start)),
                None => stderr.lines().any(|l| l == line),
            };
            if !found {
                failures.push(format!("{name}: missing line\n    {line}"));
            }
        }
        if !warn_only {
            // The summary line names the file too.
            if !stderr.contains(&format!("{name}: configuration is invalid")) {
                failures.push(format!("{name}: no summary line naming the file"));
            }
        }
        if !failures.is_empty() && failures.last().unwrap().starts_with(name.as_str()) {
            failures.push(format!("--- {name}: stderr was\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn config_check_of_a_missing_file_is_a_config_error() {
    let r = run(&["config", "check", "/nonexistent/invite-digest/config.toml"]);
    r.assert_code(78);
    assert!(
        r.stderr()
            .contains("/nonexistent/invite-digest/config.toml"),
        "{}",
        r.dump()
    );
}

// ---------------------------------------------------------------------------------------
// help and usage errors
// ---------------------------------------------------------------------------------------

#[test]
fn every_subcommand_has_help_with_examples() {
    let commands: &[&[&str]] = &[
        &[],
        &["explain"],
        &["preview"],
        &["config", "check"],
        &["poll"],
        &["pending"],
        &["schedule"],
        &["digest"],
        &["run"],
        &["completions"],
        &["man"],
    ];
    for c in commands {
        let mut args: Vec<&str> = c.to_vec();
        args.push("--help");
        let r = run(&args);
        r.assert_code(0);
        assert!(
            r.stdout().contains("Examples:"),
            "no \"Examples:\" in the help\n{}",
            r.dump()
        );
        // Each example line names the program, so it can be pasted.
        let after = r
            .stdout()
            .split("Examples:")
            .nth(1)
            .unwrap_or("")
            .to_string();
        assert!(
            after.contains("invite-digest "),
            "examples do not show a command line\n{}",
            r.dump()
        );
    }
}

#[test]
fn usage_errors_exit_64() {
    let cases: &[&[&str]] = &[
        &["explain", "--bogus", "x.eml"],
        &["explain"],
        &["preview"],
        &["preview", "--format", "pdf", "examples/mailbox"],
        &["explain", "--format", "yaml", "examples/mailbox"],
        &["no-such-command"],
        &["config", "check", "a.toml", "b.toml"],
        &["poll"],
        &["digest"],
        &["digest", "--now", "-o", "out.eml"],
        &["schedule", "--next", "many"],
    ];
    for args in cases {
        let r = run(args);
        r.assert_code(64);
        assert!(
            r.stderr().contains("Usage:") || r.stderr().contains("error:"),
            "a usage error should say what is wrong\n{}",
            r.dump()
        );
        assert!(
            r.stdout().is_empty(),
            "usage errors go to stderr\n{}",
            r.dump()
        );
    }
}

// ---------------------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------------------

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

const REQUIRED_KEYS: &[&str] = &[
    "source",
    "kind",
    "authenticity",
    "inviter",
    "mutual_connections",
    "note_status",
    "note",
    "invitation_id",
    "accept_url",
    "verdict",
    "score",
    "reasons",
];

fn one_of(v: &Value, allowed: &[&str], nullable: bool) -> bool {
    match v {
        Value::Null => nullable,
        Value::String(s) => allowed.contains(&s.as_str()),
        _ => false,
    }
}

fn string_or_null(v: &Value) -> bool {
    v.is_null() || v.is_string()
}

/// Checks one `explain --format json` object against README's description; returns
/// what is wrong.
fn check_explain_object(o: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let Some(map) = o.as_object() else {
        return vec![format!("not an object: {o}")];
    };
    for k in REQUIRED_KEYS {
        if !map.contains_key(*k) {
            bad.push(format!("missing key `{k}`"));
        }
    }
    if !bad.is_empty() {
        return bad;
    }
    let mut check = |ok: bool, what: &str| {
        if !ok {
            bad.push(format!(
                "{what}: {}",
                o.get(what.split(' ').next().unwrap()).unwrap()
            ));
        }
    };
    check(o["source"].is_string(), "source");
    let kinds = [
        "invitation",
        "reminder",
        "other_linkedin",
        "phishing",
        "not_linkedin",
    ];
    check(one_of(&o["kind"], &kinds, false), "kind");
    check(
        one_of(&o["authenticity"], &["pass", "fail", "none"], false),
        "authenticity",
    );
    check(
        one_of(
            &o["note_status"],
            &["present", "default_text", "absent", "unknown"],
            true,
        ),
        "note_status",
    );
    check(
        one_of(
            &o["verdict"],
            &["accept", "review", "ignore", "suspicious"],
            true,
        ),
        "verdict",
    );
    check(
        o["score"].is_null() || o["score"].is_number(),
        "score (number or null)",
    );
    check(
        o["mutual_connections"].is_null() || o["mutual_connections"].is_u64(),
        "mutual_connections (non-negative integer or null)",
    );
    check(string_or_null(&o["note"]), "note (string or null)");
    check(
        string_or_null(&o["invitation_id"]),
        "invitation_id (string or null)",
    );
    check(
        string_or_null(&o["accept_url"]),
        "accept_url (string or null)",
    );
    check(
        o["accept_url"]
            .as_str()
            .is_none_or(|u| u.starts_with("https://")),
        "accept_url (https)",
    );
    check(
        match &o["inviter"] {
            Value::Null => true,
            Value::Object(i) => i.get("name").is_some_and(string_or_null),
            _ => false,
        },
        "inviter (object with name, or null)",
    );
    check(
        o["reasons"].as_array().is_some_and(|rs| {
            rs.iter().all(|r| {
                r["rule"].is_string() && r["weight"].is_number() && r["detail"].is_string()
            })
        }),
        "reasons (array of {rule, weight, detail})",
    );
    // Which kinds get a verdict (README, "explain --format json").
    let kind = o["kind"].as_str().unwrap_or("");
    let verdict = o["verdict"].as_str();
    let consistent = match kind {
        "phishing" => verdict == Some("suspicious"),
        "invitation" | "reminder" => {
            matches!(verdict, Some("accept" | "review" | "ignore")) && o["score"].is_number()
        }
        _ => verdict.is_none(),
    };
    check(consistent, "verdict (for this kind)");
    if kind == "invitation" {
        check(o["inviter"].is_object(), "inviter (an invitation has one)");
    }
    bad
}

/// Runs `explain --format json` and returns the array, keyed by `source`.
fn explain_json(paths: &[String]) -> (Run, BTreeMap<String, Value>) {
    let mut args = vec!["explain".to_string(), "--format".into(), "json".into()];
    args.extend(paths.iter().cloned());
    let r = run(&args);
    let v: Value = serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", r.dump()));
    let arr = v
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array\n{}", r.dump()));
    let mut by_source = BTreeMap::new();
    for o in arr {
        let src = o["source"]
            .as_str()
            .unwrap_or_else(|| panic!("object without source: {o}"))
            .to_string();
        assert!(
            by_source.insert(src.clone(), o.clone()).is_none(),
            "{src} appears twice"
        );
    }
    assert_eq!(by_source.len(), arr.len());
    (r, by_source)
}

/// The corpus as a user would pass it: one directory argument, read recursively.
#[test]
fn explain_json_on_the_corpus_has_one_valid_object_per_message() {
    let corpus = root().join("tests/fixtures/corpus");
    let files = emls_under(&corpus);
    assert!(
        files.len() >= 30,
        "corpus has only {} messages",
        files.len()
    );
    let (r, objs) = explain_json(&[rel(&corpus)]);
    r.assert_code(0);
    let want: BTreeSet<String> = files.iter().map(|f| rel(f)).collect();
    // A file that starts with an mbox "From " line is read as an mbox: `FILE#1`.
    let got: BTreeSet<String> = objs
        .keys()
        .map(|k| match k.rsplit_once('#') {
            Some((file, "1")) => file.to_string(),
            _ => k.clone(),
        })
        .collect();
    assert_eq!(objs.len(), files.len(), "one object per message");
    assert_eq!(got, want, "`source` is the path of each message");
    let mut problems = Vec::new();
    let mut kinds = BTreeSet::new();
    for (src, o) in &objs {
        assert!(
            o.get("error").is_none(),
            "{src}: a corpus message could not be read: {o}"
        );
        kinds.insert(o["kind"].as_str().unwrap_or("").to_string());
        for p in check_explain_object(o) {
            problems.push(format!("{src}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for k in ["invitation", "phishing", "not_linkedin"] {
        assert!(kinds.contains(k), "no `{k}` in the corpus: {kinds:?}");
    }
}

/// The demo mailbox has every verdict, so value sets beyond the corpus's are exercised.
#[test]
fn explain_json_on_the_demo_mailbox() {
    let (r, objs) = explain_json(&["examples/mailbox".to_string()]);
    r.assert_code(0);
    assert_eq!(objs.len(), 15, "README: 15 synthetic messages");
    let mut verdicts = BTreeSet::new();
    let mut problems = Vec::new();
    for (src, o) in &objs {
        assert!(src.starts_with("examples/mailbox/"), "{src}");
        verdicts.insert(o["verdict"].as_str().unwrap_or("null").to_string());
        for p in check_explain_object(o) {
            problems.push(format!("{src}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for v in ["accept", "review", "ignore", "suspicious", "null"] {
        assert!(
            verdicts.contains(v),
            "no verdict {v} in the demo: {verdicts:?}"
        );
    }
}

#[test]
fn explain_a_nonexistent_path_exits_66() {
    let r = run(&["explain", "/nonexistent/invite-digest/mail.eml"]);
    r.assert_code(66);
    assert!(
        r.stderr().contains("/nonexistent/invite-digest/mail.eml"),
        "the message should name the path\n{}",
        r.dump()
    );
}

/// Deterministic bytes that are not mail (no header line, NULs, high bytes, a colon).
fn garbage() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out = vec![0xff, 0xfe, 0x00, 0x81, b'{', 0x00];
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x >> 24) as u8);
    }
    out.extend_from_slice(b"\n: \x00\x9f\n");
    out
}

fn good_invitation() -> PathBuf {
    let p = emls_under(&root().join("tests/fixtures/corpus/linkedin/real"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("M2M_Invitation")
        })
        .expect("the 2016 M2M invitation fixture");
    assert!(p.exists());
    p
}

/// A file of random bytes is not a message: exit 65 (README: "no message could be
/// read"), a message that names the file, no panic.
#[test]
fn explain_garbage_bytes_exits_65_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("garbage.eml");
    std::fs::write(&f, garbage()).unwrap();
    for format in ["text", "json"] {
        let r = run(&["explain", "--format", format, f.to_str().unwrap()]);
        r.assert_code(65);
        assert!(
            r.stderr().contains("garbage.eml"),
            "the message should name the file\n{}",
            r.dump()
        );
        if format == "json" {
            // README: a message that cannot be read gives {"source": ..., "error": ...}.
            let v: Value = serde_json::from_str(&r.stdout())
                .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", r.dump()));
            assert!(
                v[0]["error"].is_string() && v[0]["source"].is_string(),
                "{}",
                r.dump()
            );
        }
    }
}

#[test]
fn explain_an_empty_file_exits_65() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.eml");
    std::fs::write(&f, b"\r\n  \n").unwrap();
    let r = run(&["explain", f.to_str().unwrap()]);
    r.assert_code(65);
    assert!(r.stderr().contains("empty.eml"), "{}", r.dump());
}

/// One unreadable message never stops the rest.
#[test]
fn explain_a_directory_with_one_bad_message_still_explains_the_good_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-garbage.eml"), garbage()).unwrap();
    std::fs::write(dir.path().join("b-empty.eml"), b"").unwrap();
    std::fs::copy(good_invitation(), dir.path().join("c-good.eml")).unwrap();
    let d = dir.path().to_str().unwrap().to_string();

    let (r, objs) = explain_json(std::slice::from_ref(&d));
    r.assert_code(0);
    assert_eq!(objs.len(), 3, "{}", r.dump());
    let good = &objs[&format!("{d}/c-good.eml")];
    assert_eq!(good["kind"], "invitation", "{good}");
    assert_eq!(good["inviter"]["name"], "Steven Footle", "{good}");
    assert!(check_explain_object(good).is_empty(), "{good}");
    let empty = &objs[&format!("{d}/b-empty.eml")];
    assert!(empty["error"].is_string(), "{empty}");

    let r = run(&["explain", &d]);
    r.assert_code(0);
    assert!(r.stdout().contains("Steven Footle"), "{}", r.dump());
    assert!(r.stderr().contains("b-empty.eml"), "{}", r.dump());
}

// ---------------------------------------------------------------------------------------
// preview
// ---------------------------------------------------------------------------------------

fn preview(format: &str) -> Run {
    let r = run(&["preview", "--format", format, "examples/mailbox"]);
    r.assert_code(0);
    assert!(!r.out.stdout.is_empty(), "empty {format} preview");
    r
}

#[test]
fn preview_text_shows_the_accept_section() {
    let r = preview("text");
    let out = r.stdout();
    assert!(out.contains("ACCEPT ("), "{}", r.dump());
    for section in ["REVIEW (", "IGNORE ("] {
        assert!(out.contains(section), "no {section}\n{}", r.dump());
    }
    assert!(
        out.contains("https://www.linkedin.com/comm/mynetwork/invite-accept/"),
        "no accept link\n{}",
        r.dump()
    );
}

#[test]
fn preview_html_shows_the_accept_section() {
    let r = preview("html");
    let out = r.stdout();
    assert!(out.trim_start().starts_with("<!DOCTYPE html") || out.contains("<html"));
    // The heading is "Accept (N)" shown upper-case by CSS.
    assert!(out.contains(">Accept ("), "{}", r.dump());
    assert!(out.contains("text-transform:uppercase"), "{}", r.dump());
    assert!(out.contains("</html>"), "{}", r.dump());
}

#[test]
fn preview_eml_is_multipart_alternative_with_text_and_html() {
    let r = preview("eml");
    let mail = mailparse::parse_mail(&r.out.stdout)
        .unwrap_or_else(|e| panic!("not a parseable message: {e}\n{}", r.dump()));
    assert_eq!(mail.ctype.mimetype, "multipart/alternative", "{}", r.dump());
    let types: Vec<&str> = mail
        .subparts
        .iter()
        .map(|p| p.ctype.mimetype.as_str())
        .collect();
    assert_eq!(types, ["text/plain", "text/html"], "{}", r.dump());
    let text = mail.subparts[0].get_body().unwrap();
    let html = mail.subparts[1].get_body().unwrap();
    assert!(text.contains("ACCEPT ("), "{text}");
    assert!(html.contains(">Accept ("), "{html}");
    use mailparse::MailHeaderMap;
    for h in ["From", "To", "Subject", "Date", "Message-ID"] {
        assert!(
            mail.headers.get_first_value(h).is_some(),
            "no {h} header\n{}",
            r.dump()
        );
    }
}

// ---------------------------------------------------------------------------------------
// schedule and digest (offline: empty state, dry run)
// ---------------------------------------------------------------------------------------

/// A config with no accounts and a state dir inside `dir`.
fn offline_config(dir: &Path) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        r#"
[state]
dir = "state"

[digest]
schedule = "30 8 * * Mon-Fri"
timezone = "Europe/Berlin"
from = "invite-digest <digest@example.test>"
to = ["alice@example.test"]
"#,
    )
    .unwrap();
    p
}

#[test]
fn schedule_next_3_prints_three_times() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = offline_config(dir.path());
    let r = run(&["schedule", "--config", cfg.to_str().unwrap(), "--next", "3"]);
    r.assert_code(0);
    let re = regex::Regex::new(r"^(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 08:30:00 CES?T$").unwrap();
    let times: Vec<String> = r
        .stdout()
        .lines()
        .filter(|l| re.is_match(l))
        .map(str::to_string)
        .collect();
    assert_eq!(times.len(), 3, "{}", r.dump());
    let mut sorted = times.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, times, "times should be distinct and ascending");
}

#[test]
fn digest_dry_run_with_empty_state_writes_a_nothing_new_eml() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = offline_config(dir.path());
    let out = dir.path().join("digest.eml");
    let r = run(&[
        "digest",
        "--now",
        "--dry-run",
        "--config",
        cfg.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    r.assert_code(0);
    let raw =
        std::fs::read(&out).unwrap_or_else(|e| panic!("{}: {e}\n{}", out.display(), r.dump()));
    let mail = mailparse::parse_mail(&raw).expect("the dry run writes a parseable message");
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    use mailparse::MailHeaderMap;
    assert_eq!(
        mail.headers.get_first_value("To").as_deref(),
        Some("alice@example.test")
    );
    let text = mail.subparts[0].get_body().unwrap();
    assert!(text.contains("nothing new"), "{text}");
    assert!(dir.path().join("state").is_dir(), "state dir not created");

    // Without -o the same message goes to stdout.
    let r = run(&[
        "digest",
        "--now",
        "--dry-run",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    r.assert_code(0);
    let mail = mailparse::parse_mail(&r.out.stdout).expect("parseable message on stdout");
    assert_eq!(mail.ctype.mimetype, "multipart/alternative", "{}", r.dump());
}

#[test]
fn commands_that_need_a_config_exit_78_without_one() {
    for cmd in ["poll --once", "pending", "digest --now --dry-run", "run"] {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.extend(["--config", "/nonexistent/invite-digest/config.toml"]);
        let r = run(&args);
        r.assert_code(78);
        assert!(
            r.stderr()
                .contains("/nonexistent/invite-digest/config.toml"),
            "{}",
            r.dump()
        );
    }
}

#[test]
fn completions_and_man_page_are_generated_from_the_cli() {
    let r = run(&["completions", "bash"]);
    r.assert_code(0);
    assert!(
        r.stdout().contains("invite-digest") && r.stdout().contains("explain"),
        "{}",
        r.dump()
    );
    let r = run(&["man"]);
    r.assert_code(0);
    assert!(
        r.stdout().starts_with(".ie") || r.stdout().contains(".TH invite-digest 1"),
        "{}",
        r.dump()
    );
    assert!(r.stdout().contains("preview"), "{}", r.dump());
}
