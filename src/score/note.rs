//! Note analysis: does a personal note say how you know each other (context), why they want
//! to connect (objective), or is it a pitch? Cues are regexes per language; the built-in
//! ones cover English plus the most common phrasings in de, fr, es, pt, it and nl, and the
//! config's `[notes]` section adds more.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// What the note analysis found, each with the phrase that triggered it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteCues {
    pub context: Option<String>,
    pub objective: Option<String>,
    pub pitch: Option<String>,
    pub money: Option<String>,
    pub contact_elsewhere: Option<String>,
    pub link: Option<String>,
}

fn set(patterns: &[&str]) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| Regex::new(&format!("(?i){p}")).expect("static regex"))
        .collect()
}

/// How you know each other.
static CONTEXT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    set(&[
        r"\bwe (?:met|spoke|talked|chatted|worked|studied|collaborated)\b",
        r"\b(?:met|saw|heard) you (?:at|in|during|on)\b",
        r"\b(?:your|the) (?:talk|session|keynote|presentation|workshop|panel|post|article|paper|book|podcast|pr|pull request|comment)\b",
        r"\b(?:worked|work) (?:together|with you)\b",
        r"\b(?:former|old|ex-?) ?(?:colleague|classmate|teammate|coworker|co-worker)\b",
        r"\b(?:colleague|classmate|teammate|alumni|alumnus)\b",
        r"\b(?:conference|meetup|summit|hackathon|webinar|workshop|event)\b",
        r"\b(?:referred|introduced|recommended) (?:me|by)\b",
        r"\b(?:mutual friend|friend of)\b",
        r"\bi (?:read|enjoyed|watched|listened to|attended|saw)\b",
        r"\bthanks? (?:you )?for\b",
        r"\b(?:same|your) (?:team|company|university|school|project|class)\b",
        // de
        r"\bwir haben uns\b",
        r"\b(?:kennengelernt|getroffen|zusammengearbeitet|ihr vortrag|ihren vortrag|deinen vortrag|konferenz|kollege|kollegin)\b",
        // fr
        r"\bnous (?:nous )?sommes (?:rencontrés|croisés)\b",
        r"\b(?:nous avons|on a) (?:travaillé|étudié|collaboré)\b",
        r"\b(?:travaillé|travaillions) ensemble\b",
        r"\bretour d['’]expérience\b",
        r"\b(?:rencontré|votre (?:présentation|conférence|intervention|article)|collègue|conférence)\b",
        // es
        r"\bnos conocimos\b",
        r"\b(?:tu (?:charla|presentación|artículo)|compañer[oa]|conferencia|coincidimos)\b",
        // pt
        r"\bnos conhecemos\b",
        r"\b(?:sua palestra|colega de|conferência)\b",
        // it
        r"\bci siamo (?:conosciuti|incontrati)\b",
        r"\b(?:il tuo intervento|collega|conferenza)\b",
        // nl
        r"\bwe hebben elkaar\b",
        r"\b(?:ontmoet|je presentatie|collega|conferentie)\b",
        // id
        r"\b(?:kita bertemu|bertemu di|membantu saya|rekan kerja|terima kasih)\b",
    ])
});

/// Why they want to connect.
static OBJECTIVE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    set(&[
        r"\b(?:i'?d|i would|would) (?:love|like) to (?:stay|keep|continue|follow|discuss|learn|hear|exchange|talk|chat|ask|collaborate|compare|share)\b",
        r"\b(?:stay|keep) in touch\b",
        r"\bfollow(?:ing)? up\b",
        r"\bcontinue (?:the|our) (?:conversation|discussion)\b",
        r"\b(?:collaborate|collaboration|exchange ideas|compare notes|learn from)\b",
        r"\blooking forward\b",
        r"\bbecause\b",
        r"\b(?:so that|so we can|to discuss|to talk about|to ask you)\b",
        // de
        r"\b(?:in kontakt bleiben|austauschen|austausch|weiter (?:zu )?diskutieren|würde (?:mich )?(?:gerne|gern))\b",
        // fr
        r"\b(?:rester en contact|échanger|poursuivre|j'aimerais (?:discuter|échanger|continuer))\b",
        // es
        r"\b(?:seguir en contacto|intercambiar|continuar la conversación|me encantaría)\b",
        r"\bme gustaría (?:seguir|hablar|conversar|intercambiar|compartir|enviarte|preguntarte|colaborar)\b",
        // pt
        r"\b(?:manter contato|trocar ideias|continuar a conversa|adoraria)\b",
        // it
        r"\b(?:restare in contatto|scambiare|continuare la conversazione|mi piacerebbe)\b",
        // nl
        r"\b(?:in contact blijven|uitwisselen|verder praten|zou graag)\b",
        // id
        r"\b(?:tetap terhubung|berbagi|berdiskusi|bekerja sama|ngobrol)\b",
    ])
});

