//! Pure scoring: an extracted invitation plus built-in rules and the user's filters give a
//! verdict with every reason that contributed. Every rule that fires adds a `Reason`, so
//! `explain` and the digest can always say why.
//!
//! The built-in weights encode the product's advice: a note that says how you know each
//! other and why you want to connect earns accept; no note from a stranger is ignore; many
//! connections in common lift that to review; pitches, money offers and empty profiles push
//! down. Phishing is always `suspicious` and never scored, whatever a filter says.

pub mod note;

use crate::config::{Filter, FilterEffect, NoteCueConfig, ScoringConfig};
use crate::model::{
    Authenticity, Classified, InvitationData, Judgement, Kind, NoteStatus, Reason, Verdict,
};

/// Built-in rule weights. Kept together so README and `explain` agree with the code.
pub mod weights {
    pub const PERSONAL_NOTE: f64 = 1.0;
    pub const NOTE_CONTEXT: f64 = 1.5;
    pub const NOTE_OBJECTIVE: f64 = 1.0;
    pub const NOTE_PITCH: f64 = -3.0;
    pub const NOTE_MONEY: f64 = -4.0;
    pub const NOTE_ELSEWHERE: f64 = -2.0;
    pub const NOTE_LINK: f64 = -1.0;
    pub const NO_NOTE: f64 = -1.0;
    pub const NOTE_UNKNOWN: f64 = -0.5;
    pub const MANY_MUTUAL: f64 = 1.5;
    pub const SOME_MUTUAL: f64 = 0.5;
    pub const NO_MUTUAL: f64 = -0.5;
    pub const NO_HEADLINE: f64 = -1.0;
    pub const GENERIC_HEADLINE: f64 = -1.0;
    pub const MARKUP: f64 = -1.0;
}

fn reason(rule: &str, weight: f64, detail: impl Into<String>) -> Reason {
    Reason {
        rule: rule.to_string(),
        weight,
        detail: detail.into(),
    }
}

/// Everything the scorer needs from the config.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub scoring: &'a ScoringConfig,
    pub filters: &'a [Filter],
    pub cues: &'a NoteCueConfig,
}

/// Judges a classified message. None for kinds that are not judged (other LinkedIn mail,
/// non-LinkedIn mail).
pub fn judge(c: &Classified, rules: Rules) -> Option<Judgement> {
    match c.kind {
        Kind::Phishing => Some(judge_phishing(c)),
        Kind::Invitation | Kind::Reminder => {
            let inv = c.invitation.as_ref()?;
            Some(judge_invitation(c, inv, rules))
        }
        Kind::OtherLinkedin | Kind::NotLinkedin => None,
    }
}

fn judge_phishing(c: &Classified) -> Judgement {
    let mut reasons = vec![reason(
        "phishing",
        0.0,
        "imitates LinkedIn but is not authentic: do not click anything in it",
    )];
    for s in &c.signals {
        if !s.starts_with("authenticity pass") {
            reasons.push(reason("phishing.signal", 0.0, s.clone()));
        }
    }
    Judgement {
        verdict: Verdict::Suspicious,
        score: None,
        reasons,
    }
}

