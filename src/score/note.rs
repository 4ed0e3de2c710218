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

/// A built-in cue: its regex (case-insensitive) and literals of which every match contains
/// at least one, ASCII case aside (see `first_match`).
struct Cue {
    re: Regex,
    needles: &'static [&'static str],
}

fn set(cues: &[(&str, &'static [&'static str])]) -> Vec<Cue> {
    cues.iter()
        .map(|(p, needles)| Cue {
            re: Regex::new(&format!("(?i){p}")).expect("static regex"),
            needles,
        })
        .collect()
}

/// How you know each other.
static CONTEXT: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    set(&[
        (
            r"\bwe (?:met|spoke|talked|chatted|worked|studied|collaborated)\b",
            &[
                "we met",
                "we spoke",
                "we talked",
                "we chatted",
                "we worked",
                "we studied",
                "we collaborated",
            ],
        ),
        (
            r"\b(?:met|saw|heard) you (?:at|in|during|on)\b",
            &["met you ", "saw you ", "heard you "],
        ),
        (
            r"\b(?:your|the) (?:talk|session|keynote|presentation|workshop|panel|post|article|paper|book|podcast|pr|pull request|comment)\b",
            &["your ", "the "],
        ),
        (
            r"\b(?:worked|work) (?:together|with you)\b",
            &[" together", " with you"],
        ),
        (
            r"\b(?:former|old|ex-?) ?(?:colleague|classmate|teammate|coworker|co-worker)\b",
            &[
                "colleague",
                "classmate",
                "teammate",
                "coworker",
                "co-worker",
            ],
        ),
        (
            r"\b(?:colleague|classmate|teammate|alumni|alumnus)\b",
            &["colleague", "classmate", "teammate", "alumn"],
        ),
        (
            r"\b(?:conference|meetup|summit|hackathon|webinar|workshop|event)\b",
            &[
                "conference",
                "meetup",
                "summit",
                "hackathon",
                "webinar",
                "workshop",
                "event",
            ],
        ),
        (
            r"\b(?:referred|introduced|recommended) (?:me|by)\b",
            &["referred ", "introduced ", "recommended "],
        ),
        (r"\b(?:mutual friend|friend of)\b", &["friend"]),
        (
            r"\bi (?:read|enjoyed|watched|listened to|attended|saw)\b",
            &[
                "i read",
                "i enjoyed",
                "i watched",
                "i listened to",
                "i attended",
                "i saw",
            ],
        ),
        (r"\bthanks? (?:you )?for\b", &["thank"]),
        (
            r"\b(?:same|your) (?:team|company|university|school|project|class)\b",
            &["same ", "your "],
        ),
        // de
        (r"\bwir haben uns\b", &["wir haben uns"]),
        (
            r"\b(?:kennengelernt|getroffen|zusammengearbeitet|ihr vortrag|ihren vortrag|deinen vortrag|konferenz|kollege|kollegin)\b",
            &[
                "kennengelernt",
                "getroffen",
                "zusammengearbeitet",
                "vortrag",
                "konferenz",
                "kolleg",
            ],
        ),
        // fr
        (
            r"\bnous (?:nous )?sommes (?:rencontrés|croisés)\b",
            &["sommes "],
        ),
        (
            r"\b(?:nous avons|on a) (?:travaillé|étudié|collaboré)\b",
            &["nous avons ", "on a "],
        ),
        (r"\b(?:travaillé|travaillions) ensemble\b", &[" ensemble"]),
        (r"\bretour d['’]expérience\b", &["retour d"]),
        (
            r"\b(?:rencontré|votre (?:présentation|conférence|intervention|article)|collègue|conférence)\b",
            &["rencontr", "votre ", "coll", "conf"],
        ),
        // es
        (r"\bnos conocimos\b", &["nos conocimos"]),
        (
            r"\b(?:tu (?:charla|presentación|artículo)|compañer[oa]|conferencia|coincidimos)\b",
            &["tu ", "compa", "conferencia", "coincidimos"],
        ),
        // pt
        (r"\bnos conhecemos\b", &["nos conhecemos"]),
        (
            r"\b(?:sua palestra|colega de|conferência)\b",
            &["sua palestra", "colega de", "confer"],
        ),
        // it
        (r"\bci siamo (?:conosciuti|incontrati)\b", &["ci siamo "]),
        (
            r"\b(?:il tuo intervento|collega|conferenza)\b",
            &["il tuo intervento", "collega", "conferenza"],
        ),
        // nl
        (r"\bwe hebben elkaar\b", &["we hebben elkaar"]),
        (
            r"\b(?:ontmoet|je presentatie|collega|conferentie)\b",
            &["ontmoet", "je presentatie", "collega", "conferentie"],
        ),
        // id
        (
            r"\b(?:kita bertemu|bertemu di|membantu saya|rekan kerja|terima kasih)\b",
            &["bertemu", "membantu saya", "rekan kerja", "terima kasih"],
        ),
    ])
});

