//! LinkedIn's stock invitation sentences ("I'd like to join your LinkedIn network."), per
//! language, and the normalisation used to compare a message slot against them. A note that
//! normalises to one of these is `default_text`: the inviter wrote nothing of their own.
//!
//! To add a language, add rows to `DEFAULT_TEXTS` (or, without a rebuild, to
//! `[[notes.default_texts]]` in the config).

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// (language, sentence). Sources: format notes section 6; rows marked `[S]` were seen in
/// real mail, the rest are LinkedIn UI strings attested in public reports.
pub const DEFAULT_TEXTS: &[(&str, &str)] = &[
    ("en", "I'd like to add you to my professional network on LinkedIn."), // [S] 2015 guest
    ("en", "I'd like to add you to my professional network."),
    ("en", "I'd like to connect with you on LinkedIn."), // [S] 2015 member
    ("en", "I'd like to join your LinkedIn network."),   // [S] 2016-2020
    ("en", "I want to connect with you on LinkedIn."),
    ("en", "Please add me to your LinkedIn network."),
    ("es", "Me gustaría añadirte a mi red profesional en LinkedIn."), // [S] 2016
    ("es", "Me gustaría agregarte a mi red profesional en LinkedIn."),
    ("es", "Me gustaría unirme a tu red de LinkedIn."),
    ("id", "Saya ingin menambahkan Anda ke jaringan profesional saya di LinkedIn."), // [S] 2016
    ("id", "Saya ingin bergabung dengan jaringan LinkedIn Anda."),
    ("de", "Ich möchte Sie gerne zu meinem beruflichen Netzwerk auf LinkedIn hinzufügen."),
    ("de", "Ich möchte dich gerne zu meinem beruflichen Netzwerk auf LinkedIn hinzufügen."),
    ("de", "Ich möchte mich gerne mit Ihnen auf LinkedIn vernetzen."),
    ("de", "Ich würde mich gerne mit Ihnen auf LinkedIn vernetzen."),
    ("fr", "J'aimerais vous inviter à rejoindre mon réseau professionnel en ligne, sur le site LinkedIn."),
    ("fr", "Je souhaiterais faire partie de votre réseau LinkedIn."),
    ("fr", "J'aimerais faire partie de votre réseau LinkedIn."),
    ("pt", "Gostaria de adicioná-lo à minha rede profissional no LinkedIn."),
    ("pt", "Gostaria de adicionar você à minha rede profissional no LinkedIn."),
    ("pt", "Gostaria de participar da sua rede no LinkedIn."),
    ("it", "Vorrei aggiungerti alla mia rete professionale su LinkedIn."),
    ("it", "Vorrei entrare a far parte della tua rete su LinkedIn."),
    ("nl", "Ik wil je graag toevoegen aan mijn professionele netwerk op LinkedIn."),
    ("nl", "Ik wil graag deel uitmaken van uw LinkedIn-netwerk."),
];

/// Greetings LinkedIn puts before the message slot, in the languages above.
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "dear",
    "hola",
    "hai",
    "halo",
    "hallo",
    "guten tag",
    "liebe",
    "lieber",
    "bonjour",
    "salut",
    "olá",
    "ola",
    "oi",
    "ciao",
    "salve",
    "buongiorno",
    "beste",
    "hoi",
    "dag",
];

/// The first letters of `GREETINGS`.
const GREETING_INITIALS: &[u8] = b"bcdghlos";

/// Normalises a message for comparison: NFKC, curly quotes to straight, whitespace and
/// invisible characters collapsed, case folded, greeting and trailing "- Name" signature
/// removed, trailing punctuation dropped.
///
/// Every body line is normalised to compare it with the name and card lines, so the steps
/// borrow where they can: greeting and signature removal and trimming only narrow a slice,
/// and a tidy ASCII line costs one allocation (the result) instead of seven.
pub fn normalize(text: &str) -> String {
    if let Some(s) = key_slice(text) {
        let mut out = s.to_string();
        out.make_ascii_lowercase();
        return out;
    }
    let quoted = straight_quotes(text);
    let collapsed = collapse_ws_cow(&quoted);
    let s = signature_rest(greeting_rest(&collapsed));
    // Lower-casing never turns a character into trailing punctuation or space, so an ASCII
    // slice can be trimmed first and lower-cased in its own (only) copy.
    if s.is_ascii() {
        let mut out = trim_tail(s).to_string();
        out.make_ascii_lowercase();
        out
    } else {
        trim_tail(&s.to_lowercase()).to_string()
    }
}

