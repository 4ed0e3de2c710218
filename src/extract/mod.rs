//! Pure classification and extraction: raw message bytes in, a `Classified` out. Knows
//! nothing of IMAP, files, the store or the clock.
//!
//! Order of decisions, and why:
//! 1. Authenticity from the trusted `Authentication-Results` (`auth`): the only thing a
//!    sender cannot forge. X-LinkedIn-* headers mean nothing on their own.
//! 2. Structural checks that apply in every case (sender domain exact match, link hosts,
//!    Message-ID host): they catch forgeries even in exported mail with no results header.
//! 3. Only then the kind from the template name (`linkedin`), or from the content when the
//!    template is missing, and the fields (`fields`).

pub(crate) mod ascii;
pub mod auth;
pub mod defaults;
pub mod fields;
pub mod html;
pub mod linkedin;
pub mod message;
mod mime;
mod qp;
mod tags;
mod weburl;

use crate::model::{Authenticity, Classified, Kind};
use linkedin::{LinkHost, TemplateKind};
use message::Message;

pub use message::MessageError as ExtractError;

/// Settings that change how mail is read (from `[authenticity]` and `[notes]`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub trusted_authserv_ids: Vec<String>,
    pub extra_default_texts: Vec<(String, String)>,
}

/// Classifies one message and extracts the invitation fields when there are any.
pub fn classify(raw: &[u8], opts: &Options) -> Result<Classified, ExtractError> {
    let msg = message::read(raw)?;
    Ok(classify_message(&msg, opts))
}

/// Compiles the extractor's regular expressions now instead of at the first message that
/// needs them (~7 ms). A poll that searches calls this on its classifying thread while the
/// server answers the search, so the first message is read as fast as the rest. Harmless
/// to call again.
pub fn prepare() {
    fields::prepare();
}

/// Senders whose mail is about connection invitations (format notes 2.1).
fn is_invitation_sender(addr: &str) -> bool {
    matches!(
        addr,
        "invitations@linkedin.com" | "member@linkedin.com" | "invitations-noreply@linkedin.com"
    )
}