/// Sales and recruiting-funnel language.
static PITCH: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    set(&[
        r"\b(?:book|schedule|hop on|jump on) (?:a )?(?:quick |short |brief |15[- ]min(?:ute)? )?(?:call|chat|demo|meeting)\b",
        r"\b(?:quick|short|brief) (?:call|chat)\b",
        r"\b\d{1,2}[- ]?min(?:ute)?s?\b.*\b(?:call|chat)\b",
        r"\bi help (?:companies|businesses|founders|teams|leaders|brands|people)\b",
        r"\bwe help (?:companies|businesses|founders|teams|brands)\b",
        r"\b(?:our|my) (?:services|agency|solution|platform|offer|product)\b",
        r"\b(?:leads|lead generation|revenue|pipeline|roi|growth hacking|outsourc\w*|white[- ]label)\b",
        r"\b(?:scale|grow|boost|increase) (?:your )?(?:revenue|sales|business|profits?)\b",
        r"\b(?:free (?:trial|audit|consultation)|discount|pricing|special offer)\b",
        r"calendly\.com",
        // de / fr / es
        r"\b(?:angebot|kostenlose beratung|unsere dienstleistungen)\b",
        r"\b(?:nos services|notre offre|devis gratuit)\b",
        r"\b(?:nuestros servicios|nuestra agencia|consulta gratuita)\b",
    ])
});

/// Investment and crypto offers: the classic fake-profile scam.
static MONEY: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    set(&[
        r"\b(?:crypto|cryptocurrenc\w*|bitcoin|btc|ethereum|usdt|forex|binary options?|nft|airdrop|defi)\b",
        r"\b(?:investment (?:opportunit\w*|plan)|passive income|guaranteed (?:returns?|profits?)|trading (?:signals?|platform|account))\b",
        r"\b(?:\d{2,4}\s?%\s?(?:returns?|profit|roi)|double your)\b",
        r"\b(?:wallet address|mining pool)\b",
    ])
});

static ELSEWHERE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    set(&[
        r"\b(?:whatsapp|telegram|signal|wechat|kik)\b",
        r"\+\d[\d \-]{7,}\d",
    ])
});

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|io|net|co|xyz|app)/\S*")
        .expect("static regex")
});

fn first_match(res: &[Regex], extra: &[Regex], text: &str) -> Option<String> {
    res.iter()
        .chain(extra.iter())
        .find_map(|r| r.find(text).map(|m| m.as_str().to_string()))
}

/// Extra cues from the config, per category.
#[derive(Debug, Clone, Default)]
pub struct ExtraCues<'a> {
    pub context: &'a [Regex],
    pub objective: &'a [Regex],
    pub pitch: &'a [Regex],
}

/// Analyses a note.
pub fn analyse(note: &str, extra: &ExtraCues) -> NoteCues {
    NoteCues {
        context: first_match(&CONTEXT, extra.context, note),
        objective: first_match(&OBJECTIVE, extra.objective, note),
        pitch: first_match(&PITCH, extra.pitch, note),
        money: first_match(&MONEY, &[], note),
        contact_elsewhere: first_match(&ELSEWHERE, &[], note),
        link: LINK.find(note).map(|m| m.as_str().to_string()),
    }
}

/// HTML tags or script in text a person typed: a note or name is plain text on LinkedIn,
/// so markup in it means someone is probing for a renderer that does not escape.
pub fn has_markup(s: &str) -> Option<String> {
    static MARKUP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)</?(?:script|img|iframe|a|svg|style|object|embed|form|input|body|html|b|i|div|span)\b[^>]*>|javascript:|\bon(?:error|load|click|mouseover)\s*=")
            .expect("static regex")
    });
    MARKUP.find(s).map(|m| m.as_str().to_string())
}

/// Headlines that say nothing about who someone is: buzzword strings typical of fake and
/// spam profiles.
pub fn is_generic_headline(h: &str) -> bool {
    static BUZZ: LazyLock<RegexSet> = LazyLock::new(|| {
        RegexSet::new([
            r"(?i)^\W*(?:(?:serial )?entrepreneur|investor|visionary|ceo|founder|coach|consultant|trader|influencer|philanthropist|self[- ]employed|business ?(?:owner|man|woman)|crypto\w*|forex\w*|--|-|n/a|\.|open to work)\W*$",
            r"(?i)^(?:\W*(?:entrepreneur|investor|visionary|philanthropist|trader|influencer|crypto\w*|forex|ceo|founder|coach|mentor|speaker|author|millionaire|billionaire|dreamer|leader)\W*){2,}$",
        ])
        .expect("static regex")
    });
    BUZZ.is_match(h.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_note() {
        let c = analyse(
            "Hi Alex, we met at RustConf after your talk on async IO. I'd love to stay in touch and compare notes on tokio.",
            &ExtraCues::default(),
        );
        assert!(
            c.context.is_some() && c.objective.is_some() && c.pitch.is_none() && c.money.is_none()
        );
    }

    #[test]
    fn pitch_and_money() {
        let c = analyse(
            "I help companies like yours scale revenue 3x. Book a quick call: calendly.com/x",
            &ExtraCues::default(),
        );
        assert!(c.pitch.is_some() && c.link.is_some());
        let c = analyse("Join my crypto trading platform, guaranteed returns of 30% ROI weekly. Message me on WhatsApp", &ExtraCues::default());
        assert!(c.money.is_some() && c.contact_elsewhere.is_some());
    }

    #[test]
    fn headlines() {
        assert!(is_generic_headline("Entrepreneur | Investor | Visionary"));
        assert!(is_generic_headline("CEO"));
        assert!(!is_generic_headline("CEO at Acme Robotics"));
        assert!(!is_generic_headline("Staff Engineer at Example Corp"));
    }
}
