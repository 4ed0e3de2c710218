//! Splits a message into its MIME parts exactly as `mailparse::parse_mail` does, with two
//! differences. The boundary lines are found with memchr's substring search: mailparse
//! compares byte by byte from every `-` on (and HTML and CSS are full of them), which was
//! almost a tenth of all extraction time. And header lines are split with memchr too, where
//! mailparse steps a state machine through every byte of every header, DKIM signatures and
//! Received chains included, though we read the values of only a few. Content-Type, the
//! transfer-encoded body and header values are still mailparse's own types and functions,
//! so everything read from a part is what `ParsedMail` would give.

use std::borrow::Cow;

use mailparse::body::Body;
use mailparse::{MailHeader, MailParseError, ParsedContentType};
use memchr::memmem::{self, Finder};
use memchr::{memchr, memchr2};

/// One header, split as mailparse's `parse_header` splits it.
pub struct Header<'a> {
    /// The name as written (`MailHeader::get_key_raw`).
    pub key: &'a [u8],
    /// The whole header, line ends included: `mailparse::parse_header` gives back this very
    /// header from it, for the value decoding and address parsing only it does.
    whole: &'a [u8],
    /// The value as written (`MailHeader::get_value_raw`).
    raw_value: &'a [u8],
}

impl<'a> Header<'a> {
    /// Whether this is the header `name` (ASCII, any case), as mailparse's lookups match.
    pub fn is(&self, name: &str) -> bool {
        self.key.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The name, read as Latin-1 (`MailHeader::get_key_ref`).
    pub fn key(&self) -> Cow<'a, str> {
        charset::decode_latin1(self.key)
    }

    /// mailparse's own type for this header. Always `Some`: `whole` starts with neither a
    /// space nor a line end, the only inputs `parse_header` refuses.
    pub fn mail_header(&self) -> Option<MailHeader<'a>> {
        mailparse::parse_header(self.whole).ok().map(|(h, _)| h)
    }

    /// The decoded value (`MailHeader::get_value`).
    ///
    /// Values without an encoded word (no `=?`), nearly all of them, are only unfolded,
    /// which is done here; mailparse parses the header again and runs its RFC 2047
    /// tokenizer over every value, which was about 3% of extraction time.
    pub fn value(&self) -> String {
        self.text().into_owned()
    }

    /// `value`, borrowed from the message when it is the raw value itself: valid UTF-8 on
    /// one line, without an encoded word or leading whitespace, as nearly every value is.
    /// For the values that are only read, not kept, which saves a copy of each.
    pub fn text(&self) -> Cow<'a, str> {
        if memmem::find(self.raw_value, b"=?").is_some() {
            return Cow::Owned(
                self.mail_header()
                    .map(|h| h.get_value())
                    .unwrap_or_default(),
            );
        }
        let value = utf8_or_latin1(self.raw_value);
        // One line (`str::lines` gives it back whole) whose `trim_start` keeps it whole.
        if !value.contains('\n') && !value.starts_with(char::is_whitespace) {
            return value;
        }
        Cow::Owned(unfolded(&value))
    }
}

/// A header value as text: UTF-8 when it is, else Latin-1 (`MailHeader::get_value`'s
/// first step).
fn utf8_or_latin1(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => charset::decode_latin1(raw),
    }
}

/// What mailparse's `get_value` makes of a value without encoded words: its lines, each
/// without leading whitespace, joined by single spaces.
fn unfolded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (n, line) in value.lines().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(line.trim_start());
    }
    out
}

/// The raw value of a header whose name ends at the colon `colon` of `whole`, as
/// mailparse's `parse_header` delimits it: from the first byte after the colon that is not
/// a space, to the last byte that is not a CR or LF.
fn raw_value(whole: &[u8], colon: usize) -> &[u8] {
    let rest = &whole[colon + 1..];
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let rest = &rest[start..];
    let end = rest
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |e| e + 1);
    &rest[..end]
}