pub fn classify_message(msg: &Message, opts: &Options) -> Classified {
    let verdict = auth::judge(
        &msg.header_all("authentication-results"),
        &opts.trusted_authserv_ids,
    );
    // Room for the usual two to four signals at once, rather than growing from one.
    let mut signals = Vec::with_capacity(4);
    signals.push(format!(
        "authenticity {}: {}",
        verdict.authenticity.as_str(),
        verdict.detail
    ));
    let sender_domain = msg.from.domain();
    let sender_is_linkedin = sender_domain
        .as_deref()
        .is_some_and(auth::is_linkedin_domain);

    // Borrowed from the links: only the signals' text needs them joined.
    let foreign: Vec<&str> = {
        let mut v: Vec<&str> = msg
            .links
            .iter()
            .filter_map(|l| match &l.facts.host {
                LinkHost::Foreign(h) => Some(h.as_str()),
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let template = fields::template_of(msg);
    let body = BodySample::new(msg);
    let claims = claims_linkedin(msg, sender_domain.as_deref(), template.as_deref(), &body);

    let kind = if sender_is_linkedin {
        genuine_kind(
            msg,
            &verdict,
            &foreign,
            template.as_deref(),
            &body,
            &mut signals,
        )
    } else if let Some(why) = claims {
        if is_forward(msg, &body) && foreign.is_empty() {
            signals.push(format!(
                "forwarded LinkedIn content from {} ({why}): not an invitation to you",
                msg.from.display()
            ));
            Kind::NotLinkedin
        } else {
            signals.push(format!(
                "presents itself as LinkedIn ({why}) but the sender is {}",
                sender_domain.as_deref().unwrap_or("unknown")
            ));
            if !foreign.is_empty() {
                signals.push(format!(
                    "links to hosts outside LinkedIn: {}",
                    foreign.join(", ")
                ));
            }
            Kind::Phishing
        }
    } else {
        signals.push("no sign of LinkedIn".into());
        Kind::NotLinkedin
    };

    // Only genuine invitations are read for fields. What a phish claims (a name, a
    // "note") is attacker-controlled and is not repeated in the digest.
    let invitation = kind
        .is_invitation_like()
        .then(|| fields::extract(msg, kind, template, &opts.extra_default_texts));

    Classified {
        kind,
        authenticity: verdict.authenticity,
        message_id: msg.message_id.clone(),
        subject: msg.subject.clone(),
        from: Some(msg.from.display()).filter(|s| !s.is_empty()),
        date: msg.date,
        signals,
        invitation,
    }
}

/// Kind of mail from a linkedin.com sender, after the checks that catch forgeries.
fn genuine_kind(
    msg: &Message,
    verdict: &auth::AuthVerdict,
    foreign: &[&str],
    template: Option<&str>,
    body: &BodySample,
    signals: &mut Vec<String>,
) -> Kind {
    if verdict.authenticity == Authenticity::Fail {
        signals.push(
            "sender claims linkedin.com but the trusted authentication result does not confirm it"
                .into(),
        );
        return Kind::Phishing;
    }
    // A DMARC or feedback report quotes other people's mail by design, so its links say
    // nothing about who sent the report.
    let is_report = msg.top_content_type == "multipart/report";
    if verdict.authenticity != Authenticity::Pass {
        // Without a provider's word, structure decides: genuine mail links only to
        // LinkedIn's hosts and carries a LinkedIn Message-ID.
        if !foreign.is_empty() && !is_report {
            signals.push(format!(
                "links to hosts outside LinkedIn: {}",
                foreign.join(", ")
            ));
            return Kind::Phishing;
        }
        if let Some(mid) = &msg.message_id {
            let host = mid.rsplit('@').next().unwrap_or("");
            if !auth::is_linkedin_domain(host) {
                signals.push(format!("Message-ID host `{host}` is not LinkedIn's"));
                return Kind::Phishing;
            }
        }
    } else if !foreign.is_empty() {
        signals.push(format!(
            "authenticated LinkedIn mail with links outside LinkedIn ({}); they are never shown",
            foreign.join(", ")
        ));
    }
    let from_addr = msg.from.address.as_deref().unwrap_or("");
    if let Some(t) = template {
        match linkedin::template_kind(t) {
            TemplateKind::Invitation => {
                signals.push(format!("invitation template `{t}`"));
                return Kind::Invitation;
            }
            TemplateKind::Reminder => {
                signals.push(format!("reminder template `{t}`"));
                return Kind::Reminder;
            }
            TemplateKind::Other
                if msg.header("x-linkedin-template").is_some()
                    || !is_invitation_sender(from_addr) =>
            {
                signals.push(format!("LinkedIn template `{t}` is not an invitation"));
                return Kind::OtherLinkedin;
            }
            TemplateKind::Other => {}
        }
    }
    // No decisive template: read the content.
    let body = body.get();
    let has_accept = msg.links.iter().any(|l| l.facts.accept);
    let reminder_words = contains_any(
        body,
        &[
            "this is a reminder",
            "how would you like to respond",
            "is awaiting your response",
            "is waiting for your response",
        ],
    ) || msg.subject.as_deref().is_some_and(|s| {
        let s = s.to_lowercase();
        s.contains("awaiting your response")
            || s.contains("waiting for your response")
            || s.contains("reminder")
    });
    let accepted_notice = contains_any(
        body,
        &["has accepted your invitation", "accepted your invitation"],
    );
    if accepted_notice {
        signals.push("accepted-invitation notice".into());
        return Kind::OtherLinkedin;
    }
    let would_like = contains_any(body, &["would like to connect on linkedin"]);
    if reminder_words && (has_accept || would_like) {
        signals.push("reminder of a pending invitation (content)".into());
        return Kind::Reminder;
    }
    if has_accept && is_invitation_sender(from_addr) {
        signals.push("accept link from LinkedIn's invitation sender".into());
        return Kind::Invitation;
    }
    if is_invitation_sender(from_addr)
        && (would_like
            || defaults_in_body(msg)
            || contains_any(body, &["you received an invitation to connect"]))
    {
        signals.push("invitation wording from LinkedIn's invitation sender".into());
        return Kind::Invitation;
    }
    signals.push("LinkedIn mail without an invitation".into());
    Kind::OtherLinkedin
}

fn defaults_in_body(msg: &Message) -> bool {
    let is_default = |l: &str| defaults::match_default(l, &[]).is_some();
    msg.text
        .as_deref()
        .into_iter()
        .flat_map(str::lines)
        .any(|l| is_default(&html::decode_entities(l)))
        || msg.html_lines.iter().any(|l| is_default(l))
}

/// The lower-cased text of both parts, built on first use and then shared by the checks
/// that read it (LinkedIn claims, forward markers, content-based kind): building it is a
/// pass over the whole body.
struct BodySample<'a> {
    msg: &'a Message,
    text: std::cell::OnceCell<String>,
}

impl<'a> BodySample<'a> {
    fn new(msg: &'a Message) -> Self {
        BodySample {
            msg,
            text: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> &str {
        self.text.get_or_init(|| body_sample(self.msg))
    }
}

/// The text part (entities decoded) and the HTML lines, joined with line ends and
/// lower-cased as `str::to_lowercase` would lower-case the joined text. Each piece is
/// lower-cased straight into the sample: a line end is neither cased nor case-ignorable,
/// so the one context-dependent mapping (a final sigma) never looks across it.
fn body_sample(msg: &Message) -> String {
    let text = msg.text.as_deref().map(html::decode_entities);
    let len = text.as_deref().map_or(0, str::len)
        + msg.html_lines.iter().map(|l| l.len() + 1).sum::<usize>();
    let mut s = String::with_capacity(len);
    if let Some(t) = &text {
        push_lowercase(&mut s, t);
    }
    for l in &msg.html_lines {
        s.push('\n');
        push_lowercase(&mut s, l);
    }
    s
}

/// Appends `t.to_lowercase()` to `out`. `str::to_lowercase` goes character by character
/// from the first non-ASCII character on, and LinkedIn's mail has one (a no-break space,
/// a curly quote) near the top, so lower-casing the sample was most of building it. Here
/// ASCII runs are lower-cased in bulk and other characters one by one with
/// `char::to_lowercase`, which is what `str::to_lowercase` does for every character but
/// a capital sigma: text with one is lower-cased by `str::to_lowercase` itself.
fn push_lowercase(out: &mut String, t: &str) {
    if t.contains('\u{3a3}') {
        out.push_str(&t.to_lowercase());
        return;
    }
    let mut rest = t;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let (ascii, tail) = rest.split_at(n);
        let start = out.len();
        out.push_str(ascii);
        if let Some(run) = out.get_mut(start..) {
            run.make_ascii_lowercase();
        }
        let mut chars = tail.chars();
        while let Some(c) = chars.clone().next().filter(|c| !c.is_ascii()) {
            out.extend(c.to_lowercase());
            chars.next();
        }
        rest = chars.as_str();
    }
}

fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// Whether a message presents itself as LinkedIn, and the first reason why
/// (`sender_domain`: `msg.from.domain()`, worked out once by the caller).
fn claims_linkedin(
    msg: &Message,
    sender_domain: Option<&str>,
    template: Option<&str>,
    body: &BodySample,
) -> Option<String> {
    if let Some(n) = &msg.from.display_name {
        if n.to_lowercase().contains("linkedin") {
            return Some(format!("display name \"{n}\""));
        }
    }
    if let Some(d) = sender_domain {
        if is_lookalike(d) {
            return Some(format!("lookalike sender domain {d}"));
        }
    }
    for h in ["sender", "return-path", "reply-to"] {
        if let Some(v) = msg.header(h) {
            let v = v.to_lowercase();
            if let Some(d) = v.rsplit('@').next() {
                let d = d.trim_end_matches('>').trim();
                if auth::is_linkedin_domain(d) || is_lookalike(d) {
                    return Some(format!("{h} header in {d}"));
                }
            }
        }
    }
    if msg.linkedin_headers {
        return Some("X-LinkedIn-* headers".into());
    }
    if let Some(t) = template {
        return Some(format!("LinkedIn email template `{t}` in its links"));
    }
    if body.get().contains("linkedin corporation") {
        return Some("LinkedIn's copyright footer".into());
    }
    None
}

/// A domain that imitates linkedin.com without being it: a label within two edits of
/// "linkedin" (linnkedin, linkedln, lindkedin), or "linkedin" inside a longer label
/// (linkedin-security.net). Exact linkedin.com and its subdomains are not lookalikes.
pub fn is_lookalike(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    if auth::is_linkedin_domain(&d) {
        return false;
    }
    // One buffer for every label's squashed form: a String per label, and a Vec per row
    // of the edit distance table, were most of this function's cost.
    let mut squashed = Vec::new();
    d.split('.').any(|label| {
        squashed.clear();
        squashed.extend(label.bytes().filter(u8::is_ascii_alphanumeric));
        let has = |w: &[u8]| squashed.windows(w.len()).any(|x| x == w);
        has(b"linkedin") || has(b"linkdin") || edit_distance(&squashed, b"linkedin") <= 2
    })
}

/// Levenshtein distance between `a` and `b` (at most `EDIT_MAX_B` bytes long), or
/// `usize::MAX` when their lengths differ by more than 3. Over bytes: it is only asked of
/// ASCII, where bytes are characters, and its two rows fit on the stack.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    assert!(b.len() < EDIT_MAX_B, "edit_distance is for short words");
    if a.len().abs_diff(b.len()) > 3 {
        return usize::MAX;
    }
    let mut prev = [0; EDIT_MAX_B];
    for (j, p) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *p = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = [i + 1; EDIT_MAX_B];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// One more than the longest `b` that `edit_distance` takes.
const EDIT_MAX_B: usize = 16;

/// A colleague forwarding or replying to LinkedIn mail: the subject prefix or the
/// forwarded-message separator of common clients.
fn is_forward(msg: &Message, body: &BodySample) -> bool {
    let subject = msg
        .subject
        .as_deref()
        .unwrap_or("")
        .trim_start()
        .to_lowercase();
    let prefixes = [
        "fwd:", "fw:", "wg:", "tr:", "rv:", "enc:", "doorst:", "i:", "vs:", "re:", "aw:", "antw:",
    ];
    if prefixes.iter().any(|p| subject.starts_with(p)) {
        return true;
    }
    contains_any(
        body.get(),
        &[
            "---------- forwarded message",
            "begin forwarded message",
            "-----original message-----",
            "weitergeleitete nachricht",
            "message transféré",
            "mensaje reenviado",
        ],
    )
}

/// Every `.eml` under tests/fixtures, for unit tests that compare a fast path with a
/// reference on all real mail we have.
#[cfg(test)]
pub(crate) fn fixture_emls() -> Vec<std::path::PathBuf> {
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Calls `f` with every MIME part (nested ones too) of every fixture that parses.
#[cfg(test)]
pub(crate) fn each_fixture_part(f: &mut dyn FnMut(&mime::Part)) {
    fn walk(part: &mime::Part, f: &mut dyn FnMut(&mime::Part)) {
        f(part);
        for sub in &part.subparts {
            walk(sub, f);
        }
    }
    for p in fixture_emls() {
        let raw = std::fs::read(&p).unwrap();
        if let Ok(part) = mime::parse(&raw) {
            walk(&part, f);
        }
    }
}

/// Every link of every fixture that reads as a message, with the file it came from.
#[cfg(test)]
pub(crate) fn fixture_links() -> Vec<(std::path::PathBuf, message::BodyLink)> {
    let mut out = Vec::new();
    for p in fixture_emls() {
        if let Ok(msg) = message::read(&std::fs::read(&p).unwrap()) {
            out.extend(msg.links.into_iter().map(|l| (p.clone(), l)));
        }
    }
    out
}

/// The URL of every link of [`fixture_links`].
#[cfg(test)]
pub(crate) fn fixture_link_urls() -> Vec<String> {
    fixture_links().into_iter().map(|(_, l)| l.url).collect()
}

/// mailparse's decoding of `body` under `Content-Transfer-Encoding: {encoding}`: the
/// reference for our own base64 and quoted-printable decoders.
#[cfg(test)]
pub(crate) fn mailparse_decoded(
    encoding: &str,
    body: &[u8],
) -> Result<Vec<u8>, mailparse::MailParseError> {
    let mut raw = format!("Content-Transfer-Encoding: {encoding}\r\n\r\n").into_bytes();
    raw.extend_from_slice(body);
    mailparse::parse_mail(&raw).unwrap().get_body_raw()
}

/// A small deterministic generator (an LCG) for tests that compare a fast path with its
/// reference on many made-up inputs, without a crate.
#[cfg(test)]
pub(crate) struct TestRng(u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    pub(crate) fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }

    /// Up to `max_len - 1` bytes, each drawn from `alphabet`.
    pub(crate) fn bytes(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let len = self.next() % max_len;
        (0..len)
            .map(|_| alphabet[self.next() % alphabet.len()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    /// `body_sample` as it was: the joined text, lower-cased at once.
    fn body_sample_reference(msg: &Message) -> String {
        let mut s = msg
            .text
            .as_deref()
            .map(html::decode_entities)
            .unwrap_or_default()
            .into_owned();
        for l in &msg.html_lines {
            s.push('\n');
            s.push_str(l);
        }
        s.to_lowercase()
    }

    #[test]
    fn body_sample_agrees_with_reference() {
        for p in fixture_emls() {
            if let Ok(msg) = message::read(&std::fs::read(&p).unwrap()) {
                assert_eq!(body_sample(&msg), body_sample_reference(&msg), "{p:?}");
            }
        }
    }

    /// Made-up pieces with capital sigmas, letters that lower-case to several characters or
    /// to ASCII (Kelvin sign, dotted capital I), case-ignorable marks and line ends.
    #[test]
    fn push_lowercase_agrees_with_to_lowercase_on_random_texts() {
        let mut rng = TestRng::new(13);
        let alphabet =
            b"  aZ.'\n\xce\xa3\xce\xa3\xce\xb1\xe2\x84\xaa\xc4\xb0\xc3\x89\xcc\x81\xe1\xba\x9e&;";
        for _ in 0..20_000 {
            let bytes = rng.bytes(alphabet, 30);
            let t = String::from_utf8_lossy(&bytes);
            let mut got = String::new();
            push_lowercase(&mut got, &t);
            assert_eq!(got, t.to_lowercase(), "{t:?}");
            let msg = Message {
                text: Some(t.to_string()),
                html_lines: t.split('\n').map(str::to_string).collect(),
                ..Message::default()
            };
            assert_eq!(body_sample(&msg), body_sample_reference(&msg), "{t:?}");
        }
    }
    use super::*;

    /// `is_lookalike` as it was: a String per label and `edit_distance` over characters,
    /// with a Vec per row.
    fn is_lookalike_reference(domain: &str) -> bool {
        fn edit_distance(a: &str, b: &str) -> usize {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            if a.len().abs_diff(b.len()) > 3 {
                return usize::MAX;
            }
            let mut prev: Vec<usize> = (0..=b.len()).collect();
            for (i, ca) in a.iter().enumerate() {
                let mut cur = vec![i + 1; b.len() + 1];
                for (j, cb) in b.iter().enumerate() {
                    let cost = usize::from(ca != cb);
                    cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
                }
                prev = cur;
            }
            prev[b.len()]
        }
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        if auth::is_linkedin_domain(&d) {
            return false;
        }
        d.split('.').any(|label| {
            let squashed: String = label
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            squashed.contains("linkedin")
                || squashed.contains("linkdin")
                || edit_distance(&squashed, "linkedin") <= 2
        })
    }

    /// Lookalike answers as before, on random domains near "linkedin" and far from it.
    #[test]
    fn lookalikes_as_before() {
        let mut rng = TestRng::new(43);
        let alphabet = b"linkedLINKEDolx-.._1\xc3\xa9";
        for _ in 0..20_000 {
            let bytes = rng.bytes(alphabet, 24);
            let d = String::from_utf8_lossy(&bytes);
            assert_eq!(is_lookalike(&d), is_lookalike_reference(&d), "{d:?}");
        }
        for d in [
            "linkedin.com",
            "linkedin.com.",
            "lnkedin.co",
            "a.linkedinx.b",
            "linkdin",
        ] {
            assert_eq!(is_lookalike(d), is_lookalike_reference(d), "{d:?}");
        }
    }

    #[test]
    fn lookalikes() {
        for d in [
            "linnkedin.com",
            "linkedln.com",
            "lindkedin.com",
            "linkedin-security.net",
            "mail.linkedin-invitations.com",
            "linkedin.com.evil.example",
        ] {
            assert!(is_lookalike(d), "{d}");
        }
        for d in [
            "linkedin.com",
            "bounce.linkedin.com",
            "example.com",
            "linking.org",
            "gmail.com",
        ] {
            assert!(!is_lookalike(d), "{d}");
        }
    }
}
