//! LinkedIn specifics that are facts about LinkedIn's mail, not about mail in general:
//! which hosts and sender domains are theirs, template names per kind, the accept-link
//! shapes of each era, and which URL parameters are tracking. Sources: the format notes
//! (`docs/linkedin-formats.md` in the shared research), sections 1-3 and 7-9.

use std::borrow::Cow;

use url::{form_urlencoded, Url};

use super::ascii::starts_with_ci;
use super::auth::is_domain_or_sub_ci;
pub use super::auth::is_linkedin_domain;
use super::weburl::{self, WebUrl};

/// Hosts that are not LinkedIn's but appear in genuine LinkedIn mail: app-store badges in
/// the 2025 mercado footer (format notes section 8). Anything else outside LinkedIn's
/// domains is a phishing signal.
const BENIGN_THIRD_PARTY_HOSTS: &[&str] = &[
    "apps.microsoft.com",
    "itunes.apple.com",
    "apps.apple.com",
    "play.google.com",
];

/// Whether a link host belongs to LinkedIn (linkedin.com, its subdomains, licdn.com CDN).
/// Nearly every host asked about is a lower-case `*.linkedin.com`: that is answered by one
/// comparison before the general rule's trimming and case folding.
pub fn is_linkedin_host(host: &str) -> bool {
    if host.ends_with(".linkedin.com") || host == "linkedin.com" {
        return true;
    }
    let h = host.trim_end_matches('.');
    is_linkedin_domain(h) || is_domain_or_sub_ci(h, "licdn.com")
}

/// Classifies one link for the host check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkHost {
    LinkedIn,
    BenignThirdParty,
    Foreign(String),
    /// mailto:, tel:, cid:, fragments: not a web destination.
    NotWeb,
    Unparseable,
}

pub fn link_host(url: &str) -> LinkHost {
    parse_web(url).0
}

/// The host class and, for an absolute http(s) URL that parses, the parsed URL: parsing is
/// the expensive part, so `LinkFacts` asks everything of this one parse. A scheme-relative
/// `//host/...` link gets its host checked as https, but no parsed URL (it has no scheme
/// to resolve against), as before.
fn parse_web(url: &str) -> (LinkHost, Option<WebUrl<'_>>) {
    let u = trim(url);
    if weburl::scheme_len(u).is_none() {
        if u.starts_with("//") {
            return (link_host(&format!("https:{u}")), None);
        }
        return (LinkHost::NotWeb, None);
    }
    match WebUrl::parse(u) {
        Ok(parsed) => (host_of(parsed.host()), Some(parsed)),
        Err(_) => (LinkHost::Unparseable, None),
    }
}

