//! Reads `Authentication-Results` (RFC 8601) to decide whether the owner's own mail
//! provider vouched for LinkedIn as the sender. We do not verify DKIM ourselves (that needs
//! DNS); we trust the verdict of the receiving server, and only of the one we were told to
//! trust, because anything below it in the header block could have been written by the
//! sender.

use std::borrow::Cow;

use crate::model::Authenticity;

/// One method result, e.g. `dkim=pass header.i=@linkedin.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    pub method: String,
    pub result: String,
    /// `header.d`, `header.i` (domain part) or `header.from`, lower-cased.
    pub domain: Option<String>,
}

/// One parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// The authserv-id; None when the header omits it (Microsoft 365 does).
    pub authserv_id: Option<String>,
    pub results: Vec<MethodResult>,
}

/// The conclusion with a human-readable reason for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthVerdict {
    pub authenticity: Authenticity,
    pub detail: String,
}

/// Parses one header value. Tolerant: unknown tokens and comments are skipped.
pub fn parse(value: &str) -> AuthResults {
    let cleaned = strip_comments(value);
    let mut parts = cleaned.split(';').map(str::trim).filter(|s| !s.is_empty());
    let mut authserv_id = None;
    let mut results = Vec::new();
    let mut pending_first: Option<&str> = None;
    if let Some(first) = parts.next() {
        // The authserv-id is a bare token (maybe followed by a version number); if the
        // first segment already holds `method=result`, the id was omitted.
        let first_token = first.split_whitespace().next().unwrap_or("");
        if first_token.contains('=') {
            pending_first = Some(first);
        } else {
            authserv_id = Some(first_token.to_ascii_lowercase());
            let rest = first[first_token.len()..].trim();
            if rest.contains('=') {
                pending_first = Some(rest);
            }
        }
    }
    for seg in pending_first.into_iter().chain(parts) {
        if let Some(r) = parse_method(seg) {
            results.push(r);
        }
    }
    AuthResults {
        authserv_id,
        results,
    }
}

fn parse_method(seg: &str) -> Option<MethodResult> {
    let mut tokens = seg.split_whitespace();
    let head = tokens.next()?;
    let (method, result) = head.split_once('=')?;
    let method = method.trim().to_ascii_lowercase();
    if method.is_empty() || method.contains('.') {
        return None;
    }
    let mut domain = None;
    // Keys compared case-insensitively and only the values of the three keys lower-cased:
    // a lower-cased copy of every key and value was most of this function's cost.
    for t in tokens {
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let is_d = k.eq_ignore_ascii_case("header.d");
        let v = v.trim_matches('"');
        let d = if is_d || k.eq_ignore_ascii_case("header.from") {
            Some(v.to_ascii_lowercase())
        } else if k.eq_ignore_ascii_case("header.i") {
            Some(v.rsplit('@').next().unwrap_or("").to_ascii_lowercase())
        } else {
            None
        };
        if let Some(d) = d {
            // header.d is the better identifier; do not let header.i override it.
            if domain.is_none() || is_d {
                domain = Some(d);
            }
        }
    }
    Some(MethodResult {
        method,
        result: result.trim().to_ascii_lowercase(),
        domain,
    })
}

/// `s` without its comments (parenthesised, outside quotes): `s` itself when it has no '('
/// (nothing is dropped without one), which saves a copy.
fn strip_comments(s: &str) -> Cow<'_, str> {
    if !s.contains('(') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// True when `domain` is linkedin.com or one of its subdomains (relaxed alignment).
pub fn is_linkedin_domain(domain: &str) -> bool {
    is_domain_or_sub_ci(domain.trim_end_matches('.'), "linkedin.com")
}

/// `host` is `domain` or a subdomain of it, ASCII case-insensitively, without allocating.
pub(super) fn is_domain_or_sub_ci(host: &str, domain: &str) -> bool {
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    if h.len() == d.len() {
        return h.eq_ignore_ascii_case(d);
    }
    h.len() > d.len()
        && h[h.len() - d.len() - 1] == b'.'
        && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
}