/// One part: what `ParsedMail` holds, minus what we never read.
pub struct Part<'a> {
    pub headers: Vec<Header<'a>>,
    pub ctype: ParsedContentType,
    body_bytes: &'a [u8],
    pub subparts: Vec<Part<'a>>,
}

impl<'a> Part<'a> {
    /// The first header called `name` (`MailHeaderMap::get_first_header`).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        first(&self.headers, name)
    }

    /// The decoded value of the first header called `name` (`get_first_value`).
    pub fn value(&self, name: &str) -> Option<String> {
        self.header(name).map(Header::value)
    }

    /// `value`, borrowed when it can be (see `Header::text`).
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.header(name).map(Header::text)
    }

    /// The body with its Content-Transfer-Encoding, as `ParsedMail::get_body_encoded`.
    pub fn body_encoded(&'a self) -> Body<'a> {
        // Lower-cased in place: `Body::new` tells only the five ASCII encoding names apart
        // (none with a `k`, and none with an `i` before a combining dot), and a value
        // whose `to_lowercase` is one of them is ASCII, where the two lower-casings agree.
        let transfer_encoding = self.value("Content-Transfer-Encoding").map(|mut s| {
            s.make_ascii_lowercase();
            s
        });
        Body::new(self.body_bytes, &self.ctype, &transfer_encoding)
    }

    /// The decoded body as a string, as `ParsedMail::get_body`.
    pub fn body(&'a self) -> Result<String, MailParseError> {
        match self.body_encoded() {
            Body::Base64(b) | Body::QuotedPrintable(b) => b.get_decoded_as_string(),
            Body::SevenBit(b) | Body::EightBit(b) => b.get_as_string(),
            Body::Binary(b) => b.get_as_string(),
        }
    }
}

fn first<'h, 'a>(headers: &'h [Header<'a>], name: &str) -> Option<&'h Header<'a>> {
    headers.iter().find(|h| h.is(name))
}

/// mailparse's `parse_headers`: the headers, and where the body starts.
fn parse_headers(raw: &[u8]) -> Result<(Vec<Header<'_>>, usize), MailParseError> {
    // Room for the headers of a MIME part or a short message at once: growing from empty
    // took a handful of reallocations per message.
    let mut headers = Vec::with_capacity(16);
    let mut ix = 0;
    loop {
        match &raw[ix..] {
            [] => break,
            [b'\n', ..] => {
                ix += 1;
                break;
            }
            [b'\r', b'\n', ..] => {
                ix += 2;
                break;
            }
            [b'\r', ..] => {
                return Err(MailParseError::Generic(
                    "Headers were followed by an unexpected lone CR character!",
                ))
            }
            [b' ', ..] => {
                return Err(MailParseError::Generic(
                    "Header cannot start with a space; it is likely an overhanging line \
                     from a previous header",
                ))
            }
            rest => {
                let (header, len) = parse_header(rest);
                headers.push(header);
                ix += len;
            }
        }
    }
    Ok((headers, ix))
}

/// Where mailparse's `parse_header` ends a header that starts `s` (not empty, not at a
/// space): the header and how many bytes it takes. The name runs to the first colon or line
/// end; after a colon the header runs on over every line that starts with a space or tab.
fn parse_header(s: &[u8]) -> (Header<'_>, usize) {
    let Some(k) = memchr2(b':', b'\n', s) else {
        // No colon and no line end: it is all name.
        let header = Header {
            key: s,
            whole: s,
            raw_value: &[],
        };
        return (header, s.len());
    };
    if s[k] == b'\n' {
        // A line without a colon: a name with an empty value.
        let header = Header {
            key: &s[..k],
            whole: &s[..=k],
            raw_value: &[],
        };
        return (header, k + 1);
    }
    let mut line_start = k + 1;
    let len = loop {
        let Some(p) = memchr(b'\n', &s[line_start..]) else {
            break s.len();
        };
        let next = line_start + p + 1;
        match s.get(next) {
            Some(b' ' | b'\t') => line_start = next,
            _ => break next,
        }
    };
    let header = Header {
        key: &s[..k],
        whole: &s[..len],
        raw_value: raw_value(&s[..len], k),
    };
    (header, len)
}

