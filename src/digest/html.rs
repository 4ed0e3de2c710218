//! The HTML digest. Every string that came from a mail goes through `esc`; the only
//! URLs written into attributes are those `DigestItem::safe_links` returned (https, LinkedIn
//! hosts, authenticated mail), also escaped. Inline CSS only, no images, one column that
//! fits a phone.

use super::text::clean;
use super::{is_phish, note_line, phish_summary, section_title, Digest, DigestItem, NoteView};
use crate::model::Verdict;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

fn colour(v: Verdict) -> (&'static str, &'static str) {
    // (accent, light background)
    match v {
        Verdict::Accept => ("#057642", "#e8f5ee"),
        Verdict::Review => ("#915907", "#fdf3e1"),
        Verdict::Ignore => ("#56687a", "#eef1f4"),
        Verdict::Suspicious => ("#b24020", "#fbeae5"),
    }
}

const FONT: &str = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

pub fn render_html(d: &Digest) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!(
        "<title>{}</title></head>\n",
        esc(&format!("LinkedIn invitations: {}", d.summary()))
    ));
    h.push_str(&format!(
        "<body style=\"margin:0;padding:0;background:#f3f2ef;font-family:{FONT};color:#1d2226;\">\n"
    ));
    h.push_str("<div style=\"max-width:640px;margin:0 auto;padding:16px 12px;\">\n");
    h.push_str(&format!(
        "<h1 style=\"font-size:20px;line-height:1.3;margin:4px 0 4px 0;\">LinkedIn invitations</h1>\
         <p style=\"margin:0 0 16px 0;color:#56687a;font-size:14px;\">{}</p>\n",
        esc(&d.summary())
    ));
    if d.is_empty() {
        h.push_str(&card_open("#ffffff"));
        h.push_str("<p style=\"margin:0;font-size:15px;\">No new invitations since the last digest. All quiet.</p>");
        h.push_str("</div>\n");
    }
    for (verdict, items) in &d.sections {
        if items.is_empty() {
            continue;
        }
        let (title, blurb) = section_title(*verdict);
        let (accent, _) = colour(*verdict);
        h.push_str(&format!(
            "<h2 style=\"font-size:16px;margin:24px 0 2px 0;color:{accent};text-transform:uppercase;letter-spacing:.04em;\">{} ({})</h2>\
             <p style=\"margin:0 0 10px 0;color:#56687a;font-size:13px;\">{}</p>\n",
            esc(title),
            items.len(),
            esc(blurb)
        ));
        for item in items {
            if is_phish(item) {
                phish(&mut h, item);
            } else {
                entry(&mut h, item, *verdict);
            }
        }
    }
    footer(&mut h, d);
    h.push_str("</div>\n</body></html>\n");
    h
}

fn card_open(bg: &str) -> String {
    format!(
        "<div style=\"background:{bg};border:1px solid #e0dfdc;border-radius:8px;padding:14px 16px;margin:0 0 12px 0;\">"
    )
}

