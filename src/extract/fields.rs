//! Reads the inviter, the card (headline, location, connections in common) and the personal
//! note out of an invitation or reminder, across every layout in the format notes. The
//! text/plain part is read first (LinkedIn always sends one, and it has no decoys); the
//! visible HTML lines fill what the text part lacks (location in 2016, the 2021+ card).
//!
//! The approach is layout-agnostic on purpose: find the inviter's name line, take the card
//! lines under it, and treat the remaining free text above the footer as the message slot
//! after removing LinkedIn's own structural lines. That survives LinkedIn reshuffling its
//! templates better than one parser per era.

use std::cell::OnceCell;
use std::sync::LazyLock;

use regex::Regex;

use super::ascii::{contains_ci, starts_with_ci};
use super::defaults;
use super::html::decode_entities;
use super::linkedin;
use super::message::{BodyLink, Message};
use crate::model::{InvitationData, Inviter, Kind, NoteStatus};

/// Lines at which the invitation proper ends: footers, people-you-may-know sections,
/// upsells. Everything after is LinkedIn boilerplate or other people.
static END_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\.{5,}|-{5,}|_{5,}|you are receiving|you received an invitation to connect|this (?:e-?mail|message) was (?:intended|sent) (?:for|to)|unsubscribe|©|&copy;|\(c\) \d{4}|(?:more )?people you may know|weitere personen|personen, die sie|autres personnes|más personas|mais pessoas|altre persone|meer mensen|try premium|get the new linkedin|learn why we included|if you need assistance|anda mendapatkan undangan|has recibido una invitación|este mensaje se ha enviado|sie erhalten|vous recevez|você está recebendo|ricevi questa|je ontvangt|help:|change frequency)",
    )
    .expect("static regex")
});

/// "12 connections in common" and its translations.
static MUTUAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{1,5})\s+(?:(?:mutual|shared) connections?|connections? in common|gemeinsame (?:kontakte|verbindungen)|relations? en commun|contactos? en común|conexiones? en común|conex(?:ões|ão) em comum|collegamenti in comune|gemeenschappelijke (?:connecties|contacten)|koneksi (?:bersama|yang sama))\b",
    )
    .expect("static regex")
});

/// Whether `MUTUAL` can match `l`: it needs a digit, and an ASCII line without an ASCII
/// digit has none (`\d` is Unicode, so other lines go to the regex). Most body lines have
/// no digit, and the check is far cheaper than the regex's search.
fn may_be_mutual(l: &str) -> bool {
    !l.is_ascii() || l.bytes().any(|b| b.is_ascii_digit())
}

/// `MUTUAL.is_match(l)`, skipping lines that cannot match.
fn is_mutual(l: &str) -> bool {
    may_be_mutual(l) && MUTUAL.is_match(l)
}

/// Structural lines LinkedIn writes itself, never part of a note.
static STRUCTURAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:would like to connect(?: with you)? on linkedin|how would you like to respond|this is a reminder that|is (?:waiting|awaiting) (?:for )?your response|wartet auf ihre antwort|attend votre réponse|está esperando tu respuesta|aguarda sua resposta|sta aspettando|wacht op je|menunggu tanggapan|^(?:accept|ignore|reply|view profile|connect|annehmen|ignorieren|profil anzeigen|accepter|ignorer|voir le profil|aceptar|ver perfil|aceitar|accetta|visualizza profilo|accepteren|profiel bekijken|terima|abaikan|lihat profil)$|^(?:confirm that you know|harap konfirmasi|confirma que conoces|bestätigen sie|confirmez que vous)|^view .{1,80}'s profile|^you have (?:a|\d+) new invitations?|^invitation$|^invitations?$|^(?:linkedin|messaging|notifications|my network|home)$)",
    )
    .expect("static regex")
});

static WOULD_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(.{2,120}?) would like to connect on LinkedIn").expect("static regex")
});

static VIEW_PROFILE_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^view (.{2,120}?)['’]s? profile").expect("static regex"));

static CONFIRM_KNOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:confirm that you know|harap konfirmasi bahwa anda mengenal|confirma que conoces a) (.{1,80}?)\s*:?$")
        .expect("static regex")
});

static SIGNATURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-–—]\s*\S.{0,60}$").expect("static regex"));