/// The slice of `text` whose ASCII lower case is `normalize(text)`, when there is one: for
/// ASCII text without a backtick that whitespace collapsing leaves as it is, every step
/// but the lower-casing only narrows the text. Lets a caller compare or test a line's key
/// without building it (most body lines are such lines).
pub(super) fn key_slice(text: &str) -> Option<&str> {
    (is_collapsed_ascii(text) && !text.contains('`'))
        .then(|| trim_tail(signature_rest(greeting_rest(text))))
}

/// The final trim of `normalize`: surrounding space and trailing sentence punctuation.
fn trim_tail(s: &str) -> &str {
    s.trim().trim_end_matches(['.', '!', '。', ' ']).trim()
}

/// NFKC with curly quotes made straight. NFKC is the identity on ASCII, and the only ASCII
/// quote that changes is the backtick, so most lines are borrowed as they are.
fn straight_quotes(text: &str) -> Cow<'_, str> {
    let fold = |c| match c {
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}' | '`' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => '"',
        _ => c,
    };
    if text.is_ascii() {
        if text.contains('`') {
            Cow::Owned(text.chars().map(fold).collect())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        Cow::Owned(text.nfkc().map(fold).collect())
    }
}

/// `collapse_ws`, borrowing an ASCII string it would not change (no control whitespace,
/// no doubled, leading or trailing space).
pub(super) fn collapse_ws_cow(s: &str) -> Cow<'_, str> {
    if is_collapsed_ascii(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(super::html::collapse_ws(s))
    }
}

/// Whether `s` is ASCII that `collapse_ws` would return unchanged (no control whitespace,
/// no doubled, leading or trailing space).
///
/// Runs on every text-part line and on every line keyed (tracking-URL lines of several
/// hundred bytes among them), so it tests eight bytes at a time: the byte loop it replaced
/// (kept as the test reference) cost about half a million instructions per corpus pass.
fn is_collapsed_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut words = b.chunks_exact(8);
    // "The byte before was a space", across words.
    let mut space = false;
    for w in &mut words {
        let mut arr = [0u8; 8];
        arr.copy_from_slice(w);
        let Some(spaces) = word_spaces(u64::from_le_bytes(arr)) else {
            return false;
        };
        // A space right after a space, within the word or across its start.
        if spaces & (spaces << 8) != 0 || (space && spaces & 0x80 != 0) {
            return false;
        }
        space = spaces >> 63 != 0;
    }
    for &c in words.remainder() {
        if !c.is_ascii() || matches!(c, b'\t'..=b'\r') || (c == b' ' && space) {
            return false;
        }
        space = c == b' ';
    }
    true
}

/// For eight bytes (little-endian in `w`): None when one is not ASCII or is control
/// whitespace (9 to 13); else the high bit of each byte that is a space. Each byte is
/// tested on its own: no sum below carries out of its byte, as every byte is below 0x80.
fn word_spaces(w: u64) -> Option<u64> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    if w & HI != 0 {
        return None;
    }
    // The high bit is set by adding 0x77 when the byte is at least 9, 0x72 at least 14.
    let (at_least_9, at_least_14) = (w + 0x77 * LO, w + 0x72 * LO);
    if at_least_9 & !at_least_14 & HI != 0 {
        return None;
    }
    // A space is a zero after the XOR: the only byte that adding 0x7F leaves below 0x80.
    let x = w ^ (0x20 * LO);
    Some(!(x + 0x7F * LO) & HI)
}

