//! Pure digest building and rendering: judged items in, a digest out as plain text, HTML
//! and a complete `multipart/alternative` message. No I/O, no clock: callers pass the
//! time and identifiers, which keeps snapshots deterministic and the Message-ID stable.

mod html;
mod text;

pub use html::render_html;
pub use text::render_text;

use crate::extract::linkedin::{link_host, LinkHost};
use crate::model::{Authenticity, Classified, Judgement, Kind, Verdict};

/// One invitation (or phish) in the digest.
#[derive(Debug, Clone)]
pub struct DigestItem {
    pub classified: Classified,
    pub judgement: Judgement,
    /// Account name, shown when the user watches more than one.
    pub account: Option<String>,
    /// How many mails (invitation + reminders) we saw for it.
    pub times_seen: u32,
}

impl DigestItem {
    /// Accept and profile links, only for mail that passed the authenticity check and only
    /// to LinkedIn's hosts. Anything else gets no link at all.
    pub fn safe_links(&self) -> (Option<&str>, Option<&str>) {
        if self.classified.authenticity != Authenticity::Pass
            || !self.classified.kind.is_invitation_like()
        {
            return (None, None);
        }
        let Some(inv) = &self.classified.invitation else {
            return (None, None);
        };
        fn ok(u: &Option<String>) -> Option<&str> {
            u.as_deref()
                .filter(|u| u.starts_with("https://") && link_host(u) == LinkHost::LinkedIn)
        }
        (ok(&inv.accept_url), ok(&inv.inviter.profile_url))
    }

    pub fn display_name(&self) -> String {
        let n = self
            .classified
            .invitation
            .as_ref()
            .map(|i| i.inviter.name.trim())
            .unwrap_or("");
        if n.is_empty() {
            "Someone".into()
        } else {
            n.to_string()
        }
    }
}

/// A scanned mailbox, for the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanLine {
    pub account: String,
    pub mailbox: String,
    pub messages: u64,
}

/// What the daemon wants the user to hear about besides invitations.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    /// When the digest was made, already formatted in the user's zone.
    pub generated: String,
    pub scans: Vec<ScanLine>,
    /// Problems since the last digest, one line each (login failures, server outages).
    pub problems: Vec<String>,
}

impl Footer {
    /// "Scanned: work/INBOX (42 new messages), ..." with mail-derived names passed
    /// through `escape` (HTML escaping or control-character removal).
    pub fn scanned(&self, escape: fn(&str) -> String) -> Option<String> {
        if self.scans.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .scans
            .iter()
            .map(|l| {
                format!(
                    "{}/{} ({} new messages)",
                    escape(&l.account),
                    escape(&l.mailbox),
                    l.messages
                )
            })
            .collect();
        Some(format!("Scanned: {}.", parts.join(", ")))
    }
}

/// A digest ready to render.
#[derive(Debug, Clone)]
pub struct Digest {
    pub sections: Vec<(Verdict, Vec<DigestItem>)>,
    pub footer: Footer,
    /// Short date for the subject ("27 Nov").
    pub date_short: String,
}

