//! The three parts of an http(s) link that classification reads: host, path and query.
//! `Url::parse` builds a whole normalised serialisation (percent-encoding every component,
//! IDNA-mapping the host) only for us to read those parts back, and mail holds dozens of
//! links, so that was a visible share of extraction time. Most links are plain: a
//! lower-case ASCII host name and printable ASCII with nothing `Url` would re-encode. For
//! those, the parts are exactly the slices of the input that `Url` would give back, so
//! they are cut out by hand; anything unusual goes to `Url::parse`.

use url::Url;

/// A parsed http(s) URL, borrowed from the input when it is plain.
pub enum WebUrl<'a> {
    Plain {
        host: &'a str,
        path: &'a str,
        query: Option<&'a str>,
    },
    Parsed(Url),
}

impl<'a> WebUrl<'a> {
    /// As `Url::parse(url)`, keeping only what we read.
    pub fn parse(url: &'a str) -> Result<WebUrl<'a>, url::ParseError> {
        match plain(url) {
            Some((host, path, query)) => Ok(WebUrl::Plain { host, path, query }),
            None => Url::parse(url).map(WebUrl::Parsed),
        }
    }

    /// `Url::host_str`.
    pub fn host(&self) -> Option<&str> {
        match self {
            WebUrl::Plain { host, .. } => Some(*host),
            WebUrl::Parsed(u) => u.host_str(),
        }
    }

    /// `Url::path`.
    pub fn path(&self) -> &str {
        match self {
            WebUrl::Plain { path, .. } => path,
            WebUrl::Parsed(u) => u.path(),
        }
    }

    /// `Url::query`.
    pub fn query(&self) -> Option<&str> {
        match self {
            WebUrl::Plain { query, .. } => *query,
            WebUrl::Parsed(u) => u.query(),
        }
    }
}

/// Host, path and query of an `http://` or `https://` URL (scheme in any case) that
/// `Url::parse` would accept and give back unchanged; None for anything else, which is
/// then left to `Url::parse`. Plain means:
/// - every byte printable ASCII, none of the characters `Url` percent-encodes in a path
///   or special query (`"` `<` `>` `` ` `` `{` `}` `'`), and no `\` (a path separator in
///   http URLs);
/// - the host is dot-separated non-empty labels of `a-z`, `0-9` and `-`, none starting
///   with `xn--` (punycode is validated), the last starting with a letter (so it cannot be
///   read as an IPv4 address); no user info, no port;
/// - no path segment starts with `.` or `%2e` (dot segments are resolved).
pub(super) fn plain(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = &url[scheme_len(url)?..];
    if !all_plain(url.as_bytes()) {
        return None;
    }
    let host_end = plain_host_end(rest.as_bytes())?;
    let host = &rest[..host_end];
    // Without a fragment, and split at the first '?'.
    let after = &rest[host_end..];
    let after = &after[..memchr::memchr(b'#', after.as_bytes()).unwrap_or(after.len())];
    let (path, query) = match memchr::memchr(b'?', after.as_bytes()) {
        Some(i) => (&after[..i], Some(&after[i + 1..])),
        None => (after, None),
    };
    // An http URL always has a path; an empty one is "/".
    let path = if path.is_empty() { "/" } else { path };
    let p = path.as_bytes();
    // A dot segment needs a '.' or '%': one search rules both out for most paths, where
    // looking after every '/' took a search per segment.
    let dot_segment = memchr::memchr2(b'.', b'%', p).is_some()
        && memchr::memchr_iter(b'/', p).any(|i| {
            let seg = &p[i + 1..];
            seg.starts_with(b".") || seg.get(..3).is_some_and(|s| s.eq_ignore_ascii_case(b"%2e"))
        });
    if dot_segment {
        return None;
    }
    Some((host, path, query))
}

/// The length of an `http://` or `https://` prefix in any case (7 or 8), else None. Read
/// as one 64-bit word: comparing byte by byte with case folding cost about fifty
/// instructions per scheme tried, and each link tries both, twice. Setting bit 5 of a
/// byte maps exactly `H`/`h` to `h` (and so for `t`, `p`, `s`), so the letters are
/// folded that way; `:` and `/` are compared as they are.
pub(super) fn scheme_len(url: &str) -> Option<usize> {
    const HTTPS: u64 = u64::from_le_bytes(*b"https://");
    const HTTP: u64 = u64::from_le_bytes(*b"http://\0");
    let w = match url.as_bytes().first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => {
            let mut word = [0u8; 8];
            word[..url.len()].copy_from_slice(url.as_bytes());
            u64::from_le_bytes(word)
        }
    };
    if w | 0x20_2020_2020 == HTTPS {
        Some(8)
    } else if (w | 0x2020_2020) & 0x00ff_ffff_ffff_ffff == HTTP {
        Some(7)
    } else {
        None
    }
}

