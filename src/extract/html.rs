//! Turns an HTML mail body into what a reader sees: visible text as lines, one per block,
//! plus the links with their anchor text. Hidden elements (preheaders, `display:none`
//! decoys that phishers use to dilute link statistics) are dropped from the text but
//! their links are still collected, so link-host checks see everything.
//!
//! This is a tolerant tokenizer, not a conforming HTML parser: mail HTML is often broken,
//! and all we need is text order, block boundaries and hrefs. It never panics.
//!
//! It runs over every byte of every HTML part, so it avoids per-tag allocations: tag names
//! are compared in place, attribute values are borrowed unless they hold entities.

use std::borrow::Cow;

use memchr::memchr;

use super::ascii::find_ci as find_ascii_ci;
use super::tags::{self, KEY_LEN};

/// A link found in the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub href: String,
    /// Visible anchor text, whitespace-collapsed.
    pub text: String,
    /// Whether the link sits inside a hidden element.
    pub hidden: bool,
}

/// Visible lines and all links of an HTML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub lines: Vec<String>,
    pub links: Vec<Link>,
}

struct Open<'a> {
    /// Tag name as written (compared ASCII case-insensitively): borrowed, because copying
    /// it was an allocation per tag.
    name: &'a str,
    /// The name's `tags::key`: closing tags find their element by it.
    key: u128,
    /// This element or one around it is hidden: the stack only grows and shrinks at the
    /// top, so carrying the flag down answers "is anything open hidden" in O(1).
    hidden: bool,
    /// Index of the innermost link open here or around it, carried down like `hidden`.
    link: Option<usize>,
}

impl Open<'_> {
    /// Whether this element has the name `name` (with key `key`), ASCII case-insensitively.
    fn is(&self, name: &str, key: u128) -> bool {
        // Equal keys are equal names unless both are longer than a key holds.
        self.key == key
            && self.name.len() == name.len()
            && (name.len() <= KEY_LEN || self.name.eq_ignore_ascii_case(name))
    }
}

/// `tags::key` of the names `render` looks for itself.
const KEY_A: u128 = tags::key(b"a");
const KEY_IMG: u128 = tags::key(b"img");

/// Renders `html` into visible lines and links.
pub fn render(html: &str) -> Rendered {
    let mut out = Rendered::default();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut line = Line::default();
    let mut scratch = String::new();
    let mut words = Words::default();
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;

    while let Some(lt) = find_byte(b'<', bytes.get(i..).unwrap_or_default()) {
        i += lt;
        // Flush text before the tag.
        if text_start < i {
            let raw = &html[text_start..i];
            push_text(&mut out, &mut line, stack.last(), raw);
        }
        if matches!(bytes.get(i + 1), Some(b'!' | b'?')) {
            i = skip_markup_declaration(html, i);
            text_start = i;
            continue;
        }
        let Some(tag) = read_tag(bytes, i, &mut words) else {
            // A lone '<' in text: treat it as text.
            i += 1;
            continue;
        };
        i = tag.end + 1;
        text_start = i;
        if !tag.named {
            continue;
        }
        // Every position below is at an ASCII byte (or the end): char boundaries.
        let name = &html[tag.name.0..tag.name.1];
        let attrs = &html[tag.name.1..tag.end];
        let kind = tags::kind_of_key(tag.key);
        if kind.block {
            break_line(&mut out, &mut line);
        }
        if tag.closing {
            if let Some(pos) = stack.iter().rposition(|o| o.is(name, tag.key)) {
                stack.truncate(pos);
            }
            continue;
        }
        if kind.skip_content {
            // Skip to the matching close tag.
            let close = format!("</{name}");
            let end = find_ascii_ci(&bytes[i..], close.as_bytes())
                .map(|e| i + e)
                .unwrap_or(bytes.len());
            let after = memchr(b'>', &bytes[end..])
                .map(|e| end + e + 1)
                .unwrap_or(bytes.len());
            i = after;
            text_start = i;
            continue;
        }
        // An opening tag's text starts with its name.
        if kind.void || ends_with_slash(&html[tag.name.0..tag.end]) {
            if tag.key == KEY_IMG {
                // An image's alt text is not body text, but a tracking pixel or logo link is
                // still a link: record src for the host check.
                if let Some(src) = words.read(attrs, tag.name.1, b"src", false).link {
                    out.links.push(Link {
                        href: decode_entities(src).into_owned(),
                        text: String::new(),
                        hidden: true,
                    });
                }
            }
            continue;
        }
        let parent = stack.last();
        let hidden_around = parent.is_some_and(|o| o.hidden);
        let link_name: &[u8] = if tag.key == KEY_A { b"href" } else { b"" };
        let found = words.read(attrs, tag.name.1, link_name, true);
        let hidden = found.hides(attrs, &mut scratch);
        let mut link = parent.and_then(|o| o.link);
        if let Some(href) = found.link {
            out.links.push(Link {
                href: decode_entities(href).into_owned(),
                text: String::new(),
                hidden: hidden || hidden_around,
            });
            link = Some(out.links.len() - 1);
        }
        stack.push(Open {
            name,
            key: tag.key,
            hidden: hidden || hidden_around,
            link,
        });
    }
    if text_start < bytes.len() {
        let raw = &html[text_start..];
        push_text(&mut out, &mut line, stack.last(), raw);
    }
    break_line(&mut out, &mut line);
    out
}

/// Where a comment (`<!--...-->`), doctype or processing instruction starting at `lt`
/// ends: after its end, or the end of the text.
fn skip_markup_declaration(html: &str, lt: usize) -> usize {
    let bytes = html.as_bytes();
    if html[lt..].starts_with("<!--") {
        return html[lt + 4..]
            .find("-->")
            .map(|e| lt + 4 + e + 3)
            .unwrap_or(bytes.len());
    }
    memchr(b'>', &bytes[lt..])
        .map(|e| lt + e + 1)
        .unwrap_or(bytes.len())
}

/// Whether a tag's text (between '<' and '>') ends with '/' once trailing whitespace is
/// trimmed: a self-closing tag. The last byte decides unless it may be whitespace.
fn ends_with_slash(inner: &str) -> bool {
    match inner.as_bytes().last() {
        Some(b'/') => true,
        Some(c) if c.is_ascii() && !is_ascii_space(*c) => false,
        _ => inner.trim_end().ends_with('/'),
    }
}

/// One tag as `read_tag` finds it.
struct Tag {
    /// It starts with '/'.
    closing: bool,
    /// Its name (after any '/'): start and end.
    name: (usize, usize),
    /// The name is a name: not empty, of letters, digits, ':' and '-', and followed by
    /// whitespace, '/' or the end of the tag.
    named: bool,
    /// `tags::key` of the name.
    key: u128,
    /// Its '>'.
    end: usize,
}

/// Reads the tag whose '<' is at `lt`: its name (lower-cased into its key on the way), its
/// end, and into `words` where its attribute text has words rendering may read. None if
/// it is no tag (a lone '<').
///
/// Finding the end, then walking the attribute text again word by word for the attributes,
/// read every tag twice: one pass over the bytes now finds both (`scan_tag`).
fn read_tag(bytes: &[u8], lt: usize, words: &mut Words) -> Option<Tag> {
    // A tag must start with a letter or '/' to be a tag at all.
    let first = *bytes.get(lt + 1)?;
    if !(first.is_ascii_alphabetic() || first == b'/') {
        return None;
    }
    let mut start = lt + 1;
    while bytes.get(start) == Some(&b'/') {
        start += 1;
    }
    let mut end = start;
    while bytes.get(end).is_some_and(|&c| NAME_BYTE[usize::from(c)]) {
        end += 1;
    }
    let key = name_key(bytes, start, end);
    // The name holds no quote or '>': the tag's end is found from the name's end as from
    // its start.
    words.clear();
    let tag_end = scan_tag(bytes, end, words)?;
    let named = end > start
        && bytes
            .get(end)
            .is_some_and(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>');
    Some(Tag {
        closing: first == b'/',
        name: (start, end),
        named,
        key,
        end: tag_end,
    })
}

/// The bytes a tag name is made of: ASCII letters, digits, ':' and '-' (one load per byte,
/// where the class test was a handful of comparisons).
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b':' || b == b'-';
        c += 1;
    }
    t
};

