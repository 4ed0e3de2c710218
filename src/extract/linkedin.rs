//! LinkedIn specifics that are facts about LinkedIn's mail, not about mail in general:
//! which hosts and sender domains are theirs, template names per kind, the accept-link
//! shapes of each era, and which URL parameters are tracking. Sources: the format notes
//! (`docs/linkedin-formats.md` in the shared research), sections 1-3 and 7-9.

use url::Url;

pub use super::auth::is_linkedin_domain;

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
pub fn is_linkedin_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    is_linkedin_domain(&h) || h == "licdn.com" || h.ends_with(".licdn.com")
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
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        if lower.starts_with("//") {
            return link_host(&format!("https:{u}"));
        }
        return LinkHost::NotWeb;
    }
    match Url::parse(u) {
        Ok(parsed) => host_of(&parsed),
        Err(_) => LinkHost::Unparseable,
    }
}

fn host_of(parsed: &Url) -> LinkHost {
    match parsed.host_str() {
        Some(h) if is_linkedin_host(h) => LinkHost::LinkedIn,
        Some(h) if BENIGN_THIRD_PARTY_HOSTS.contains(&h.to_ascii_lowercase().as_str()) => {
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
    pub templates: Vec<String>,
}

impl LinkFacts {
    pub fn of(url: &str) -> LinkFacts {
        let host = link_host(url);
        let parsed = match host {
            LinkHost::NotWeb | LinkHost::Unparseable => None,
            _ => Url::parse(url.trim()).ok(),
        };
        let linkedin = host == LinkHost::LinkedIn;
        LinkFacts {
            accept: linkedin && parsed.as_ref().is_some_and(accept_parsed),
            profile: linkedin && parsed.as_ref().is_some_and(profile_parsed),
            pymk: is_pymk_url(url),
            invitation_id: parsed
                .as_ref()
                .filter(|_| linkedin)
                .and_then(invitation_id_parsed),
            templates: parsed.as_ref().map(templates_parsed).unwrap_or_default(),
            host,
        }
    }
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
    let mut out = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "trk" | "trkEmail" | "tracking" => {
                if let Some(rest) = v.strip_prefix("eml-") {
                    if let Some(t) = template_prefix(rest) {
                        out.push(t);
                    }
                }
            }
            "ek" => out.push(v.to_ascii_lowercase()),
            "lipi" => {
                if let Some(rest) = v.strip_prefix("urn:li:page:email_") {
                    let t = rest.split(';').next().unwrap_or("");
                    if !t.is_empty() {
                        out.push(t.to_ascii_lowercase());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `email_m2m_invite_single_01-hero-0-accept~cta` -> `email_m2m_invite_single_01`. The name
/// itself contains underscores but never '-'.
fn template_prefix(s: &str) -> Option<String> {
    let t = s.split('-').next()?.to_ascii_lowercase();
    (!t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(t)
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
pub fn strip_tracking(url: &str) -> String {
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
    if !p.host_str().is_some_and(is_linkedin_host) {
        return false;
    }
    let path = p.path().to_ascii_lowercase();
    if path.contains("/invite-accept") || path.contains("/accept-invitation") {
        return true;
    }
    let has_inv = p
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("invitationId"));
    (path.starts_with("/e/v2") && has_inv)
        || (path == "/blink" && p.query_pairs().any(|(k, _)| k == "msgID"))
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
    for (k, v) in p.query_pairs() {
        if k.eq_ignore_ascii_case("invitationId") && is_id(&v) {
            return Some(v.into_owned());
        }
    }
    let segs: Vec<&str> = p.path_segments()?.collect();
    segs.windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("invitationId") && is_id(w[1]))
        .map(|w| w[1].to_string())
}

fn is_id(s: &str) -> bool {
    (6..=25).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a URL is a profile link (`/comm/in/<vanity>`, `/in/<vanity>`,
/// `/comm/profile/view`, `/profile/view`).
pub fn is_profile_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|p| profile_parsed(&p))
}

fn profile_parsed(p: &Url) -> bool {
    if !p.host_str().is_some_and(is_linkedin_host) {
        return false;
    }
    let path = p.path().to_ascii_lowercase();
    path.starts_with("/comm/in/")
        || path.starts_with("/in/")
        || path.starts_with("/comm/profile/view")
        || path.starts_with("/profile/view")
}

/// Tracking marker of the invitation card's own links in the 2021+ layout, as opposed to
/// the people-you-may-know cards below it (`trk=…-pymk-…`).
pub fn is_pymk_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains("-pymk") || lower.contains("pymk~") || lower.contains("people_you_may_know")
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