/// Removes a leading "Hi Paul," style greeting (up to the first comma, when the start is
/// a known greeting word or a lone "Hi,").
pub fn strip_greeting(s: &str) -> String {
    greeting_rest(s).to_string()
}

/// `strip_greeting` as a slice of `s`.
fn greeting_rest(s: &str) -> &str {
    let t = s.trim_start();
    // An ASCII first letter lower-cases to itself, so it must be one a greeting starts
    // with; most lines fail this and skip the comparison with every greeting.
    let may_greet = t
        .bytes()
        .next()
        .is_some_and(|b| !b.is_ascii() || GREETING_INITIALS.contains(&b.to_ascii_lowercase()));
    if may_greet && GREETINGS.iter().any(|g| starts_with_greeting(t, g)) {
        if let Some(comma) = t.find([',', '!']) {
            // A greeting addresses someone in a few words; a long clause is the
            // message itself ("Hi there, we met at ...").
            if t[..comma].split_whitespace().count() <= 5 {
                return t[comma + 1..].trim_start();
            }
        }
    }
    t
}

/// Whether lower-cased `t` starts with the (lower-case) greeting `g` followed by the end,
/// a space, a comma or "!". Compares lower-cased characters as they come instead of
/// lower-casing a copy of `t`; `str::to_lowercase` differs from per-character lower-casing
/// only for a final sigma, which no greeting or following separator contains.
fn starts_with_greeting(t: &str, g: &str) -> bool {
    let mut lower = t.chars().flat_map(char::to_lowercase);
    g.chars().all(|gc| lower.next() == Some(gc))
        && lower.next().is_none_or(|c| matches!(c, ' ' | ',' | '!'))
}

/// Removes a trailing "- Name" / "– Name" signature of at most four words.
pub fn strip_signature(s: &str) -> String {
    signature_rest(s).to_string()
}

/// `strip_signature` as a slice of `s`.
fn signature_rest(s: &str) -> &str {
    let t = s.trim_end();
    // Every form below has a dash; most lines have none (0xE2 leads '–' and '—').
    if memchr::memchr2(b'-', 0xE2, t.as_bytes()).is_none() {
        return t;
    }
    // The separators " - ", " – ", " — ", "\n- ", "\n– ", in this order of preference.
    for (before, dash) in [
        (b' ', "-"),
        (b' ', "–"),
        (b' ', "—"),
        (b'\n', "-"),
        (b'\n', "–"),
    ] {
        if let Some(pos) = rfind_separator(t, before, dash) {
            let sig = &t[pos + dash.len() + 2..];
            if !sig.is_empty() && at_most_four_words(sig) && !sig.contains(['.', '?', '!']) {
                return t[..pos].trim_end();
            }
        }
    }
    if let Some(rest) = t.strip_prefix("- ") {
        if at_most_four_words(rest) {
            return "";
        }
    }
    t
}

/// `t.rfind(sep)` for the separator `sep` = `before`, `dash`, space. Looks only at the
/// dashes, from the end: `str::rfind` set up a substring searcher for each of the five
/// separators on every line with a hyphen.
fn rfind_separator(t: &str, before: u8, dash: &str) -> Option<usize> {
    let b = t.as_bytes();
    let d = dash.as_bytes();
    memchr::memrchr_iter(d[0], b).find_map(|q| {
        let fits = q >= 1
            && b[q - 1] == before
            && b[q..].starts_with(d)
            && b.get(q + d.len()) == Some(&b' ');
        fits.then(|| q - 1)
    })
}

/// `s.split_whitespace().count() <= 4`, without counting a long text to the end.
fn at_most_four_words(s: &str) -> bool {
    s.split_whitespace().nth(4).is_none()
}

