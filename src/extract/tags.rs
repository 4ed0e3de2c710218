//! What the HTML renderer needs to know about an element from its name: whether it breaks
//! the line, has no content (void), or holds content that is never visible text. Looked up
//! once per tag by lower-casing the name into a small buffer and matching it: scanning
//! three name lists with a case-insensitive compare per entry, for every tag, was a
//! visible part of rendering (mail HTML is mostly tags).

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

/// The longest name in any of the sets ("blockquote", "figcaption"): longer names are in
/// none of them.
const LONGEST: usize = 10;

/// The kind of a tag name, in any case.
pub fn kind(name: &str) -> TagKind {
    let b = name.as_bytes();
    if b.len() > LONGEST {
        return TagKind::default();
    }
    let mut buf = [0u8; LONGEST];
    let lower = &mut buf[..b.len()];
    lower.copy_from_slice(b);
    lower.make_ascii_lowercase();
    let lower: &[u8] = lower;
    TagKind {
        block: matches!(
            lower,
            b"address"
                | b"article"
                | b"aside"
                | b"blockquote"
                | b"br"
                | b"center"
                | b"dd"
                | b"div"
                | b"dl"
                | b"dt"
                | b"fieldset"
                | b"figcaption"
                | b"figure"
                | b"footer"
                | b"form"
                | b"h1"
                | b"h2"
                | b"h3"
                | b"h4"
                | b"h5"
                | b"h6"
                | b"header"
                | b"hr"
                | b"li"
                | b"main"
                | b"nav"
                | b"ol"
                | b"p"
                | b"pre"
                | b"section"
                | b"table"
                | b"tbody"
                | b"td"
                | b"tfoot"
                | b"th"
                | b"thead"
                | b"title"
                | b"tr"
                | b"ul"
        ),
        void: matches!(
            lower,
            b"area"
                | b"base"
                | b"br"
                | b"col"
                | b"embed"
                | b"hr"
                | b"img"
                | b"input"
                | b"link"
                | b"meta"
                | b"param"
                | b"source"
                | b"track"
                | b"wbr"
        ),
        skip_content: matches!(
            lower,
            b"script" | b"style" | b"head" | b"title" | b"noscript" | b"template"
        ),
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
        for n in &names {
            assert_eq!(
                kind(n),
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