/// Every byte printable ASCII and none that `Url` re-encodes or reads as `\\`. Checked a
/// block at a time without stopping early inside a block, which the compiler vectorises
/// (LinkedIn's links are hundreds of bytes long). Whole 32-byte blocks let it drop the
/// per-block length logic; the bytes after the last whole block are checked as the last
/// 32 bytes of the input (overlapping the block before), or padded with plain bytes
/// when the input is shorter: byte by byte, that tail was a third of the check.
fn all_plain(b: &[u8]) -> bool {
    let mut blocks = b.chunks_exact(32);
    if !blocks.all(|c| <&[u8; 32]>::try_from(c).is_ok_and(block_plain)) {
        return false;
    }
    let tail = blocks.remainder();
    if tail.is_empty() {
        return true;
    }
    match b.last_chunk::<32>() {
        Some(last) => block_plain(last),
        None => {
            let mut padded = [b'a'; 32];
            padded[..tail.len()].copy_from_slice(tail);
            block_plain(&padded)
        }
    }
}

/// No byte of a block that `not_plain` refuses, checked without stopping early.
fn block_plain(c: &[u8; 32]) -> bool {
    !c.iter().fold(false, |bad, &c| bad | not_plain(c))
}

/// A byte `all_plain` refuses.
fn not_plain(b: u8) -> bool {
    !(b'!'..=b'~').contains(&b)
        | (b == b'"')
        | (b == b'<')
        | (b == b'>')
        | (b == b'`')
        | (b == b'{')
        | (b == b'}')
        | (b == b'\'')
        | (b == b'\\')
}

/// Where the host ends in `rest` (the URL after its scheme: at the first `/`, `?`, `#`
/// or the end) when the host is plain: dot-separated non-empty labels of `a-z`, `0-9`
/// and `-`, none starting with `xn--`, the last starting with a letter. One walk finds
/// the end and checks the labels; a search for the end and then a split into labels
/// read the host twice and cost about twice as much.
fn plain_host_end(rest: &[u8]) -> Option<usize> {
    // LinkedIn's own host, which most links have, is answered by one comparison: the
    // walk below cost about a fifth of splitting a link.
    const WWW: &[u8] = b"www.linkedin.com";
    if rest.starts_with(WWW) && matches!(rest.get(WWW.len()), None | Some(b'/' | b'?' | b'#')) {
        return Some(WWW.len());
    }
    plain_host_walk(rest)
}