/// Why they want to connect.
static OBJECTIVE: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    set(&[
        (
            r"\b(?:i'?d|i would|would) (?:love|like) to (?:stay|keep|continue|follow|discuss|learn|hear|exchange|talk|chat|ask|collaborate|compare|share)\b",
            &["love to ", "like to "],
        ),
        (r"\b(?:stay|keep) in touch\b", &[" in touch"]),
        (r"\bfollow(?:ing)? up\b", &["follow"]),
        (
            r"\bcontinue (?:the|our) (?:conversation|discussion)\b",
            &["continue "],
        ),
        (
            r"\b(?:collaborate|collaboration|exchange ideas|compare notes|learn from)\b",
            &[
                "collaborat",
                "exchange ideas",
                "compare notes",
                "learn from",
            ],
        ),
        (r"\blooking forward\b", &["looking forward"]),
        (r"\bbecause\b", &["because"]),
        (
            r"\b(?:so that|so we can|to discuss|to talk about|to ask you)\b",
            &[
                "so that",
                "so we can",
                "to discuss",
                "to talk about",
                "to ask you",
            ],
        ),
        // de
        (
            r"\b(?:in kontakt bleiben|austauschen|austausch|weiter (?:zu )?diskutieren|würde (?:mich )?(?:gerne|gern))\b",
            &["in kontakt bleiben", "austausch", "diskutieren", "gern"],
        ),
        // fr
        (
            r"\b(?:rester en contact|échanger|poursuivre|j'aimerais (?:discuter|échanger|continuer))\b",
            &["rester en contact", "changer", "poursuivre", "j'aimerais "],
        ),
        // es
        (
            r"\b(?:seguir en contacto|intercambiar|continuar la conversación|me encantaría)\b",
            &[
                "seguir en contacto",
                "intercambiar",
                "continuar la conversaci",
                "me encantar",
            ],
        ),
        (
            r"\bme gustaría (?:seguir|hablar|conversar|intercambiar|compartir|enviarte|preguntarte|colaborar)\b",
            &["me gustar"],
        ),
        // pt
        (
            r"\b(?:manter contato|trocar ideias|continuar a conversa|adoraria)\b",
            &[
                "manter contato",
                "trocar ideias",
                "continuar a conversa",
                "adoraria",
            ],
        ),
        // it
        (
            r"\b(?:restare in contatto|scambiare|continuare la conversazione|mi piacerebbe)\b",
            &[
                "restare in contatto",
                "scambiare",
                "continuare la conversazione",
                "mi piacerebbe",
            ],
        ),
        // nl
        (
            r"\b(?:in contact blijven|uitwisselen|verder praten|zou graag)\b",
            &[
                "in contact blijven",
                "uitwisselen",
                "verder praten",
                "zou graag",
            ],
        ),
        // id
        (
            r"\b(?:tetap terhubung|berbagi|berdiskusi|bekerja sama|ngobrol)\b",
            &[
                "tetap terhubung",
                "berbagi",
                "berdiskusi",
                "bekerja sama",
                "ngobrol",
            ],
        ),
    ])
});

