//! What the HTML renderer needs to know about an element from its name: whether it breaks
//! the line, has no content (void), or holds content that is never visible text. Looked up
//! once per tag by matching the name's `key` (its bytes lower-cased and packed into a
//! number): scanning three name lists with a case-insensitive compare per entry, for every
//! tag, was a visible part of rendering (mail HTML is mostly tags), and so was copying
//! each name into a buffer to lower-case it and comparing it as a slice.

/// The facts about one tag name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagKind {
    /// Starts and ends a line of text.
    pub block: bool,
    /// Has no content and no close tag.
    pub void: bool,
    /// Its content is never visible text (script, style, head, ...).
    pub skip_content: bool,
}

/// The longest name a key holds whole: longer names keep their first `KEY_LEN` bytes, which
/// no name in the sets (at most ten bytes) can equal, since a name has no zero byte.
pub const KEY_LEN: usize = 16;

/// A tag name's bytes, lower-cased as `| 0x20` does (exact for the letters, digits, ':' and
/// '-' a name is made of), packed into a number, first byte lowest: compared with one
/// instruction pair where comparing names as slices called the byte comparison per
/// candidate. `render` builds it while reading the name, so the name is read once.
pub const fn key(name: &[u8]) -> u128 {
    let mut k = 0u128;
    let mut i = 0;
    while i < name.len() && i < KEY_LEN {
        k |= ((name[i] | 0x20) as u128) << (8 * i);
        i += 1;
    }
    k
}

/// Names of elements that start and end a line of text.
const BLOCK: &[&[u8]] = &[
    b"address",
    b"article",
    b"aside",
    b"blockquote",
    b"br",
    b"center",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"fieldset",
    b"figcaption",
    b"figure",
    b"footer",
    b"form",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"header",
    b"hr",
    b"li",
    b"main",
    b"nav",
    b"ol",
    b"p",
    b"pre",
    b"section",
    b"table",
    b"tbody",
    b"td",
    b"tfoot",
    b"th",
    b"thead",
    b"title",
    b"tr",
    b"ul",
];
/// Names of elements without content.
const VOID: &[&[u8]] = &[
    b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"param",
    b"source", b"track", b"wbr",
];
/// Names of elements whose content is never visible text.
const SKIP_CONTENT: &[&[u8]] = &[
    b"script",
    b"style",
    b"head",
    b"title",
    b"noscript",
    b"template",
];

/// Multiplier of `slot`, found by trying: it gives every name in the sets its own slot.
const MAGIC: u64 = 0x74e6_9a5d_0dd2_7a65;

/// Where a key sits in `TABLE`: a multiplicative hash of its two halves, top eight bits.
const fn slot(k: u128) -> usize {
    ((k as u64 ^ (k >> 64) as u64).wrapping_mul(MAGIC) >> 56) as usize
}

const NONE: TagKind = TagKind {
    block: false,
    void: false,
    skip_content: false,
};

/// Every name in the sets with its kind, each in its `slot` (a collision fails the build).
/// One multiplication and one comparison per tag: matching the key against the names was
/// a chain of comparisons.
static TABLE: [(u128, TagKind); 256] = {
    let mut t = [(0u128, NONE); 256];
    let lists = [BLOCK, VOID, SKIP_CONTENT];
    let mut l = 0;
    while l < lists.len() {
        let mut n = 0;
        while n < lists[l].len() {
            let k = key(lists[l][n]);
            let s = slot(k);
            assert!(
                t[s].0 == 0 || t[s].0 == k,
                "two names in one slot: change MAGIC"
            );
            t[s].0 = k;
            match l {
                0 => t[s].1.block = true,
                1 => t[s].1.void = true,
                _ => t[s].1.skip_content = true,
            }
            n += 1;
        }
        l += 1;
    }
    t
};

/// The kind of a tag name, given its `key`.
pub fn kind_of_key(k: u128) -> TagKind {
    match TABLE.get(slot(k)) {
        Some(&(key, kind)) if key == k => kind,
        _ => NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists the renderer used to scan, the reference.
    const BLOCK_TAGS: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
    ];
    const VOID_TAGS: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    const SKIP_CONTENT: &[&str] = &["script", "style", "head", "title", "noscript", "template"];

    fn is_one_of(name: &str, list: &[&str]) -> bool {
        list.iter().any(|t| t.eq_ignore_ascii_case(name))
    }

    #[test]
    fn same_as_scanning_the_lists() {
        let mut names: Vec<String> = Vec::new();
        for n in BLOCK_TAGS.iter().chain(VOID_TAGS).chain(SKIP_CONTENT) {
            names.push(n.to_string());
            names.push(n.to_ascii_uppercase());
            names.push(format!("{n}x"));
            names.push(n[1..].to_string());
        }
        for n in [
            "",
            "a",
            "A",
            "span",
            "o:p",
            "x-y",
            "BlockQuote",
            "blockquotes",
            "h7",
        ] {
            names.push(n.to_string());
        }
        names.push("abcdefghijklmnopqrstuvwxyz".to_string());
        names.push("blockquoteblockquote".to_string());
        for n in &names {
            assert_eq!(
                kind_of_key(key(n.as_bytes())),
                TagKind {
                    block: is_one_of(n, BLOCK_TAGS),
                    void: is_one_of(n, VOID_TAGS),
                    skip_content: is_one_of(n, SKIP_CONTENT),
                },
                "{n:?}"
            );
        }
    }
}