fn entry(h: &mut String, item: &DigestItem, verdict: Verdict) {
    let inv = item.classified.invitation.as_ref();
    let (accent, light) = colour(verdict);
    h.push_str(&card_open("#ffffff"));
    h.push_str(&format!(
        "<div style=\"font-size:17px;font-weight:600;line-height:1.3;\">{}</div>",
        esc(&item.display_name())
    ));
    if let Some(hl) = inv.and_then(|i| i.inviter.headline.as_deref()) {
        h.push_str(&format!(
            "<div style=\"font-size:14px;color:#38434f;margin-top:2px;\">{}</div>",
            esc(hl)
        ));
    }
    let mut facts = Vec::new();
    if let Some(l) = inv.and_then(|i| i.inviter.location.as_deref()) {
        facts.push(esc(l));
    }
    if let Some(n) = inv.and_then(|i| i.mutual_connections) {
        facts.push(format!(
            "{n} connection{} in common",
            if n == 1 { "" } else { "s" }
        ));
    }
    if let Some(a) = &item.account {
        facts.push(format!("account {}", esc(a)));
    }
    if item.times_seen > 1 {
        facts.push(format!("{} mails (reminders included)", item.times_seen));
    }
    if !facts.is_empty() {
        h.push_str(&format!(
            "<div style=\"font-size:13px;color:#56687a;margin-top:2px;\">{}</div>",
            facts.join(" &middot; ")
        ));
    }
    match note_line(item) {
        NoteView::Note(n) => h.push_str(&format!(
            "<blockquote style=\"margin:10px 0 0 0;padding:8px 12px;border-left:3px solid {accent};background:{light};font-size:14px;line-height:1.45;white-space:normal;\">{}</blockquote>",
            esc(&n)
        )),
        NoteView::Missing(m) => h.push_str(&format!(
            "<div style=\"margin:10px 0 0 0;font-size:14px;color:#56687a;font-style:italic;\">{}</div>",
            esc(m)
        )),
    }
    h.push_str("<ul style=\"margin:10px 0 0 0;padding:0 0 0 18px;font-size:13px;color:#38434f;line-height:1.5;\">");
    for r in &item.judgement.reasons {
        let w = if r.weight == 0.0 {
            String::new()
        } else {
            format!(
                "<span style=\"display:inline-block;min-width:34px;font-variant-numeric:tabular-nums;color:{};\">{:+.1}</span> ",
                if r.weight > 0.0 { "#057642" } else { "#b24020" },
                r.weight
            )
        };
        h.push_str(&format!("<li>{w}{}</li>", esc(&r.detail)));
    }
    h.push_str("</ul>");
    let (accept, profile) = item.safe_links();
    if accept.is_some() || profile.is_some() {
        h.push_str("<div style=\"margin-top:12px;\">");
        if let Some(a) = accept {
            // A filled button only where we recommend accepting; elsewhere it is offered
            // but not pushed.
            let style = if verdict == Verdict::Accept {
                "background:#0a66c2;color:#ffffff;padding:7px 16px;"
            } else {
                "color:#0a66c2;border:1px solid #0a66c2;padding:6px 15px;"
            };
            h.push_str(&format!(
                "<a href=\"{}\" style=\"display:inline-block;{style}text-decoration:none;font-weight:600;font-size:14px;border-radius:16px;margin:0 8px 4px 0;\">Accept</a>",
                esc(a)
            ));
        }
        if let Some(p) = profile {
            h.push_str(&format!(
                "<a href=\"{}\" style=\"display:inline-block;color:#0a66c2;text-decoration:none;font-weight:600;font-size:14px;padding:6px 15px;border:1px solid #0a66c2;border-radius:16px;margin:0 0 4px 0;\">View profile</a>",
                esc(p)
            ));
        }
        h.push_str("</div>");
    } else {
        h.push_str("<div style=\"margin-top:10px;font-size:12px;color:#56687a;\">No links: respond in LinkedIn under My Network &rsaquo; Invitations.</div>");
    }
    h.push_str("</div>\n");
}

fn phish(h: &mut String, item: &DigestItem) {
    let (accent, light) = colour(Verdict::Suspicious);
    h.push_str(&card_open(light));
    h.push_str(&format!(
        "<div style=\"font-size:15px;font-weight:600;color:{accent};\">{}</div>",
        esc(&phish_summary(item))
    ));
    h.push_str("<ul style=\"margin:8px 0 0 0;padding:0 0 0 18px;font-size:13px;color:#38434f;line-height:1.5;\">");
    for r in item.judgement.reasons.iter().skip(1) {
        h.push_str(&format!("<li>{}</li>", esc(&r.detail)));
    }
    h.push_str("</ul></div>\n");
}

fn footer(h: &mut String, d: &Digest) {
    h.push_str("<div style=\"margin-top:24px;padding-top:12px;border-top:1px solid #d6d5d2;font-size:12px;color:#56687a;line-height:1.5;\">");
    if !d.footer.problems.is_empty() {
        h.push_str("<div style=\"background:#fbeae5;border:1px solid #f1c4b5;border-radius:6px;padding:8px 12px;margin-bottom:10px;color:#8a2d12;\"><strong>Problems since the last digest</strong><ul style=\"margin:4px 0 0 0;padding-left:18px;\">");
        for p in &d.footer.problems {
            h.push_str(&format!("<li>{}</li>", esc(p)));
        }
        h.push_str("</ul></div>");
    }
    if !d.footer.generated.is_empty() {
        h.push_str(&format!(
            "<div>Made by invite-digest on {}.</div>",
            esc(&d.footer.generated)
        ));
    }
    if let Some(line) = d.footer.scanned(esc) {
        h.push_str(&format!("<div>{line}</div>"));
    }
    h.push_str("<div>Tune verdicts with <code>[[filters]]</code> in your config; <code>invite-digest explain</code> shows every rule.</div>");
    h.push_str("</div>");
}