/// `tags::key` of the name `bytes[start..end]`, read as one number: built byte by byte,
/// its shifts of a 128-bit number cost more than reading the name.
fn name_key(bytes: &[u8], start: usize, end: usize) -> u128 {
    let len = end - start;
    let word = match bytes.get(start..).and_then(<[u8]>::first_chunk::<KEY_LEN>) {
        Some(chunk) => u128::from_le_bytes(*chunk),
        None => return tags::key(bytes.get(start..end).unwrap_or_default()),
    };
    let lower = word | u128::from_le_bytes([0x20; KEY_LEN]);
    lower & NAME_MASK[len.min(KEY_LEN)]
}

/// The mask of the first `n` bytes of a key, for every `n` up to `KEY_LEN`: one load per
/// tag, where shifting a 128-bit number by a variable count took a dozen instructions.
static NAME_MASK: [u128; KEY_LEN + 1] = {
    let mut t = [0u128; KEY_LEN + 1];
    let mut n = 1;
    while n <= KEY_LEN {
        t[n] = t[n - 1] << 8 | 0xFF;
        n += 1;
    }
    t
};

/// How many word starts `Words` keeps; a tag with more is read again as a whole.
const MAX_WORDS: usize = 16;

/// The positions in a tag where a word separated by ASCII whitespace starts with 's' or
/// 'h' in any case: where `style`, `hidden`, `href` and `src` may start. The attributes
/// rendering reads are found among them without reading the attribute text again.
#[derive(Default)]
struct Words {
    at: [usize; MAX_WORDS],
    /// How many were found (more than `MAX_WORDS` when some were not kept).
    n: usize,
}

impl Words {
    fn clear(&mut self) {
        self.n = 0;
    }

    #[inline]
    fn push(&mut self, pos: usize) {
        if let Some(slot) = self.at.get_mut(self.n) {
            *slot = pos;
        }
        self.n += 1;
    }

    /// What `TagAttrs::scan(attrs, link, hiding)` reads, given that `attrs` starts at
    /// `from` and these are its words (`link` must start with 's' or 'h').
    fn read<'a>(&self, attrs: &'a str, from: usize, link: &[u8], hiding: bool) -> TagAttrs<'a> {
        debug_assert!(link.first().is_none_or(|c| matches!(c | 0x20, b's' | b'h')));
        match self.at.get(..self.n) {
            Some(kept) => TagAttrs::read_words(
                attrs,
                kept.iter().map(|&p| p.wrapping_sub(from)),
                link,
                hiding,
            ),
            None => TagAttrs::scan(attrs, link, hiding),
        }
    }
}

/// Finds the end of a tag (its first '>' outside quotes; a quote left open runs to the
/// end: no tag) from `from`, outside the name, and records in `words` the word starts
/// (after ASCII whitespace, inside quotes too) that begin with 's' or 'h'.
///
/// Eight bytes at a time, stopping at bytes up to '\'' (whitespace and both quotes, and a
/// few rarer ones) and at '>' (`tag_stops`), so every stop in a word is handled without
/// reading it again.
fn scan_tag(bytes: &[u8], from: usize, words: &mut Words) -> Option<usize> {
    let mut quote = 0u8;
    let mut pos = from;
    while let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*chunk);
        let mut stops = tag_stops(x);
        while stops != 0 {
            let k = stops.trailing_zeros() as usize / 8;
            stops &= stops - 1;
            let c = (x >> (8 * k)) as u8;
            if tag_step(bytes, pos + k, c, &mut quote, words) {
                return Some(pos + k);
            }
        }
        pos += 8;
    }
    while let Some(&c) = bytes.get(pos) {
        if tag_step(bytes, pos, c, &mut quote, words) {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

/// The high bit of each byte of `x` that `scan_tag` stops at: every byte up to '\'' and
/// every '>', and possibly a '(' or '?' right after one of those (a borrow runs upwards
/// into the next byte), which `tag_step` passes over as it passes any other byte.
///
/// Half the operations of the exact masks it replaced (see its test), on every eight bytes of every tag, where a stray stop costs one `tag_step`
/// now and then (mail writes neither byte after a space, a quote or a '>').
#[inline]
fn tag_stops(x: u64) -> u64 {
    let gt = x ^ splat(b'>');
    ((x.wrapping_sub(splat(b'\'' + 1)) & !x) | (gt.wrapping_sub(splat(1)) & !gt)) & splat(0x80)
}

/// One byte `c` at `p` of `scan_tag`: whether it ends the tag.
#[inline(always)]
fn tag_step(bytes: &[u8], p: usize, c: u8, quote: &mut u8, words: &mut Words) -> bool {
    match c {
        b'>' => return *quote == 0,
        b'"' | b'\'' => {
            if *quote == 0 {
                *quote = c;
            } else if *quote == c {
                *quote = 0;
            }
        }
        _ => {
            if c.is_ascii_whitespace()
                && bytes
                    .get(p + 1)
                    .is_some_and(|&n| matches!(n | 0x20, b's' | b'h'))
            {
                words.push(p + 1);
            }
        }
    }
    false
}

/// The high bit of each byte of `x` that equals `c`, exactly (no borrow between bytes).
#[inline]
fn bytes_equal(x: u64, c: u8) -> u64 {
    let z = x ^ splat(c);
    !(((z & splat(0x7F)) + splat(0x7F)) | z) & splat(0x80)
}

/// The line being built, kept whitespace-collapsed as text arrives so that ending it is a
/// copy, not a second pass.
#[derive(Default)]
struct Line {
    text: String,
    /// Whitespace was seen since the last visible character.
    space: bool,
}

/// Adds text to the innermost open link's anchor text and, unless hidden, to the line.
fn push_text(out: &mut Rendered, line: &mut Line, top: Option<&Open>, raw: &str) {
    let link = top.and_then(|o| o.link);
    let hidden = top.is_some_and(|o| o.hidden);
    // Two text runs in three are only the whitespace between two tags: all they can do
    // is leave a space pending on the line (an anchor gains nothing from them).
    if raw.bytes().all(is_ascii_space) {
        if !hidden && !raw.is_empty() {
            line.space = true;
        }
        return;
    }
    let anchor = link
        .and_then(|idx| out.links.get_mut(idx))
        .map(|l| &mut l.text);
    if hidden {
        // Nobody reads the line part (hidden preheaders are long runs of entities): only
        // an anchor, if any, decodes.
        if let Some(anchor) = anchor {
            // Anchor text pieces are separated by a space, as if joined with ' ' and then
            // collapsed: so each piece starts after pending whitespace.
            let mut space = true;
            decode_pieces(raw, |p| push_collapsed(anchor, p, &mut space));
        }
        return;
    }
    let before = line.text.len();
    decode_pieces(raw, |p| push_collapsed(&mut line.text, p, &mut line.space));
    if let Some(anchor) = anchor {
        // What the line gained is this text collapsed, after one separating space if the
        // line had text before (collapsed text never starts with a space otherwise): the
        // anchor takes the same, separated by a space when it has text already.
        let added = line.text.get(before..).unwrap_or_default();
        let added = added.strip_prefix(' ').unwrap_or(added);
        if !added.is_empty() {
            if !anchor.is_empty() {
                anchor.push(' ');
            }
            anchor.push_str(added);
        }
    }
}

fn break_line(out: &mut Rendered, line: &mut Line) {
    if !line.text.is_empty() {
        out.lines.push(line.text.as_str().to_owned());
    }
    line.text.clear();
    line.space = false;
}

/// Collapses runs of whitespace (including NBSP and invisible padding characters LinkedIn
/// uses in preheaders) into single spaces and trims.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_collapsed(&mut out, s, &mut false);
    out
}

/// Appends `s` to `out` whitespace-collapsed, as if `out` (already collapsed) and `s` were
/// joined and collapsed, without the trailing space: `space` carries "whitespace pending"
/// from one call to the next, so text can be collapsed piece by piece.
fn push_collapsed(out: &mut String, s: &str, space: &mut bool) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Text is mostly ASCII words: a run of ASCII non-space bytes is found and copied as
        // one slice.
        let start = i;
        i = ascii_run_end(bytes, i);
        if i == start {
            // One ASCII space or one non-ASCII character.
            let (is_space, len) = if bytes[i].is_ascii() {
                (true, 1)
            } else {
                let c = s[i..].chars().next().unwrap_or_default();
                (is_wide_space(c), c.len_utf8())
            };
            i += len;
            if is_space {
                *space = true;
                continue;
            }
        }
        // Words separated by single ASCII spaces stay as they are: copied as one slice, not
        // word by word (a copy call per word was most of collapsing).
        while bytes.get(i) == Some(&b' ')
            && bytes
                .get(i + 1)
                .is_some_and(|&c| c.is_ascii() && !is_ascii_space(c))
        {
            i = ascii_run_end(bytes, i + 1);
        }
        if *space && !out.is_empty() {
            out.push(' ');
        }
        *space = false;
        out.push_str(&s[start..i]);
    }
}

