//! Self-test of the mail test rig (tests/support/rig.rs): real Dovecot and
//! Postfix, end to end. If this fails, every server-based test is suspect.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::rig::{self, MailRig};

const INVITE: &[u8] = b"From: Jane Doe <invitations@linkedin.com>\r\n\
To: alice@example.test\r\n\
Subject: Jane Doe wants to connect\r\n\
Message-ID: <rig-selftest-1@linkedin.com>\r\n\
Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\
\r\n\
Hi Alice, I'd like to join your LinkedIn network.\r\n";

/// Submits one message over the submission port: STARTTLS (verified against the
/// rig's CA) + AUTH, using python3's smtplib.
fn submit(rig: &MailRig, user: &str, to: &str, subject: &str) {
    let script = r#"
import smtplib, ssl, sys
port, ca, user, pw, to, subject = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP("localhost", int(port), timeout=20) as s:
    s.starttls(context=ctx)
    s.login(user, pw)
    msg = f"From: {user}@example.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\ndigest body\r\n"
    s.sendmail(f"{user}@example.test", [to], msg.encode())
"#;
    let out = Command::new(rig::python3())
        .args(["-c", script])
        .arg(rig.submission_port().to_string())
        .arg(rig.ca_file())
        .args([user, rig::password(user), to, subject])
        .output() // fine here: python exits, it starts no daemon
        .expect("run python3");
    assert!(
        out.status.success(),
        "SMTP submission failed: {}\n{}\n--- postfix.log ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        rig.postfix_log()
    );
}

#[test]
fn rig_end_to_end() {
    let t = Instant::now();
    let rig = MailRig::start_with_smtp();
    eprintln!(
        "start_with_smtp: {:?} ({})",
        t.elapsed(),
        rig.dir().display()
    );
    assert!(rig.ca_file().exists());

    // APPEND returns the UID; fetch is read-only.
    let uid = rig.append("alice", "INBOX", INVITE);
    let msgs = rig.fetch_all("alice", "INBOX");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, uid);
    assert_eq!(msgs[0].2, INVITE);
    assert!(
        !msgs[0].1.iter().any(|f| f == "\\Seen"),
        "flags: {:?}",
        msgs[0].1
    );
    // fetching twice must not have set \Seen either
    let again = rig.fetch_all("alice", "INBOX");
    assert!(
        !again[0].1.iter().any(|f| f == "\\Seen"),
        "flags: {:?}",
        again[0].1
    );

    // append creates missing mailboxes
    let uid2 = rig.append("alice", "LinkedIn", INVITE);
    assert_eq!(uid2, 1);
    assert!(rig.mailbox_names("alice").contains(&"LinkedIn".to_string()));

    // outage: stop and restart IMAP in place (same ports, data, CA)
    let ca_before = std::fs::read(rig.ca_file()).unwrap();
    let t = Instant::now();
    rig.stop_imap();
    let stop = t.elapsed();
    assert!(
        rig.session("alice").is_err(),
        "IMAP still answers after stop_imap"
    );
    let t = Instant::now();
    rig.start_imap();
    eprintln!("stop_imap: {stop:?}, start_imap: {:?}", t.elapsed());
    assert_eq!(std::fs::read(rig.ca_file()).unwrap(), ca_before);
    let after = rig.fetch_all("alice", "INBOX");
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].0, &after[0].2), (uid, &INVITE.to_vec()));

    // recreating a mailbox changes UIDVALIDITY and keeps the messages
    for mailbox in ["INBOX", "LinkedIn"] {
        let v = rig.uid_validity("alice", mailbox);
        rig.recreate_mailbox("alice", mailbox);
        assert_ne!(rig.uid_validity("alice", mailbox), v);
        let m = rig.fetch_all("alice", mailbox);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].0, &m[0].2), (1, &INVITE.to_vec()));
    }

    // SMTP submission (STARTTLS + AUTH) ends up in digest's INBOX via LMTP
    let t = Instant::now();
    submit(
        &rig,
        "alice",
        "digest@example.test",
        "LinkedIn digest (rig selftest)",
    );
    let got = rig.wait_for_message("digest", "INBOX", 1, Duration::from_secs(20));
    eprintln!("submit + delivery: {:?}", t.elapsed());
    let text = String::from_utf8_lossy(&got[0]);
    assert!(
        text.contains("Subject: LinkedIn digest (rig selftest)"),
        "{text}"
    );
    assert!(
        text.contains("with ESMTPSA"),
        "not authenticated submission: {text}"
    );

    // SMTP outage and restart
    rig.stop_smtp();
    rig.start_smtp();
    submit(&rig, "bob", "digest@example.test", "second");
    assert_eq!(
        rig.wait_for_message("digest", "INBOX", 2, Duration::from_secs(20))
            .len(),
        2
    );

    assert!(rig.dovecot_log().contains("Login: user=<alice>"));
    let dir = rig.dir().to_path_buf();
    let t = Instant::now();
    drop(rig);
    eprintln!("drop (teardown): {:?}", t.elapsed());
    if std::env::var("KEEP_MAILTEST").as_deref() != Ok("1") {
        assert!(!dir.exists(), "{} not removed", dir.display());
    }
}

#[test]
fn rigs_run_side_by_side() {
    let a = MailRig::start();
    let b = MailRig::start();
    assert_ne!(a.imaps_port(), b.imaps_port());
    a.append("bob", "INBOX", INVITE);
    assert_eq!(a.fetch_all("bob", "INBOX").len(), 1);
    assert_eq!(b.fetch_all("bob", "INBOX").len(), 0);
}

#[test]
fn wrong_password_is_rejected_quickly() {
    let rig = MailRig::start();
    let t = Instant::now();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", rig.imap_port())).unwrap();
    let mut c = imap::Client::new(tcp);
    c.read_greeting().unwrap();
    assert!(c.login("alice", "wrong").is_err());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}