/// Sales and recruiting-funnel language.
static PITCH: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    set(&[
        (
            r"\b(?:book|schedule|hop on|jump on) (?:a )?(?:quick |short |brief |15[- ]min(?:ute)? )?(?:call|chat|demo|meeting)\b",
            &["book ", "schedule ", "hop on ", "jump on "],
        ),
        (
            r"\b(?:quick|short|brief) (?:call|chat)\b",
            &[" call", " chat"],
        ),
        (
            r"\b\d{1,2}[- ]?min(?:ute)?s?\b.*\b(?:call|chat)\b",
            &["min"],
        ),
        (
            r"\bi help (?:companies|businesses|founders|teams|leaders|brands|people)\b",
            &["i help "],
        ),
        (
            r"\bwe help (?:companies|businesses|founders|teams|brands)\b",
            &["we help "],
        ),
        (
            r"\b(?:our|my) (?:services|agency|solution|platform|offer|product)\b",
            &[
                "services", "agency", "solution", "platform", "offer", "product",
            ],
        ),
        (
            r"\b(?:leads|lead generation|revenue|pipeline|roi|growth hacking|outsourc\w*|white[- ]label)\b",
            &[
                "lead",
                "revenue",
                "pipeline",
                "roi",
                "growth hacking",
                "outsourc",
                "white",
            ],
        ),
        (
            r"\b(?:scale|grow|boost|increase) (?:your )?(?:revenue|sales|business|profits?)\b",
            &["revenue", "sales", "business", "profit"],
        ),
        (
            r"\b(?:free (?:trial|audit|consultation)|discount|pricing|special offer)\b",
            &["free ", "discount", "pricing", "special offer"],
        ),
        (r"calendly\.com", &["calendly.com"]),
        // de / fr / es
        (
            r"\b(?:angebot|kostenlose beratung|unsere dienstleistungen)\b",
            &["angebot", "kostenlose beratung", "unsere dienstleistungen"],
        ),
        (
            r"\b(?:nos services|notre offre|devis gratuit)\b",
            &["nos services", "notre offre", "devis gratuit"],
        ),
        (
            r"\b(?:nuestros servicios|nuestra agencia|consulta gratuita)\b",
            &["nuestros servicios", "nuestra agencia", "consulta gratuita"],
        ),
    ])
});

/// Investment and crypto offers: the classic fake-profile scam.
static MONEY: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    set(&[
        (
            r"\b(?:crypto|cryptocurrenc\w*|bitcoin|btc|ethereum|usdt|forex|binary options?|nft|airdrop|defi)\b",
            &[
                "crypto",
                "bitcoin",
                "btc",
                "ethereum",
                "usdt",
                "forex",
                "binary option",
                "nft",
                "airdrop",
                "defi",
            ],
        ),
        (
            r"\b(?:investment (?:opportunit\w*|plan)|passive income|guaranteed (?:returns?|profits?)|trading (?:signals?|platform|account))\b",
            &["investment ", "passive income", "guaranteed ", "trading "],
        ),
        (
            r"\b(?:\d{2,4}\s?%\s?(?:returns?|profit|roi)|double your)\b",
            &["%", "double your"],
        ),
        (
            r"\b(?:wallet address|mining pool)\b",
            &["wallet address", "mining pool"],
        ),
    ])
});

static ELSEWHERE: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    set(&[
        (
            r"\b(?:whatsapp|telegram|signal|wechat|kik)\b",
            &["whatsapp", "telegram", "signal", "wechat", "kik"],
        ),
        (r"\+\d[\d \-]{7,}\d", &["+"]),
    ])
});

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|io|net|co|xyz|app)/\S*")
        .expect("static regex")
});

/// The first match of the first cue (built-in, then extra) that matches `text`, whose
/// `Grams` are `grams` (None: run every cue).
///
/// A built-in cue's regex runs only when `text` may hold one of its needles: most notes
/// hold few cues, and about sixty regex searches per note were nearly all of scoring's
/// cost. Searching for each needle instead cost two thirds as much again, so the test is
/// on the byte pairs the note holds.
fn first_match(cues: &[Cue], extra: &[Regex], text: &str, grams: Option<&Grams>) -> Option<String> {
    cues.iter()
        .filter(|c| grams.is_none_or(|g| c.needles.iter().any(|n| g.may_contain(n))))
        .map(|c| &c.re)
        .chain(extra.iter())
        .find_map(|r| r.find(text).map(|m| m.as_str().to_string()))
}

/// The bytes and pairs of adjacent bytes of a text, ASCII lower-cased, as bit sets (a pair
/// by the low six bits of each byte, so unlike pairs may share a bit): a text that holds a
/// needle, ASCII case aside, holds its bytes and pairs.
struct Grams {
    bytes: [u64; 4],
    pairs: [u64; 64],
}

