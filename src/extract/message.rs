//! Reads an RFC 5322 message into the few things classification needs: decoded headers,
//! the sender, the visible text of the text and HTML parts, and every link. Charset and
//! transfer-encoding handling is mailparse's, except that quoted-printable bodies are
//! decoded by `qp` (same bytes, several times faster); we add tolerance (a part that fails
//! to decode is skipped, not fatal) and bounds (very deep or very many parts are not
//! walked).

use std::borrow::Cow;
use std::sync::LazyLock;

use mailparse::body::Body;
use memchr::memmem;

use super::mime::Part;

use super::html;

/// Nesting and part-count bounds: no real LinkedIn mail comes close, and hostile MIME
/// should cost bounded work.
const MAX_DEPTH: usize = 8;
const MAX_PARTS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not a parseable RFC 5322 message: {0}")]
    Parse(#[from] mailparse::MailParseError),
    #[error("empty message")]
    Empty,
    #[error("not an email message: it does not start with a header line such as \"From: ...\"")]
    NotMail,
}

/// The sender as written in From.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    pub display_name: Option<String>,
    pub address: Option<String>,
}

impl Sender {
    pub fn domain(&self) -> Option<String> {
        self.address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, d)| d.trim_end_matches('>').to_ascii_lowercase())
    }

    /// `Name <addr>` for display.
    pub fn display(&self) -> String {
        match (&self.display_name, &self.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (None, Some(a)) => a.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => String::new(),
        }
    }
}

/// A link from either body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLink {
    pub url: String,
    /// Anchor text (HTML) or the label before the URL on its line (text).
    pub label: String,
    pub hidden: bool,
    /// What the URL is, worked out once when the message is read.
    pub facts: super::linkedin::LinkFacts,
}

/// What classification reads from one message.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// (lower-case name, decoded value) of the `DECODED_HEADERS`, in header order. The
    /// others (DKIM signatures, Received chains) are not kept: decoding them all was a few
    /// percent of extraction time for nothing, and so was a lower-cased copy of every
    /// name, when classification asks of them only whether one is an X-LinkedIn-* header
    /// (`linkedin_headers`).
    pub headers: Vec<(&'static str, String)>,
    /// Some header's name starts with `X-LinkedIn-` (any case).
    pub linkedin_headers: bool,
    pub from: Sender,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub date: Option<i64>,
    pub raw_date: Option<String>,
    /// Decoded text/plain body, when present.
    pub text: Option<String>,
    /// Visible lines of the HTML body, when present.
    pub html_lines: Vec<String>,
    pub links: Vec<BodyLink>,
    /// MIME shape: top-level content type and whether LinkedIn's Content-IDs are present.
    pub top_content_type: String,
    pub linkedin_content_ids: bool,
    /// A message/rfc822 part or an attachment carries HTML/text we did not read as body.
    pub has_attachments: bool,
    /// The HTML uses LinkedIn's 2021+ "mercado" markup, whose invitation card always shows
    /// a "N connections in common" line when N > 0.
    pub mercado_layout: bool,
}