/// `str::trim`, answered at once when both ends are printable ASCII (every link we read):
/// the general search for Unicode white space at both ends cost about fifty instructions
/// per link. Bytes from `!` to DEL are never white space, so such a string trims to
/// itself.
fn trim(s: &str) -> &str {
    let solid = |c: Option<&u8>| c.is_some_and(|&c| (b'!'..=0x7f).contains(&c));
    if solid(s.as_bytes().first()) && solid(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

fn host_of(host: Option<&str>) -> LinkHost {
    match host {
        Some(h) if is_linkedin_host(h) => LinkHost::LinkedIn,
        Some(h)
            if BENIGN_THIRD_PARTY_HOSTS
                .iter()
                .any(|b| b.eq_ignore_ascii_case(h)) =>
        {
            LinkHost::BenignThirdParty
        }
        Some(h) => LinkHost::Foreign(h.to_ascii_lowercase()),
        None => LinkHost::Unparseable,
    }
}

/// Everything the classifier asks about one link, from a single parse: mail with dozens of
/// links would otherwise parse each URL once per question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub host: LinkHost,
    pub accept: bool,
    pub profile: bool,
    pub pymk: bool,
    pub invitation_id: Option<String>,
}

impl LinkFacts {
    pub fn of(url: &str) -> LinkFacts {
        let (host, parsed) = parse_web(url);
        let pymk = is_pymk_url(url);
        // Only a LinkedIn link's path and query are read: the other answers are for
        // LinkedIn's links alone. A URL that parses without a host is not LinkedIn's.
        let Some(p) = parsed.filter(|_| host == LinkHost::LinkedIn) else {
            return LinkFacts {
                host,
                accept: false,
                profile: false,
                pymk,
                invitation_id: None,
            };
        };
        let q = QueryFacts::of(p.query());
        let path = PathFacts::of(p.path());
        let accept = path.accept_marker || accept_query(p.path(), &q);
        let profile = profile_path(p.path());
        let invitation_id = q
            .invitation_id
            .or_else(|| path.invitation_id.map(utf8_lossy_slice));
        LinkFacts {
            host,
            accept,
            profile,
            pymk,
            invitation_id,
        }
    }
}

/// The template names in a link's tracking parameters, in query order, read from the
/// same parse as `LinkFacts::of` (any host). Asked for only when a message has no
/// X-LinkedIn-Template header: the mercado mails that dominate extraction all have one,
/// and reading templates for every link of every message (three decoded names per link,
/// each a String) was about a fifth of reading links.
pub fn link_templates(url: &str) -> Vec<String> {
    match parse_web(url) {
        (host, Some(p)) if host != LinkHost::Unparseable => query_templates(p.query()),
        _ => Vec::new(),
    }
}

/// What the classifier reads from a URL's query, in one pass over its pairs.
#[derive(Debug, Default)]
struct QueryFacts {
    /// An `invitationId` parameter (any case) is present.
    has_invitation_key: bool,
    /// A `msgID` parameter is present.
    has_msg_id: bool,
    /// The first `invitationId` (any case) whose value looks like an id.
    invitation_id: Option<String>,
}

impl QueryFacts {
    /// From `Url::query`.
    fn of(query: Option<&str>) -> QueryFacts {
        let mut q = QueryFacts::default();
        let pairs = raw_pairs(query.unwrap_or("")).filter(|p| may_name_id(p.as_bytes()));
        for (k, raw) in pairs.map(split_pair) {
            if k == "msgID" {
                q.has_msg_id = true;
            } else if k.eq_ignore_ascii_case("invitationId") {
                q.has_invitation_key = true;
                if q.invitation_id.is_none() {
                    let v = decode_component(raw);
                    if is_id(v.as_bytes()) {
                        q.invitation_id = Some(v.into_owned());
                    }
                }
            }
        }
        q
    }
}

/// Whether a raw pair's name can decode to `msgID` or `invitationId` (any case), from its
/// first two bytes: a decoded name starts with its raw byte unless that is '%' ('+' is a
/// space). LinkedIn links carry a dozen pairs, and finding the '=' of each was most of
/// reading their queries.
fn may_name_id(pair: &[u8]) -> bool {
    matches!(
        pair,
        [b'%', ..] | [b'm', b's' | b'%', ..] | [b'i' | b'I', b'n' | b'N' | b'%', ..]
    )
}

/// Template names in a query's tracking parameters (from `Url::query`), in query order.
fn query_templates(query: Option<&str>) -> Vec<String> {
    let mut templates = Vec::new();
    for (k, raw) in query_pairs(query.unwrap_or("")) {
        match k.as_ref() {
            "trk" | "trkEmail" | "tracking" => templates.extend(trk_template(raw)),
            "ek" => {
                // Lower-cased in place: one copy whether or not decoding made one.
                let mut t = decode_component(raw).into_owned();
                t.make_ascii_lowercase();
                templates.push(t);
            }
            "lipi" => templates.extend(lipi_template(raw)),
            _ => {}
        }
    }
    templates
}

/// The template in a `trk` value: `eml-email_m2m_invite_single_01-hero-0-accept~cta` ->
/// `email_m2m_invite_single_01` (the name has underscores but never '-'). A name is ASCII
/// letters, digits and '_', and UTF-8 repair never touches ASCII bytes, so the decoded
/// bytes are checked before that step.
fn trk_template(raw: &str) -> Option<String> {
    let name = decoded_field(raw, b"eml-", b'-')?;
    let ok = !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    ok.then(|| lower_text(name))
}

/// `String::from_utf8_lossy(&b).to_ascii_lowercase()` with one allocation at most, none
/// when the bytes are owned already: ASCII lower-casing changes only ASCII letters, which
/// UTF-8 repair never touches, so the two steps can swap.
fn lower_text(b: Cow<'_, [u8]>) -> String {
    let mut v = b.into_owned();
    v.make_ascii_lowercase();
    utf8_lossy(v)
}

/// The template in a `lipi` value, `urn:li:page:email_<t>;…`. UTF-8 repair never merges an
/// ASCII byte into a replacement, so repairing the bytes before the first ';' gives the
/// same text as repairing all and cutting there.
fn lipi_template(raw: &str) -> Option<String> {
    let t = decoded_field(raw, b"urn:li:page:email_", b';')?;
    (!t.is_empty()).then(|| lower_text(t))
}

/// The decoded bytes of a value after `prefix` and before the first `stop` byte, or None
/// when the decoded value does not start with `prefix`: only as much is decoded as is
/// read. Borrowed when that part is written without '%' or '+', as it usually is.
/// `prefix` must not contain '%' or '+'.
fn decoded_field<'a>(raw: &'a str, prefix: &[u8], stop: u8) -> Option<Cow<'a, [u8]>> {
    if let Some(rest) = raw.as_bytes().strip_prefix(prefix) {
        let end = rest
            .iter()
            .position(|&c| c == stop || c == b'%' || c == b'+')
            .unwrap_or(rest.len());
        if rest.get(end).is_none_or(|&c| c == stop) {
            return Some(Cow::Borrowed(&rest[..end]));
        }
    }
    let mut d = decoded_bytes(raw);
    if !d.by_ref().take(prefix.len()).eq(prefix.iter().copied()) {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    out.extend(d.take_while(|&c| c != stop));
    Some(Cow::Owned(out))
}