static GREETING_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:hi|hello|hey|dear|hola|hai|halo|hallo|guten tag|bonjour|salut|olá|ola|oi|ciao|salve|beste|hoi)\b[^,!.]{0,60}[,!]?$")
        .expect("static regex")
});

/// " via LinkedIn" and its translations at the end of a From display name.
static VIA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\s+(?:via|über|par l'intermédiaire de|por medio de|tramite|через)\s+linkedin\s*$",
    )
    .expect("static regex")
});

static NOT_A_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:linkedin(?:\s.*)?|.*\(linkedin invitations?\)|.*linkedin (?:invitations?|connections|bulletin|notifications?))$")
        .expect("static regex")
});

static PAREN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s*\(linkedin invitations?\)\s*$").expect("static regex"));

/// Compiles every regular expression of this module; see [`super::prepare`].
pub(super) fn prepare() {
    for re in [
        &END_MARKERS,
        &MUTUAL,
        &STRUCTURAL,
        &WOULD_LIKE,
        &VIEW_PROFILE_LABEL,
        &CONFIRM_KNOW,
        &SIGNATURE,
        &GREETING_ONLY,
        &VIA,
        &NOT_A_PERSON,
        &PAREN,
    ] {
        LazyLock::force(re);
    }
}

/// Strips " via LinkedIn" (and translations) from a From display name; None when the
/// display name is LinkedIn itself.
pub fn inviter_from_display_name(display: &str) -> Option<String> {
    let d = display.trim().trim_matches('"').trim();
    let name = VIA.replace(d, "").trim().to_string();
    let name = PAREN.replace(&name, "").trim().to_string();
    (!name.is_empty() && !NOT_A_PERSON.is_match(&name)).then_some(name)
}

/// `body_region(&clean_lines(text))`: the cleaned lines up to the first end marker.
/// Cleaning stops there because nothing reads the footer, which is a good part of
/// LinkedIn's text parts.
fn clean_body_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in text.lines() {
        let c = clean_line(l);
        if END_MARKERS.is_match(&c) {
            break;
        }
        out.push(c);
    }
    out
}

/// One text-part line with entities decoded and whitespace collapsed. Most lines are
/// already tidy ASCII and are copied as they are, entities or not: a tracking URL's "&"
/// used to send the line through `collapse_ws` (a third of this function's cost) although
/// decoding left it as tidy as it was.
fn clean_line(l: &str) -> String {
    defaults::collapse_ws_cow(&decode_entities(l)).into_owned()
}

fn key(s: &str) -> String {
    defaults::normalize(s)
}

/// The lines of one body region with their `key`s, each worked out at most once: the card
/// and note searches compare the same lines by key again and again. Most keys are kept as
/// the range of the line they lower-case (see `KeyView`) rather than built.
struct Region<'a> {
    lines: &'a [String],
    keys: Vec<OnceCell<LineKey>>,
}

/// A cached line key: the byte range of the line whose ASCII lower case it is, or built.
enum LineKey {
    Lower(std::ops::Range<usize>),
    Built(String),
}

impl<'a> Region<'a> {
    fn new(lines: &'a [String]) -> Self {
        Region {
            lines,
            keys: std::iter::repeat_with(OnceCell::new)
                .take(lines.len())
                .collect(),
        }
    }

    /// Line `i`'s key for comparing, borrowed from the line when it can be instead of
    /// built: most lines are compared with the name and card keys and never match, and
    /// building a key (a copy, lower-cased) cost more than all the comparing.
    fn key_view(&self, i: usize) -> KeyView<'_> {
        let line = self.lines[i].as_str();
        let cached = self.keys[i].get_or_init(|| match defaults::key_slice(line) {
            // An empty key may be a literal "", not a slice of the line.
            Some("") => LineKey::Lower(0..0),
            Some(s) => {
                let start = s.as_ptr() as usize - line.as_ptr() as usize;
                LineKey::Lower(start..start + s.len())
            }
            None => LineKey::Built(key(line)),
        });
        match cached {
            LineKey::Lower(r) => KeyView::Lower(&line[r.clone()]),
            LineKey::Built(k) => KeyView::Built(k),
        }
    }
}