fn judge_invitation(c: &Classified, inv: &InvitationData, rules: Rules) -> Judgement {
    let mut reasons = Vec::new();
    let name = if inv.inviter.name.is_empty() {
        "The inviter"
    } else {
        inv.inviter.name.as_str()
    };

    match inv.note_status {
        NoteStatus::Present => {
            let note = inv.note.as_deref().unwrap_or("");
            reasons.push(reason("note.personal", weights::PERSONAL_NOTE, format!("{name} wrote a personal note")));
            let extra = note::ExtraCues {
                context: &rules.cues.context,
                objective: &rules.cues.objective,
                pitch: &rules.cues.pitch,
            };
            let cues = note::analyse(note, &extra);
            if let Some(m) = &cues.context {
                reasons.push(reason("note.context", weights::NOTE_CONTEXT, format!("says how you know each other (\"{m}\")")));
            }
            if let Some(m) = &cues.objective {
                reasons.push(reason("note.objective", weights::NOTE_OBJECTIVE, format!("says why they want to connect (\"{m}\")")));
            }
            if let Some(m) = &cues.pitch {
                reasons.push(reason("note.pitch", weights::NOTE_PITCH, format!("reads like a sales pitch (\"{m}\")")));
            }
            if let Some(m) = &cues.money {
                reasons.push(reason("note.money", weights::NOTE_MONEY, format!("investment or crypto offer (\"{m}\")")));
            }
            if let Some(m) = &cues.contact_elsewhere {
                reasons.push(reason("note.elsewhere", weights::NOTE_ELSEWHERE, format!("asks to move the conversation off LinkedIn (\"{m}\")")));
            }
            if let Some(m) = note::has_markup(note) {
                reasons.push(reason("note.markup", weights::MARKUP, format!("note contains HTML markup ({})", truncate(&m, 30))));
            }
            if let Some(m) = &cues.link {
                reasons.push(reason("note.link", weights::NOTE_LINK, format!("note contains a link ({})", truncate(m, 40))));
            }
        }
        NoteStatus::DefaultText => reasons.push(reason(
            "note.none",
            weights::NO_NOTE,
            "no personal note: only LinkedIn's default text",
        )),
        NoteStatus::Absent => reasons.push(reason("note.none", weights::NO_NOTE, "no personal note")),
        NoteStatus::Unknown => reasons.push(reason(
            "note.unknown",
            weights::NOTE_UNKNOWN,
            "reminder without the original message: no note to go on, and the invitation has waited unanswered",
        )),
    }

    match inv.mutual_connections {
        Some(n) if n >= rules.scoring.many_mutual_connections => reasons.push(reason(
            "mutual.many",
            weights::MANY_MUTUAL,
            format!("{n} connections in common"),
        )),
        Some(0) => reasons.push(reason(
            "mutual.none",
            weights::NO_MUTUAL,
            "no connections in common",
        )),
        Some(n) => reasons.push(reason(
            "mutual.some",
            weights::SOME_MUTUAL,
            format!("{n} connection{} in common", if n == 1 { "" } else { "s" }),
        )),
        None => {}
    }

    if let Some(m) = note::has_markup(&inv.inviter.name) {
        reasons.push(reason(
            "profile.markup_name",
            weights::MARKUP,
            format!("name contains HTML markup ({})", truncate(&m, 30)),
        ));
    }
    // Guest invitations (to addresses without a LinkedIn account) never show a headline,
    // so its absence only counts in member layouts.
    let shows_headline = !inv.template.as_deref().is_some_and(|t| t.contains("guest"));
    match inv.inviter.headline.as_deref().map(str::trim) {
        None | Some("") if !shows_headline => {}
        None | Some("") => reasons.push(reason(
            "profile.no_headline",
            weights::NO_HEADLINE,
            "no headline",
        )),
        Some(h) if note::is_generic_headline(h) => reasons.push(reason(
            "profile.generic_headline",
            weights::GENERIC_HEADLINE,
            format!("generic headline \"{}\"", truncate(h, 60)),
        )),
        Some(_) => {}
    }

    if c.kind == Kind::Reminder {
        reasons.push(reason(
            "reminder",
            0.0,
            "LinkedIn sent a reminder: this invitation is still pending",
        ));
    }
    if c.authenticity == Authenticity::None {
        reasons.push(reason(
            "authenticity.unverified",
            0.0,
            "sender could not be verified (no Authentication-Results from your provider); links are not shown",
        ));
    }

    // User filters: weights add up; the first matching filter with a verdict decides.
    let mut forced: Option<(Verdict, String)> = None;
    for f in rules.filters {
        if !filter_matches(f, inv) {
            continue;
        }
        match &f.effect {
            FilterEffect::Weight(w) => reasons.push(reason(
                &format!("filter:{}", f.name),
                *w,
                format!("matches your filter \"{}\"", f.name),
            )),
            FilterEffect::Verdict(v) => {
                reasons.push(reason(
                    &format!("filter:{}", f.name),
                    0.0,
                    format!("your filter \"{}\" says {}", f.name, v.as_str()),
                ));
                if forced.is_none() {
                    forced = Some((*v, f.name.clone()));
                }
            }
        }
    }

    let score: f64 = reasons.iter().map(|r| r.weight).sum();
    let score = (score * 100.0).round() / 100.0;
    let verdict = match forced {
        // Filters may not declare anything suspicious (config validation refuses it), and
        // phishing never reaches this function.
        Some((v, _)) if v != Verdict::Suspicious => v,
        _ if score >= rules.scoring.accept_at => Verdict::Accept,
        _ if score < rules.scoring.ignore_below => Verdict::Ignore,
        _ => Verdict::Review,
    };
    Judgement {
        verdict,
        score: Some(score),
        reasons,
    }
}