/// The `name=value` pairs of a query split exactly as `Url::query_pairs` splits them, with
/// the name decoded and the value left raw: of the dozens of tracking values in a
/// LinkedIn link only a few are ever read, and percent-decoding all of them was the
/// largest part of reading a link. Pairs are cut with one memchr pass and names found by
/// a byte scan (names are short), which costs less than `str::split` per pair.
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
    raw_pairs(query).map(split_pair)
}

/// The non-empty `&`-separated pairs of a query, undecoded.
fn raw_pairs(query: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'&', query.as_bytes())
        .chain(std::iter::once(query.len()))
        .filter_map(move |end| {
            let pair = &query[start..end];
            start = end + 1;
            (!pair.is_empty()).then_some(pair)
        })
}

/// One pair's decoded name and raw value.
fn split_pair(pair: &str) -> (Cow<'_, str>, &str) {
    // One scan finds the '=' and whether the name needs decoding.
    let mut eq = pair.len();
    let mut encoded = false;
    for (i, c) in pair.bytes().enumerate() {
        match c {
            b'=' => {
                eq = i;
                break;
            }
            b'%' | b'+' => encoded = true,
            _ => {}
        }
    }
    let k = &pair[..eq];
    let v = pair.get(eq + 1..).unwrap_or("");
    let k = if encoded {
        decode_component(k)
    } else {
        Cow::Borrowed(k)
    };
    (k, v)
}

/// application/x-www-form-urlencoded decoding of one name or value, as `form_urlencoded`
/// does it: '+' is a space, `%XX` (either case) a byte, any other '%' itself, and invalid
/// UTF-8 becomes U+FFFD. Borrows when there is nothing to decode.
fn decode_component(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|c| c == b'+' || c == b'%') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(utf8_lossy(decoded_bytes(s).collect()))
}

/// The bytes `decode_component` decodes to, before the UTF-8 step, produced lazily so a
/// caller can stop as soon as it has what it needs.
fn decoded_bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
    let b = s.as_bytes();
    let hex = |c: &u8| char::from(*c).to_digit(16);
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = *b.get(i)?;
        i += 1;
        Some(match c {
            b'+' => b' ',
            b'%' => match (b.get(i).and_then(hex), b.get(i + 1).and_then(hex)) {
                (Some(h), Some(l)) => {
                    i += 2;
                    (h * 16 + l) as u8
                }
                _ => b'%',
            },
            _ => c,
        })
    })
}

/// `String::from_utf8_lossy`, without copying bytes that are valid already.
fn utf8_lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What a LinkedIn template name says the mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Invitation,
    Reminder,
    Other,
}

/// Template names seen for member and guest invitations, all eras.
const INVITATION_TEMPLATES: &[&str] = &[
    "email_m2m_invite_single_01",
    "m2m_invitation",
    "invite_member_28",
    "invite_guest",
    "invite_guest_59",
    "comm_invm",
];

/// Kind of a template name. Unknown `invite_*`/`*_reminder_*` names follow the pattern,
/// because LinkedIn bumps numeric suffixes over time.
pub fn template_kind(template: &str) -> TemplateKind {
    let t = template.to_ascii_lowercase();
    if t.contains("reminder") && (t.contains("invite") || t.contains("guest")) {
        return TemplateKind::Reminder;
    }
    if INVITATION_TEMPLATES.contains(&t.as_str()) {
        return TemplateKind::Invitation;
    }
    if t.contains("digest") || t.contains("accept") || t.contains("pymk") {
        return TemplateKind::Other;
    }
    if (t.starts_with("invite_member")
        || t.starts_with("invite_guest")
        || t.starts_with("email_m2m_invite_single"))
        && !t.contains("accept")
    {
        return TemplateKind::Invitation;
    }
    TemplateKind::Other
}

/// Template names found in a URL's tracking parameters (`trk=eml-<t>-…`, `trkEmail`,
/// `ek=<t>`, `lipi=urn:li:page:email_<t>;…`). The first known one wins at the caller.
pub fn templates_in_url(url: &str) -> Vec<String> {
    Url::parse(url)
        .map(|p| templates_parsed(&p))
        .unwrap_or_default()
}

fn templates_parsed(parsed: &Url) -> Vec<String> {
    query_templates(parsed.query())
}

/// Tracking parameters removed from links we keep (format notes section 7). `otpToken` is
/// a one-time login token: removing it also keeps the digest from carrying a login link.
const TRACKING_PARAMS: &[&str] = &[
    "trk",
    "trkemail",
    "midtoken",
    "midsig",
    "lipi",
    "eid",
    "otptoken",
    "loid",
    "authtoken",
    "authtype",
    "fr",
    "fe",
    "tracking",
];