/// `mailparse::parse_mail`.
pub fn parse(raw: &[u8]) -> Result<Part<'_>, MailParseError> {
    parse_recursive(raw, false)
}

/// mailparse's `parse_mail_recursive`, step for step.
fn parse_recursive(raw: &[u8], in_digest: bool) -> Result<Part<'_>, MailParseError> {
    let (headers, ix_body) = parse_headers(raw)?;
    let ctype = first(&headers, "Content-Type")
        .map(|h| mailparse::parse_content_type(&h.text()))
        .unwrap_or_else(|| {
            let mut d = ParsedContentType::default();
            if in_digest {
                d.mimetype = "message/rfc822".to_string();
            }
            d
        });
    let mut part = Part {
        headers,
        body_bytes: &raw[ix_body..],
        subparts: Vec::new(),
        ctype,
    };
    let boundary = match part.ctype.params.get("boundary") {
        Some(b) if part.ctype.mimetype.starts_with("multipart/") && raw.len() > ix_body => {
            format!("--{b}")
        }
        _ => return Ok(part),
    };
    let in_digest = part.ctype.mimetype == "multipart/digest";
    let finder = Finder::new(boundary.as_bytes());
    let Some(ix_boundary_start) = find_line_prefix(&finder, raw, ix_body) else {
        return Ok(part);
    };
    part.body_bytes = &raw[ix_body..strip_trailing_crlf(raw, ix_body, ix_boundary_start)];
    let mut ix_boundary_end = ix_boundary_start + boundary.len();
    while let Some(ix_part_start) =
        memchr::memchr(b'\n', &raw[ix_boundary_end..]).map(|p| ix_boundary_end + p + 1)
    {
        let ix_part_boundary_start = find_line_prefix(&finder, raw, ix_part_start);
        let ix_part_end = ix_part_boundary_start
            .map(|x| strip_trailing_crlf(raw, ix_part_start, x))
            // No terminating boundary: the part runs to the end of the message.
            .unwrap_or(raw.len());
        part.subparts.push(parse_recursive(
            &raw[ix_part_start..ix_part_end],
            in_digest,
        )?);
        ix_boundary_end = ix_part_boundary_start
            .map(|x| x + boundary.len())
            .unwrap_or(raw.len());
        if ix_boundary_end + 2 > raw.len()
            || (raw[ix_boundary_end] == b'-' && raw[ix_boundary_end + 1] == b'-')
        {
            break;
        }
    }
    Ok(part)
}

/// The first occurrence of the boundary at or after `start` that begins a line (or is at
/// `start` itself), as mailparse's `find_from_u8_line_prefix`.
fn find_line_prefix(finder: &Finder, raw: &[u8], start: usize) -> Option<usize> {
    let mut from = start;
    while let Some(p) = finder.find(&raw[from..]) {
        let ix = from + p;
        if ix == start || raw[ix - 1] == b'\n' {
            return Some(ix);
        }
        from = ix + 1;
    }
    None
}

/// Drops one LF or CRLF before a boundary: it belongs to the boundary, not the part.
fn strip_trailing_crlf(raw: &[u8], start: usize, mut ix: usize) -> usize {
    if ix > start && raw[ix - 1] == b'\n' {
        ix -= 1;
        if ix > start && raw[ix - 1] == b'\r' {
            ix -= 1;
        }
    }
    ix
}

/// What a byte is to `decode_base64`: a symbol's 6-bit value (0-63), or one of these.
const B64_SKIP: u8 = 64;
const B64_PAD: u8 = 65;
const B64_INVALID: u8 = 66;

/// Every byte's meaning in a base64 body. Each marker has bit 6 set and no value does, so
/// four looked-up bytes are all symbols exactly when their OR is below 64.
static B64_VALUES: [u8; 256] = {
    let mut t = [B64_INVALID; 256];
    let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < symbols.len() {
        t[symbols[i] as usize] = i as u8;
        i += 1;
    }
    // `u8::is_ascii_whitespace`, what mailparse drops before decoding.
    t[b' ' as usize] = B64_SKIP;
    t[b'\t' as usize] = B64_SKIP;
    t[b'\n' as usize] = B64_SKIP;
    t[0x0c] = B64_SKIP;
    t[b'\r' as usize] = B64_SKIP;
    t[b'=' as usize] = B64_PAD;
    t
};

