//! The plain-text digest: what a text-only client or a terminal shows. Wrapped at 72
//! columns; mail content is shown as-is (plain text needs no escaping) but control
//! characters are removed so a hostile name cannot rewrite the reader's terminal.

use super::{is_phish, note_line, phish_summary, section_title, Digest, DigestItem, NoteView};

/// Removes control characters (keeps newlines and tabs as spaces).
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

fn wrap(s: &str, width: usize, indent: &str) -> String {
    wrap_hanging(s, width, indent, indent)
}

/// Wraps with `first` before the first line and `rest` before the following ones, so a
/// list marker or a weight is not repeated on continuation lines.
fn wrap_hanging(s: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut indent = first;
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push_str(indent);
                out.push_str(&line);
                out.push('\n');
                indent = rest;
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
        indent = rest;
    }
    out
}

pub fn render_text(d: &Digest) -> String {
    let mut s = String::new();
    s.push_str(&format!("LinkedIn invitations: {}\n", d.summary()));
    s.push_str(&"=".repeat(72));
    s.push('\n');
    if d.is_empty() {
        s.push_str("\nNo new invitations since the last digest. All quiet.\n");
    }
    for (verdict, items) in &d.sections {
        if items.is_empty() {
            continue;
        }
        let (title, blurb) = section_title(*verdict);
        s.push_str(&format!("\n{} ({})\n", title.to_uppercase(), items.len()));
        s.push_str(&format!("{blurb}\n"));
        s.push_str(&"-".repeat(72));
        s.push('\n');
        for item in items {
            if is_phish(item) {
                phish_entry(&mut s, item);
            } else {
                entry(&mut s, item);
            }
        }
    }
    footer(&mut s, d);
    s
}

fn entry(s: &mut String, item: &DigestItem) {
    let inv = item.classified.invitation.as_ref();
    s.push_str(&format!("\n* {}\n", clean(&item.display_name())));
    if let Some(h) = inv.and_then(|i| i.inviter.headline.as_deref()) {
        s.push_str(&wrap(&clean(h), 68, "  "));
    }
    let mut facts = Vec::new();
    if let Some(l) = inv.and_then(|i| i.inviter.location.as_deref()) {
        facts.push(clean(l));
    }
    if let Some(n) = inv.and_then(|i| i.mutual_connections) {
        facts.push(format!(
            "{n} connection{} in common",
            if n == 1 { "" } else { "s" }
        ));
    }
    if let Some(a) = &item.account {
        facts.push(format!("account {}", clean(a)));
    }
    if item.times_seen > 1 {
        facts.push(format!("{} mails (reminders included)", item.times_seen));
    }
    if !facts.is_empty() {
        s.push_str(&wrap(&facts.join(" · "), 68, "  "));
    }
    match note_line(item) {
        NoteView::Note(n) => {
            s.push_str("  Note:\n");
            s.push_str(&wrap(&clean(&n), 66, "    | "));
        }
        NoteView::Missing(m) => s.push_str(&format!("  {m}.\n")),
    }
    s.push_str("  Why:\n");
    for r in &item.judgement.reasons {
        if r.weight == 0.0 {
            s.push_str(&wrap_hanging(
                &clean(&r.detail),
                63,
                "       · ",
                "         ",
            ));
        } else {
            s.push_str(&wrap_hanging(
                &clean(&r.detail),
                63,
                &format!("    {:+.1} ", r.weight),
                "         ",
            ));
        }
    }
    let (accept, profile) = item.safe_links();
    if let Some(a) = accept {
        s.push_str(&format!("  Accept: {a}\n"));
    }
    if let Some(p) = profile {
        s.push_str(&format!("  Profile: {p}\n"));
    }
    if accept.is_none() && profile.is_none() {
        s.push_str("  (No links: respond in LinkedIn under My Network > Invitations.)\n");
    }
}

fn phish_entry(s: &mut String, item: &DigestItem) {
    s.push_str(&format!("\n! {}\n", clean(&phish_summary(item))));
    for r in item.judgement.reasons.iter().skip(1) {
        s.push_str(&wrap_hanging(&clean(&r.detail), 66, "    - ", "      "));
    }
}

fn footer(s: &mut String, d: &Digest) {
    s.push('\n');
    s.push_str(&"-".repeat(72));
    s.push('\n');
    if !d.footer.problems.is_empty() {
        s.push_str("Problems since the last digest:\n");
        for p in &d.footer.problems {
            s.push_str(&wrap_hanging(&clean(p), 66, "  ! ", "    "));
        }
        s.push('\n');
    }
    if !d.footer.generated.is_empty() {
        s.push_str(&format!(
            "Made by invite-digest on {}.\n",
            clean(&d.footer.generated)
        ));
    }
    if let Some(line) = d.footer.scanned(clean) {
        s.push_str(&wrap(&line, 72, ""));
    }
    s.push_str("Tune verdicts with [[filters]] in your config; `invite-digest explain` shows every rule.\n");
}