/// Strips tracking parameters and fragments; keeps `invitationId`, `sharedKey`,
/// `mboxid` and anything we do not know to be tracking.
///
/// A plain link (see `weburl`) serialises as `Url` would serialise it from its own parts,
/// so the result is built from those slices and the kept pairs re-encoded exactly as
/// `Url::query_pairs_mut` encodes them; `Url::parse` and a parsed copy of every pair
/// were most of the cost. Anything else goes through `Url`.
pub fn strip_tracking(url: &str) -> String {
    let u = url.trim();
    let Some((host, path, query)) = weburl::plain(u) else {
        return strip_tracking_parsed(url);
    };
    let mut out = String::with_capacity(u.len());
    out.push_str(if starts_with_ci(u, "https://") {
        "https://"
    } else {
        "http://"
    });
    out.push_str(host);
    out.push_str(path);
    let mut sep = '?';
    for (k, raw) in query_pairs(query.unwrap_or("")) {
        if is_tracking_param(&k) {
            continue;
        }
        out.push(sep);
        sep = '&';
        out.extend(form_urlencoded::byte_serialize(k.as_bytes()));
        out.push('=');
        out.extend(form_urlencoded::byte_serialize(
            decode_component(raw).as_bytes(),
        ));
    }
    out
}

/// A name in `TRACKING_PARAMS`, in any ASCII case (the list is lower-case ASCII, so this
/// is the list lookup of the name lower-cased, without the copy).
fn is_tracking_param(name: &str) -> bool {
    TRACKING_PARAMS.iter().any(|t| t.eq_ignore_ascii_case(name))
}

/// `strip_tracking` through `Url`, for links that are not plain; also the reference the
/// plain path is tested against.
fn strip_tracking_parsed(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url.trim()) else {
        return url.trim().to_string();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !TRACKING_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.set_fragment(None);
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.to_string()
}

/// Whether a URL is an accept link of any era (format notes section 8).
pub fn is_accept_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|p| accept_parsed(&p))
}

fn accept_parsed(p: &Url) -> bool {
    p.host_str().is_some_and(is_linkedin_host)
        && accept_path_query(p.path(), &QueryFacts::of(p.query()))
}

/// Accept-link shapes, from the path (any case) and the query of a LinkedIn URL.
fn accept_path_query(path: &str, q: &QueryFacts) -> bool {
    PathFacts::of(path).accept_marker || accept_query(path, q)
}

/// The accept-link shapes that need the query.
fn accept_query(path: &str, q: &QueryFacts) -> bool {
    (starts_with_ci(path, "/e/v2") && q.has_invitation_key)
        || (path.eq_ignore_ascii_case("/blink") && q.has_msg_id)
}

/// What a LinkedIn link's path says, from one walk over its segments: a search for the
/// slashes per accept marker and a second split for the invitation id read the path
/// twice, with a memchr call per segment (paths are a few dozen bytes).
#[derive(Debug, Default, PartialEq, Eq)]
struct PathFacts<'a> {
    /// A segment starts with `invite-accept` or `accept-invitation` (any case).
    accept_marker: bool,
    /// The segment after the first `invitationId` segment (any case) that looks like an
    /// id, when the path starts with '/' (as `invitation_id_in_path`).
    invitation_id: Option<&'a [u8]>,
}

impl<'a> PathFacts<'a> {
    fn of(path: &'a str) -> PathFacts<'a> {
        let p = path.as_bytes();
        let rooted = p.first() == Some(&b'/');
        let mut facts = PathFacts::default();
        let mut after_key = false;
        // The pieces after each '/'; both markers start with the byte after a '/' and
        // hold no '/', so they are a segment's prefix.
        for seg in p.split(|&c| c == b'/').skip(1) {
            if let Some(b'i' | b'I' | b'a' | b'A') = seg.first() {
                facts.accept_marker |= starts_with_ci_bytes(seg, b"invite-accept")
                    || starts_with_ci_bytes(seg, b"accept-invitation");
            }
            if after_key && rooted && facts.invitation_id.is_none() && is_id(seg) {
                facts.invitation_id = Some(seg);
            }
            after_key = seg.eq_ignore_ascii_case(b"invitationId");
        }
        facts
    }
}

fn starts_with_ci_bytes(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(prefix))
}

