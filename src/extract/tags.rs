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

const ADDRESS: u128 = key(b"address");
const AREA: u128 = key(b"area");
const ARTICLE: u128 = key(b"article");
const ASIDE: u128 = key(b"aside");
const BASE: u128 = key(b"base");
const BLOCKQUOTE: u128 = key(b"blockquote");
const BR: u128 = key(b"br");
const CENTER: u128 = key(b"center");
const COL: u128 = key(b"col");
const DD: u128 = key(b"dd");
const DIV: u128 = key(b"div");
const DL: u128 = key(b"dl");
const DT: u128 = key(b"dt");
const EMBED: u128 = key(b"embed");
const FIELDSET: u128 = key(b"fieldset");
const FIGCAPTION: u128 = key(b"figcaption");
const FIGURE: u128 = key(b"figure");
const FOOTER: u128 = key(b"footer");
const FORM: u128 = key(b"form");
const H1: u128 = key(b"h1");
const H2: u128 = key(b"h2");
const H3: u128 = key(b"h3");
const H4: u128 = key(b"h4");
const H5: u128 = key(b"h5");
const H6: u128 = key(b"h6");
const HEAD: u128 = key(b"head");
const HEADER: u128 = key(b"header");
const HR: u128 = key(b"hr");
const IMG: u128 = key(b"img");
const INPUT: u128 = key(b"input");
const LI: u128 = key(b"li");
const LINK: u128 = key(b"link");
const MAIN: u128 = key(b"main");
const META: u128 = key(b"meta");
const NAV: u128 = key(b"nav");
const NOSCRIPT: u128 = key(b"noscript");
const OL: u128 = key(b"ol");
const P: u128 = key(b"p");
const PARAM: u128 = key(b"param");
const PRE: u128 = key(b"pre");
const SCRIPT: u128 = key(b"script");
const SECTION: u128 = key(b"section");
const SOURCE: u128 = key(b"source");
const STYLE: u128 = key(b"style");
const TABLE: u128 = key(b"table");
const TBODY: u128 = key(b"tbody");
const TD: u128 = key(b"td");
const TEMPLATE: u128 = key(b"template");
const TFOOT: u128 = key(b"tfoot");
const TH: u128 = key(b"th");
const THEAD: u128 = key(b"thead");
const TITLE: u128 = key(b"title");
const TR: u128 = key(b"tr");
const TRACK: u128 = key(b"track");
const UL: u128 = key(b"ul");
const WBR: u128 = key(b"wbr");

/// The kind of a tag name, given its `key`.
pub fn kind_of_key(k: u128) -> TagKind {
    match k {
        ADDRESS | ARTICLE | ASIDE | BLOCKQUOTE | CENTER | DD | DIV | DL | DT | FIELDSET
        | FIGCAPTION | FIGURE | FOOTER | FORM | H1 | H2 | H3 | H4 | H5 | H6 | HEADER | LI
        | MAIN | NAV | OL | P | PRE | SECTION | TABLE | TBODY | TD | TFOOT | TH | THEAD | TR
        | UL => TagKind {
            block: true,
            void: false,
            skip_content: false,
        },
        AREA | BASE | COL | EMBED | IMG | INPUT | LINK | META | PARAM | SOURCE | TRACK | WBR => {
            TagKind {
                block: false,
                void: true,
                skip_content: false,
            }
        }
        HEAD | NOSCRIPT | SCRIPT | STYLE | TEMPLATE => TagKind {
            block: false,
            void: false,
            skip_content: true,
        },
        BR | HR => TagKind {
            block: true,
            void: true,
            skip_content: false,
        },
        TITLE => TagKind {
            block: true,
            void: false,
            skip_content: true,
        },
        _ => TagKind::default(),
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