/// The language of the default sentence `text` matches, if it is one.
pub fn match_default(text: &str, extra: &[(String, String)]) -> Option<String> {
    static BUILT_IN: std::sync::LazyLock<Vec<(&'static str, String)>> =
        std::sync::LazyLock::new(|| {
            DEFAULT_TEXTS
                .iter()
                .map(|(l, t)| (*l, normalize(t)))
                .collect()
        });
    let n = normalize(text);
    if n.is_empty() {
        return None;
    }
    if let Some((l, _)) = BUILT_IN.iter().find(|(_, d)| *d == n) {
        return Some(l.to_string());
    }
    extra
        .iter()
        .find(|(_, t)| normalize(t) == n)
        .map(|(l, _)| l.clone())
}

/// Frequent short words per language; enough to tell a note's language in most cases.
const STOPWORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "you", "to", "i", "we", "at", "your", "would", "like", "my", "with",
            "on", "met", "connect", "of", "in", "is", "it", "for",
        ],
    ),
    (
        "de",
        &[
            "und", "ich", "sie", "wir", "der", "die", "das", "mit", "ihnen", "auf", "bei", "uns",
            "gerne", "mich", "ihre", "haben", "nicht", "zu", "ein",
        ],
    ),
    (
        "fr",
        &[
            "je", "vous", "et", "nous", "le", "la", "les", "de", "des", "avec", "votre", "sur",
            "pour", "une", "un", "à", "suis", "aimerais", "lors",
        ],
    ),
    (
        "es",
        &[
            "el",
            "la",
            "y",
            "de",
            "que",
            "en",
            "con",
            "tu",
            "nos",
            "me",
            "los",
            "las",
            "una",
            "para",
            "gustaría",
            "conocimos",
            "por",
            "mi",
        ],
    ),
    (
        "pt",
        &[
            "você",
            "e",
            "de",
            "que",
            "em",
            "com",
            "nos",
            "minha",
            "meu",
            "uma",
            "para",
            "gostaria",
            "conhecemos",
            "na",
            "no",
            "do",
            "da",
        ],
    ),
    (
        "it",
        &[
            "e", "di", "che", "il", "la", "con", "ci", "siamo", "vorrei", "tua", "tuo", "una",
            "per", "sono", "alla", "nel",
        ],
    ),
    (
        "nl",
        &[
            "en", "ik", "je", "jij", "we", "de", "het", "van", "met", "op", "graag", "een", "wil",
            "zijn", "elkaar",
        ],
    ),
    (
        "id",
        &[
            "saya", "anda", "dan", "di", "yang", "dengan", "ingin", "kita", "untuk", "ke", "kami",
            "ini", "bertemu",
        ],
    ),
];

/// Guesses the language of a text from stopwords; None when the text is too short or no
/// language clearly wins.
///
/// Runs on every note and on the first lines of most invitations, so words are looked up
/// in a table built once instead of lower-cased into a `Vec<String>` and compared with
/// every list.
pub fn detect_language(text: &str) -> Option<String> {
    let mut words = 0usize;
    let mut counts = [0usize; STOPWORDS.len()];
    let mut tally = |langs: u16| {
        words += 1;
        if langs != 0 {
            for (i, n) in counts.iter_mut().enumerate() {
                *n += usize::from(langs & (1 << i) != 0);
            }
        }
    };
    if text.is_ascii() {
        // Split as bytes: on ASCII, `char::is_alphanumeric` is `u8::is_ascii_alphanumeric`,
        // and decoding every character for the split cost more than looking words up.
        for w in text
            .as_bytes()
            .split(|&b| !b.is_ascii_alphanumeric() && b != b'\'')
            .filter(|w| !w.is_empty())
        {
            tally(stopword_langs(w));
        }
    } else {
        for w in text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
        {
            tally(if w.is_ascii() {
                stopword_langs(w.as_bytes())
            } else {
                stopword_langs(w.to_lowercase().as_bytes())
            });
        }
    }
    if words < 3 {
        return None;
    }
    let mut scores: Vec<(&str, usize)> = STOPWORDS.iter().map(|(l, _)| *l).zip(counts).collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.1));
    let (best, n) = scores[0];
    let second = scores.get(1).map(|s| s.1).unwrap_or(0);
    (n >= 2 && n > second).then(|| best.to_string())
}