/// The headers whose values classification reads (lower-case).
pub const DECODED_HEADERS: &[&str] = &[
    "authentication-results",
    "x-linkedin-template",
    "sender",
    "return-path",
    "reply-to",
];

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        debug_assert!(DECODED_HEADERS.contains(&name), "{name} is not decoded");
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name`, in header order, borrowed.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        debug_assert!(DECODED_HEADERS.contains(&name), "{name} is not decoded");
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Parses raw bytes. Errors only when there is no message at all; broken parts are skipped.
pub fn read(raw: &[u8]) -> Result<Message, MessageError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(MessageError::Empty);
    }
    let mail = super::mime::parse(raw)?;
    // mailparse takes almost anything as headers; a message must start with at least one
    // real header line (an mbox "From " separator line does not count).
    let first = mail
        .headers
        .iter()
        .map(|h| h.key())
        .find(|k| !k.starts_with("From "));
    let looks_like_header =
        |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !first.as_deref().is_some_and(looks_like_header) {
        return Err(MessageError::NotMail);
    }
    let mut msg = Message {
        headers: mail
            .headers
            .iter()
            .filter_map(|h| Some((decoded_name(h.key)?, h.value())))
            .collect(),
        linkedin_headers: mail.headers.iter().any(|h| is_linkedin_header(h.key)),
        top_content_type: mail.ctype.mimetype.to_ascii_lowercase(),
        ..Message::default()
    };
    msg.subject = mail.text("Subject").map(|s| html::collapse_ws(&s));
    msg.message_id = mail
        .text("Message-ID")
        .map(|s| {
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .filter(|s| !s.is_empty());
    msg.raw_date = mail.value("Date");
    msg.date = msg
        .raw_date
        .as_deref()
        .and_then(|d| mailparse::dateparse(d).ok());
    msg.from = mail
        .header("From")
        .and_then(|h| h.mail_header())
        .map(|h| parse_sender(&h))
        .unwrap_or_default();

    let mut texts = Vec::new();
    let mut htmls = Vec::new();
    let mut count = 0;
    walk(&mail, 0, &mut count, &mut texts, &mut htmls, &mut msg);
    msg.text = texts.into_iter().next();
    if let Some(h) = htmls.into_iter().next() {
        msg.mercado_layout = h.contains("mercado-container") || h.contains("text-system-gray");
        let rendered = html::render(&h);
        msg.html_lines = rendered.lines;
        msg.links
            .extend(rendered.links.into_iter().map(|l| BodyLink {
                facts: super::linkedin::LinkFacts::of(&l.href),
                url: l.href,
                label: l.text,
                hidden: l.hidden,
            }));
    }
    if let Some(t) = &msg.text {
        let found = text_links(t, &msg.links);
        msg.links.extend(found);
    }
    Ok(msg)
}

/// The `DECODED_HEADERS` entry that the raw header name `key` is (ASCII, any case). Compared
/// as bytes: the name as text is `key` read as Latin-1, whose non-ASCII characters never
/// equal an ASCII letter, so this is the lower-cased text name compared as text, without
/// a lower-cased copy of every name.
fn decoded_name(key: &[u8]) -> Option<&'static str> {
    DECODED_HEADERS
        .iter()
        .copied()
        .find(|n| key.eq_ignore_ascii_case(n.as_bytes()))
}

/// Whether the raw header name `key` starts with `x-linkedin-` (ASCII, any case): as
/// `decoded_name`, the lower-cased Latin-1 name's `starts_with("x-linkedin-")`.
fn is_linkedin_header(key: &[u8]) -> bool {
    const PREFIX: &[u8] = b"x-linkedin-";
    key.get(..PREFIX.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(PREFIX))
}

fn parse_sender(h: &mailparse::MailHeader) -> Sender {
    match mailparse::addrparse_header(h) {
        Ok(list) => {
            for addr in list.iter() {
                match addr {
                    mailparse::MailAddr::Single(s) => {
                        return Sender {
                            display_name: s
                                .display_name
                                .as_deref()
                                .map(html::collapse_ws)
                                .filter(|n| !n.is_empty()),
                            address: Some(s.addr.trim().to_ascii_lowercase()),
                        }
                    }
                    mailparse::MailAddr::Group(g) => {
                        if let Some(s) = g.addrs.first() {
                            return Sender {
                                display_name: s.display_name.clone(),
                                address: Some(s.addr.trim().to_ascii_lowercase()),
                            };
                        }
                    }
                }
            }
            Sender::default()
        }
        Err(_) => {
            // Unparseable From: keep what a reader would see, find an address if any.
            let v = h.get_value();
            let addr = v
                .split(|c: char| c == '<' || c == '>' || c.is_whitespace())
                .find(|t| t.contains('@'))
                .map(|t| {
                    t.trim_matches(|c: char| c == '"' || c == ',')
                        .to_ascii_lowercase()
                });
            Sender {
                display_name: Some(html::collapse_ws(&v)).filter(|s| !s.is_empty()),
                address: addr,
            }
        }
    }
}

fn walk(
    part: &Part,
    depth: usize,
    count: &mut usize,
    texts: &mut Vec<String>,
    htmls: &mut Vec<String>,
    msg: &mut Message,
) {
    *count += 1;
    if depth > MAX_DEPTH || *count > MAX_PARTS {
        return;
    }
    // Lower-case already: mailparse's `parse_content_type` lower-cases the type, and the
    // default it gives a part without Content-Type is lower-case too. Borrowed, not copied.
    let ctype = part.ctype.mimetype.as_str();
    if let Some(cid) = part.text("Content-ID") {
        let cid = cid.trim().trim_matches(['<', '>']);
        if cid.eq_ignore_ascii_case("text-body") || cid.eq_ignore_ascii_case("html-body") {
            msg.linkedin_content_ids = true;
        }
    }
    let is_attachment = part.text("Content-Disposition").is_some_and(|d| {
        mailparse::parse_content_disposition(&d).disposition
            == mailparse::DispositionType::Attachment
    });
    if ctype.starts_with("multipart/") {
        for sub in &part.subparts {
            walk(sub, depth + 1, count, texts, htmls, msg);
        }
        return;
    }
    if ctype == "message/rfc822" || is_attachment {
        msg.has_attachments = true;
        return;
    }
    // Only the first part of each kind that decodes is read, so later ones are not
    // decoded at all.
    if ctype == "text/plain" || (ctype.is_empty() && depth == 0) {
        if texts.is_empty() {
            if let Ok(body) = body_text(part) {
                texts.push(body);
            }
        }
    } else if ctype == "text/html" && htmls.is_empty() {
        if let Ok(body) = body_text(part) {
            htmls.push(body);
        }
    }
}

/// The decoded text of a part: `ParsedMail::get_body`, with quoted-printable decoded by
/// our faster `qp`, base64 by `mime::decode_base64`, and the charset step done as mailparse
/// does it.
fn body_text(part: &Part) -> Result<String, mailparse::MailParseError> {
    let (bytes, ctype) = match part.body_encoded() {
        Body::QuotedPrintable(b) => (super::qp::decode(b.get_raw()), b.get_content_type()),
        Body::Base64(b) => match super::mime::decode_base64(b.get_raw()) {
            Some(bytes) => (bytes, b.get_content_type()),
            None => {
                return Err(mailparse::MailParseError::Generic(
                    "the base64 body does not decode",
                ))
            }
        },
        _ => return part.body(),
    };
    Ok(decoded_text(bytes, &ctype.charset))
}

/// Decoded body bytes as text in the charset called `label`, as mailparse's
/// `get_body_as_string`.
fn decoded_text(bytes: Vec<u8>, label: &str) -> String {
    let found = charset::Charset::for_label(label.as_bytes());
    // UTF-8 without a byte order mark (the usual case) that is valid decodes to itself:
    // checking it once, as it becomes a `String`, is all the decoder below would do, and
    // that decoder's check was then done twice.
    let bytes = if found.is_some_and(|cs| cs.name() == "UTF-8")
        && charset::Charset::for_bom(&bytes).is_none()
    {
        match String::from_utf8(bytes) {
            Ok(text) => return text,
            Err(e) => e.into_bytes(),
        }
    } else {
        bytes
    };
    let text = match found {
        Some(cs) => cs.decode(&bytes).0,
        None => charset::decode_ascii(&bytes),
    };
    // When the decoder hands back all of our own bytes untouched (UTF-8 or ASCII text, the
    // usual case), they are the text: keep the buffer rather than copy it.
    let untouched =
        matches!(&text, Cow::Borrowed(t) if std::ptr::eq(t.as_bytes(), bytes.as_slice()));
    if !untouched {
        return text.into_owned();
    }
    drop(text);
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Finds URLs in plain text with the label before them on the same line
/// ("Accept: https://..."). Entities are decoded first because some exports of text parts
/// carry `&amp;` inside URLs.
///
/// Only lines holding a "://" or a '&' (a character reference may decode to one) can hold
/// a link, and text parts are mostly lines without either: those are found by searching
/// the whole text, and only their lines are cut out and read, rather than splitting every
/// line and decoding and searching each.
///
/// `known` are links read already (the HTML part's): a URL found among them takes their
/// facts rather than working them out again (see `facts_of`).
pub fn text_links(text: &str, known: &[BodyLink]) -> Vec<BodyLink> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    // The next '&' and "://", each searched again only once the lines read have passed it.
    let mut amp = memchr::memchr(b'&', b);
    let mut sep = scheme_sep().find(b);
    let mut known = Known {
        links: known,
        next: 0,
    };
    while let Some(hit) = [amp, sep].into_iter().flatten().min() {
        // As `str::lines` cuts it: at '\n', less a '\r' just before the '\n'.
        let start = memchr::memrchr(b'\n', &b[..hit]).map_or(0, |i| i + 1);
        // `from`: where the next line starts.
        let (end, from) = match memchr::memchr(b'\n', &b[hit..]) {
            Some(i) => (hit + i, hit + i + 1),
            None => (b.len(), b.len()),
        };
        let line = &text[start..end];
        let line = if end < b.len() {
            line.strip_suffix('\r').unwrap_or(line)
        } else {
            line
        };
        line_links(line, &mut known, &mut out);
        if amp.is_some_and(|a| a < from) {
            amp = memchr::memchr(b'&', &b[from..]).map(|i| from + i);
        }
        if sep.is_some_and(|s| s < from) {
            sep = scheme_sep().find(&b[from..]).map(|i| from + i);
        }
    }
    out
}

/// The links of one line of text, as `text_links` reads them.
fn line_links(raw_line: &str, known: &mut Known, out: &mut Vec<BodyLink>) {
    let line = html::decode_entities(raw_line);
    let mut rest: &str = &line;
    let mut consumed_label = false;
    while let Some(pos) = find_url_start(rest) {
        let label = if consumed_label {
            String::new()
        } else {
            rest[..pos].trim().trim_end_matches(':').trim().to_string()
        };
        consumed_label = true;
        let tail = &rest[pos..];
        let end = url_end(tail);
        let url = tail[..end].trim_end_matches(['.', ',', ';']);
        out.push(BodyLink {
            facts: facts_of(url, known),
            url: url.to_string(),
            label,
            hidden: false,
        });
        rest = &tail[end..];
    }
}

/// `LinkFacts::of(url)`, copied from a known link with the same URL when there is one: the
/// text part of LinkedIn's mail repeats most of the HTML part's links (about 180 of the 304
/// text links in the fixtures), and a link's facts cost far more than comparing a few dozen
/// URLs (lengths first).
///
/// The two parts list their links in the same order, so the search starts after the last
/// link found (`Known::next`) and mostly finds the next one first: searching from the
/// start each time compared about 400 URLs per text link over the fixtures (0.7M
/// instructions per pass). At most `MAX_KNOWN` are compared, so hostile mail with
/// thousands of links in each part costs linear work, not a comparison per pair: the facts
/// are the same either way, as they depend on the URL only.
fn facts_of(url: &str, known: &mut Known) -> super::linkedin::LinkFacts {
    const MAX_KNOWN: usize = 256;
    let (head, tail) = known.links.split_at(known.next.min(known.links.len()));
    let found = tail
        .iter()
        .chain(head)
        .take(MAX_KNOWN)
        .position(|l| l.url == url);
    match found {
        Some(k) => {
            let j = (known.next + k) % known.links.len();
            known.next = j + 1;
            known.links[j].facts.clone()
        }
        None => super::linkedin::LinkFacts::of(url),
    }
}

/// Links read already, and where `facts_of` looks first.
struct Known<'a> {
    links: &'a [BodyLink],
    /// Just after the last link found.
    next: usize,
}

/// A searcher for "://", built once: `memmem::find_iter` builds one per call, and this
/// runs per line.
fn scheme_sep() -> &'static memmem::Finder<'static> {
    static SCHEME_SEP: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"://"));
    &SCHEME_SEP
}

/// Where a URL that starts `tail` ends: at the first whitespace character or one of
/// `<>")]`. Classified byte by byte from a table (`URL_END`), decoding a character only at
/// non-ASCII bytes: URLs are long and ASCII, and a chain of comparisons per byte was most
/// of `text_links`' own time.
fn url_end(tail: &str) -> usize {
    let b = tail.as_bytes();
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|&c| URL_END[usize::from(c)]) {
        i += k;
        if b[i].is_ascii() {
            return i;
        }
        let ch = tail[i..].chars().next().unwrap_or_default();
        if ch.is_whitespace() {
            return i;
        }
        i += ch.len_utf8();
    }
    b.len()
}