/// `String::from_utf8_lossy(b).into_owned()`.
fn utf8_lossy_slice(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Invitation id from an accept or profile link: `invitationId=` (any case) or the
/// `/invitationId/<id>/` path segment of 2018+ links.
pub fn invitation_id(url: &str) -> Option<String> {
    invitation_id_parsed(&Url::parse(url).ok()?)
}

fn invitation_id_parsed(p: &Url) -> Option<String> {
    if !p.host_str().is_some_and(is_linkedin_host) {
        return None;
    }
    QueryFacts::of(p.query())
        .invitation_id
        .or_else(|| PathFacts::of(p.path()).invitation_id.map(utf8_lossy_slice))
}

/// The `/invitationId/<id>/` path segment of 2018+ links, from `Url::path` (split as
/// `Url::path_segments` splits it): the reference for `PathFacts`.
#[cfg(test)]
fn invitation_id_in_path(path: &str) -> Option<String> {
    // Split as bytes: a `str::split` searcher call per segment cost more than the test.
    let mut segs = path.strip_prefix('/')?.as_bytes().split(|&c| c == b'/');
    let mut prev = segs.next()?;
    for seg in segs {
        if prev.eq_ignore_ascii_case(b"invitationId") && is_id(seg) {
            return Some(String::from_utf8_lossy(seg).into_owned());
        }
        prev = seg;
    }
    None
}

fn is_id(s: &[u8]) -> bool {
    (6..=25).contains(&s.len()) && s.iter().all(|b| b.is_ascii_digit())
}

/// Whether a URL is a profile link (`/comm/in/<vanity>`, `/in/<vanity>`,
/// `/comm/profile/view`, `/profile/view`).
pub fn is_profile_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|p| profile_parsed(&p))
}

fn profile_parsed(p: &Url) -> bool {
    p.host_str().is_some_and(is_linkedin_host) && profile_path(p.path())
}

/// Profile-link paths, in any case.
fn profile_path(path: &str) -> bool {
    starts_with_ci(path, "/comm/in/")
        || starts_with_ci(path, "/in/")
        || starts_with_ci(path, "/comm/profile/view")
        || starts_with_ci(path, "/profile/view")
}

