//! README's quick start, as a newcomer runs it: a fresh `git clone` (committed files
//! only, so a demo file that was never `git add`ed fails here), then README's first
//! command, `cargo run --quiet -- preview examples/mailbox`, in the clone.
//!
//! Building the clone from scratch takes minutes, so by default the already built test
//! binary (`CARGO_BIN_EXE_invite-digest`: same profile, same sources) runs in the clone
//! instead; with `QUICKSTART_CARGO=1` the README command itself runs there (`sh -c`, the
//! clone's own `target/`). The README is checked to still show exactly the commands
//! tested here, so the two cannot drift apart.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_invite-digest");
/// README, "Try it in one minute": the first command in the file.
const QUICKSTART: &str = "cargo run --quiet -- preview examples/mailbox";
/// README, "Run the tests" (as root), and what `.ci/run` runs.
const TEST_COMMAND: &str = "bash scripts/test.sh";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The contents of the fenced ```sh blocks of `text`, in order.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => blocks.push(current.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn readme_shows_the_tested_commands() {
    let text = readme();
    let blocks = sh_blocks(&text);
    assert!(
        blocks.len() >= 2,
        "README has {} ```sh blocks",
        blocks.len()
    );
    // The first command a newcomer meets is the demo; the next block runs the tests.
    assert_eq!(
        blocks[0].trim(),
        QUICKSTART,
        "README's first set-up command changed; update tests/quickstart.rs to test the new one"
    );
    assert!(
        blocks.iter().any(|b| b.trim() == TEST_COMMAND),
        "README no longer shows `{TEST_COMMAND}` as the test command"
    );
    // CI runs the same test command (README: "CI (`.ci/run`) runs ... this test command").
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .any(|l| l == TEST_COMMAND || l.ends_with(&format!(" {TEST_COMMAND}"))),
        ".ci/run does not run `{TEST_COMMAND}` as README documents"
    );
    // The script README points at exists in the repository.
    assert!(root().join("scripts/test.sh").is_file());
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        // The checkout may belong to another user than the one running the tests (CI
        // runs as root); this is a read-only clone of our own repository.
        .args(["-c", "safe.directory=*"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git (needed for the quick-start test): {e}"));
    assert!(
        out.status.success(),
        "git {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quickstart_preview_works_in_a_fresh_clone() {
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("invite-digest");
    git(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            root().to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let head = git(&root(), &["rev-parse", "HEAD"]);
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), head);

    // What `cargo run --release` needs besides the sources.
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "examples/README.md",
    ] {
        assert!(clone.join(f).is_file(), "{f} is not committed");
    }
    let mailbox = clone.join("examples/mailbox");
    let mut messages = 0;
    for sub in ["cur", "new"] {
        let d = mailbox.join(sub);
        if d.is_dir() {
            messages += std::fs::read_dir(&d).unwrap().count();
        }
    }
    assert_eq!(
        messages, 15,
        "README promises 15 demo messages; the clone's examples/mailbox has {messages} \
         (Git does not keep empty directories: is every message committed?)"
    );

    // README's command, run in the clone.
    let literal = std::env::var_os("QUICKSTART_CARGO").is_some_and(|v| v == "1");
    let mut cmd = if literal {
        let mut c = Command::new("sh");
        c.args(["-c", QUICKSTART]).env_remove("CARGO_TARGET_DIR");
        c
    } else {
        let (_, args) = QUICKSTART.split_once(" -- ").unwrap();
        let mut c = Command::new(BIN);
        c.args(args.split(' '));
        c
    };
    cmd.current_dir(&clone)
        .env_remove("INVITE_DIGEST_CONFIG")
        .env_remove("CONFIGURATION_DIRECTORY")
        .env_remove("XDG_CONFIG_HOME");
    if !literal {
        // No config from the machine's user (cargo needs the real HOME for rustup).
        cmd.env("HOME", tmp.path());
    }
    let out = cmd.output().expect("run invite-digest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "preview failed in the clone: {}\n{stderr}",
        out.status
    );
    assert!(
        stderr.trim().is_empty(),
        "the demo should run without warnings or errors:\n{stderr}"
    );
    for want in [
        "LinkedIn invitations:",
        "ACCEPT (",
        "REVIEW (",
        "IGNORE (",
        "Accept: https://www.linkedin.com/",
        "(15 new messages)",
    ] {
        assert!(
            stdout.contains(want),
            "no {want:?} in the demo digest:\n{stdout}"
        );
    }
}