/// The stopword table: packed words, sorted, with their languages, and which first
/// letters the words of each length start with.
struct Stopwords {
    table: Vec<(u128, u16)>,
    /// Per length, bit `c - b'a'` for a word starting with ASCII letter `c` (either
    /// case), bit 31 for any other first byte.
    initials: [u32; LONGEST + 1],
}

/// The `Stopwords::initials` bit of a word's first byte.
fn initial_bit(first: u8) -> u32 {
    match first.to_ascii_lowercase() {
        c @ b'a'..=b'z' => 1 << (c - b'a'),
        _ => 1 << 31,
    }
}

/// The languages (bit i for `STOPWORDS[i]`) that list `word` (matched case-insensitively
/// when it is ASCII; otherwise it must be lower-case already).
///
/// Every word of a note and of the first lines of most invitations is looked up: a word
/// of up to `LONGEST` bytes is packed, ASCII lower-cased, into one integer and searched
/// for in a sorted table instead of hashing the string for a `HashMap`. Most words are not
/// stopwords, and no stopword of their length starts with their letter: that test skips
/// the search for them.
fn stopword_langs(word: &[u8]) -> u16 {
    static WORDS: std::sync::LazyLock<Stopwords> = std::sync::LazyLock::new(|| {
        let mut t: Vec<(u128, u16)> = Vec::new();
        let mut initials = [0u32; LONGEST + 1];
        for (i, (_, ws)) in STOPWORDS.iter().enumerate() {
            for w in *ws {
                let key = packed_word(w.as_bytes()).expect("stopwords are short");
                initials[w.len()] |= w.bytes().next().map_or(0, initial_bit);
                match t.iter_mut().find(|e| e.0 == key) {
                    Some(e) => e.1 |= 1 << i,
                    None => t.push((key, 1 << i)),
                }
            }
        }
        t.sort_unstable();
        Stopwords { table: t, initials }
    });
    let Some(key) = packed_word(word) else {
        return 0;
    };
    let sw = &*WORDS;
    let first = word.first().map_or(0, |&c| initial_bit(c));
    if sw.initials[word.len()] & first == 0 {
        return 0;
    }
    sw.table
        .binary_search_by_key(&key, |e| e.0)
        .map_or(0, |i| sw.table[i].1)
}

/// No stopword is longer than this: skips lower-casing and looking up long words.
const LONGEST: usize = 12;