fn filter_matches(f: &Filter, inv: &InvitationData) -> bool {
    fn re_ok(re: &Option<regex::Regex>, value: Option<&str>) -> bool {
        match re {
            None => true,
            Some(r) => value.is_some_and(|v| r.is_match(v)),
        }
    }
    re_ok(&f.name_re, Some(inv.inviter.name.as_str()))
        && re_ok(&f.headline, inv.inviter.headline.as_deref())
        && re_ok(&f.location, inv.inviter.location.as_deref())
        && re_ok(
            &f.note,
            inv.note
                .as_deref()
                .filter(|_| inv.note_status == NoteStatus::Present),
        )
        && f.min_mutual_connections
            .is_none_or(|min| inv.mutual_connections.is_some_and(|n| n >= min))
        && f.has_note
            .is_none_or(|want| (inv.note_status == NoteStatus::Present) == want)
        && f.language.as_deref().is_none_or(|want| {
            inv.language
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(want))
        })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let t: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{t}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Inviter;

    fn inv(
        note: Option<&str>,
        status: NoteStatus,
        mutual: Option<u32>,
        headline: Option<&str>,
    ) -> Classified {
        Classified {
            kind: Kind::Invitation,
            authenticity: Authenticity::Pass,
            message_id: None,
            subject: None,
            from: None,
            date: None,
            signals: vec![],
            invitation: Some(InvitationData {
                inviter: Inviter {
                    name: "Dana Example".into(),
                    headline: headline.map(str::to_string),
                    location: None,
                    profile_url: None,
                },
                mutual_connections: mutual,
                note_status: status,
                note: note.map(str::to_string),
                invitation_id: None,
                accept_url: None,
                language: Some("en".into()),
                template: None,
            }),
        }
    }

    fn rules<'a>(s: &'a ScoringConfig, f: &'a [Filter], c: &'a NoteCueConfig) -> Rules<'a> {
        Rules {
            scoring: s,
            filters: f,
            cues: c,
        }
    }

    #[test]
    fn defaults_follow_the_advice() {
        let s = ScoringConfig::default();
        let c = NoteCueConfig::default();
        let r = rules(&s, &[], &c);
        let good = inv(
            Some("We met at the Rust meetup in Lyon; I'd love to stay in touch."),
            NoteStatus::Present,
            Some(3),
            Some("Engineer at Example"),
        );
        assert_eq!(judge(&good, r).unwrap().verdict, Verdict::Accept);
        let none = inv(
            None,
            NoteStatus::Absent,
            Some(2),
            Some("Engineer at Example"),
        );
        assert_eq!(judge(&none, r).unwrap().verdict, Verdict::Ignore);
        let many = inv(
            None,
            NoteStatus::Absent,
            Some(25),
            Some("Engineer at Example"),
        );
        assert_eq!(judge(&many, r).unwrap().verdict, Verdict::Review);
        let pitch = inv(
            Some("I help companies like yours scale revenue. Book a quick call?"),
            NoteStatus::Present,
            Some(0),
            Some("Entrepreneur | Investor"),
        );
        assert_eq!(judge(&pitch, r).unwrap().verdict, Verdict::Ignore);
    }

    #[test]
    fn filters_add_and_force_but_never_rescue_phishing() {
        let s = ScoringConfig::default();
        let c = NoteCueConfig::default();
        let f = vec![
            Filter {
                name: "Acme".into(),
                name_re: None,
                headline: Some(regex::Regex::new("(?i)acme").unwrap()),
                location: None,
                note: None,
                min_mutual_connections: None,
                has_note: None,
                language: None,
                effect: FilterEffect::Weight(5.0),
            },
            Filter {
                name: "Everyone".into(),
                name_re: None,
                headline: None,
                location: None,
                note: None,
                min_mutual_connections: None,
                has_note: Some(false),
                language: None,
                effect: FilterEffect::Verdict(Verdict::Accept),
            },
        ];
        let acme = inv(
            Some("hello"),
            NoteStatus::Present,
            None,
            Some("Engineer at ACME"),
        );
        let j = judge(&acme, rules(&s, &f, &c)).unwrap();
        assert_eq!(j.verdict, Verdict::Accept);
        assert!(j
            .reasons
            .iter()
            .any(|r| r.rule == "filter:Acme" && r.weight == 5.0));
        let mut phish = inv(None, NoteStatus::Absent, None, None);
        phish.kind = Kind::Phishing;
        assert_eq!(
            judge(&phish, rules(&s, &f, &c)).unwrap().verdict,
            Verdict::Suspicious
        );
    }
}