/// `plain_host_end` by walking the host byte by byte.
fn plain_host_walk(rest: &[u8]) -> Option<usize> {
    // The first byte of the current label, None at the start of one.
    let mut first = None;
    for (i, &c) in rest.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {
                if first.is_none() {
                    // "xn--" is all label bytes, so it cannot run past this label.
                    if rest[i..].starts_with(b"xn--") {
                        return None;
                    }
                    first = Some(c);
                }
            }
            b'.' => {
                first?;
                first = None;
            }
            b'/' | b'?' | b'#' => {
                return first.is_some_and(|f| f.is_ascii_lowercase()).then_some(i)
            }
            _ => return None,
        }
    }
    first
        .is_some_and(|f| f.is_ascii_lowercase())
        .then_some(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain split, where it applies, agrees with `Url::parse`.
    fn check(url: &str) {
        if let Some((host, path, query)) = plain(url) {
            let u = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(Some(host), u.host_str(), "{url}");
            assert_eq!(path, u.path(), "{url}");
            assert_eq!(query, u.query(), "{url}");
        }
    }

    #[test]
    fn plain_split_is_what_url_gives() {
        for u in [
            "https://www.linkedin.com",
            "https://www.linkedin.com/",
            "HTTPS://www.linkedin.com/comm/in/x?trk=eml-a%7Ecta&b=c#frag",
            "http://a.b/?",
            "http://a.b?x=1",
            "http://a.b#x",
            "https://a.b/x/y/?q=%zz&r=a+b&&",
            "https://a.b//x",
            "https://a.b/x?y/../z",
            "https://a-.b-/x",
            "https://a.b/x;y=z~!$()*,@:",
            "https://a.b/x?q=a?b=c",
        ] {
            assert!(plain(u).is_some(), "{u}");
            check(u);
        }
        // Left to Url: uppercase or IDNA hosts, numbers, ports, user info, dot segments,
        // anything Url re-encodes or strips.
        for u in [
            "https://WWW.linkedin.com/",
            "https://xn--linkedn-b2a.com/",
            "https://1.2.3.4/",
            "https://a.0x7f/",
            "https://a.b:443/",
            "https://u@a.b/",
            "https://a..b/",
            "https://a.b./",
            "https://a.b/./x",
            "https://a.b/x/%2E%2e/y",
            "https://a.b/x y",
            "https://a.b/x\ty",
            "https://a.b/x'y",
            "https://a.b/x\\y",
            "https://a.b/é",
            "https:///a.b/",
            "https:a.b/",
            "https://",
            "ftp://a.b/",
        ] {
            assert!(plain(u).is_none(), "{u}");
        }
    }

    /// `plain` as it was: the scheme by `starts_with_ci`, the bytes one by one, the host
    /// cut at a memchr3 and then split into labels.
    fn plain_reference(url: &str) -> Option<(&str, &str, Option<&str>)> {
        use crate::extract::ascii::starts_with_ci;
        let rest = if starts_with_ci(url, "https://") {
            &url[8..]
        } else if starts_with_ci(url, "http://") {
            &url[7..]
        } else {
            return None;
        };
        if !all_plain_reference(url.as_bytes()) {
            return None;
        }
        let b = rest.as_bytes();
        let host_end = memchr::memchr3(b'/', b'?', b'#', b).unwrap_or(b.len());
        let host = &rest[..host_end];
        let mut last_first = None;
        for b in host.as_bytes().split(|&c| c == b'.') {
            if b.is_empty()
                || !b
                    .iter()
                    .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                || b.starts_with(b"xn--")
            {
                return None;
            }
            last_first = Some(b[0]);
        }
        if !last_first.is_some_and(|c| c.is_ascii_lowercase()) {
            return None;
        }
        let after = &rest[host_end..];
        let after = &after[..after.find('#').unwrap_or(after.len())];
        let (path, query) = match after.find('?') {
            Some(i) => (&after[..i], Some(&after[i + 1..])),
            None => (after, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        let dot_segment = path.split('/').skip(1).any(|seg| {
            seg.starts_with('.') || seg.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("%2e"))
        });
        (!dot_segment).then_some((host, path, query))
    }

    #[test]
    fn plain_as_before_on_fixture_and_random_links() {
        let mut urls: Vec<String> = super::super::fixture_links()
            .into_iter()
            .map(|(_, l)| l.url.trim().to_string())
            .collect();
        let mut rng = crate::extract::TestRng::new(5);
        let schemes = [
            "https://", "http://", "HTTPS://", "hTtP://", "http:/", "https:", "htt", "",
        ];
        let odd = "AZ:@\"<>`{}'\\ \t\x7fé";
        for _ in 0..20000 {
            let mut u = schemes[rng.next() % schemes.len()].to_string();
            let host = rng.bytes(b"abz09-.x", 24);
            let max = 1 + rng.next() % 200;
            let rest = rng.bytes(b"ab/?#.%2eE&=n-x", max);
            u.push_str(std::str::from_utf8(&host).unwrap());
            u.push_str(std::str::from_utf8(&rest).unwrap());
            // Sometimes one character that is not plain, anywhere.
            if rng.next() % 3 == 0 {
                let at = rng.next() % (u.len() + 1);
                let n = rng.next() % odd.chars().count();
                let c = odd.chars().nth(n).unwrap();
                if u.is_char_boundary(at) {
                    u.insert(at, c);
                }
            }
            urls.push(u);
        }
        let mut plain_n = 0;
        for u in &urls {
            assert_eq!(plain(u), plain_reference(u), "{u:?}");
            let by_ci = |s| crate::extract::ascii::starts_with_ci(u, s);
            let reference = if by_ci("https://") {
                Some(8)
            } else if by_ci("http://") {
                Some(7)
            } else {
                None
            };
            assert_eq!(scheme_len(u), reference, "{u:?}");
            plain_n += usize::from(plain(u).is_some());
        }
        assert!(plain_n > 2000, "only {plain_n} plain");
    }

    /// The `www.linkedin.com` shortcut answers as the walk does, around that host.
    #[test]
    fn host_shortcut_as_the_walk() {
        let mut rng = crate::extract::TestRng::new(23);
        for _ in 0..5000 {
            let mut r = b"www.linkedin.com".to_vec();
            r.truncate(r.len() - rng.next() % 3);
            r.extend(rng.bytes(b"/?#.a-Z:x", 6));
            assert_eq!(plain_host_end(&r), plain_host_walk(&r), "{r:?}");
        }
    }

    /// `all_plain` as it was: every byte, in `chunks`.
    fn all_plain_reference(b: &[u8]) -> bool {
        b.iter().all(|&c| !not_plain(c))
    }

    #[test]
    fn all_plain_by_blocks_as_byte_by_byte() {
        let mut rng = crate::extract::TestRng::new(11);
        let odd = b"aZ09-._~%/?#&=+!\"<>`{}'\\ \x7f\x80\xff\t";
        for _ in 0..5000 {
            let mut b = rng.bytes(b"abcdefgh0123/?=&%", 200);
            // At most one odd byte, anywhere, so that blocks before it are all plain.
            if rng.next() % 2 == 0 && !b.is_empty() {
                let at = rng.next() % b.len();
                b[at] = odd[rng.next() % odd.len()];
            }
            assert_eq!(all_plain(&b), all_plain_reference(&b), "{b:?}");
        }
    }

    #[test]
    fn plain_split_on_every_fixture_link() {
        let mut n = 0;
        for (_, l) in super::super::fixture_links() {
            check(l.url.trim());
            n += usize::from(plain(l.url.trim()).is_some());
        }
        assert!(n > 100, "only {n} plain links");
    }
}