/// `word`'s bytes ASCII lower-cased, little-endian in one integer (zero bytes after the
/// word, which holds none: words are split at every non-alphanumeric character); None
/// for a word longer than `LONGEST`.
fn packed_word(b: &[u8]) -> Option<u128> {
    if b.len() > LONGEST {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..b.len()].copy_from_slice(b);
    buf.make_ascii_lowercase();
    Some(u128::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `strip_greeting` as it was written first (lower-cases a copy).
    fn strip_greeting_reference(s: &str) -> String {
        let t = s.trim_start();
        let lower = t.to_lowercase();
        for g in GREETINGS {
            if let Some(after) = lower.strip_prefix(g) {
                if after.is_empty() || after.starts_with([' ', ',', '!']) {
                    if let Some(comma) = t.find([',', '!']) {
                        if t[..comma].split_whitespace().count() <= 5 {
                            return t[comma + 1..].trim_start().to_string();
                        }
                    }
                }
            }
        }
        t.to_string()
    }

    /// `strip_signature` as it was written first (no dash pre-check).
    fn strip_signature_reference(s: &str) -> String {
        let t = s.trim_end();
        for dash in [" - ", " – ", " — ", "\n- ", "\n– "] {
            if let Some(pos) = t.rfind(dash) {
                let sig = &t[pos + dash.len()..];
                if !sig.is_empty()
                    && sig.split_whitespace().count() <= 4
                    && !sig.contains(['.', '?', '!'])
                {
                    return t[..pos].trim_end().to_string();
                }
            }
        }
        if let Some(rest) = t.strip_prefix("- ") {
            if rest.split_whitespace().count() <= 4 {
                return String::new();
            }
        }
        t.to_string()
    }

    /// `normalize` as it was written first (a copy per step): the reference the borrowing
    /// version must agree with.
    fn normalize_reference(text: &str) -> String {
        let composed: Box<dyn Iterator<Item = char>> = if text.is_ascii() {
            Box::new(text.chars())
        } else {
            Box::new(text.nfkc())
        };
        let s: String = composed
            .map(|c| match c {
                '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}' | '`' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => '"',
                _ => c,
            })
            .collect();
        let s = super::super::html::collapse_ws(&s);
        let s = strip_signature_reference(&strip_greeting_reference(&s));
        let s = s.to_lowercase();
        s.trim()
            .trim_end_matches(['.', '!', '。', ' '])
            .trim()
            .to_string()
    }

    /// Lines that poke at each step of `normalize`: greetings in odd case and scripts,
    /// signatures, every kind of space, quotes, final sigma, characters whose lower case
    /// is longer (İ) or ASCII (Kelvin sign).
    pub(crate) fn tricky_lines() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "  Hi Paul, I’d like to join your LinkedIn network.  ",
            "HI PAUL! hello",
            "Hi",
            "hi,",
            "Hİ, there",
            "\u{212A}ay, hallo",
            "Hallo\u{212A}, x",
            "hello there my dear old friend from school, hi",
            "Olá Maria, tudo bem?",
            "Ola\u{301} Maria, tudo bem?",
            "OLÁ, Ç",
            "Guten Tag Frau Müller, ich möchte",
            "guten  tag,x",
            "ΣΑΣ, hello ΟΔΟΣ.",
            "hi Σ, ΟΔΟΣ. - Ana",
            "We met - Ana Maria",
            "We met – Ana",
            "We met — Ana Maria de la Cruz",
            "Line one\n- Ryan",
            "- Ryan",
            "- a b c d e",
            "- a b c d",
            "-",
            " - ",
            "a -",
            "a - b - c d e f g",
            "a - b c d e f - g",
            "x -y - z",
            "x - y -z",
            "one – two — three - four",
            "one — two – three",
            "line\n– Ana\n- Bo",
            "line\n-Ana",
            "a \u{2013}b - c",
            "a\u{2013} b",
            "–",
            " –",
            "a – b. c",
            "  lead  and  trail  ",
            " lead",
            "trail ",
            "x\ty",
            "x\u{b}y",
            "ends with. !。 ",
            "tab\there\r\nand\u{a0}nbsp\u{200b}zw\u{3000}ideo",
            "`back` ‘curly’ “double” «guillemets» ´acute´ ʼmodʼ",
            "ﬁ ligature Ⅻ ｆｕｌｌ",
            "x\u{b}y\u{c}z",
            "&amp; entity",
            "12 connections in common",
            "Dana Example",
            "  Dana   Example  ",
            "HEY!",
            "hey!you",
            "dag,",
            "hoi",
            "Beste Jan,",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (_, t) in DEFAULT_TEXTS {
            v.push(t.to_string());
            v.push(format!("Hi Jo, {t} - Jo"));
            v.push(t.to_uppercase());
        }
        for g in GREETINGS {
            for tail in ["", ",", " x,y", "x, y", "! z", " a b c d e f, g"] {
                v.push(format!("{g}{tail}"));
                v.push(format!("{}{tail}", g.to_uppercase()));
            }
        }
        v
    }

    /// `detect_language` as it was written first (a lower-cased copy of every word,
    /// compared with every list).
    fn detect_language_reference(text: &str) -> Option<String> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if words.len() < 3 {
            return None;
        }
        let mut scores: Vec<(&str, usize)> = STOPWORDS
            .iter()
            .map(|(l, ws)| {
                (
                    *l,
                    words.iter().filter(|w| ws.contains(&w.as_str())).count(),
                )
            })
            .collect();
        scores.sort_by_key(|s| std::cmp::Reverse(s.1));
        let (best, n) = scores[0];
        let second = scores.get(1).map(|s| s.1).unwrap_or(0);
        (n >= 2 && n > second).then(|| best.to_string())
    }

    /// The packed table gives every stopword (in upper case too when ASCII) the languages
    /// that list it, and near misses none.
    #[test]
    fn stopword_table_agrees_with_lists() {
        let langs = |w: &str| {
            let mut bits = 0u16;
            for (i, (_, ws)) in STOPWORDS.iter().enumerate() {
                if ws.contains(&w) {
                    bits |= 1 << i;
                }
            }
            bits
        };
        for (_, ws) in STOPWORDS {
            for w in *ws {
                assert_eq!(stopword_langs(w.as_bytes()), langs(w), "{w}");
                if w.is_ascii() {
                    assert_eq!(stopword_langs(w.to_uppercase().as_bytes()), langs(w), "{w}");
                }
                let mut shorter = w.chars();
                shorter.next_back();
                for near in [
                    format!("{w}x"),
                    format!("x{w}"),
                    shorter.as_str().to_string(),
                ] {
                    assert_eq!(stopword_langs(near.as_bytes()), langs(&near), "{near}");
                }
            }
        }
        assert_eq!(stopword_langs(b""), 0);
        assert_eq!(stopword_langs(b"aaaaaaaaaaaaaaaaaaaaa"), 0);
    }

    #[test]
    fn detect_language_agrees_with_reference() {
        let mut texts = tricky_lines();
        texts.extend(
            [
                "THE AND YOU",
                "\u{212A}E DI SAYA",
                "Ke di saya",
                "VOCÊ E DE",
                "À LA DE",
                "und ICH sie",
                "the und et",
                "the the und und",
                "e e e",
                "i'd you're don't",
                "ÉL EL LA",
                "ΣΑΣ ΟΔΟΣ the and",
                "İn the and",
                "x y z",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        for (_, ws) in STOPWORDS {
            texts.push(ws.join(" "));
            texts.push(ws.join(", ").to_uppercase());
        }
        for p in crate::extract::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            let raw = String::from_utf8_lossy(&raw);
            let lines: Vec<&str> = raw.lines().collect();
            texts.extend(lines.chunks(12).map(|c| c.join(" ")));
        }
        // Random mixes of stopwords, near misses and separators, ASCII or not.
        let mut rng = crate::extract::TestRng::new(31);
        let all: Vec<&str> = STOPWORDS
            .iter()
            .flat_map(|(_, ws)| ws.iter().copied())
            .collect();
        let odd = [
            " ", ", ", "'", "x", "Q", "é", "É", "1", "-", "\u{212A}", "İ", "zz", "\t", "ß",
        ];
        for _ in 0..5000 {
            let n = rng.next() % 10;
            let mut t = String::new();
            for _ in 0..n {
                if rng.next() % 3 == 0 {
                    t.push_str(odd[rng.next() % odd.len()]);
                } else {
                    let w = all[rng.next() % all.len()];
                    t.push_str(&if rng.next() % 2 == 0 {
                        w.to_uppercase()
                    } else {
                        w.to_string()
                    });
                }
                if rng.next() % 2 == 0 {
                    t.push(' ');
                }
            }
            texts.push(t);
        }
        for t in &texts {
            assert_eq!(detect_language(t), detect_language_reference(t), "{t:?}");
        }
    }

    /// Every line of every fixture, raw: real layouts and real non-ASCII text.
    fn fixture_lines() -> Vec<String> {
        let mut lines = Vec::new();
        for p in crate::extract::fixture_emls() {
            let raw = std::fs::read(&p).unwrap();
            lines.extend(String::from_utf8_lossy(&raw).lines().map(str::to_string));
        }
        lines
    }

    #[test]
    fn normalize_agrees_with_reference() {
        let mut lines = tricky_lines();
        lines.extend(fixture_lines());
        // Whole notes too: greeting and signature removal also run on multi-line text.
        lines.push("Hi Ana,\n\nWe met at the meetup.\n\n- Jo".into());
        lines.push("Hallo\nwelt - x\n– Jo Bo".into());
        for l in &lines {
            assert_eq!(normalize(l), normalize_reference(l), "{l:?}");
            assert_eq!(strip_greeting(l), strip_greeting_reference(l), "{l:?}");
            assert_eq!(strip_signature(l), strip_signature_reference(l), "{l:?}");
        }
    }

    /// `is_collapsed_ascii` as it was written first (a search per condition).
    fn is_collapsed_ascii_reference(s: &str) -> bool {
        let b = s.as_bytes();
        s.is_ascii()
            && b.first() != Some(&b' ')
            && b.last() != Some(&b' ')
            && !b.iter().any(|&c| matches!(c, b'\t'..=b'\r'))
            && memchr::memmem::find(b, b"  ").is_none()
    }

    #[test]
    fn collapsed_check_agrees_with_reference() {
        let mut lines = tricky_lines();
        lines.extend(fixture_lines());
        for l in &lines {
            assert_eq!(
                is_collapsed_ascii(l),
                is_collapsed_ascii_reference(l),
                "{l:?}"
            );
            if is_collapsed_ascii(l) {
                assert_eq!(&super::super::html::collapse_ws(l), l);
            }
        }
    }

    /// Made-up lines of spaces, control whitespace, other control bytes and non-ASCII at
    /// every offset of the eight-byte words.
    #[test]
    fn collapsed_check_agrees_with_reference_on_random_lines() {
        let mut rng = crate::extract::TestRng::new(7);
        let alphabet = b"  a\t\n\x0b\x0c\r\x08\x0e\x1f\x7f\xc3\xa9\xe2\x80\xa8-";
        for _ in 0..20_000 {
            let bytes = rng.bytes(alphabet, 40);
            let l = String::from_utf8_lossy(&bytes);
            assert_eq!(
                is_collapsed_ascii(&l),
                is_collapsed_ascii_reference(&l),
                "{l:?}"
            );
        }
    }

    #[test]
    fn greeting_initials_cover_every_greeting() {
        for g in GREETINGS {
            assert!(GREETING_INITIALS.contains(&g.as_bytes()[0]), "{g}");
        }
    }

    #[test]
    fn key_slice_lower_cased_is_the_key() {
        for l in tricky_lines() {
            if let Some(s) = key_slice(&l) {
                assert_eq!(s.to_ascii_lowercase(), normalize_reference(&l), "{l:?}");
            }
        }
    }

    #[test]
    fn default_texts_match_after_normalisation() {
        assert_eq!(
            match_default("Hi Paul, I’d like to join your LinkedIn network.", &[]).as_deref(),
            Some("en")
        );
        assert_eq!(match_default("Hi,\n\nI&#39;d like", &[]), None);
        assert_eq!(
            match_default("Hai GitIndonesia/members,\n\nSaya ingin menambahkan Anda ke jaringan profesional saya di LinkedIn.\n\n- Cahyadi", &[]).as_deref(),
            Some("id")
        );
        assert_eq!(
            match_default(
                "I'd like to add you to my professional network on LinkedIn.\n- ryan",
                &[]
            )
            .as_deref(),
            Some("en")
        );
        assert_eq!(
            match_default(
                "We met at RustConf; I'd like to connect with you on LinkedIn.",
                &[]
            ),
            None
        );
        let extra = vec![(
            "sv".to_string(),
            "Jag vill gärna lägga till dig.".to_string(),
        )];
        assert_eq!(
            match_default("Jag vill  gärna lägga till dig", &extra).as_deref(),
            Some("sv")
        );
    }

    #[test]
    fn every_table_row_matches_itself() {
        for (lang, text) in DEFAULT_TEXTS {
            assert_eq!(match_default(text, &[]).as_deref(), Some(*lang), "{text}");
        }
    }

    #[test]
    fn languages() {
        assert_eq!(
            detect_language(
                "We met at the Rust meetup in Berlin and I would like to stay in touch"
            )
            .as_deref(),
            Some("en")
        );
        assert_eq!(detect_language("Wir haben uns auf der Konferenz getroffen und ich würde mich gerne mit Ihnen vernetzen").as_deref(), Some("de"));
        assert_eq!(detect_language("Hi"), None);
    }
}