/// The end of the run of ASCII non-space bytes (as `push_collapsed` sees them) that starts
/// at `i`: the first non-ASCII or space byte after it, or the length.
///
/// Read eight bytes at a time, stopping only at bytes below '!' or above '~' and going on
/// past the controls that are no space: byte by byte, the test per byte was a third of
/// collapsing (words are some six bytes long).
fn ascii_run_end(bytes: &[u8], mut i: usize) -> usize {
    loop {
        while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let x = u64::from_le_bytes(*chunk);
            // Bytes below 0x21 (exact at the lowest, as in `zero_bytes`) or with the high
            // bit set (exact everywhere).
            let stop = ((x.wrapping_sub(splat(0x21)) & !x) | x) & splat(0x80);
            if stop != 0 {
                i += stop.trailing_zeros() as usize / 8;
                break;
            }
            i += 8;
        }
        while bytes.get(i).is_some_and(|&c| c > b' ' && c.is_ascii()) {
            i += 1;
        }
        match bytes.get(i) {
            Some(&c) if c.is_ascii() && !is_ascii_space(c) => i += 1,
            _ => return i,
        }
    }
}

/// The ASCII characters `char::is_whitespace` accepts (not `u8::is_ascii_whitespace`,
/// which leaves out vertical tab).
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// A non-ASCII character `collapse_ws` treats as space.
fn is_wide_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00A0}'
                | '\u{034F}'
                | '\u{200B}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{FEFF}'
                | '\u{00AD}'
        )
}

/// The high bit of each zero byte of `v`, and possibly of bytes above the lowest zero one (a
/// borrow runs upwards), never below it: the lowest set bit is exact.
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(0x0101_0101_0101_0101) & !v & 0x8080_8080_8080_8080
}

/// `c` in every byte of a word.
#[inline]
const fn splat(c: u8) -> u64 {
    0x0101_0101_0101_0101 * c as u64
}

/// How many bytes of eight `find_byte` reads itself before it hands over to memchr.
const SHORT_CHUNKS: usize = 4;

/// Position of the first `c` in `hay`, as memchr answers. The byte sought in mail HTML is
/// mostly a few bytes away (the next '<' after a tag, a class value's closing quote): its
/// first 32 bytes are read eight at a time, and only a longer search (an href) pays
/// memchr's set-up.
#[inline]
fn find_byte(c: u8, hay: &[u8]) -> Option<usize> {
    let mut pos = 0;
    for _ in 0..SHORT_CHUNKS {
        let Some(chunk) = hay.get(pos..).and_then(<[u8]>::first_chunk::<8>) else {
            let tail = hay.get(pos..).unwrap_or_default();
            return tail.iter().position(|&b| b == c).map(|p| pos + p);
        };
        let hit = zero_bytes(u64::from_le_bytes(*chunk) ^ splat(c));
        if hit != 0 {
            return Some(pos + hit.trailing_zeros() as usize / 8);
        }
        pos += 8;
    }
    memchr(c, hay.get(pos..).unwrap_or_default()).map(|p| pos + p)
}

/// Reads one attribute value (entity-decoded) from a tag's attribute text.
pub fn attr(attrs: &str, name: &str) -> Option<String> {
    TagAttrs::scan(attrs, name.as_bytes(), false)
        .link
        .map(|v| decode_entities(v).into_owned())
}

/// What rendering reads from one tag's attribute text, found in one pass over it.
///
/// Searching the text once per attribute name ('style', then 'hidden', then 'href') was the
/// largest part of rendering: mail puts a long inline style on nearly every tag, and each
/// search stopped at every 's' or 'h' in it. Every attribute name and every `hidden` word
/// starts a whitespace-separated word, so one walk over the word starts (found with memchr)
/// answers all of them.
#[derive(Debug, Default, PartialEq, Eq)]
struct TagAttrs<'a> {
    /// The `style` value, as `attr_raw` reads it (only when asked for hiding).
    style: Option<&'a str>,
    /// The value of the attribute asked for by name (`href`, `src`), as `attr_raw` reads it.
    link: Option<&'a str>,
    /// One whitespace-separated word is `hidden` (only when asked for hiding).
    hidden_word: bool,
}

impl<'a> TagAttrs<'a> {
    /// Reads the attribute `link` (none if empty) and, if `hiding`, what `hides` needs.
    ///
    /// The same answers as `attr_raw` per name: its first match is the first word start
    /// where the name is followed by optional whitespace and '=', and that match decides
    /// (a later one is never read, even when the first has no value).
    fn scan(attrs: &'a str, link: &[u8], hiding: bool) -> Self {
        let found = TagAttrs::default();
        // Text shorter than "style=" or "hidden" and than `link` with its '=' holds none
        // of them: most tags (`<td>`, `<tr>`) have no attributes at all.
        let shortest = match (hiding, link.len()) {
            (true, 0) => 6,
            (true, n) => 6.min(n + 1),
            (false, 0) => return found,
            (false, n) => n + 1,
        };
        if attrs.len() < shortest {
            return found;
        }
        Self::read_words(attrs, WordStarts::new(attrs.as_bytes()), link, hiding)
    }

    /// `scan`, given the word starts of `attrs` (in order; those that start with none of
    /// the names' first bytes may be left out).
    fn read_words(
        attrs: &'a str,
        starts: impl Iterator<Item = usize>,
        link: &[u8],
        hiding: bool,
    ) -> Self {
        let mut found = TagAttrs::default();
        let b = attrs.as_bytes();
        let (mut link_done, mut style_done) = (link.is_empty(), !hiding);
        // The first byte, lower-cased as `| 0x20` does: a word whose first byte differs
        // so cannot match (a non-letter equals itself, and then also with the bit set).
        let link_first = link.first().map(|c| c | 0x20);
        for s in starts {
            let word = b.get(s..).unwrap_or_default();
            let Some(first) = word.first().map(|c| c | 0x20) else {
                continue;
            };
            if !link_done && Some(first) == link_first && starts_with_ci(word, link) {
                if let Some(v) = value_after_name(attrs, s + link.len()) {
                    found.link = v;
                    link_done = true;
                }
            }
            if hiding {
                if first == b's' && !style_done && starts_with_ci(word, b"style") {
                    if let Some(v) = value_after_name(attrs, s + 5) {
                        found.style = v;
                        style_done = true;
                    }
                }
                if first == b'h'
                    && !found.hidden_word
                    && starts_with_ci(word, b"hidden")
                    && word.get(6).is_none_or(u8::is_ascii_whitespace)
                {
                    found.hidden_word = true;
                }
            }
            // Nothing left to learn: stop.
            if link_done && style_done && (found.hidden_word || !hiding) {
                break;
            }
        }
        found
    }

    /// Whether the tag is hidden (inline style or the `hidden` attribute), given the scan
    /// of its attribute text `attrs` with `hiding`. `scratch` is reused between tags for
    /// the squashed style text when the slow path needs it.
    fn hides(&self, attrs: &str, scratch: &mut String) -> bool {
        self.style.is_some_and(|s| style_hides(s, scratch))
            || self.hidden_word
            || is_just_hidden(attrs)
    }
}

