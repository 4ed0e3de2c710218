//! Snapshot tests for the rendered digest (text and HTML), including a hostile inviter
//! whose name and note carry markup. Run with `UPDATE_SNAPSHOTS=1` to accept new output;
//! a mismatch writes `NAME.failed` next to the snapshot.

use std::path::PathBuf;

use invite_digest::config::{NoteCueConfig, ScoringConfig};
use invite_digest::digest::{self, Digest, DigestItem, Footer, ScanLine};
use invite_digest::model::{Authenticity, Classified, InvitationData, Inviter, Kind, NoteStatus};
use invite_digest::score;

fn invitation(
    name: &str,
    headline: Option<&str>,
    note: Option<&str>,
    status: NoteStatus,
    mutual: Option<u32>,
    auth: Authenticity,
) -> Classified {
    Classified {
        kind: Kind::Invitation,
        authenticity: auth,
        message_id: Some(format!("{}@prod.linkedin.com", name.len())),
        subject: Some("I want to connect".into()),
        from: Some(format!("{name} via LinkedIn <invitations@linkedin.com>")),
        date: Some(1_790_000_000),
        signals: vec![],
        invitation: Some(InvitationData {
            inviter: Inviter {
                name: name.into(),
                headline: headline.map(str::to_string),
                location: Some("Lyon, Auvergne-Rhône-Alpes, France".into()),
                profile_url: Some("https://www.linkedin.com/comm/in/example-person".into()),
            },
            mutual_connections: mutual,
            note_status: status,
            note: note.map(str::to_string),
            invitation_id: Some(format!("73747446248395{:05}", name.len())),
            accept_url: Some(format!(
                "https://www.linkedin.com/comm/mynetwork/invite-accept/invitationId/73747446248395{:05}/sharedKey/d3amIZAR/",
                name.len()
            )),
            language: Some("en".into()),
            template: Some("email_m2m_invite_single_01".into()),
        }),
    }
}

fn sample_digest() -> Digest {
    let scoring = ScoringConfig::default();
    let cues = NoteCueConfig::default();
    let rules = score::Rules {
        scoring: &scoring,
        filters: &[],
        cues: &cues,
    };
    let mut phish = invitation(
        "LinkedIn Security",
        None,
        None,
        NoteStatus::Absent,
        None,
        Authenticity::Fail,
    );
    phish.kind = Kind::Phishing;
    phish.subject = Some("Your account <b>will be suspended</b>".into());
    phish.from = Some("LinkedIn <security@linkedln.com>".into());
    phish.signals = vec![
        "lookalike sender domain linkedln.com".into(),
        "links to hosts outside LinkedIn: evil.example".into(),
    ];
    let messages = vec![
        invitation(
            "Camille Durand",
            Some("Staff Engineer at Example Robotics"),
            Some("Hi Alex, we met at RustConf after your talk on async IO. I'd love to stay in touch and compare notes on tokio schedulers."),
            NoteStatus::Present,
            Some(12),
            Authenticity::Pass,
        ),
        invitation("Jordan Lee", Some("Product Manager at Example Corp"), None, NoteStatus::Absent, Some(14), Authenticity::Pass),
        invitation(
            "Eve <script>alert(1)</script> Hacker",
            Some("\"Growth\" & <i>Hacking</i>"),
            Some("<img src=x onerror=alert(2)> \"quotes\" & ampersands </blockquote><a href=\"https://evil.example\">click</a>"),
            NoteStatus::Present,
            Some(0),
            Authenticity::Pass,
        ),
        invitation("Sam Unverified", Some("Consultant at Example LLC"), Some("I'd like to join your LinkedIn network."), NoteStatus::DefaultText, None, Authenticity::None),
        phish,
    ];
    let items = messages
        .into_iter()
        .map(|c| {
            let j = score::judge(&c, rules).unwrap();
            DigestItem {
                classified: c,
                judgement: j,
                account: None,
                times_seen: 1,
            }
        })
        .collect();
    Digest::build(
        items,
        Footer {
            generated: "Fri 27 Nov 2026 08:30 CET".into(),
            scans: vec![ScanLine {
                account: "work".into(),
                mailbox: "INBOX".into(),
                messages: 42,
            }],
            problems: vec![
                "account \"home\": login failed since Wed 25 Nov 08:00 (authentication failed)"
                    .into(),
            ],
        },
        "27 Nov",
    )
}

fn check_snapshot(name: &str, actual: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = dir.join(name);
    let failed = dir.join(format!("{name}.failed"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        let _ = std::fs::remove_file(&failed);
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        std::fs::write(&failed, actual).unwrap();
        panic!("{name} differs from its snapshot; see {}", failed.display());
    }
    let _ = std::fs::remove_file(&failed);
}

#[test]
fn text_digest_snapshot() {
    check_snapshot("digest.txt", &digest::render_text(&sample_digest()));
}

#[test]
fn html_digest_snapshot() {
    check_snapshot("digest.html", &digest::render_html(&sample_digest()));
}

#[test]
fn hostile_strings_are_escaped_and_links_only_for_authentic_linkedin() {
    let html = digest::render_html(&sample_digest());
    assert!(!html.contains("<script>"), "raw script tag in HTML");
    assert!(!html.contains("<img"), "raw img tag in HTML");
    assert!(
        !html.contains("</blockquote><a"),
        "note closed our blockquote"
    );
    assert!(
        !html.contains("href=\"https://evil.example"),
        "link from a note was rendered"
    );
    assert!(html.contains("Eve &lt;script&gt;alert(1)&lt;/script&gt; Hacker"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt; &quot;quotes&quot; &amp; ampersands"));
    assert!(!html.contains("<b>will be suspended</b>"));
    // Every href points at https://www.linkedin.com.
    for part in html.split("href=\"").skip(1) {
        let url = part.split('"').next().unwrap();
        assert!(
            url.starts_with("https://www.linkedin.com/"),
            "unexpected link {url}"
        );
    }
    // The unverified invitation has no links.
    let unverified = html.split("Sam Unverified").nth(1).unwrap();
    let card = unverified.split("</div>\n").next().unwrap();
    assert!(
        !card.contains("href="),
        "links for unauthenticated mail: {card}"
    );
}

#[test]
fn email_is_multipart_alternative_with_stable_message_id() {
    let d = sample_digest();
    let raw = digest::to_email(
        &d,
        "LinkedIn invitations: {accept} to accept, {ignore} to ignore — {date}",
        "invite-digest <digest@example.com>",
        &["alex@example.com".to_string()],
        "digest-2026-11-27@invite-digest.example.com",
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000),
    )
    .unwrap();
    let parsed = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(parsed.subparts.len(), 2);
    assert_eq!(parsed.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(parsed.subparts[1].ctype.mimetype, "text/html");
    use mailparse::MailHeaderMap;
    assert_eq!(
        parsed.headers.get_first_value("Message-ID").as_deref(),
        Some("<digest-2026-11-27@invite-digest.example.com>")
    );
    let subject = parsed.headers.get_first_value("Subject").unwrap();
    assert_eq!(
        subject,
        "LinkedIn invitations: 1 to accept, 2 to ignore — 27 Nov"
    );
}