/// Decodes a base64 body to the bytes mailparse's `decode_base64` gives, or `None` where
/// it fails. mailparse copies the body without its ASCII whitespace into a new buffer and
/// hands that to data-encoding's `BASE64_MIME_PERMISSIVE`; this is one pass over the body
/// that skips the whitespace as it goes and decodes four symbols at a time between line
/// breaks, which was most of what decoding base64 parts cost.
///
/// The rules of that decoder, all kept: the symbols (whitespace aside) must come in blocks
/// of four; a block may end in one or two `=` and then gives two or one bytes, and decoding
/// goes on after it (`QQ==QQ==` is two bytes); a block with fewer than two symbols before
/// its padding, an `=` before a symbol, or any other byte fails the whole body; the unused
/// bits of a padded block are not checked.
pub fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    // The block being collected, when a line break or padding splits one.
    let mut block = [0u8; 4];
    let mut filled = 0;
    let mut i = 0;
    while i < input.len() {
        if filled == 0 {
            // The common case: four symbols in a row make three bytes.
            while let Some(&[a, b, c, d]) = input.get(i..i + 4) {
                let [a, b, c, d] = [a, b, c, d].map(|x| B64_VALUES[usize::from(x)]);
                if a | b | c | d >= 64 {
                    break;
                }
                let x = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                out.extend_from_slice(&x.to_be_bytes()[1..]);
                i += 4;
            }
            if i == input.len() {
                break;
            }
        }
        let v = B64_VALUES[usize::from(input[i])];
        i += 1;
        if v == B64_SKIP {
            continue;
        }
        block[filled] = v;
        filled += 1;
        if filled == 4 {
            decode_base64_block(&block, &mut out)?;
            filled = 0;
        }
    }
    // Symbols left over that do not make a block: a length data-encoding refuses.
    (filled == 0).then_some(out)
}