impl Digest {
    /// Groups items into the four sections, best first within each.
    pub fn build(mut items: Vec<DigestItem>, footer: Footer, date_short: &str) -> Digest {
        items.sort_by(|a, b| {
            b.judgement
                .score
                .unwrap_or(f64::MIN)
                .total_cmp(&a.judgement.score.unwrap_or(f64::MIN))
                .then_with(|| a.display_name().cmp(&b.display_name()))
        });
        let sections = Verdict::ALL
            .iter()
            .map(|v| {
                (
                    *v,
                    items
                        .iter()
                        .filter(|i| i.judgement.verdict == *v)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        Digest {
            sections,
            footer,
            date_short: date_short.to_string(),
        }
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.sections
            .iter()
            .find(|(s, _)| *s == v)
            .map(|(_, i)| i.len())
            .unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.sections.iter().map(|(_, i)| i.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Fills the subject template. Unknown placeholders are left as written (config
    /// validation rejects them up front).
    pub fn subject(&self, template: &str) -> String {
        let mut s = template
            .replace("{accept}", &self.count(Verdict::Accept).to_string())
            .replace("{review}", &self.count(Verdict::Review).to_string())
            .replace("{ignore}", &self.count(Verdict::Ignore).to_string())
            .replace("{suspicious}", &self.count(Verdict::Suspicious).to_string())
            .replace("{total}", &self.total().to_string())
            .replace("{date}", &self.date_short);
        if template.contains("{summary}") {
            s = s.replace("{summary}", &self.summary());
        }
        s
    }

    /// "2 to accept, 1 to review, 5 to ignore, 1 suspicious" (zero counts left out).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (Verdict::Accept, "to accept"),
            (Verdict::Review, "to review"),
            (Verdict::Ignore, "to ignore"),
            (Verdict::Suspicious, "suspicious"),
        ]
        .iter()
        .filter(|(v, _)| self.count(*v) > 0)
        .map(|(v, w)| format!("{} {w}", self.count(*v)))
        .collect();
        if parts.is_empty() {
            "nothing new".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Section titles and one-line explanations.
pub fn section_title(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Accept => ("Accept", "They wrote why they want to connect."),
        Verdict::Review => ("Review", "Worth a look before you decide."),
        Verdict::Ignore => ("Ignore", "No personal note, or nothing that says why."),
        Verdict::Suspicious => (
            "Suspicious",
            "These imitate LinkedIn. Do not click links in the original mails.",
        ),
    }
}

/// What to show for the note line.
pub fn note_line(item: &DigestItem) -> NoteView {
    use crate::model::NoteStatus;
    let Some(inv) = &item.classified.invitation else {
        return NoteView::Missing("No personal note");
    };
    match inv.note_status {
        NoteStatus::Present => NoteView::Note(capitalize(inv.note.as_deref().unwrap_or(""))),
        NoteStatus::DefaultText => {
            NoteView::Missing("No personal note (only LinkedIn's default text)")
        }
        NoteStatus::Absent => NoteView::Missing("No personal note"),
        NoteStatus::Unknown => NoteView::Missing("Reminder: the original note is not shown"),
    }
}

/// The note starts where LinkedIn's greeting was removed ("Hi Alex, we met ..."), so its
/// first letter may be lower case; show it as a sentence.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub enum NoteView {
    Note(String),
    Missing(&'static str),
}

/// Subject of a phishing item, for the Suspicious section.
pub fn phish_summary(item: &DigestItem) -> String {
    let c = &item.classified;
    let from = c.from.as_deref().unwrap_or("unknown sender");
    match &c.subject {
        Some(s) => format!("\"{s}\" from {from}"),
        None => format!("from {from}"),
    }
}

pub(crate) fn is_phish(item: &DigestItem) -> bool {
    item.classified.kind == Kind::Phishing
}

/// Assembles the full digest email (multipart/alternative, text first then HTML) as bytes.
///
/// `message_id` must be stable for a given digest so a re-send after a crash is
/// recognisable as the same mail.
pub fn to_email(
    digest: &Digest,
    subject_template: &str,
    from: &str,
    to: &[String],
    message_id: &str,
    date: std::time::SystemTime,
) -> Result<Vec<u8>, EmailError> {
    use lettre::message::{MultiPart, SinglePart};
    let mut b = lettre::Message::builder()
        .from(from.parse().map_err(|e| EmailError::Address {
            field: "from",
            value: from.to_string(),
            reason: format!("{e}"),
        })?)
        .subject(digest.subject(subject_template))
        .message_id(Some(format!("<{message_id}>")))
        .date(date);
    for t in to {
        b = b.to(t.parse().map_err(|e| EmailError::Address {
            field: "to",
            value: t.clone(),
            reason: format!("{e}"),
        })?);
    }
    let msg = b
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(render_text(digest)))
                .singlepart(SinglePart::html(render_html(digest))),
        )
        .map_err(|e| EmailError::Build(e.to_string()))?;
    Ok(msg.formatted())
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("digest.{field}: `{value}` is not a valid address: {reason}")]
    Address {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot build the digest email: {0}")]
    Build(String),
}

/// Merges messages about the same invitation (an invitation and its reminders, or the
/// same mail seen twice) by `Classified::dedupe_key`, keeping the richest copy: an
/// invitation beats a reminder because it carries the note. Returns each survivor with the
/// number of mails merged into it, in first-seen order.
pub fn collate(messages: Vec<Classified>) -> Vec<(Classified, u32)> {
    let mut out: Vec<(Classified, u32)> = Vec::new();
    for c in messages {
        let key = c.dedupe_key();
        match out.iter_mut().find(|(o, _)| o.dedupe_key() == key) {
            Some((existing, n)) => {
                *n += 1;
                if existing.kind == Kind::Reminder && c.kind == Kind::Invitation {
                    *existing = c;
                }
            }
            None => out.push((c, 1)),
        }
    }
    out
}