/// The bytes `url_end` stops at: the ASCII characters `char::is_whitespace` accepts, the
/// delimiters, and every non-ASCII byte (to be decoded and looked at as a character).
static URL_END: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c >= 0x80
            || matches!(
                c as u8,
                b'\t'..=b'\r' | b' ' | b'<' | b'>' | b'"' | b')' | b']'
            );
        c += 1;
    }
    t
};

/// Where the first `http://` or `https://` (any case) starts. Found from the "://" (rare
/// in text) rather than from every "h": the first "://" preceded by "http" or "https"
/// gives the earliest start, since two "://" are at least three bytes apart.
fn find_url_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    scheme_sep().find_iter(b).find_map(|p| {
        if p >= 4 && b[p - 4..p].eq_ignore_ascii_case(b"http") {
            Some(p - 4)
        } else if p >= 5 && b[p - 5..p].eq_ignore_ascii_case(b"https") {
            Some(p - 5)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_link_labels() {
        let l = text_links(
            "Accept: https://www.linkedin.com/x?a=1&amp;b=2\nView Bob's profile: http://y.example/p.",
            &[],
        );
        assert_eq!(l[0].label, "Accept");
        assert_eq!(l[0].url, "https://www.linkedin.com/x?a=1&b=2");
        assert_eq!(l[1].label, "View Bob's profile");
        assert_eq!(l[1].url, "http://y.example/p");
    }

    /// `text_links` as it was before it skipped lines: every line split and read.
    fn reference_text_links(text: &str) -> Vec<BodyLink> {
        let mut out = Vec::new();
        let mut known = Known {
            links: &[],
            next: 0,
        };
        for raw_line in text.lines() {
            line_links(raw_line, &mut known, &mut out);
        }
        out
    }

    #[test]
    fn text_links_as_reading_every_line() {
        let texts: Vec<String> = [
            "",
            "\n",
            "https://a.b/x",
            "Accept: https://a.b/x\r\nView: http://c.d/y.\r\n",
            "x\r\nhttps://a.b/x\r",
            "a &amp; b\nhttps&#58;//a.b/x &amp; http&colon;&sol;/c.d\r\n&\n&&://\n://",
            "no links\nat all: ://x\nftp://y &lt;z&gt;\r\n\r\n",
            "L1: https://a.b/1 https://a.b/2\nL2 https://a.b/3&amp;x=1\n\nHTTPS://A.B/4\n",
            "é: https://a.b/é\u{2028}x\r\r\nx\rhttps://a.b/5\n\u{85}https://a.b/6",
        ]
        .map(String::from)
        .to_vec();
        let mut cases: Vec<(String, Vec<BodyLink>)> =
            texts.into_iter().map(|t| (t, Vec::new())).collect();
        // With the HTML part's links known, as `read` passes them (the text part's come
        // last in `links`).
        for p in super::super::fixture_emls() {
            if let Ok(mut m) = read(&std::fs::read(&p).unwrap()) {
                if let Some(t) = m.text {
                    m.links
                        .truncate(m.links.len() - reference_text_links(&t).len());
                    cases.push((t, m.links));
                }
            }
        }
        for (t, known) in &cases {
            assert_eq!(text_links(t, known), reference_text_links(t), "{t:?}");
        }
    }

    #[test]
    fn url_end_as_char_search() {
        for s in [
            "",
            "https://a/b c",
            "https://a/b\u{0B}c",
            "https://a/b\u{A0}c",
            "https://a/é\u{3000}x",
            "https://a/b)c",
            "https://a/b]",
            "x<y",
            "a\"b",
            "é\u{2028}",
            "\u{85}",
            "abc",
        ] {
            assert_eq!(url_end(s), url_end_reference(s), "{s:?}");
        }
        // Random strings over ASCII, delimiters and multi-byte characters, whitespace or not.
        const PIECES: &[&str] = &[
            "a", "/", "%", "?", "=", "&", " ", "\t", "\u{0B}", "<", ">", "\"", ")", "]", "(", "é",
            "\u{A0}", "\u{2028}", "\u{3000}", "\u{85}", "字", "😀",
        ];
        let mut rng = super::super::TestRng::new(0x1405_7b7e_f767_814f);
        for _ in 0..5000 {
            let s: String = (0..rng.next() % 40)
                .map(|_| PIECES[rng.next() % PIECES.len()])
                .collect();
            assert_eq!(url_end(&s), url_end_reference(&s), "{s:?}");
        }
    }

    /// `url_end` as a character search.
    fn url_end_reference(s: &str) -> usize {
        s.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | ')' | ']'))
            .unwrap_or(s.len())
    }

    #[test]
    fn url_start_is_the_first_http_scheme() {
        // The previous search: the first "http" (any case) followed by "://" or "s://".
        fn reference(s: &str) -> Option<usize> {
            let l = s.to_ascii_lowercase().into_bytes();
            (0..l.len())
                .find(|&i| l[i..].starts_with(b"http://") || l[i..].starts_with(b"https://"))
        }
        for s in [
            "",
            "://",
            "http:/",
            "x http://a",
            "HTTPS://a http://b",
            "hhttps://x",
            "httphttp://x",
            "ftp://a then Https://b",
            "é://é https://é",
            "https:// http://",
            "xhttps:/ /https://ok",
        ] {
            assert_eq!(find_url_start(s), reference(s), "{s:?}");
        }
    }

    /// Our decoding of every text part is mailparse's `get_body`, on every fixture.
    #[test]
    fn body_text_is_mailparse_body_on_fixtures() {
        let mut n = 0;
        super::super::each_fixture_part(&mut |part| {
            if part.ctype.mimetype.starts_with("text/") {
                assert_eq!(body_text(part).ok(), part.body().ok());
                n += 1;
            }
        });
        assert!(n > 0);
    }

    /// `decoded_text` is mailparse's charset step (`get_body` of an 8-bit part), for
    /// UTF-8 with and without byte order marks, invalid UTF-8, and other charsets.
    #[test]
    fn decoded_text_is_mailparse_charset_step() {
        let labels = [
            "utf-8",
            "UTF8",
            "unicode-1-1-utf-8",
            "",
            "us-ascii",
            "iso-8859-1",
            "utf-16",
            "utf-16be",
            "utf-7",
            "bogus",
        ];
        let bodies: &[&[u8]] = &[
            b"",
            b"abc",
            b"\xef\xbb\xbfabc",
            b"\xef\xbb",
            b"\xff\xfea\x00b\x00",
            b"\xfe\xff\x00a",
            b"caf\xc3\xa9",
            b"caf\xc3",
            b"\xe9t\xe9",
            b"+AGEAYg-",
        ];
        for label in labels {
            for body in bodies {
                let mut raw = format!(
                    "Content-Type: text/plain; charset=\"{label}\"\r\n\
                     Content-Transfer-Encoding: 8bit\r\n\r\n"
                )
                .into_bytes();
                raw.extend_from_slice(body);
                let reference = mailparse::parse_mail(&raw).unwrap().get_body().unwrap();
                assert_eq!(
                    decoded_text(body.to_vec(), label),
                    reference,
                    "{label} {body:?}"
                );
            }
        }
    }

    /// The header names kept and the X-LinkedIn-* test, compared as raw bytes, are what
    /// lower-casing each name read as Latin-1 gives, on every fixture header and on names
    /// with non-ASCII bytes, odd case and near misses.
    #[test]
    fn header_names_as_lower_cased_text() {
        let mut keys: Vec<Vec<u8>> = [
            &b""[..],
            b"Sender",
            b"SENDER",
            b"sender ",
            b"Sender\xe9",
            b"\xe9Sender",
            b"Return-Path",
            b"reply-TO",
            b"Authentication-Results",
            b"X-LinkedIn-Template",
            b"x-linkedin-",
            b"X-LINKEDIN-\xff",
            b"x-linkedin",
            b"X-LinkedIn\xadx",
            b"\xd8-linkedin-x",
        ]
        .map(<[u8]>::to_vec)
        .to_vec();
        for p in super::super::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            if let Ok(part) = super::super::mime::parse(&raw) {
                keys.extend(part.headers.iter().map(|h| h.key.to_vec()));
            }
        }
        for key in &keys {
            let name = charset::decode_latin1(key).to_ascii_lowercase();
            let kept = DECODED_HEADERS.iter().copied().find(|n| *n == name);
            assert_eq!(decoded_name(key), kept, "{key:?}");
            assert_eq!(
                is_linkedin_header(key),
                name.starts_with("x-linkedin-"),
                "{key:?}"
            );
        }
    }

    /// `walk` reads a part's MIME type as it is, because it is lower-case already: on
    /// every fixture part, and from Content-Type values in odd case.
    #[test]
    fn mime_types_are_lower_case() {
        super::super::each_fixture_part(&mut |part| {
            let t = &part.ctype.mimetype;
            assert_eq!(*t, t.to_ascii_lowercase());
        });
        for v in [
            "TEXT/HTML",
            "Text/Plain; charset=UTF-8",
            "MULTIPART/Mixed",
            "\u{212A}/X",
        ] {
            let t = mailparse::parse_content_type(v).mimetype;
            assert_eq!(t, t.to_ascii_lowercase(), "{v:?}");
        }
    }

    /// Lower-casing the Content-Transfer-Encoding in place picks the same body as
    /// `to_lowercase` did, for the names in any case and values that only look like them.
    #[test]
    fn transfer_encodings_in_any_case() {
        for te in [
            "BASE64",
            "Quoted-Printable",
            "quoted-pr\u{130}ntable",
            "quoted-printable\u{307}",
            "7BIT",
            "8Bit",
            "b\u{130}nary",
            "BINARY",
            "x-uuencode",
            "base\u{212A}64",
        ] {
            let raw = format!(
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: {te}\r\n\r\nQUJD\r\n"
            );
            let part = super::super::mime::parse(raw.as_bytes()).unwrap();
            let theirs = mailparse::parse_mail(raw.as_bytes()).unwrap();
            assert_eq!(part.body().ok(), theirs.get_body().ok(), "{te:?}");
            fn kind(b: &Body) -> &'static str {
                match b {
                    Body::Base64(_) => "base64",
                    Body::QuotedPrintable(_) => "quoted-printable",
                    Body::SevenBit(_) => "7bit",
                    Body::EightBit(_) => "8bit",
                    Body::Binary(_) => "binary",
                }
            }
            assert_eq!(
                kind(&part.body_encoded()),
                kind(&theirs.get_body_encoded()),
                "{te:?}"
            );
        }
    }

    #[test]
    fn garbage_is_error_or_message_never_panic() {
        for raw in [
            &b""[..],
            b"\n\n",
            b"From: \xff\xfe\n\nbody",
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--",
            b"Subject: =?utf-8?B?####?=\n\nx",
        ] {
            let _ = read(raw);
        }
    }
}
