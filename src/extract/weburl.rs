//! The three parts of an http(s) link that classification reads: host, path and query.
//! `Url::parse` builds a whole normalised serialisation (percent-encoding every component,
//! IDNA-mapping the host) only for us to read those parts back, and mail holds dozens of
//! links, so that was a visible share of extraction time. Most links are plain: a
//! lower-case ASCII host name and printable ASCII with nothing `Url` would re-encode. For
//! those, the parts are exactly the slices of the input that `Url` would give back, so
//! they are cut out by hand; anything unusual goes to `Url::parse`.

use url::Url;

use super::ascii::starts_with_ci;

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
    let rest = if starts_with_ci(url, "https://") {
        &url[8..]
    } else if starts_with_ci(url, "http://") {
        &url[7..]
    } else {
        return None;
    };
    if !all_plain(url.as_bytes()) {
        return None;
    }
    let b = rest.as_bytes();
    let host_end = memchr::memchr3(b'/', b'?', b'#', b).unwrap_or(b.len());
    let host = &rest[..host_end];
    if !plain_host(host) {
        return None;
    }
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

/// Every byte printable ASCII and none that `Url` re-encodes or reads as `\\`. Checked a
/// block at a time without stopping early inside a block, which the compiler vectorises
/// (LinkedIn's links are hundreds of bytes long). Whole 32-byte blocks (`chunks_exact`)
/// let it drop the per-block length logic that `chunks` needed: a third fewer
/// instructions per byte, measured on a LinkedIn link.
fn all_plain(b: &[u8]) -> bool {
    let mut blocks = b.chunks_exact(32);
    let blocks_ok = blocks
        .by_ref()
        .all(|c| !c.iter().fold(false, |bad, &c| bad | not_plain(c)));
    blocks_ok && !blocks.remainder().iter().any(|&c| not_plain(c))
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

fn plain_host(host: &str) -> bool {
    let mut last_first = None;
    for b in host.as_bytes().split(|&c| c == b'.') {
        if b.is_empty()
            || !b
                .iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            || b.starts_with(b"xn--")
        {
            return false;
        }
        last_first = Some(b[0]);
    }
    last_first.is_some_and(|c| c.is_ascii_lowercase())
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