impl Grams {
    fn of(text: &str) -> Self {
        let mut g = Grams {
            bytes: [0; 4],
            pairs: [0; 64],
        };
        let mut prev = None;
        for b in text.bytes().map(|b| b.to_ascii_lowercase()) {
            g.bytes[usize::from(b >> 6)] |= 1 << (b & 63);
            if let Some(a) = prev {
                let i = pair_index(a, b);
                g.pairs[i >> 6] |= 1 << (i & 63);
            }
            prev = Some(b);
        }
        g
    }

    /// False when the text cannot hold the lower-case ASCII `needle`, ASCII case aside.
    fn may_contain(&self, needle: &str) -> bool {
        let n = needle.as_bytes();
        n.iter()
            .all(|&b| self.bytes[usize::from(b >> 6)] & (1 << (b & 63)) != 0)
            && n.windows(2).all(|w| {
                let i = pair_index(w[0], w[1]);
                self.pairs[i >> 6] & (1 << (i & 63)) != 0
            })
    }
}

fn pair_index(a: u8, b: u8) -> usize {
    (usize::from(a & 63) << 6) | usize::from(b & 63)
}

/// Whether the needle test of `first_match` decides for `text`: it holds no character
/// other than an ASCII letter that a case-insensitive ASCII letter matches.
fn needles_apply(text: &str) -> bool {
    text.is_ascii() || !text.contains(FOLDS_TO_ASCII)
}

/// The characters outside ASCII that `(?i)` matches with an ASCII letter.
const FOLDS_TO_ASCII: [char; 2] = ['\u{17F}', '\u{212A}'];

/// Extra cues from the config, per category.
#[derive(Debug, Clone, Default)]
pub struct ExtraCues<'a> {
    pub context: &'a [Regex],
    pub objective: &'a [Regex],
    pub pitch: &'a [Regex],
}