/// Whether the whole attribute text, trimmed of any (also non-ASCII) whitespace, is
/// `hidden`. Its first byte that is no ASCII space mostly settles it: an ASCII byte other
/// than 'h' stays when trimmed (trimming, a char decode per step, was paid on every tag).
fn is_just_hidden(attrs: &str) -> bool {
    match attrs.bytes().find(|&c| !is_ascii_space(c)) {
        None => false,
        Some(c) if c.is_ascii() && c | 0x20 != b'h' => false,
        Some(_) => attrs.trim().eq_ignore_ascii_case("hidden"),
    }
}

/// Whether `s` starts with `prefix`, ASCII case-insensitively.
fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The positions where a word separated by ASCII whitespace (as `u8::is_ascii_whitespace`
/// and `split_ascii_whitespace` see it) may start, in order: 0 and each position after a
/// whitespace byte (it may be the length).
///
/// Attribute text is long and whitespace in it is some 40 bytes apart: memchr3 (which
/// also could not take all five whitespace bytes) paid its set-up per word. This reads
/// eight bytes at a time and stops only at bytes below '!', the whitespace among them.
struct WordStarts<'a> {
    b: &'a [u8],
    /// Where to look next; None before 0 has been given.
    pos: Option<usize>,
}

impl<'a> WordStarts<'a> {
    fn new(b: &'a [u8]) -> Self {
        WordStarts { b, pos: None }
    }
}

impl Iterator for WordStarts<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let Some(mut pos) = self.pos else {
            self.pos = Some(0);
            return Some(0);
        };
        let b = self.b;
        while let Some(chunk) = b.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
            let x = u64::from_le_bytes(*chunk);
            // The high bit of each byte below 0x21, and possibly of bytes above the lowest
            // such one (a borrow runs upwards), never below it: the lowest is exact.
            let low = x.wrapping_sub(0x2121_2121_2121_2121) & !x & 0x8080_8080_8080_8080;
            if low == 0 {
                pos += 8;
                continue;
            }
            let shift = low.trailing_zeros() & !7;
            pos += shift as usize / 8 + 1;
            if ((x >> shift) as u8).is_ascii_whitespace() {
                self.pos = Some(pos);
                return Some(pos);
            }
        }
        while let Some(&c) = b.get(pos) {
            pos += 1;
            if c.is_ascii_whitespace() {
                self.pos = Some(pos);
                return Some(pos);
            }
        }
        self.pos = Some(pos);
        None
    }
}

/// The value of an attribute whose name ends at `j` in `attrs`, as `attr_raw` reads it:
/// None if no '=' follows (not an attribute: keep looking), Some(None) if nothing follows
/// the '=', else the value as written (trimmed, entities not decoded).
fn value_after_name(attrs: &str, mut j: usize) -> Option<Option<&str>> {
    let bytes = attrs.as_bytes();
    while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
        j += 1;
    }
    if bytes.get(j) != Some(&b'=') {
        return None;
    }
    j += 1;
    while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
        j += 1;
    }
    let Some(&first) = bytes.get(j) else {
        return Some(None);
    };
    // Every position cut at below is at an ASCII byte or the end: a char boundary.
    let value = if first == b'"' || first == b'\'' {
        let rest = attrs.get(j + 1..).unwrap_or_default();
        let end = find_byte(first, rest.as_bytes()).unwrap_or(rest.len());
        rest.get(..end).unwrap_or_default()
    } else {
        let rest = attrs.get(j..).unwrap_or_default();
        let end = rest
            .bytes()
            .position(|c| c.is_ascii_whitespace() || c == b'>')
            .unwrap_or(rest.len());
        rest.get(..end).unwrap_or_default()
    };
    Some(Some(trim(value)))
}

/// `str::trim`, without its char decoding when both ends are ASCII and no space (as
/// almost every attribute value is).
fn trim(s: &str) -> &str {
    let kept = |c: Option<&u8>| c.is_some_and(|&c| c.is_ascii() && !is_ascii_space(c));
    if kept(s.as_bytes().first()) && kept(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Whether a style, entity-decoded, lower-cased and with all whitespace removed, holds one
/// of the hiding declarations (see `squashed_style_hides`, the definition).
///
/// Mail sets a long inline style on nearly every tag, and squashing each into a buffer was
/// a large part of rendering. Every hiding declaration holds exactly one ':', and a ':' in
/// the squashed text is a ':' in the raw text, so for plain ASCII without entities it is
/// enough to look around each raw ':' while skipping whitespace: the value must start with
/// 'n', 'h' or '0' before the name is even looked at. Anything with '&' or non-ASCII bytes
/// (entities, Unicode spaces) takes the definition.
fn style_hides(style: &str, scratch: &mut String) -> bool {
    let b = style.as_bytes();
    // One pass, eight bytes at a time, stopping at ':', '&' and non-ASCII bytes: testing
    // for the last two first (`is_ascii`, memchr) and then a memchr per ':' read the style
    // three times and paid memchr's set-up per declaration. A ':' before any '&' or
    // non-ASCII byte is judged where it is found: every byte before it is plain ASCII, and
    // it only says "hides" on literal ASCII text that the definition sees as well.
    let mut pos = 0;
    while pos < b.len() {
        let rest = &b[pos..];
        let x = match rest.first_chunk::<8>() {
            Some(chunk) => u64::from_le_bytes(*chunk),
            None => {
                // The tail, padded with zero bytes (which stop nothing).
                let mut buf = [0u8; 8];
                buf[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(buf)
            }
        };
        let mut stops = bytes_equal(x, b':') | bytes_equal(x, b'&') | (x & splat(0x80));
        while stops != 0 {
            let k = stops.trailing_zeros() as usize / 8;
            stops &= stops - 1;
            if (x >> (8 * k)) as u8 != b':' {
                return squashed_style_hides(style, scratch);
            }
            if declaration_hides(b, pos + k) {
                return true;
            }
        }
        pos += 8;
    }
    false
}

/// Whether the declaration around the ':' at `colon` in ASCII text hides, squashed as
/// `squashed_style_hides` would: the value must start with 'n', 'h' or '0' before the
/// name is even looked at.
fn declaration_hides(b: &[u8], colon: usize) -> bool {
    let (name, value) = (&b[..colon], &b[colon + 1..]);
    let mut v = squashed(value);
    match v.next() {
        Some(b'n') => v.take(3).eq(*b"one") && squashed_ends_with(name, b"display"),
        Some(b'h') => v.take(5).eq(*b"idden") && squashed_ends_with(name, b"visibility"),
        // "...:0;" or "...:0" at the end.
        Some(b'0') => {
            matches!(v.next(), None | Some(b';'))
                && [&b"max-height"[..], b"font-size", b"opacity"]
                    .iter()
                    .any(|k| squashed_ends_with(name, k))
        }
        _ => false,
    }
}

/// The bytes of ASCII text lower-cased, skipping the ASCII characters `char::is_whitespace`
/// accepts: the squashed form without building it.
fn squashed(s: &[u8]) -> impl DoubleEndedIterator<Item = u8> + '_ {
    s.iter()
        .filter(|&&c| !is_ascii_space(c))
        .map(u8::to_ascii_lowercase)
}

/// Whether the squashed form of ASCII `s` ends with `word` (lower case).
fn squashed_ends_with(s: &[u8], word: &[u8]) -> bool {
    squashed(s)
        .rev()
        .take(word.len())
        .eq(word.iter().rev().copied())
}

/// The definition of a hiding style: decoded, whitespace removed, lower-cased, then
/// searched. `scratch` holds the squashed text.
fn squashed_style_hides(style: &str, scratch: &mut String) -> bool {
    scratch.clear();
    scratch.extend(
        decode_entities(style)
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase()),
    );
    let s = scratch.as_str();
    s.contains("display:none")
        || s.contains("visibility:hidden")
        || s.contains("max-height:0;")
        || s.ends_with("max-height:0")
        || s.contains("font-size:0;")
        || s.ends_with("font-size:0")
        || s.contains("opacity:0;")
        || s.ends_with("opacity:0")
}

/// Decodes HTML character references: the named ones mail uses, and all numeric ones.
/// Unknown names are left as they are. Borrows when there is nothing to decode, which is
/// almost always.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    let Some(first) = memchr(b'&', s.as_bytes()) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    // The text before the first '&' as one piece, not searched again.
    out.push_str(&s[..first]);
    decode_pieces(&s[first..], |piece| out.push_str(piece));
    Cow::Owned(out)
}

