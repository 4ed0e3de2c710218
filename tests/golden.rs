//! Golden fixtures: every `tests/fixtures/**/NAME.eml` is explained (classify + judge with
//! the default rules, or `NAME.config.toml` when present) and compared with
//! `NAME.expected.json`. `UPDATE_GOLDEN=1` rewrites the expectations; a mismatch writes
//! `NAME.failed.json`. Independently, `NAME.expected-hand.json` (written by hand from the
//! mail and the format notes, not from our output) is checked field by field.

use std::path::{Path, PathBuf};

use invite_digest::config::Config;
use invite_digest::{explain, extract, score};
use serde_json::Value;

mod support;

fn fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = support::emls_under(&root);
    assert!(
        out.len() >= 30,
        "fixture folder {} has only {} .eml files",
        root.display(),
        out.len()
    );
    out
}

fn sidecar(p: &Path, suffix: &str) -> PathBuf {
    let stem = p.file_stem().unwrap().to_string_lossy().to_string();
    p.with_file_name(format!("{stem}{suffix}"))
}

fn config_for(p: &Path) -> Config {
    let c = sidecar(p, ".config.toml");
    if c.exists() {
        Config::load(&c).unwrap()
    } else {
        Config::from_str("", None).unwrap()
    }
}

fn explain_fixture(p: &Path) -> Value {
    let cfg = config_for(p);
    let raw = std::fs::read(p).unwrap();
    let opts = extract::Options {
        trusted_authserv_ids: cfg.authenticity.trusted_authserv_ids.clone(),
        extra_default_texts: cfg.notes.default_texts.clone(),
    };
    let rel = p
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string();
    match extract::classify(&raw, &opts) {
        Ok(c) => {
            let j = score::judge(
                &c,
                score::Rules {
                    scoring: &cfg.scoring,
                    filters: &cfg.filters,
                    cues: &cfg.notes,
                },
            );
            explain::to_json(&rel, &c, j.as_ref())
        }
        Err(e) => explain::error_json(&rel, &e.to_string()),
    }
}

#[test]
fn golden_explain_output() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for p in fixtures() {
        let actual = explain_fixture(&p);
        let expected_path = sidecar(&p, ".expected.json");
        let failed_path = sidecar(&p, ".failed.json");
        let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        if update {
            std::fs::write(&expected_path, &pretty).unwrap();
            let _ = std::fs::remove_file(&failed_path);
            continue;
        }
        let expected: Value = match std::fs::read_to_string(&expected_path) {
            Ok(s) => serde_json::from_str(&s).unwrap(),
            Err(_) => {
                failures.push(format!(
                    "{}: no .expected.json (run with UPDATE_GOLDEN=1)",
                    p.display()
                ));
                continue;
            }
        };
        if expected != actual {
            std::fs::write(&failed_path, &pretty).unwrap();
            failures.push(format!(
                "{}: differs, see {}",
                p.display(),
                failed_path.display()
            ));
        } else {
            let _ = std::fs::remove_file(&failed_path);
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Fields a person judged from the mail itself; our output must agree.
#[test]
fn hand_written_expectations_hold() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for p in fixtures() {
        let hand_path = sidecar(&p, ".expected-hand.json");
        let Ok(text) = std::fs::read_to_string(&hand_path) else {
            continue;
        };
        let hand: Value = serde_json::from_str(&text).unwrap();
        let actual = explain_fixture(&p);
        checked += 1;
        let mut check = |field: &str, want: &Value, got: &Value| {
            if want != got {
                failures.push(format!(
                    "{}: {field}: expected {want}, got {got}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        };
        for f in [
            "kind",
            "authenticity",
            "mutual_connections",
            "note_status",
            "note",
            "invitation_id",
        ] {
            if let Some(want) = hand.get(f) {
                check(f, want, actual.get(f).unwrap_or(&Value::Null));
            }
        }
        if let Some(want) = hand.get("inviter") {
            let got = actual.get("inviter").cloned().unwrap_or(Value::Null);
            if want.is_null() || got.is_null() {
                // Phishing may carry what it claims; only invitations must have an inviter.
                let kind = actual["kind"].as_str().unwrap_or("");
                if !(want.is_null() && kind == "phishing") {
                    check("inviter", want, &got);
                }
            } else {
                for f in ["name", "headline", "location"] {
                    if let Some(w) = want.get(f) {
                        check(
                            &format!("inviter.{f}"),
                            w,
                            got.get(f).unwrap_or(&Value::Null),
                        );
                    }
                }
            }
        }
        if let Some(hint) = hand.get("expected_verdict_hint").and_then(Value::as_str) {
            check(
                "verdict",
                &Value::String(hint.into()),
                actual.get("verdict").unwrap_or(&Value::Null),
            );
        } else if hand
            .get("expected_verdict_hint")
            .is_some_and(Value::is_null)
        {
            check(
                "verdict",
                &Value::Null,
                actual.get("verdict").unwrap_or(&Value::Null),
            );
        }
    }
    assert!(
        checked >= 30,
        "only {checked} hand-written expectations found"
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with hand-written expectations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Truncated and corrupted copies of every fixture never panic the extractor.
#[test]
fn corrupted_fixtures_never_panic() {
    let opts = extract::Options::default();
    for p in fixtures() {
        let raw = std::fs::read(&p).unwrap();
        for cut in [
            0,
            1,
            10,
            raw.len() / 3,
            raw.len() / 2,
            raw.len().saturating_sub(7),
        ] {
            let _ = extract::classify(&raw[..cut.min(raw.len())], &opts);
        }
        let mut flipped = raw.clone();
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if !flipped.is_empty() {
                let i = x as usize % flipped.len();
                flipped[i] = (x >> 8) as u8;
            }
        }
        let _ = extract::classify(&flipped, &opts);
    }
}