/// One block of four looked-up bytes, padded or not: data-encoding's `check_pad` and
/// `decode_block`.
fn decode_base64_block(block: &[u8; 4], out: &mut Vec<u8>) -> Option<()> {
    let pad = block.iter().rev().take_while(|&&v| v == B64_PAD).count();
    let symbols = &block[..4 - pad];
    if symbols.len() < 2 || symbols.iter().any(|&v| v >= 64) {
        return None;
    }
    let x = symbols
        .iter()
        .enumerate()
        .fold(0u32, |x, (j, &v)| x | u32::from(v) << (18 - 6 * j));
    out.extend_from_slice(&x.to_be_bytes()[1..symbols.len()]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same tree, headers, types and bodies as mailparse's own parse.
    fn same(ours: &Part, theirs: &mailparse::ParsedMail) {
        assert_eq!(ours.headers.len(), theirs.headers.len());
        for (a, b) in ours.headers.iter().zip(&theirs.headers) {
            assert_eq!(a.key, b.get_key_raw());
            assert_eq!(a.key(), b.get_key_ref());
            let again = a.mail_header().expect("parse_header takes it back");
            assert_eq!(again.get_key_raw(), b.get_key_raw());
            assert_eq!(again.get_value_raw(), b.get_value_raw());
            assert_eq!(a.raw_value, b.get_value_raw());
            assert_eq!(a.value(), b.get_value());
            assert_eq!(a.text(), b.get_value());
        }
        assert_eq!(ours.ctype.mimetype, theirs.ctype.mimetype);
        assert_eq!(ours.ctype.charset, theirs.ctype.charset);
        assert_eq!(ours.ctype.params, theirs.ctype.params);
        assert_eq!(
            raw_body(ours.body_encoded()),
            raw_body(theirs.get_body_encoded())
        );
        assert_eq!(ours.body().ok(), theirs.get_body().ok());
        assert_eq!(ours.subparts.len(), theirs.subparts.len());
        for (a, b) in ours.subparts.iter().zip(&theirs.subparts) {
            same(a, b);
        }
    }

    fn raw_body(b: Body<'_>) -> (&[u8], &'static str) {
        match b {
            Body::Base64(b) => (b.get_raw(), "base64"),
            Body::QuotedPrintable(b) => (b.get_raw(), "qp"),
            Body::SevenBit(b) => (b.get_raw(), "7bit"),
            Body::EightBit(b) => (b.get_raw(), "8bit"),
            Body::Binary(b) => (b.get_raw(), "binary"),
        }
    }

    fn check(raw: &[u8]) {
        match (parse(raw), mailparse::parse_mail(raw)) {
            (Ok(a), Ok(b)) => same(&a, &b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("ours ok: {}, mailparse ok: {}", a.is_ok(), b.is_ok()),
        }
    }

    #[test]
    fn same_as_mailparse_on_edge_cases() {
        for raw in [
            &b""[..],
            b"\n\n",
            b"Subject: x\n\nbody",
            b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--",
            b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\na\n--b\nContent-Type: text/html\n\n<p>b</p>\r\n--b--\nafter",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b",
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n",
            b"Content-Type: multipart/mixed; boundary=b\n\nx--b\n--b\nno end",
            b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: in\n\nx\n--b--",
            b"Content-Type: multipart/alternative; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ndeep\n--i--\n--o--\n",
            b"Content-Type: multipart/mixed\n\n--b\n\nno boundary param",
            b" leading space: x\n\nbody",
            b"\tleading tab: x\n\nbody",
            b"no colon\n continued: x\n\nbody",
            b"no colon\nA: b\n\nbody",
            b"no colon at all",
            b"A: b\rc\n\nbody",
            b"A: b\r\r\n\r\nbody",
            b"A: b\n\rx",
            b"A: b\n\r",
            b"A:",
            b"A:   ",
            b"A:   \r\nB:\n\n",
            b"A:\tx\n",
            b"A: folded\r\n\tonce\r\n  twice \r\n\r\nbody",
            b"A: x\n \n \r\n\nbody",
            b"A: x\n",
            b"A: x\n ",
            b":\n\n",
            b"S\xe9: =?utf-8?q?caf=C3=A9?=\n\nx",
            b"Subject: =?iso-8859-1?Q?=A1Hola?=\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\nx",
            b"\r\nbody only",
            b"\rx",
        ] {
            check(raw);
        }
    }

    #[test]
    fn same_as_mailparse_on_random_headers() {
        const ALPHABET: &[u8] = b"::\r\n\n\n  \tAb-\xe9";
        let mut rng = super::super::TestRng::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..5000 {
            let raw = rng.bytes(ALPHABET, 32);
            check(&raw);
        }
    }

    /// Header values with and without encoded words, folded or not, UTF-8 or not: our
    /// `value` is mailparse's `get_value`.
    #[test]
    fn header_values_same_as_mailparse() {
        const PIECES: &[&[u8]] = &[
            b"a",
            b"Bob",
            b" ",
            b"  ",
            b"\t",
            b"\r\n ",
            b"\n\t",
            b"\r\n",
            b"\r",
            b"=",
            b"?",
            b"=?",
            b"?=",
            b"=?utf-8?q?caf=C3=A9?=",
            b"=?UTF-8?B?w6k=?=",
            b"_",
            b"\xe9",
            b"\xc3\xa9",
            b"\xe2\x80\xa8",
            b"\xc2\xa0",
            b"<x@y>",
            b",",
            b"\"",
        ];
        let mut rng = super::super::TestRng::new(0x5851_f42d_4c95_7f2d);
        for _ in 0..5000 {
            let mut raw = b"Subject:".to_vec();
            for _ in 0..rng.next() % 10 {
                raw.extend_from_slice(PIECES[rng.next() % PIECES.len()]);
            }
            raw.extend_from_slice(b"\r\nX: y\r\n\r\nbody");
            check(&raw);
        }
    }

    /// mailparse's own decoding of a base64 body, the reference for `decode_base64`.
    fn base64_reference(body: &[u8]) -> Option<Vec<u8>> {
        super::super::mailparse_decoded("base64", body).ok()
    }

    #[test]
    fn base64_same_as_mailparse() {
        let cases: &[&[u8]] = &[
            b"",
            b"\r\n",
            b" \t\x0c\r\n",
            b"QUJD",
            b"QUJDRA==",
            b"QUJDRA=",
            b"QUJDRA",
            b"QUJDREU=",
            b"QUJDREVG\r\nR0g=\r\n",
            b"QU\r\nJD\r\n",
            b"Q U J D",
            b"QQ==QQ==",
            b"QQ==QUJD",
            b"QQ==x",
            b"QQ==\r\n-- garbage after the end",
            b"Q===",
            b"====",
            b"=QUJ",
            b"Q=UJ",
            b"QU=J",
            b"QUJ=",
            b"QUI=",
            b"QR==",
            b"QUJD\x0b",
            b"QUJD\xff",
            b"QUJ\x00",
            b"QUJD-_",
            b"QUJD=\r\n",
            b"QUJDR\r\n=\r\n=\r\n",
            b"QUJDRA=\r\n=",
            b"////++++",
        ];
        for c in cases {
            assert_eq!(
                decode_base64(c),
                base64_reference(c),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
    }

    /// Random bodies over the bytes that matter to the decoder, against the reference:
    /// short ones where padding, whitespace and bad bytes fall anywhere, and long ones of
    /// mostly symbols, which take the four-at-a-time path.
    #[test]
    fn base64_same_as_mailparse_on_random_bodies() {
        const ALPHABET: &[u8] = b"QUJDZm+/==\r\n \t\x0b\xff-";
        const MOSTLY_SYMBOLS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n";
        let mut rng = super::super::TestRng::new(0xd1b5_4a32_d192_ed03);
        for _ in 0..5000 {
            let body = rng.bytes(ALPHABET, 24);
            assert_eq!(decode_base64(&body), base64_reference(&body), "{body:?}");
            let body = rng.bytes(MOSTLY_SYMBOLS, 200);
            assert_eq!(decode_base64(&body), base64_reference(&body), "{body:?}");
        }
    }

    /// Random data encoded as mail encodes it (76-symbol lines, CRLF or LF, sometimes
    /// without its padding or with trailing whitespace) decodes as mailparse decodes it.
    #[test]
    fn base64_same_as_mailparse_on_encoded_data() {
        const SYMBOLS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = super::super::TestRng::new(0x8cb9_2ba7_2f3d_8dd7);
        for n in 0..2000 {
            let data: Vec<u8> = (0..rng.next() % 300).map(|_| rng.next() as u8).collect();
            let mut symbols = Vec::new();
            for chunk in data.chunks(3) {
                let x = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |x, (j, &b)| x | u32::from(b) << (16 - 8 * j));
                for j in 0..4 {
                    symbols.push(if j <= chunk.len() {
                        SYMBOLS[(x >> (18 - 6 * j) & 63) as usize]
                    } else {
                        b'='
                    });
                }
            }
            if n % 5 == 1 {
                while symbols.last() == Some(&b'=') {
                    symbols.pop();
                }
            }
            let line_end: &[u8] = if n % 2 == 0 { b"\r\n" } else { b"\n" };
            let mut body = Vec::new();
            for line in symbols.chunks(76) {
                body.extend_from_slice(line);
                if n % 7 == 3 {
                    body.extend_from_slice(b" \t");
                }
                body.extend_from_slice(line_end);
            }
            let decoded = decode_base64(&body);
            assert_eq!(decoded, base64_reference(&body), "{body:?}");
            if n % 5 != 1 {
                assert_eq!(decoded.as_deref(), Some(&data[..]));
            }
        }
    }

    #[test]
    fn same_as_mailparse_on_fixtures() {
        let mut n = 0;
        for p in super::super::fixture_emls() {
            check(&std::fs::read(&p).unwrap());
            n += 1;
        }
        assert!(n > 0);
    }
}