/// Analyses a note.
pub fn analyse(note: &str, extra: &ExtraCues) -> NoteCues {
    // With `(?i)`, an ASCII letter in a pattern also matches the Kelvin sign and the long
    // s (`case_fold_partners_of_ascii_letters`): text with either runs every cue.
    let grams = needles_apply(note).then(|| Grams::of(note));
    let g = grams.as_ref();
    // Every link match holds a "/" or "www." (ASCII case aside).
    let may_link = g.is_none_or(|g| g.may_contain("/") || g.may_contain("www."));
    NoteCues {
        context: first_match(&CONTEXT, extra.context, note, g),
        objective: first_match(&OBJECTIVE, extra.objective, note, g),
        pitch: first_match(&PITCH, extra.pitch, note, g),
        money: first_match(&MONEY, &[], note, g),
        contact_elsewhere: first_match(&ELSEWHERE, &[], note, g),
        link: may_link
            .then(|| LINK.find(note).map(|m| m.as_str().to_string()))
            .flatten(),
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
    use crate::extract::ascii::contains_ci;
    use crate::extract::TestRng;

    /// `analyse` as it was: every regex runs.
    fn analyse_reference(note: &str, extra: &ExtraCues) -> NoteCues {
        let all = |cues: &[Cue], extra: &[Regex]| {
            cues.iter()
                .map(|c| &c.re)
                .chain(extra.iter())
                .find_map(|r| r.find(note).map(|m| m.as_str().to_string()))
        };
        NoteCues {
            context: all(&CONTEXT, extra.context),
            objective: all(&OBJECTIVE, extra.objective),
            pitch: all(&PITCH, extra.pitch),
            money: all(&MONEY, &[]),
            contact_elsewhere: all(&ELSEWHERE, &[]),
            link: LINK.find(note).map(|m| m.as_str().to_string()),
        }
    }

    fn all_cues() -> impl Iterator<Item = &'static Cue> {
        [&CONTEXT, &OBJECTIVE, &PITCH, &MONEY, &ELSEWHERE]
            .into_iter()
            .flat_map(|v| v.iter())
    }

    /// The needle test skips a cue only when its regex cannot match, and `analyse` agrees
    /// with its reference.
    fn check(text: &str, extra: &ExtraCues, hits: &mut [usize]) {
        for (i, c) in all_cues().enumerate() {
            if c.re.is_match(text) {
                hits[i] += 1;
                let g = Grams::of(text);
                assert!(
                    !needles_apply(text)
                        || c.needles
                            .iter()
                            .any(|n| contains_ci(text, n) && g.may_contain(n)),
                    "{:?} matches {text:?} without a needle",
                    c.re.as_str()
                );
            }
        }
        assert_eq!(
            analyse(text, extra),
            analyse_reference(text, extra),
            "{text:?}"
        );
    }

    /// A text that holds a needle, ASCII case aside, may hold it by its `Grams`.
    #[test]
    fn grams_never_rule_out_a_needle_held() {
        let mut rng = TestRng::new(31);
        let alphabet = b"aAbB?/%+ .\xc3\xa9\xe2\x84\xaa@`{";
        for _ in 0..20_000 {
            let text = String::from_utf8_lossy(&rng.bytes(alphabet, 30)).into_owned();
            let needle = String::from_utf8_lossy(&rng.bytes(b"ab?/%+ .@`{", 5)).into_owned();
            if !needle.is_empty() && contains_ci(&text, &needle) {
                assert!(Grams::of(&text).may_contain(&needle), "{text:?} {needle:?}");
            }
        }
    }

    /// Exactly these characters outside ASCII match an ASCII letter under `(?i)`.
    #[test]
    fn case_fold_partners_of_ascii_letters() {
        let letter = Regex::new("(?i)^[a-z]$").unwrap();
        let partners: Vec<char> = (0x80..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| letter.is_match(c.encode_utf8(&mut [0; 4])))
            .collect();
        assert_eq!(partners, FOLDS_TO_ASCII.to_vec());
    }

    /// Needles are lower-case ASCII (the form `contains_ci` expects).
    #[test]
    fn needles_are_lower_case_ascii() {
        for c in all_cues() {
            assert!(!c.needles.is_empty());
            for n in c.needles {
                assert!(
                    !n.is_empty() && n.is_ascii() && n.to_ascii_lowercase() == *n,
                    "{n}"
                );
            }
        }
    }

    /// Notes made of each cue's own words, in order, with words dropped, case changed and
    /// letters swapped for their case-fold partners, plus every fixture line and note.
    #[test]
    fn needles_never_skip_a_matching_cue() {
        let extra_re = [Regex::new("(?i)zebra").unwrap()];
        let extras = [
            ExtraCues::default(),
            ExtraCues {
                context: &extra_re,
                objective: &extra_re,
                pitch: &extra_re,
            },
        ];
        let mut hits = vec![0usize; all_cues().count()];
        let mut texts: Vec<String> = Vec::new();
        for p in crate::extract::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            texts.extend(String::from_utf8_lossy(&raw).lines().map(str::to_string));
            let opts = crate::extract::Options::default();
            if let Ok(c) = crate::extract::classify(&raw, &opts) {
                texts.extend(c.invitation.and_then(|i| i.note));
            }
        }
        let mut rng = TestRng::new(29);
        let extra_words = [
            "15",
            "30%",
            "200 % roi",
            "+33 6 12 34 56 78",
            "https://x.io/a",
            "www.X.com",
            "acme.io/x",
            "Calendly.com/me",
            "the",
            "you",
            "at",
            "à",
            "’",
            "'",
            "-",
            "x",
        ];
        for _ in 0..40_000 {
            let cue = all_cues().nth(rng.next() % hits.len()).unwrap();
            let pattern = cue.re.as_str().trim_start_matches("(?i)");
            let pattern = ["\\b", "\\d", "\\w", "\\s", "\\S"]
                .iter()
                .fold(pattern.to_string(), |p, e| p.replace(e, " "));
            let words: Vec<&str> = pattern
                .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
                .filter(|w| !w.is_empty())
                .collect();
            let mut t = String::new();
            for w in words {
                if rng.next() % 6 == 0 {
                    continue;
                }
                if rng.next() % 8 == 0 {
                    t.push_str(extra_words[rng.next() % extra_words.len()]);
                    t.push(' ');
                }
                let w = match rng.next() % 10 {
                    0 => w.to_uppercase(),
                    1 => w.replace('k', "\u{212A}"),
                    2 => w.replace('s', "\u{17F}"),
                    _ => w.to_string(),
                };
                t.push_str(&w);
                t.push(if rng.next() % 7 == 0 { ',' } else { ' ' });
            }
            texts.push(t);
        }
        for (n, t) in texts.iter().enumerate() {
            check(t, &extras[n % 2], &mut hits);
        }
        for (c, h) in all_cues().zip(&hits) {
            assert!(*h > 0, "{:?} never matched", c.re.as_str());
        }
    }

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