/// Picks the trusted header and judges it.
///
/// `headers` are the raw values in header order (topmost first). With an empty
/// `trusted_ids` only the topmost header counts: it was added by the owner's own provider,
/// and everything below could have been forged by the sender. With a list, the topmost
/// header whose authserv-id is listed counts. Values borrowed or owned: classification
/// hands over the message's own values rather than copies of them.
pub fn judge(headers: &[impl AsRef<str>], trusted_ids: &[String]) -> AuthVerdict {
    // Parsed only as far as the one that counts: the topmost, when no ids are listed.
    let mut parsed = headers.iter().map(|h| parse(h.as_ref()));
    let trusted = if trusted_ids.is_empty() {
        parsed.next()
    } else {
        parsed.find(|a| {
            a.authserv_id
                .as_deref()
                .is_some_and(|id| trusted_ids.iter().any(|t| t.eq_ignore_ascii_case(id)))
        })
    };
    let Some(ar) = trusted else {
        return AuthVerdict {
            authenticity: Authenticity::None,
            detail: if headers.is_empty() {
                "no Authentication-Results header (exported or local mail)".into()
            } else {
                "no Authentication-Results header from a trusted server".into()
            },
        };
    };
    let by = ar.authserv_id.as_deref().unwrap_or("(unnamed server)");
    // `none` (RFC 8601 section 2.2): the server evaluated nothing, so it vouches for
    // nothing either way. That is the same as having no result.
    if ar.results.iter().all(|r| r.result == "none") {
        return AuthVerdict {
            authenticity: Authenticity::None,
            detail: format!("{by} did not evaluate DKIM or DMARC for this message"),
        };
    }
    let dkim_pass = ar.results.iter().find(|r| {
        r.method == "dkim"
            && r.result == "pass"
            && r.domain.as_deref().is_some_and(is_linkedin_domain)
    });
    let dmarc_pass = ar.results.iter().find(|r| {
        r.method == "dmarc"
            && r.result == "pass"
            && r.domain.as_deref().is_some_and(is_linkedin_domain)
    });
    if let Some(r) = dmarc_pass.or(dkim_pass) {
        return AuthVerdict {
            authenticity: Authenticity::Pass,
            detail: format!(
                "{by}: {}=pass for {}",
                r.method,
                r.domain.as_deref().unwrap_or("?")
            ),
        };
    }
    let failed: Vec<String> = ar
        .results
        .iter()
        .filter(|r| matches!(r.method.as_str(), "dkim" | "dmarc" | "spf"))
        .map(|r| match &r.domain {
            Some(d) => format!("{}={} ({d})", r.method, r.result),
            None => format!("{}={}", r.method, r.result),
        })
        .collect();
    AuthVerdict {
        authenticity: Authenticity::Fail,
        detail: if failed.is_empty() {
            format!("{by}: no DKIM or DMARC pass for linkedin.com")
        } else {
            format!(
                "{by}: no DKIM or DMARC pass for linkedin.com ({})",
                failed.join(", ")
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse_method` as it was: every key and value lower-cased before looking at it.
    fn parse_method_reference(seg: &str) -> Option<MethodResult> {
        let mut tokens = seg.split_whitespace();
        let head = tokens.next()?;
        let (method, result) = head.split_once('=')?;
        let method = method.trim().to_ascii_lowercase();
        if method.is_empty() || method.contains('.') {
            return None;
        }
        let mut domain = None;
        for t in tokens {
            let Some((k, v)) = t.split_once('=') else {
                continue;
            };
            let k = k.to_ascii_lowercase();
            let v = v.trim_matches('"').to_ascii_lowercase();
            let d = match k.as_str() {
                "header.d" | "header.from" => Some(v),
                "header.i" => Some(v.rsplit('@').next().unwrap_or("").to_string()),
                _ => None,
            };
            if let Some(d) = d {
                if domain.is_none() || k == "header.d" {
                    domain = Some(d);
                }
            }
        }
        Some(MethodResult {
            method,
            result: result.trim().to_ascii_lowercase(),
            domain,
        })
    }

    /// `strip_comments` as it was: always a copy.
    fn strip_comments_reference(s: &str) -> String {
        let mut out = String::new();
        let mut depth = 0usize;
        let mut quoted = false;
        for c in s.chars() {
            match c {
                '"' if depth == 0 => {
                    quoted = !quoted;
                    out.push(c);
                }
                '(' if !quoted => depth += 1,
                ')' if !quoted && depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// Method results and comment stripping as before, on every fixture's
    /// Authentication-Results segments and on random segments with keys in odd case.
    #[test]
    fn parsing_as_before() {
        let mut values: Vec<String> = Vec::new();
        for p in crate::extract::fixture_emls() {
            if let Ok(m) = crate::extract::message::read(&std::fs::read(&p).unwrap()) {
                values.extend(
                    m.header_all("authentication-results")
                        .into_iter()
                        .map(str::to_string),
                );
            }
        }
        assert!(!values.is_empty());
        let pieces = [
            "dkim=pass",
            "DMARC=Fail",
            " ",
            " ",
            "header.d=",
            "HEADER.I=",
            "Header.From=",
            "header.x=",
            "\"",
            "@",
            "LinkedIn.com",
            "a@B.example",
            "(",
            ")",
            ";",
            "=",
            "é",
            "\u{212A}",
            "spf=none",
        ];
        let mut rng = crate::extract::TestRng::new(47);
        for _ in 0..20_000 {
            let n = rng.next() % 12;
            values.push((0..n).map(|_| pieces[rng.next() % pieces.len()]).collect());
        }
        for v in &values {
            assert_eq!(strip_comments(v), strip_comments_reference(v), "{v:?}");
            for seg in v.split(';') {
                assert_eq!(parse_method(seg), parse_method_reference(seg), "{seg:?}");
            }
        }
    }

    #[test]
    fn parses_google_style() {
        let a = parse(
            "mx.google.com; dkim=pass header.i=@linkedin.com header.s=proddkim1024 header.b=B+G7gPK9; \
             spf=pass (google.com: domain of s-x@bounce.linkedin.com designates 1.2.3.4) smtp.mailfrom=s-x@bounce.linkedin.com; \
             dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=linkedin.com",
        );
        assert_eq!(a.authserv_id.as_deref(), Some("mx.google.com"));
        assert_eq!(a.results.len(), 3);
        assert_eq!(a.results[0].domain.as_deref(), Some("linkedin.com"));
    }

    #[test]
    fn microsoft_without_authserv_id() {
        let a = parse("spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=x.ae; dkim=pass (signature was verified) header.d=x.ae;dmarc=pass action=none header.from=x.ae");
        assert_eq!(a.authserv_id, None);
        assert_eq!(a.results.len(), 3);
        let v = judge(
            &["spf=pass smtp.mailfrom=x.ae; dkim=pass header.d=x.ae"],
            &[],
        );
        assert_eq!(v.authenticity, Authenticity::Fail);
    }

    #[test]
    fn only_topmost_trusted_by_default() {
        let forged = "mx.example.net; dkim=pass header.d=linkedin.com".to_string();
        let real = "mx.other.example; dkim=none; spf=fail smtp.mailfrom=evil.example".to_string();
        assert_eq!(
            judge(&[real.clone(), forged.clone()], &[]).authenticity,
            Authenticity::Fail
        );
        assert_eq!(
            judge(&[real, forged], &["mx.example.net".into()]).authenticity,
            Authenticity::Pass
        );
        assert_eq!(judge(&[] as &[&str], &[]).authenticity, Authenticity::None);
    }

    #[test]
    fn lookalike_subdomain_is_not_linkedin() {
        assert!(!is_linkedin_domain("linkedin.com.evil.example"));
        assert!(!is_linkedin_domain("linnkedin.com"));
        assert!(!is_linkedin_domain("notlinkedin.com"));
        assert!(is_linkedin_domain("mailb.linkedin.com"));
    }
}