/// Hands `s` entity-decoded to `sink`, piece by piece: the text between references as
/// written, and each decoded reference as its character. Text is rendered straight from
/// the pieces, so a body with entities is not first copied into a decoded string.
fn decode_pieces(s: &str, mut sink: impl FnMut(&str)) {
    let mut rest = s;
    // `find_byte`, not `str::find` or memchr: hrefs hold an "&amp;" every few dozen bytes,
    // and the searchers' set-up per call cost more than the search.
    while let Some(pos) = find_byte(b'&', rest.as_bytes()) {
        if pos > 0 {
            sink(&rest[..pos]);
        }
        rest = &rest[pos..];
        // Tracking URLs hold an "&amp;" every few dozen bytes and little else: it is taken
        // as a whole, without measuring and looking up the name (the same answer).
        if let Some(after) = rest.strip_prefix("&amp;") {
            sink("&");
            rest = after;
            continue;
        }
        // The name runs over ASCII letters, digits and '#' (a byte test is enough: no byte
        // of a multi-byte character is ASCII).
        let end = rest.as_bytes()[1..]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'#'))
            .map(|e| e + 1)
            .unwrap_or(rest.len());
        let name = &rest[1..end];
        let has_semi = rest[end..].starts_with(';');
        match entity_char(name) {
            Some(c) => {
                sink(c.encode_utf8(&mut [0; 4]));
                rest = &rest[end + usize::from(has_semi)..];
            }
            None => {
                sink("&");
                rest = &rest[1..];
            }
        }
    }
    if !rest.is_empty() {
        sink(rest);
    }
}