/// A line's `key`, as it is or as a slice of the line whose ASCII lower case it is.
#[derive(Clone, Copy)]
enum KeyView<'a> {
    Built(&'a str),
    Lower(&'a str),
}

impl<'a> KeyView<'a> {
    /// The borrowed view of `key(line)`, when `line` allows one.
    fn of(line: &'a str) -> Option<Self> {
        defaults::key_slice(line).map(KeyView::Lower)
    }

    fn is_empty(self) -> bool {
        match self {
            KeyView::Built(k) | KeyView::Lower(k) => k.is_empty(),
        }
    }

    /// Whether this key is `k`.
    fn is(self, k: &str) -> bool {
        match self {
            KeyView::Built(have) => have == k,
            KeyView::Lower(s) => {
                s.len() == k.len()
                    && s.bytes()
                        .zip(k.bytes())
                        .all(|(a, b)| a.to_ascii_lowercase() == b)
            }
        }
    }
}

fn has_url(line: &str) -> bool {
    contains_ci(line, "http://") || contains_ci(line, "https://") || contains_ci(line, "www.")
}

/// The body up to the first end marker.
fn body_region(lines: &[String]) -> &[String] {
    let end = lines
        .iter()
        .position(|l| END_MARKERS.is_match(l))
        .unwrap_or(lines.len());
    &lines[..end]
}

/// Everything read from an invitation or reminder, whose `template_of` is `template`
/// (the caller has worked it out already, reading every link when there is no header).
pub fn extract(
    msg: &Message,
    kind: Kind,
    template: Option<String>,
    extra_defaults: &[(String, String)],
) -> InvitationData {
    let text_lines = msg
        .text
        .as_deref()
        .map(clean_body_lines)
        .unwrap_or_default();
    let text_region = Region::new(&text_lines);
    let html_keyed = Region::new(body_region(&msg.html_lines));
    let html_region = html_keyed.lines;
    let text_usable = text_region.lines.iter().any(|l| !l.is_empty());
    let primary_keyed = if text_usable {
        &text_region
    } else {
        &html_keyed
    };
    let primary = primary_keyed.lines;

    let links: Vec<&BodyLink> = msg.links.iter().filter(|l| !l.facts.pymk).collect();

    let name = find_name(msg, primary, html_region, &links);
    let name_key = name.as_deref().map(key);

    // Card lines under the name: text part first, HTML to fill gaps.
    let text_card = name_key
        .as_deref()
        .map(|k| card_after(primary_keyed, k))
        .unwrap_or_default();
    let html_card = if text_usable {
        name_key
            .as_deref()
            .map(|k| card_after(&html_keyed, k))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let headline = text_card.first().or(html_card.first()).cloned();
    let location = text_card
        .get(1)
        .or(html_card.get(1))
        .cloned()
        .filter(|l| Some(l) != headline.as_ref());

    let mutual_connections = primary
        .iter()
        .chain(html_region.iter())
        .filter(|l| may_be_mutual(l))
        .find_map(|l| MUTUAL.captures(l))
        .and_then(|c| c[1].parse().ok())
        // The 2021+ card shows the line whenever there is a connection in common, so its
        // absence there means none; older layouts never show it, so there it means unknown.
        .or((msg.mercado_layout && kind == Kind::Invitation).then_some(0));

    // Note: free text in the message slot.
    let mut note_lines = note_candidates(primary_keyed, name_key.as_deref(), &text_card);
    if note_lines.is_empty() && text_usable {
        // The 2021+ HTML card holds the note when a text part does not show it.
        let mut html_note = note_candidates(&html_keyed, name_key.as_deref(), &html_card);
        // The HTML starts with a header bar naming the recipient; drop lines before the
        // inviter's card when the name was found.
        if let Some(nk) = name_key.as_deref() {
            if let Some(pos) = (0..html_region.len()).position(|i| html_keyed.key_view(i).is(nk)) {
                let before = &html_region[..pos];
                html_note.retain(|l| !before.contains(l));
            }
        }
        note_lines = html_note;
    }
    let note_text = note_lines.join("\n").trim().to_string();
    let note_text = strip_quotes(&defaults::strip_signature(&defaults::strip_greeting(
        &note_text,
    )));

    let (note_status, note, mut language) = if note_text.is_empty() {
        let status = if kind == Kind::Reminder {
            NoteStatus::Unknown
        } else {
            NoteStatus::Absent
        };
        (status, None, None)
    } else if let Some(lang) = defaults::match_default(&note_text, extra_defaults) {
        // LinkedIn's filler is not a note: `note` carries only what the inviter wrote.
        (NoteStatus::DefaultText, None, Some(lang))
    } else {
        let lang = defaults::detect_language(&note_text);
        (NoteStatus::Present, Some(note_text), lang)
    };
    if language.is_none() {
        let mut sample = String::new();
        for (i, l) in primary.iter().take(12).enumerate() {
            if i > 0 {
                sample.push(' ');
            }
            sample.push_str(l);
        }
        language = defaults::detect_language(&sample);
    }

    let accept = pick_accept(&links);
    let invitation_id = accept
        .and_then(|l| l.facts.invitation_id.clone())
        .or_else(|| links.iter().find_map(|l| l.facts.invitation_id.clone()));
    let profile = pick_profile(&links, name_key.as_deref());

    InvitationData {
        inviter: Inviter {
            name: name.unwrap_or_default(),
            headline,
            location,
            profile_url: profile.map(|l| linkedin::strip_tracking(&l.url)),
        },
        mutual_connections,
        note_status,
        note,
        invitation_id,
        accept_url: accept.map(|l| linkedin::strip_tracking(&l.url)),
        language,
        template,
    }
}

/// The first known template name: the X-LinkedIn-Template header, then link tracking.
pub fn template_of(msg: &Message) -> Option<String> {
    let from_header = msg
        .header("x-linkedin-template")
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    // Read from the links only here, when there is no header to read.
    from_header.or_else(|| first_known_template(msg.links.iter().map(|l| l.url.as_str())))
}

/// The first template in the links that names a kind, else the first at all, from one
/// read of the links: looking again for the first at all parsed every link a second time
/// when none names a kind.
fn first_known_template<'a>(urls: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut first = None;
    for t in urls.flat_map(linkedin::link_templates) {
        if linkedin::template_kind(&t) != linkedin::TemplateKind::Other {
            return Some(t);
        }
        first.get_or_insert(t);
    }
    first
}

/// `first_known_template` as it was, reading the links twice.
#[cfg(test)]
fn first_known_template_reference(urls: &[&str]) -> Option<String> {
    let all = || urls.iter().flat_map(|u| linkedin::link_templates(u));
    all()
        .find(|t| linkedin::template_kind(t) != linkedin::TemplateKind::Other)
        .or_else(|| all().next())
}

fn find_name(
    msg: &Message,
    primary: &[String],
    html: &[String],
    links: &[&BodyLink],
) -> Option<String> {
    if let Some(n) = msg
        .from
        .display_name
        .as_deref()
        .and_then(inviter_from_display_name)
    {
        return Some(n);
    }
    for l in primary.iter().chain(html.iter()) {
        if let Some(c) = WOULD_LIKE.captures(l) {
            return Some(c[1].trim().to_string());
        }
    }
    for l in links {
        if let Some(c) = VIEW_PROFILE_LABEL.captures(&l.label) {
            return Some(c[1].trim().to_string());
        }
    }
    for l in primary.iter().chain(links.iter().map(|l| &l.label)) {
        if let Some(c) = CONFIRM_KNOW.captures(l) {
            return Some(c[1].trim().to_string());
        }
    }
    // Guest invitations sign with "- <first name>" under the message.
    if let Some(sig) = primary.iter().find(|l| SIGNATURE.is_match(l)) {
        let n = sig.trim_start_matches(['-', '–', '—']).trim();
        if !n.is_empty() && n.split_whitespace().count() <= 4 {
            return Some(n.to_string());
        }
    }
    // The card's name link in HTML: a profile link whose anchor text is not a button.
    links
        .iter()
        .filter(|l| !l.hidden && l.facts.profile)
        .map(|l| l.label.trim())
        .find(|t| {
            !t.is_empty() && t.len() < 100 && !STRUCTURAL.is_match(t) && !t.contains("profile")
        })
        .map(str::to_string)
}

/// Up to two card lines (headline, location) after the line that names the inviter (whose
/// `key` is `name_key`).
fn card_after(region: &Region, name_key: &str) -> Vec<String> {
    let k = name_key;
    let lines = region.lines;
    let Some(pos) =
        (0..lines.len()).position(|i| region.key_view(i).is(k) && !WOULD_LIKE.is_match(&lines[i]))
    else {
        return Vec::new();
    };
    let mut card = Vec::new();
    for l in &lines[pos + 1..] {
        if l.is_empty() || has_url(l) || is_mutual(l) || STRUCTURAL.is_match(l) {
            break;
        }
        if is_quoted(l) || l.chars().count() > 220 {
            break;
        }
        card.push(l.clone());
        if card.len() == 2 {
            break;
        }
    }
    card
}

fn is_quoted(l: &str) -> bool {
    let t = l.trim();
    (t.starts_with('"') || t.starts_with('“') || t.starts_with('„') || t.starts_with('«'))
        && t.chars().count() > 2
}

fn strip_quotes(s: &str) -> String {
    let t = s.trim();
    let pairs = [('"', '"'), ('“', '”'), ('„', '“'), ('«', '»'), ('\'', '\'')];
    for (a, b) in pairs {
        if let Some(inner) = t.strip_prefix(a).and_then(|r| r.strip_suffix(b)) {
            if !inner.contains(a) || a != b {
                return inner.trim().to_string();
            }
        }
    }
    t.to_string()
}

/// Free-text lines that can belong to the message slot (`name_key` is the inviter's
/// name's `key`).
fn note_candidates(region: &Region, name_key: Option<&str>, card: &[String]) -> Vec<String> {
    let card_keys: Vec<String> = card.iter().map(|c| key(c)).collect();
    let mut out: Vec<String> = Vec::new();
    for (i, l) in region.lines.iter().enumerate() {
        let t = l.trim();
        if t.is_empty() {
            if out.last().is_some_and(|x| !x.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        // The cheap tests first: a key costs more to work out than they do, and a line
        // that fails one of them needs none (long tracking-URL lines among them).
        if t.ends_with(':')
            || has_url(t)
            // LinkedIn's own addresses never appear in a member's note (exported or
            // forwarded copies carry them as header residue).
            || contains_ci(t, "@linkedin.com")
        {
            continue;
        }
        // Lines are whitespace-collapsed, so `t` is the whole line and its key is cached.
        let trimmed_key;
        let k = if t.len() == l.len() {
            region.key_view(i)
        } else {
            match KeyView::of(t) {
                Some(v) => v,
                None => {
                    trimmed_key = key(t);
                    KeyView::Built(&trimmed_key)
                }
            }
        };
        // The key tests before the regexes.
        if k.is_empty()
            || name_key.is_some_and(|n| k.is(n))
            || card_keys.iter().any(|c| k.is(c))
            || is_mutual(t)
            || STRUCTURAL.is_match(t)
            || GREETING_ONLY.is_match(t)
            || SIGNATURE.is_match(t)
        {
            continue;
        }
        out.push(t.to_string());
    }
    while out.last().is_some_and(|x| x.is_empty()) {
        out.pop();
    }
    // Paragraph breaks become newlines; lines within a paragraph are joined with spaces,
    // because text parts wrap long notes.
    let mut paras: Vec<String> = Vec::new();
    let mut cur = String::new();
    for l in out {
        if l.is_empty() {
            if !cur.is_empty() {
                paras.push(std::mem::take(&mut cur));
            }
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(&l);
        }
    }
    if !cur.is_empty() {
        paras.push(cur);
    }
    paras
}

fn pick_accept<'a>(links: &[&'a BodyLink]) -> Option<&'a BodyLink> {
    let mut accepts = links.iter().filter(|l| l.facts.accept);
    let first = accepts.clone().next();
    accepts
        .find(|l| is_accept_label(&l.label))
        .or(first)
        .copied()
}

