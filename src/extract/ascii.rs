//! ASCII case-insensitive searching without allocating. Mail is full of markup and URLs
//! whose ASCII keywords come in any case; lower-casing a copy of a whole body or URL just
//! to search it was a measurable share of extraction time.

use memchr::memchr2;

/// Position of the first case-insensitive (ASCII) occurrence of `needle` in `hay`. Same
/// answer as `hay.to_ascii_lowercase().find(needle)` for a lower-case needle (ASCII
/// lower-casing keeps byte offsets). Candidates are found with memchr on the needle's
/// first byte in both cases.
pub fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    if hay.len() < needle.len() {
        return None;
    }
    // Only positions where the whole needle still fits can start a match.
    let starts = &hay[..=hay.len() - needle.len()];
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while let Some(p) = memchr2(lo, up, &starts[from..]) {
        let at = from + p;
        if hay[at + 1..at + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether `hay` contains `needle`, ASCII case-insensitively.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    find_ci(hay.as_bytes(), needle.as_bytes()).is_some()
}

/// Whether `s` starts with `prefix`, ASCII case-insensitively.
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_lowercase_find() {
        let hays = [
            "",
            "a",
            "HTTPS://x",
            "see Http://a and https://b",
            "hhttp",
            "ééHTTP://",
            "xnone",
            "NoNe",
        ];
        for h in hays {
            for n in ["http://", "https://", "none", "h", "x", "é"] {
                assert_eq!(
                    find_ci(h.as_bytes(), n.as_bytes()),
                    h.to_ascii_lowercase().find(n),
                    "{h:?} {n:?}"
                );
            }
        }
        assert_eq!(find_ci(b"abc", b""), None);
        assert!(starts_with_ci("HTTPS://x", "https://"));
        assert!(!starts_with_ci("http", "https://"));
        assert!(contains_ci("a-PYMK-b", "-pymk"));
    }
}