/// The character a reference's name (what follows '&', without ';') stands for: numeric
/// references of any value (invalid code points become U+FFFD), or the named ones mail
/// uses. None leaves the reference as written.
fn entity_char(name: &str) -> Option<char> {
    let Some(num) = name.strip_prefix('#') else {
        return named_entity(name);
    };
    let v = if let Some(hex) = num.strip_prefix(['x', 'X']) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        num.parse::<u32>().ok()
    };
    v.map(|v| char::from_u32(v).unwrap_or('\u{FFFD}'))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{00A0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "middot" => '·',
        "bull" => '•',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "shy" => '\u{00AD}',
        "euro" => '€',
        "laquo" => '«',
        "raquo" => '»',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "ccedil" => 'ç',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ntilde" => 'ñ',
        "oacute" => 'ó',
        "iacute" => 'í',
        "uacute" => 'ú',
        "atilde" => 'ã',
        "otilde" => 'õ',
        "ecirc" => 'ê',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attribute reading `TagAttrs::scan` replaced: one case-insensitive search of the
    /// whole text per name. The name is matched anywhere it follows whitespace, even inside
    /// another attribute's quoted value: a tolerant reading of broken markup.
    fn attr_raw<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
        let bytes = attrs.as_bytes();
        let mut from = 0;
        while let Some(pos) = find_ascii_ci(&bytes[from..], name.as_bytes()) {
            let start = from + pos;
            from = start + name.len();
            // Must be a whole attribute name.
            let before_ok = start == 0 || bytes[start - 1].is_ascii_whitespace();
            if !before_ok {
                continue;
            }
            let mut j = start + name.len();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= bytes.len() || bytes[j] != b'=' {
                continue;
            }
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= bytes.len() {
                return None;
            }
            let value = if bytes[j] == b'"' || bytes[j] == b'\'' {
                let rest = &attrs[j + 1..];
                let end = memchr(bytes[j], rest.as_bytes()).unwrap_or(rest.len());
                &rest[..end]
            } else {
                let rest = &attrs[j..];
                let end = rest
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(rest.len());
                &rest[..end]
            };
            return Some(value.trim());
        }
        None
    }

    /// Whether a tag with these attributes is hidden, as `render` decides it.
    fn is_hidden(attrs: &str) -> bool {
        TagAttrs::scan(attrs, b"", true).hides(attrs, &mut String::new())
    }

    /// One scan reads what `attr_raw` reads for each name, and the `hidden` word as
    /// `split_ascii_whitespace` sees it, whatever else is asked in the same scan.
    fn assert_scan_as_reference(attrs: &str) {
        for (link, hiding) in [
            ("href", true),
            ("src", false),
            ("", true),
            ("", false),
            ("style", false),
            ("hidden", true),
            ("a", false),
            ("sr", true),
        ] {
            let got = TagAttrs::scan(attrs, link.as_bytes(), hiding);
            let want_link = Some(link)
                .filter(|l| !l.is_empty())
                .and_then(|l| attr_raw(attrs, l));
            assert_eq!(got.link, want_link, "{link} {attrs:?}");
            let (want_style, want_word) = if hiding {
                (
                    attr_raw(attrs, "style"),
                    attrs
                        .split_ascii_whitespace()
                        .any(|w| w.eq_ignore_ascii_case("hidden")),
                )
            } else {
                (None, false)
            };
            assert_eq!(got.style, want_style, "{link} {attrs:?}");
            assert_eq!(got.hidden_word, want_word, "{link} {attrs:?}");
        }
        assert_eq!(
            attr(attrs, "href"),
            attr_raw(attrs, "href").map(|v| decode_entities(v).into_owned()),
            "{attrs:?}"
        );
    }

    /// The eight-bytes-at-a-time word starts are the byte-by-byte ones, on every byte
    /// below '!' (whitespace or not), bytes above 0x80 and at every offset from a chunk
    /// boundary.
    #[test]
    fn word_starts_as_bytewise() {
        fn reference(b: &[u8]) -> Vec<usize> {
            let mut out = vec![0];
            out.extend(
                b.iter()
                    .enumerate()
                    .filter(|(_, c)| c.is_ascii_whitespace())
                    .map(|(p, _)| p + 1),
            );
            out
        }
        let bytes = [
            0u8, b'\t', b'\n', 0x0B, 0x0C, b'\r', 0x1F, b' ', b'!', b'"', b'a', b'A', 0x7F, 0x80,
            0xA0, 0xA1, 0xFF,
        ];
        let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
        for _ in 0..100_000 {
            let len = rng.below(40);
            let b: Vec<u8> = (0..len).map(|_| bytes[rng.below(bytes.len())]).collect();
            assert_eq!(
                WordStarts::new(&b).collect::<Vec<_>>(),
                reference(&b),
                "{b:?}"
            );
        }
        for b in [
            &b""[..],
            b" ",
            b"        ",
            b"abcdefgh ",
            b"abcdefg\r",
            b"\x80\x80\x80\x80\x80\x80\x80 x",
        ] {
            assert_eq!(
                WordStarts::new(b).collect::<Vec<_>>(),
                reference(b),
                "{b:?}"
            );
        }
    }

    /// Every tag's text in every HTML part of the fixtures, and made-up attribute text:
    /// names in any case, glued to other words, inside quoted values, with every kind of
    /// whitespace (form feed and carriage return take the byte-by-byte path), with and
    /// without '=' and values.
    #[test]
    fn tag_attrs_as_reference() {
        let mut tags = 0;
        for html in fixture_htmls() {
            for piece in html.split('<') {
                let attrs = piece.split('>').next().unwrap_or_default();
                // The text after the name, as render passes it, and the whole.
                let after = attrs.find([' ', '\t', '\n', '\r']).unwrap_or(attrs.len());
                assert_scan_as_reference(&attrs[after..]);
                assert_scan_as_reference(attrs);
                tags += 1;
            }
        }
        assert!(tags > 10_000, "{tags}");
        let pieces = [
            " ",
            "  ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "\u{0B}",
            "\u{0C}",
            "\u{A0}",
            "\u{2028}",
            "=",
            " = ",
            "\"",
            "'",
            ">",
            "/",
            "style",
            "STYLE",
            "Style",
            "xstyle",
            "styles",
            "href",
            "HREF",
            "hrefx",
            "src",
            "SRC",
            "sr",
            "a",
            "hidden",
            "HIDDEN",
            "hiddenx",
            "display:none",
            "x",
            "é",
            "&amp;",
            "http://a.example/?a=1&amp;b=2",
            "class=\"a b\"",
        ];
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        for _ in 0..100_000 {
            let mut a = String::new();
            for _ in 0..1 + rng.below(10) {
                a.push_str(pieces[rng.below(pieces.len())]);
            }
            assert_scan_as_reference(&a);
        }
        for a in [
            "",
            "a",
            "src",
            "src=",
            "a=b",
            " src=x",
            " style",
            " style=",
            " style= ",
            " style=\"",
            " style='display:none' style=\"x\"",
            " style= \r\n'a'",
            " title=\"x style=display:none\" style=\"y\"",
            " \rstyle=a",
            "\u{0C}hidden",
            " hidden\r",
            " hidden\u{0B}",
            " hidden",
            "hidden",
            " href=\"é\" ",
            " href=é>x",
            " HREF = 'a' href=b",
            " href href=x",
        ] {
            assert_scan_as_reference(a);
        }
    }

    /// The definition `is_hidden` implements: the squashed style, then the `hidden`
    /// attribute.
    fn is_hidden_reference(attrs: &str) -> bool {
        if let Some(style) = attr_raw(attrs, "style") {
            if squashed_style_hides(style, &mut String::new()) {
                return true;
            }
        }
        attrs.trim().eq_ignore_ascii_case("hidden")
            || attrs
                .split_ascii_whitespace()
                .any(|a| a.eq_ignore_ascii_case("hidden"))
    }

    /// A small deterministic generator (xorshift), so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn is_hidden_as_reference() {
        // Pieces of styles that hide or nearly hide, glued at random: names and values in
        // any case, split by whitespace (ASCII, Unicode, and the controls Rust does not
        // count as space), entities, quotes, and `hidden` as an attribute.
        let pieces = [
            " ",
            "  ",
            "\t",
            "\n",
            "\u{0B}",
            "\u{0C}",
            "\r",
            "\u{1F}",
            "\u{A0}",
            "\u{2028}",
            "style=\"",
            "style='",
            "STYLE = ",
            " style=",
            "\"",
            "'",
            ";",
            ":",
            " : ",
            "0",
            "00",
            "0px",
            "1",
            "display",
            "DISPLAY",
            "dis play",
            "none",
            "NoNe",
            "no ne",
            "visibility",
            "Visi bility",
            "hidden",
            "HIDDEN",
            "hid den",
            "max-height",
            "max - height",
            "MAX-HEIGHT",
            "font-size",
            "Font-Size",
            "font- size",
            "opacity",
            "OPACITY",
            "opa city",
            "&#110;",
            "&#x6E;",
            "&amp;",
            "&nbsp;",
            "&colon;",
            "&#58;",
            "&#48;",
            "&",
            "é",
            "x",
            "-",
            "class=\"a\"",
            "width:0;",
            "padding:0",
            "color:red;",
            "font-size:14px;",
            "overflow:hidden;",
            "display:block;",
            "=",
            ">",
            "/",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut agreed_hidden = 0;
        for _ in 0..200_000 {
            // Most tags that matter have a style: start half of the inputs with one.
            let mut a = String::from(["", "style=\""][rng.below(2)]);
            for _ in 0..1 + rng.below(12) {
                if rng.below(3) == 0 {
                    // A declaration, likelier to be near a hiding one than random pieces.
                    let names = [
                        "display",
                        "visibility",
                        "max-height",
                        "font-size",
                        "opacity",
                    ];
                    let values = [
                        "none",
                        "hidden",
                        "0",
                        "0;",
                        "0 ;",
                        "0px",
                        "&#48;",
                        "n&#111;ne",
                    ];
                    let spaces = ["", "", " ", "\t", "\u{A0}", "\u{1F}"];
                    a.push_str(names[rng.below(names.len())]);
                    a.push_str(spaces[rng.below(spaces.len())]);
                    a.push(':');
                    a.push_str(spaces[rng.below(spaces.len())]);
                    a.push_str(values[rng.below(values.len())]);
                } else {
                    a.push_str(pieces[rng.below(pieces.len())]);
                }
            }
            let want = is_hidden_reference(&a);
            assert_eq!(is_hidden(&a), want, "{a:?}");
            agreed_hidden += usize::from(want);
        }
        // The generator must reach both answers often, or the test proves little.
        assert!(agreed_hidden > 10_000, "{agreed_hidden}");
        for a in [
            "",
            "hidden",
            " HIDDEN ",
            "\u{A0}hidden",
            "style=\"display:none\"",
            "style=\"Display : None\"",
            "style=\"font-size:0\"",
            "style=\"font-size:0px\"",
            "style=\"font-size:0 ;\"",
            "style=\"max-height:0;overflow:hidden\"",
            "style=\"opacity:0\" x",
            "style=\"display:&#110;one\"",
            "style=\"display:&#110;one\" class=none",
            "style=\"dis play:no ne\"",
            "style=\"dis play:no ne;font-size:1px\"",
            "style=\"visibility:\u{2028}hidden\"",
            "style=\"color:red\" hidden",
            "data-x=\"hidden\"",
        ] {
            assert_eq!(is_hidden(a), is_hidden_reference(a), "{a:?}");
        }
    }

    /// Every HTML part of the fixtures, decoded.
    fn fixture_htmls() -> Vec<String> {
        let mut out = Vec::new();
        for p in crate::extract::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            let Ok(mail) = mailparse::parse_mail(&raw) else {
                continue;
            };
            let mut parts = vec![&mail];
            while let Some(part) = parts.pop() {
                parts.extend(&part.subparts);
                if part.ctype.mimetype == "text/html" {
                    out.push(part.get_body().unwrap_or_default());
                }
            }
        }
        out
    }

    /// The memchr version `find_tag_end` replaced.
    fn find_tag_end_reference(bytes: &[u8], i: usize) -> Option<usize> {
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphabetic() || *b == b'/' => {}
            _ => return None,
        }
        let mut i = i;
        loop {
            let p = i + memchr::memchr3(b'>', b'"', b'\'', &bytes[i..])?;
            let q = bytes[p];
            if q == b'>' {
                return Some(p);
            }
            i = p + 1 + memchr(q, &bytes[p + 1..])? + 1;
        }
    }

    /// Asserts that `got` and `want` agree on `b` at every position from 0 to `last`: the
    /// byte scanners here are checked against their references this way.
    fn same_at_every_position<T: PartialEq + std::fmt::Debug>(
        b: &[u8],
        last: usize,
        got: impl Fn(&[u8], usize) -> T,
        want: impl Fn(&[u8], usize) -> T,
    ) {
        for i in 0..=last {
            assert_eq!(got(b, i), want(b, i), "{b:?} {i}");
        }
    }

    /// `scan_tag` as the two passes it replaced: the memchr search for the end, then the
    /// word starts of the text up to it that begin with 's' or 'h'.
    fn scan_tag_reference(bytes: &[u8], i: usize) -> Option<(usize, Vec<usize>)> {
        let end = find_tag_end_reference(bytes, i)?;
        let text = &bytes[i..end];
        let words = WordStarts::new(text)
            .filter(|&s| s > 0)
            .filter(|&s| text.get(s).is_some_and(|c| matches!(c | 0x20, b's' | b'h')))
            .map(|s| i + s)
            .collect();
        Some((end, words))
    }

    /// `scan_tag` from `i`, with all the words it found (however many).
    fn scan_tag_all(bytes: &[u8], i: usize) -> Option<(usize, Vec<usize>)> {
        // Only where a tag may start, as `read_tag` calls it (after a name).
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphabetic() || *b == b'/' => {}
            _ => return None,
        }
        let mut words = Words::default();
        let end = scan_tag(bytes, i, &mut words)?;
        let mut all = Vec::new();
        // Too many to keep: the kept ones must be the first, and the count right.
        let want = scan_tag_reference(bytes, i)
            .map(|(_, w)| w)
            .unwrap_or_default();
        assert_eq!(words.n, want.len(), "{bytes:?} {i}");
        all.extend(&words.at[..words.n.min(MAX_WORDS)]);
        all.extend(want.iter().skip(MAX_WORDS));
        Some((end, all))
    }

    /// At every '<' of every fixture, and at every position of made-up markup: quotes of
    /// both kinds open and closed at every distance from a chunk boundary, short and long,
    /// whitespace of every kind and the bytes next to the stop bytes.
    #[test]
    fn scan_tag_as_reference() {
        let mut tags = 0;
        for html in fixture_htmls() {
            let b = html.as_bytes();
            for (at, _) in html.match_indices('<') {
                assert_eq!(scan_tag_all(b, at + 1), scan_tag_reference(b, at + 1));
                tags += 1;
            }
        }
        assert!(tags > 10_000, "{tags}");
        let mut rng = crate::extract::TestRng::new(0x7A6E_11D5);
        let alphabet = b"<>\"'a/ =\n\x00\xff\xc3sShH\t\x0b\x0c\r!&=?";
        for _ in 0..20_000 {
            let mut b = rng.bytes(alphabet, 40);
            if rng.next() % 3 == 0 {
                // A long quoted value, past a chunk, with words in it.
                let at = rng.next() % (b.len() + 1);
                let long = rng.bytes(b"ab&= s", 120);
                b.splice(at..at, long);
            }
            same_at_every_position(&b, b.len() + 1, scan_tag_all, scan_tag_reference);
        }
    }

    /// Every tag's words, read from `Words` (kept or not), as `TagAttrs::scan` reads them.
    #[test]
    fn words_read_as_scan() {
        let mut rng = crate::extract::TestRng::new(0x3C0D_5EED);
        let pieces: [&[u8]; 14] = [
            b" ",
            b"\t",
            b"\x0b",
            b"style=",
            b"STYLE = 'a'",
            b" src=x",
            b"hidden",
            b"href=\"h\"",
            b"\"",
            b"'",
            b"s",
            b"h",
            b"display:none;",
            b"x",
        ];
        for _ in 0..50_000 {
            let mut b = b"<a".to_vec();
            for _ in 0..rng.next() % 40 {
                b.extend_from_slice(pieces[rng.next() % pieces.len()]);
            }
            b.push(b'>');
            let Ok(html) = std::str::from_utf8(&b) else {
                continue;
            };
            let mut words = Words::default();
            let Some(tag) = read_tag(b.as_slice(), 0, &mut words) else {
                continue;
            };
            let attrs = &html[tag.name.1..tag.end];
            for (link, hiding) in [(&b"href"[..], true), (b"src", false), (b"", true)] {
                assert_eq!(
                    words.read(attrs, tag.name.1, link, hiding),
                    TagAttrs::scan(attrs, link, hiding),
                    "{html:?}"
                );
            }
        }
    }

    /// `name_key` is `tags::key` of the name, for names of every length up to past a key's
    /// length, in any case, followed by more bytes or by the end.
    #[test]
    fn name_key_as_tags_key() {
        let mut rng = crate::extract::TestRng::new(0x4A3E_C0DE);
        for _ in 0..50_000 {
            let b = rng.bytes(b"aZ:-9tdivSPANx >\"", 40);
            let start = rng.next() % (b.len() + 1);
            let end = start + rng.next() % (b.len() - start + 1);
            assert_eq!(
                name_key(&b, start, end),
                tags::key(&b[start..end]),
                "{b:?} {start} {end}"
            );
        }
    }

    /// The high bit of each byte of `x` that is at most `c` (below 0x80), exactly.
    fn bytes_at_most(x: u64, c: u8) -> u64 {
        !(((x & splat(0x7F)) + splat(0x7F - c)) | x) & splat(0x80)
    }

    /// `tag_stops` flags every byte the exact masks flag, and besides only a '(' or '?'
    /// right after a flagged byte: on every pair of adjacent bytes in every position, and
    /// on random words of the bytes around the stop classes.
    #[test]
    fn tag_stops_as_exact_masks() {
        let check = |x: u64| {
            let exact = bytes_at_most(x, b'\'') | bytes_equal(x, b'>');
            let got = tag_stops(x);
            assert_eq!(got & exact, exact, "{x:#x}");
            let extra = got & !exact;
            for k in 0..8 {
                if extra >> (8 * k) & 0x80 != 0 {
                    let c = (x >> (8 * k)) as u8;
                    assert!(k > 0 && matches!(c, b'(' | b'?'), "{x:#x} {k}");
                    assert!(got >> (8 * (k - 1)) & 0x80 != 0, "{x:#x} {k}");
                }
            }
        };
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for k in 0..7 {
                    let x = u64::from_le_bytes([b'a'; 8]);
                    let x =
                        x & !(0xFFFF << (8 * k)) | (u64::from(a) | u64::from(b) << 8) << (8 * k);
                    check(x);
                }
            }
        }
        let alphabet = [
            0u8, b'\t', b'\n', b' ', b'!', b'"', b'&', b'\'', b'(', b')', b'=', b'>', b'?', b'a',
            0x7F, 0x80, 0xA7, 0xBE, 0xFF,
        ];
        let mut rng = crate::extract::TestRng::new(0x5709_7A65);
        for _ in 0..200_000 {
            let b = rng.bytes(&alphabet, 16);
            if let Some(chunk) = b.first_chunk::<8>() {
                check(u64::from_le_bytes(*chunk));
            }
        }
    }

    #[test]
    fn find_byte_as_memchr() {
        let mut rng = crate::extract::TestRng::new(0xB17E);
        for _ in 0..20_000 {
            let b = rng.bytes(b"<<abc\x00\x80\xff", 90);
            for c in [b'<', b'a', 0, 0x80, 0xff, b'z'] {
                assert_eq!(find_byte(c, &b), memchr(c, &b), "{b:?} {c}");
            }
        }
    }

    /// The byte-by-byte run `ascii_run_end` replaced.
    fn ascii_run_end_reference(bytes: &[u8], mut i: usize) -> usize {
        while i < bytes.len() && bytes[i].is_ascii() && !is_ascii_space(bytes[i]) {
            i += 1;
        }
        i
    }

    #[test]
    fn ascii_run_end_as_bytewise() {
        let mut rng = crate::extract::TestRng::new(0x5EED_0F2A);
        let alphabet = [
            0u8, 1, 8, b'\t', b'\n', 0x0B, 0x0C, b'\r', 0x0E, 0x1F, b' ', b'!', b'a', b'~', 0x7F,
            0x80, 0xA0, 0xA1, 0xC3, 0xFF,
        ];
        for _ in 0..50_000 {
            let b = rng.bytes(&alphabet, 40);
            same_at_every_position(&b, b.len(), ascii_run_end, ascii_run_end_reference);
        }
    }

    #[test]
    fn collapse_ws_as_char_by_char() {
        // The char-by-char definition the byte-run version replaced.
        fn reference(s: &str) -> String {
            let mut out = String::new();
            let mut space = false;
            for c in s.chars() {
                if c.is_whitespace() || is_wide_space(c) {
                    space = true;
                } else {
                    if space && !out.is_empty() {
                        out.push(' ');
                    }
                    space = false;
                    out.push(c);
                }
            }
            out
        }
        for s in [
            "",
            " ",
            "a",
            "  a  b\t\tc \r\n",
            "\u{00A0}Hi\u{200B}\u{200C}there\u{FEFF}",
            "x\u{000B}y\u{000C}z\u{001F}w",
            "caf\u{e9} \u{3000}na\u{ef}ve\u{2028}end\u{85}",
            "\u{034F}\u{00AD}",
            "émoji 🎉  ok ",
        ] {
            assert_eq!(collapse_ws(s), reference(s), "{s:?}");
            // Collapsed piece by piece (how lines and anchor text are built) at every
            // split point: the same as collapsing the whole.
            for (at, _) in s.char_indices() {
                let (a, b) = s.split_at(at);
                let (mut out, mut space) = (String::new(), false);
                push_collapsed(&mut out, a, &mut space);
                push_collapsed(&mut out, b, &mut space);
                assert_eq!(out, reference(s), "{a:?} {b:?}");
                // Anchor text: pieces as if joined by a space.
                let mut out = String::new();
                push_collapsed(&mut out, a, &mut true);
                push_collapsed(&mut out, b, &mut true);
                assert_eq!(out, reference(&format!("{a} {b}")), "{a:?} {b:?}");
            }
        }
    }

    /// Random text of words, single and double spaces of every kind, non-ASCII letters and
    /// spaces, collapsed whole and in two pieces: as the char-by-char definition.
    #[test]
    fn collapse_ws_random_as_char_by_char() {
        fn reference(s: &str) -> String {
            s.split(|c: char| c.is_whitespace() || is_wide_space(c))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        }
        let pieces = [
            " ",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{0B}",
            "\u{1F}",
            "a",
            "bc",
            "defghijkl",
            "é",
            "\u{A0}",
            "\u{200B}",
            "🎉",
            "x y",
            ".",
            "\u{7F}",
        ];
        let mut rng = crate::extract::TestRng::new(0xC011_A95E);
        for _ in 0..50_000 {
            let mut s = String::new();
            for _ in 0..rng.next() % 16 {
                s.push_str(pieces[rng.next() % pieces.len()]);
            }
            assert_eq!(collapse_ws(&s), reference(&s), "{s:?}");
            let at = rng.next() % (s.len() + 1);
            if let (Some(a), Some(b)) = (s.get(..at), s.get(at..)) {
                let (mut out, mut space) = (String::new(), false);
                push_collapsed(&mut out, a, &mut space);
                push_collapsed(&mut out, b, &mut space);
                assert_eq!(out, reference(&s), "{a:?} {b:?}");
            }
        }
    }

    /// `push_text` as it was: decode into a string, then collapse it into the anchor and
    /// the line separately.
    fn push_text_reference(out: &mut Rendered, line: &mut Line, top: Option<&Open>, raw: &str) {
        let link = top.and_then(|o| o.link);
        let hidden = top.is_some_and(|o| o.hidden);
        if hidden && link.is_none() {
            return;
        }
        let text = decode_entities(raw);
        if let Some(l) = link.and_then(|idx| out.links.get_mut(idx)) {
            push_collapsed(&mut l.text, &text, &mut true);
        }
        if !hidden {
            push_collapsed(&mut line.text, &text, &mut line.space);
        }
    }

    /// Random pieces of text (entities that decode to spaces and letters, Unicode spaces,
    /// plain words) pushed under random open elements, hidden or not, in a link or not:
    /// the line, its pending space and the anchor texts as the reference builds them.
    #[test]
    fn push_text_as_reference() {
        let pieces = [
            "", " ", "  ", "\t", "\n", "a", "Bc", "é", "\u{A0}", "\u{200B}", "&nbsp;", "&#32;",
            "&#x20;", "&amp;", "&amp", "&", "&bogus;", "&#160;", "&zwnj;", "&#65;", "x&y",
        ];
        let mut rng = crate::extract::TestRng::new(0x7E47_5EED);
        for _ in 0..20_000 {
            let (mut out, mut line) = (Rendered::default(), Line::default());
            let (mut want_out, mut want_line) = (Rendered::default(), Line::default());
            for _ in 0..rng.next() % 4 {
                let link = Link {
                    href: String::new(),
                    text: String::new(),
                    hidden: false,
                };
                out.links.push(link.clone());
                want_out.links.push(link);
            }
            for _ in 0..1 + rng.next() % 6 {
                let mut raw = String::new();
                for _ in 0..rng.next() % 5 {
                    raw.push_str(pieces[rng.next() % pieces.len()]);
                }
                let n = out.links.len();
                let top = match rng.next() % 3 {
                    0 => None,
                    _ => Some(Open {
                        name: "p",
                        key: tags::key(b"p"),
                        hidden: rng.next() % 3 == 0,
                        link: (n > 0 && rng.next() % 2 == 0).then(|| rng.next() % n),
                    }),
                };
                push_text(&mut out, &mut line, top.as_ref(), &raw);
                push_text_reference(&mut want_out, &mut want_line, top.as_ref(), &raw);
                assert_eq!(out, want_out, "{raw:?}");
                assert_eq!(
                    (&line.text, line.space),
                    (&want_line.text, want_line.space),
                    "{raw:?}"
                );
                if rng.next() % 4 == 0 {
                    break_line(&mut out, &mut line);
                    break_line(&mut want_out, &mut want_line);
                }
            }
        }
    }

    #[test]
    fn decode_entities_as_char_searches() {
        // The version with `str::find` for '&' and for the end of the name.
        fn reference(s: &str) -> String {
            let mut out = String::new();
            let mut rest = s;
            while let Some(pos) = rest.find('&') {
                out.push_str(&rest[..pos]);
                rest = &rest[pos..];
                let end = rest[1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
                    .map(|e| e + 1)
                    .unwrap_or(rest.len());
                let name = &rest[1..end];
                let has_semi = rest[end..].starts_with(';');
                match entity_char(name) {
                    Some(c) => {
                        out.push(c);
                        rest = &rest[end + usize::from(has_semi)..];
                    }
                    None => {
                        out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            out.push_str(rest);
            out
        }
        let pieces = [
            "&", "amp", "AMP", ";", "#", "x", "X", "41", "1F600", "99999999", "D800", "nbsp",
            "bogus", "é", "🎉", " ", "a", "&&", "#x", "#X6e", "lt", "shy",
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..50_000 {
            let mut s = String::new();
            for _ in 0..1 + rng.below(8) {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            assert_eq!(decode_entities(&s), reference(&s), "{s:?}");
        }
        for s in [
            "&amp;",
            "&amp",
            "&amp;amp;",
            "&ampx;",
            "&AMP;",
            "&amp;&amp;",
            "a=1&amp;b=2&amp;",
            "&amp;é",
            "é&amp;",
            "&&amp;",
        ] {
            assert_eq!(decode_entities(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn blocks_links_and_hidden() {
        let r = render(
            "<html><head><style>p{}</style></head><body><div style=\"display:none\">preheader \
             <a href=\"https://x.example/\">x</a></div><p>Hi <b>Paul</b>,</p>\
             <a href='https://www.linkedin.com/a?x=1&amp;y=2'><span>Foo &amp; Bar</span></a><p>Head</p></body>",
        );
        assert_eq!(r.lines, vec!["Hi Paul,", "Foo & Bar", "Head"]);
        assert_eq!(r.links.len(), 2);
        assert!(r.links[0].hidden);
        assert_eq!(r.links[1].href, "https://www.linkedin.com/a?x=1&y=2");
        assert_eq!(r.links[1].text, "Foo & Bar");
    }

    /// A browser decodes character references in attribute values before it reads the CSS,
    /// so a style that spells its value with them hides as well as the plain one does.
    #[test]
    fn entity_spelled_styles_hide() {
        for style in [
            "display:&#110;one",
            "visibility:hi&#x64;den",
            "opacity:&#48;",
        ] {
            let r = render(&format!(
                "<p>shown</p><div style=\"{style}\">decoy <a href=\"https://x.example/\">x</a></div>"
            ));
            assert_eq!(r.lines, vec!["shown"], "{style}");
            assert!(r.links[0].hidden, "{style}");
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("I&#39;d &amp; &#x41; &bogus; &"),
            "I'd & A &bogus; &"
        );
    }

    #[test]
    fn broken_html_does_not_panic() {
        for s in [
            "<",
            "<a href=\"",
            "<<>>",
            "<p",
            "</",
            "<!--",
            "&#99999999;",
            "<a href=x>y",
            "é<é>",
        ] {
            let _ = render(s);
        }
    }
}