/// Tracking marker of the invitation card's own links in the 2021+ layout, as opposed to
/// the people-you-may-know cards below it (`trk=…-pymk-…`).
///
/// The markers are `-pymk`, `pymk~` and `people_you_may_know` in any case. Each has a 'y'
/// at a known offset, and 'y' is rare in URLs where '-' and 'p' are everywhere, so one
/// memchr pass over the 'y's checks all three around each.
pub fn is_pymk_url(url: &str) -> bool {
    let b = url.as_bytes();
    let at = |y: usize, offset: usize, marker: &[u8]| {
        y.checked_sub(offset)
            .and_then(|s| b.get(s..s + marker.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(marker))
    };
    // The byte after the 'y' tells the markers apart and rules out most 'y's at once:
    // comparing every marker at every 'y' cost more than finding them.
    memchr::memchr2_iter(b'y', b'Y', b).any(|y| match b.get(y + 1).map(|c| c | 0x20) {
        Some(b'm') => at(y, 2, b"-pymk") || at(y, 1, b"pymk~"),
        Some(b'o') => at(y, 7, b"people_you_may_know"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_from_urls() {
        assert_eq!(
            templates_in_url("https://www.linkedin.com/comm/people/invite-accept?trk=eml-email_m2m_invite_single_01-hero-0-accept%7Ecta&x=1"),
            vec!["email_m2m_invite_single_01"]
        );
        assert_eq!(
            templates_in_url("https://www.linkedin.com/e/v2?e=x&ek=invite_guest&sharedKey=a"),
            vec!["invite_guest"]
        );
        assert_eq!(
            template_kind("second_guest_reminder_01"),
            TemplateKind::Reminder
        );
        assert_eq!(
            template_kind("email_m2m_invite_reminder_02"),
            TemplateKind::Reminder
        );
        assert_eq!(template_kind("M2M_Invitation"), TemplateKind::Invitation);
        assert_eq!(template_kind("email_pymk_02"), TemplateKind::Other);
        assert_eq!(template_kind("accept_invite_04"), TemplateKind::Other);
    }

    #[test]
    fn ids_and_stripping() {
        let u = "https://www.linkedin.com/comm/mynetwork/invite-accept/invitationId/7374744624839512064/sharedKey/d3amIZAR/?inviterVanityName=moe&midToken=A&trk=x&otpToken=SECRET";
        assert_eq!(invitation_id(u).as_deref(), Some("7374744624839512064"));
        let s = strip_tracking(u);
        assert!(
            !s.contains("otpToken") && !s.contains("midToken") && s.contains("inviterVanityName"),
            "{s}"
        );
        assert!(is_accept_url(u));
        assert_eq!(
            invitation_id(
                "https://www.linkedin.com/e/v2?a=preRegInvite&invitationID=6118771169471578114"
            )
            .as_deref(),
            Some("6118771169471578114")
        );
        assert_eq!(
            invitation_id("https://evil.example/?invitationId=6118771169471578114"),
            None
        );
    }

    #[test]
    fn query_reading_matches_url_query_pairs() {
        for q in [
            "",
            "a=1&b=2",
            "&&a&=x&b==c",
            "trk=eml-x%7Ecta&ek=a+b&lipi=urn%3Ali%3Apage%3Aemail_y%3Bz",
            "k%=%zz&%41%4a=%e2%80%99&bad=%ff%fe&plus=+%2B+",
            "invitationID=123456&InvitationId=%31%32%33%34%35%36%37",
        ] {
            let url = Url::parse(&format!("https://www.linkedin.com/x?{q}")).unwrap();
            let ours: Vec<(String, String)> = query_pairs(url.query().unwrap_or(""))
                .map(|(k, v)| (k.into_owned(), decode_component(v).into_owned()))
                .collect();
            let theirs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, theirs, "{q}");
        }
        assert_eq!(
            invitation_id(
                "https://www.linkedin.com/e/v2?invitationId=%3612345&invitationid=7654321"
            )
            .as_deref(),
            Some("612345")
        );
    }

    /// `LinkFacts::of` and `link_templates` as they were before the fast paths: everything
    /// from `Url::parse`, `Url::query_pairs` and lower-cased copies.
    fn reference_facts(url: &str) -> (LinkFacts, Vec<String>) {
        let lower = url.to_ascii_lowercase();
        let pymk = lower.contains("-pymk")
            || lower.contains("pymk~")
            || lower.contains("people_you_may_know");
        let u = url.trim();
        let lu = u.to_ascii_lowercase();
        let by_url = |s: &str| match Url::parse(s) {
            Ok(p) => (host_of(p.host_str()), Some(p)),
            Err(_) => (LinkHost::Unparseable, None),
        };
        let (host, parsed) = if lu.starts_with("http://") || lu.starts_with("https://") {
            by_url(u)
        } else if u.starts_with("//") {
            (by_url(&format!("https:{u}")).0, None)
        } else {
            (LinkHost::NotWeb, None)
        };
        let none = LinkFacts {
            host: host.clone(),
            accept: false,
            profile: false,
            pymk,
            invitation_id: None,
        };
        let Some(p) = parsed.filter(|_| host != LinkHost::Unparseable) else {
            return (none, Vec::new());
        };
        let pairs: Vec<(String, String)> = p
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut templates = Vec::new();
        for (k, v) in &pairs {
            match k.as_str() {
                "trk" | "trkEmail" | "tracking" => {
                    if let Some(rest) = v.strip_prefix("eml-") {
                        let t = rest.split('-').next().unwrap().to_ascii_lowercase();
                        if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            templates.push(t);
                        }
                    }
                }
                "ek" => templates.push(v.to_ascii_lowercase()),
                "lipi" => {
                    if let Some(rest) = v.strip_prefix("urn:li:page:email_") {
                        let t = rest.split(';').next().unwrap();
                        if !t.is_empty() {
                            templates.push(t.to_ascii_lowercase());
                        }
                    }
                }
                _ => {}
            }
        }
        let inv = |k: &str| k.eq_ignore_ascii_case("invitationId");
        let has_inv = pairs.iter().any(|(k, _)| inv(k));
        let has_msg = pairs.iter().any(|(k, _)| k == "msgID");
        let li = host == LinkHost::LinkedIn;
        let path = p.path().to_ascii_lowercase();
        let accept = li
            && (path.contains("/invite-accept")
                || path.contains("/accept-invitation")
                || (path.starts_with("/e/v2") && has_inv)
                || (path == "/blink" && has_msg));
        let profile = li
            && (path.starts_with("/comm/in/")
                || path.starts_with("/in/")
                || path.starts_with("/comm/profile/view")
                || path.starts_with("/profile/view"));
        let in_path = || {
            let segs: Vec<&str> = p.path().strip_prefix('/')?.split('/').collect();
            segs.windows(2)
                .find(|w| inv(w[0]) && is_id(w[1].as_bytes()))
                .map(|w| w[1].to_string())
        };
        let invitation_id = li
            .then(|| {
                pairs
                    .iter()
                    .find(|(k, v)| inv(k) && is_id(v.as_bytes()))
                    .map(|(_, v)| v.clone())
                    .or_else(in_path)
            })
            .flatten();
        let facts = LinkFacts {
            accept,
            profile,
            invitation_id,
            ..none
        };
        (facts, templates)
    }

    fn facts_and_templates(url: &str) -> (LinkFacts, Vec<String>) {
        (LinkFacts::of(url), link_templates(url))
    }

    #[test]
    fn facts_match_the_url_crate_on_every_fixture_link() {
        let links = super::super::fixture_links();
        for (p, l) in &links {
            assert_eq!(
                facts_and_templates(&l.url),
                reference_facts(&l.url),
                "{}: {}",
                p.display(),
                l.url
            );
        }
        assert!(links.len() > 500, "only {} links", links.len());
    }

    #[test]
    fn facts_match_the_url_crate_on_odd_links() {
        let li = "https://www.linkedin.com";
        let queries = [
            "trk=eml-email_m2m_invite_single_01-hero-0-accept%7Ecta",
            "trk=eml%2DInvite_Guest-x&trkEmail=eml-%41bc_1%2Dz&tracking=eml-",
            "trk=eml--x&trk=eml-a+b-c&trk=eml-ab%FFc-d&trk=eml-%C3%A9t-x&trk=EML-x-y",
            "trk=eml-abc&trk=eml&trk=em&trk=%65ml-q%5F1",
            "lipi=urn%3Ali%3Apage%3Aemail_email_m2m_invite_single_01%3BVxA%3D%3D",
            "lipi=urn:li:page:email_%E2%80%99X%3By&lipi=urn:li:page:email_%ff%fe;z",
            "lipi=urn:li:page:email_;x&lipi=urn:li:page:email_&lipi=urn:li:page:email_A+b",
            "lipi=urn:li:page:email_%e2%80;x&lipi=URN:li:page:email_x&lipi=urn:li:page:emai",
            "ek=Invite_GUEST&ek=a%20b&ek=%ff&ek",
            "%74rk=eml-keyenc-x&t%72k=eml-x-y&trk+=eml-z-y&trkemail=eml-q-r",
            "invitationID=12345&invitationId=abc1234&InvitationId=%31%32%33%34%35%36%37",
            "invitationid=1234567890123456789012345&msgID=1",
            "msgid=1&&=&a==b&%=%&+=+",
            "trk=eml-abc%2Dx&trk=eml-abc&trk=eml-a%2&trk=eml-%&trk=eml-ab%2bc-d&trk=eml-x+",
            "lipi=urn:li:page:email_abc&lipi=urn:li:page:email_a%3Bb;c&lipi=urn:li:page:email_%3B",
        ];
        let paths = [
            "/",
            "/comm/people/invite-accept",
            "/COMM/mynetwork/Invite-Accept/invitationId/7374744624839512064/sharedKey/x/",
            "/comm/mynetwork/invite-accept/INVITATIONID/abc/invitationId/1234567/",
            "/invitationId/12345/invitationid/123456",
            "/e/v2",
            "/E/V2x",
            "/blink",
            "/BLink",
            "/blink/",
            "/Comm/In/bob",
            "/in/",
            "/IN",
            "/profile/VIEW",
            "/comm/profile/viewx",
            "/accept-invitation/x",
            "/x/INVITE-ACCEPT",
            "/invite-accep",
            "/x/accept-invitatio",
            "//invitationId//1234567",
        ];
        let mut urls = vec![
            "mailto:x@y".to_string(),
            "//www.linkedin.com/in/x?trk=eml-a-b".into(),
            "//evil.example/in/x".into(),
            "https://WWW.LinkedIn.com/in/x?trk=eml-a-b".into(),
            "https://evil.example/comm/in/x?trk=eml-invite_guest-x&invitationId=1234567".into(),
            "https://www.linkedin.com.evil.example/comm/in/x".into(),
            "https://media.licdn.com/x.png?lipi=urn:li:page:email_y".into(),
            "https://apps.apple.com/app?trk=eml-a-b".into(),
            "https://www.linkedin.com/in/x#frag?trk=eml-a-b".into(),
            "https://www.linkedin.com/in/x?#trk=eml-a-b".into(),
            "https://www.linkedin.com/in/x?trk=a-pymk-b".into(),
            "https://www.linkedin.com/in/x?trk=PYMK~x".into(),
            "https://www.linkedin.com/in/x?x=People_You_May_Know".into(),
            "https://www.linkedin.com/in/x?x=people_you_may_kno".into(),
            "ypymk~ -pym y-pymky people_you_may_knoW".into(),
            "https://[::1]/in/x".into(),
            "https://1.2.3.4/in/x".into(),
            "https://www.linkedin.com:8443/in/x".into(),
            "http://".into(),
            "  https://www.linkedin.com/in/é?trk=eml-a-b  ".into(),
        ];
        for p in paths {
            urls.push(format!("{li}{p}"));
            for q in queries {
                urls.push(format!("{li}{p}?{q}"));
                urls.push(format!("https://evil.example{p}?{q}"));
            }
        }
        for u in &urls {
            assert_eq!(facts_and_templates(u), reference_facts(u), "{u}");
        }
    }

    /// The plain path of `strip_tracking` gives what `Url` gives.
    #[test]
    fn stripping_matches_the_url_crate() {
        let mut urls: Vec<String> = super::super::fixture_link_urls();
        let queries = [
            "",
            "?",
            "?&&",
            "?a",
            "?a=",
            "?=b",
            "?a=1&b=2#f",
            "?trk=x&TRK=y&Trkemail=z&midToken=a&midSig=b&lipi=c&eid=d&otpToken=e&loid=f",
            "?authToken=a&authType=b&fr=c&fe=d&tracking=e&invitationId=123&sharedKey=k",
            "?%74rk=x&t%52k=y&trk+=z&+trk=w&fr%20=1&mboxid=m",
            "?a=b+c&d=%20%2B%2b&e=%zz%&f=%e2%80%99&g=%ff%fe&h=~!$()*,;:@/?",
            "?inviterVanityName=mo%C3%A9&x=a*b-c.d_e&y=%41%7E",
            "?k%=%&%=%3D&==&a==b",
            "#frag?trk=x",
            "?x=1#",
        ];
        for base in [
            "https://www.linkedin.com/comm/mynetwork/invite-accept/invitationId/1234567/",
            "HTTP://www.linkedin.com",
            "https://a.b/x;y=z",
            "https://WWW.LinkedIn.com/in/x",
            "https://a.b/./x",
            "https://a.b:443/x",
            "  https://a.b/x",
        ] {
            for q in queries {
                urls.push(format!("{base}{q}"));
            }
        }
        urls.extend(
            [
                "mailto:x@y",
                "",
                "https://",
                "//a.b/x?trk=1",
                "https://a.b/é?trk=1",
            ]
            .map(String::from),
        );
        let mut plain = 0;
        for u in &urls {
            assert_eq!(strip_tracking(u), strip_tracking_parsed(u), "{u}");
            plain += usize::from(weburl::plain(u.trim()).is_some());
        }
        assert!(plain > 500, "only {plain} plain links");
    }

    /// The accept markers as they were found: a memchr pass over the slashes.
    fn accept_marker_reference(path: &str) -> bool {
        let p = path.as_bytes();
        let at = |i: usize, marker: &[u8]| {
            p.get(i..i + marker.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(marker))
        };
        memchr::memchr_iter(b'/', p)
            .any(|i| at(i, b"/invite-accept") || at(i, b"/accept-invitation"))
    }

    /// `is_pymk_url` as it was: every marker compared at every 'y'.
    fn pymk_reference(url: &str) -> bool {
        let lower = url.to_ascii_lowercase();
        lower.contains("-pymk") || lower.contains("pymk~") || lower.contains("people_you_may_know")
    }

    #[test]
    fn path_facts_and_pymk_as_before() {
        let mut rng = crate::extract::TestRng::new(17);
        let words = [
            "/",
            "/",
            "/",
            "invite-accept",
            "INVITE-ACCEPTx",
            "accept-invitation",
            "Accept-Invitatio",
            "invitationId",
            "INVITATIONID",
            "invitationid",
            "1234567",
            "12345",
            "1234567890123456789012345",
            "12345678901234567890123456",
            "e",
            "v2",
            "comm",
            "in",
            "é",
            "a",
            "-pymk",
            "pymk~",
            "PyMk",
            "people_you_may_know",
            "People_You_May_Kno",
            "y",
            "Y",
            "ym",
            "yo",
            "~",
            "-",
        ];
        let mut paths: Vec<String> = super::super::fixture_link_urls();
        for _ in 0..20000 {
            let n = rng.next() % 12;
            let mut p = String::new();
            for _ in 0..n {
                p.push_str(words[rng.next() % words.len()]);
            }
            paths.push(p);
        }
        for p in &paths {
            let f = PathFacts::of(p);
            assert_eq!(f.accept_marker, accept_marker_reference(p), "{p}");
            assert_eq!(
                f.invitation_id.map(utf8_lossy_slice),
                invitation_id_in_path(p),
                "{p}"
            );
            assert_eq!(is_pymk_url(p), pymk_reference(p), "{p}");
            assert_eq!(trim(p), p.trim(), "{p}");
            for padded in [
                format!(" {p}"),
                format!("{p}\t"),
                format!("\u{a0}{p}\u{2003}"),
            ] {
                assert_eq!(trim(&padded), padded.trim(), "{padded}");
            }
        }
    }

    #[test]
    fn linkedin_hosts_as_the_general_rule() {
        let general = |h: &str| {
            let h = h.trim_end_matches('.');
            is_linkedin_domain(h) || is_domain_or_sub_ci(h, "licdn.com")
        };
        for h in [
            "linkedin.com",
            "www.linkedin.com",
            "a..linkedin.com",
            ".linkedin.com",
            "xlinkedin.com",
            "linkedin.com.",
            "LinkedIn.com",
            "www.linkedin.co",
            "linkedin.com.evil",
            "media.licdn.com",
            "licdn.com",
            "",
            ".",
            "linkedin.com..",
            "evil-linkedin.com",
        ] {
            assert_eq!(is_linkedin_host(h), general(h), "{h}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(
            link_host("https://za.linkedin.com/comm/in/x"),
            LinkHost::LinkedIn
        );
        assert_eq!(
            link_host("https://media.licdn.com/x.png"),
            LinkHost::LinkedIn
        );
        assert_eq!(
            link_host("http://linkedin.com.account-verify.example/x"),
            LinkHost::Foreign("linkedin.com.account-verify.example".into())
        );
        assert_eq!(link_host("mailto:x@y"), LinkHost::NotWeb);
    }
}