/// Whether an accept link's label is the Accept button, in any of its languages:
/// `label.to_lowercase()` starts with one of the words. Compared ASCII case-insensitively
/// on the label itself, which is the same answer (`labels_as_lower_cased`): the only
/// characters that lower-case to ASCII are ASCII, the Kelvin sign (to `k`, in no word) and
/// the dotted capital I (to `i` and a combining dot, which no word has after an `i`).
/// Lower-casing a copy of every accept link's label was an allocation each.
fn is_accept_label(label: &str) -> bool {
    [
        "accept", "aceptar", "annehmen", "accepter", "aceitar", "accetta",
    ]
    .iter()
    .any(|w| starts_with_ci(label, w))
}

/// Whether a label names a profile: `label.to_lowercase()` contains one of the words,
/// compared as `is_accept_label` compares (the same answer for the same reasons: no `k`,
/// and no word has an `i` at its end or before a combining dot).
fn is_profile_label(label: &str) -> bool {
    ["profile", "profil", "perfil"]
        .iter()
        .any(|w| contains_ci(label, w))
}

/// The inviter's profile link (`name_key` is the `key` of the inviter's name).
fn pick_profile<'a>(links: &[&'a BodyLink], name_key: Option<&str>) -> Option<&'a BodyLink> {
    let by_label = links
        .iter()
        .find(|l| l.facts.host == linkedin::LinkHost::LinkedIn && is_profile_label(&l.label));
    // The label's key borrowed from it when it can be, as `Region::key_view` does.
    let by_name = name_key.and_then(|nk| {
        links.iter().find(|l| {
            l.facts.profile
                && KeyView::of(&l.label).map_or_else(|| key(&l.label) == nk, |v| v.is(nk))
        })
    });
    by_name
        .or(by_label)
        .or_else(|| links.iter().find(|l| l.facts.profile))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::html::collapse_ws;

    #[test]
    fn display_names() {
        assert_eq!(
            inviter_from_display_name("Amit Rao via LinkedIn").as_deref(),
            Some("Amit Rao")
        );
        assert_eq!(
            inviter_from_display_name("Michael McAuliffe").as_deref(),
            Some("Michael McAuliffe")
        );
        assert_eq!(inviter_from_display_name("LinkedIn"), None);
        assert_eq!(
            inviter_from_display_name("Bob Barker (LinkedIn Invitations)").as_deref(),
            Some("Bob Barker")
        );
    }

    /// Body lines of every fixture plus lines made to trip the pre-checks.
    fn sample_lines() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "12 connections in common",
            "١٢ connections in common",
            "12\u{a0}mutual connections",
            "Ｘ 3 shared connections",
            "3 \u{212A}oneksi bersama",
            "3 conexões em comum",
            "no digits here",
            "  two  spaces ",
            "tab\there",
            "&amp; &lt;b&gt; &#39;x&#39;",
            "caf\u{e9} &nbsp; x",
            "x\u{b}y",
            "- Ryan",
            "Hi Ana,",
            "...",
            "Hi Ana, - Jo",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for p in crate::extract::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            v.extend(String::from_utf8_lossy(&raw).lines().map(str::to_string));
        }
        v
    }

    /// `clean_body_lines` is the body region of all cleaned lines, on every fixture's text
    /// part and on made-up texts with end markers anywhere.
    #[test]
    fn clean_body_lines_agree_with_the_region_of_all_lines() {
        let mut texts: Vec<String> = Vec::new();
        for p in crate::extract::fixture_emls() {
            if let Ok(msg) = crate::extract::message::read(&std::fs::read(&p).unwrap()) {
                texts.extend(msg.text);
            }
        }
        let mut rng = crate::extract::TestRng::new(17);
        let pieces = [
            "Hi",
            "-----",
            "Unsubscribe",
            " ",
            "\n",
            "\r\n",
            "&amp;",
            "x",
            "©",
        ];
        for _ in 0..5_000 {
            let n = rng.next() % 12;
            texts.push((0..n).map(|_| pieces[rng.next() % pieces.len()]).collect());
        }
        for t in &texts {
            let all: Vec<String> = t.lines().map(clean_line).collect();
            assert_eq!(clean_body_lines(t), body_region(&all), "{t:?}");
        }
    }

    #[test]
    fn prechecks_agree_with_the_full_work() {
        for l in sample_lines() {
            assert_eq!(is_mutual(&l), MUTUAL.is_match(&l), "{l:?}");
            assert_eq!(clean_line(&l), collapse_ws(&decode_entities(&l)), "{l:?}");
        }
    }

    /// A borrowed key view compares and tests emptiness as the built key does, against the
    /// line's own key and others (including other lines' and upper-case strings).
    #[test]
    fn key_views_agree_with_keys() {
        let lines = sample_lines();
        let mut others: Vec<String> = vec![String::new(), "dana example".into(), "x".into()];
        others.extend(lines.iter().step_by(7).map(|l| key(l)));
        others.extend(lines.iter().step_by(11).cloned());
        let region = Region::new(&lines);
        for (n, l) in lines.iter().enumerate() {
            let full = key(l);
            // Twice: built, then cached.
            for _ in 0..2 {
                assert!(region.key_view(n).is(&full), "{l:?}");
                assert_eq!(region.key_view(n).is_empty(), full.is_empty(), "{l:?}");
            }
            let Some(view) = KeyView::of(l) else {
                continue;
            };
            assert!(view.is(&full), "{l:?}");
            assert_eq!(view.is_empty(), full.is_empty(), "{l:?}");
            for o in others.iter().skip(n % 13).step_by(13) {
                assert_eq!(view.is(o), &full == o, "{l:?} {o:?}");
            }
        }
    }

    /// One read of the links finds the template two reads did, over every fixture's links
    /// and over random mixes of template-bearing links.
    #[test]
    fn first_known_template_as_before() {
        let fixture: Vec<String> = crate::extract::fixture_link_urls();
        let made = [
            "https://www.linkedin.com/x?trk=eml-digest_01-a",
            "https://www.linkedin.com/x?ek=invite_guest",
            "https://www.linkedin.com/x?lipi=urn:li:page:email_pymk_x;y",
            "https://www.linkedin.com/x?trk=eml-email_m2m_invite_single_01-hero",
            "https://www.linkedin.com/x?a=b",
            "mailto:x@y",
            "https://evil.example/x?ek=second_guest_reminder_01",
        ];
        let mut rng = crate::extract::TestRng::new(29);
        let mut sets: Vec<Vec<&str>> = vec![fixture.iter().map(String::as_str).collect()];
        for _ in 0..2000 {
            let n = rng.next() % 6;
            sets.push((0..n).map(|_| made[rng.next() % made.len()]).collect());
        }
        for urls in &sets {
            assert_eq!(
                first_known_template(urls.iter().copied()),
                first_known_template_reference(urls),
                "{urls:?}"
            );
        }
    }

    /// The label tests agree with lower-casing the label, on every fixture link's label
    /// and on random labels of the words' letters in both cases, the Kelvin sign, the
    /// dotted capital I, a capital sigma and other letters that change length.
    #[test]
    fn labels_as_lower_cased() {
        let mut labels: Vec<String> = crate::extract::fixture_links()
            .into_iter()
            .map(|(_, l)| l.label)
            .collect();
        let mut rng = crate::extract::TestRng::new(41);
        let pieces = [
            "a", "A", "c", "C", "e", "E", "p", "P", "t", "T", "r", "R", "n", "N", "h", "H", "m",
            "M", "i", "I", "l", "L", "f", "F", "o", "O", "k", "K", " ", "\u{212A}", "\u{130}",
            "\u{3A3}", "\u{1E9E}", "é", "É", "accept", "ACEITAR", "Profil", "PERFİL",
        ];
        for _ in 0..20_000 {
            let n = rng.next() % 10;
            labels.push((0..n).map(|_| pieces[rng.next() % pieces.len()]).collect());
        }
        for l in &labels {
            let lab = l.to_lowercase();
            let accept = [
                "accept", "aceptar", "annehmen", "accepter", "aceitar", "accetta",
            ]
            .iter()
            .any(|w| lab.starts_with(w));
            let profile =
                lab.contains("profile") || lab.contains("profil") || lab.contains("perfil");
            assert_eq!(is_accept_label(l), accept, "{l:?}");
            assert_eq!(is_profile_label(l), profile, "{l:?}");
            if let Some(v) = KeyView::of(l) {
                assert!(v.is(&key(l)), "{l:?}");
            }
        }
    }

    #[test]
    fn mutual_in_languages() {
        for (s, n) in [
            ("12 connections in common", 12),
            ("1 connection in common", 1),
            ("5 gemeinsame Kontakte", 5),
            ("3 relations en commun", 3),
        ] {
            assert_eq!(MUTUAL.captures(s).unwrap()[1].parse::<u32>().unwrap(), n);
        }
    }
}
