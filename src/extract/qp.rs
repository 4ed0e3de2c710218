//! Quoted-printable decoding of text bodies. mailparse decodes with the `quoted_printable`
//! crate, which copies the body into a `String` char by char and then walks it line by
//! line; on LinkedIn's HTML parts (tens of KB, mostly `=3D` and soft breaks) that was a
//! seventh of all extraction time. This decoder gives byte-for-byte the same output as
//! that crate's robust mode (checked against mailparse in the tests below), copying runs
//! between `=` signs with memchr instead.
//!
//! The robust rules, all kept: bytes other than tab, CR, LF and printable ASCII are dropped
//! before anything else; trailing whitespace on a line is ignored; a final `=` is a soft
//! line break; `=XX` (hex in either case) is a byte; any other `=` sequence is kept
//! literally, together with the two bytes after it; hard line breaks come out as CRLF.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

/// Decodes a quoted-printable body.
///
/// One pass over the body that stops only at `=` and line feeds (`stop_finder`), copying the runs
/// between them whole. The reference decoder's line state reduces to this: a line that ends
/// with a line feed and not with a soft break comes out followed by CRLF; a last line
/// without a line feed gets nothing after it.
pub fn decode(input: &[u8]) -> Vec<u8> {
    let allowed = |b: u8| matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~');
    // Checked a block at a time without stopping early inside a block, which the compiler
    // vectorises: a byte-at-a-time check that stops at the first bad byte does not.
    let all_allowed = input
        .chunks(64)
        .all(|c| c.iter().fold(true, |ok, &b| ok & allowed(b)));
    let filtered: Cow<[u8]> = if all_allowed {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(input.iter().copied().filter(|&b| allowed(b)).collect())
    };
    let s: &[u8] = &filtered;
    let mut out = Vec::with_capacity(s.len());
    // Start of the bytes not yet written.
    let mut i = 0;
    let next_stop = stop_finder();
    while let Some(p) = next_stop(&s[i..]) {
        let at = i + p;
        if s[at] == b'\n' {
            out.extend_from_slice(trim_end(&s[i..at]));
            out.extend_from_slice(b"\r\n");
            i = at + 1;
            continue;
        }
        out.extend_from_slice(&s[i..at]);
        if let Some((h, l)) = s
            .get(at + 1..at + 3)
            .and_then(|p| Some((hex(p[0])?, hex(p[1])?)))
        {
            // The common case, `=XX`: hex digits are never trailing whitespace, so the
            // line trimming below cannot apply.
            out.push(h << 4 | l);
            i = at + 3;
            continue;
        }
        // The next most common case, a soft line break right before the line feed (every
        // line of a long HTML part ends in one): the rule below would search for the line
        // end it is already at.
        match s.get(at + 1..) {
            Some([b'\n', ..]) => {
                i = at + 2;
                continue;
            }
            Some([b'\r', b'\n', ..]) => {
                i = at + 3;
                continue;
            }
            _ => {}
        }
        // Otherwise what the `=` means depends on the rest of its line, trimmed.
        let line_end = memchr(b'\n', &s[at..]).map_or(s.len(), |q| at + q);
        let next_line = (line_end + 1).min(s.len());
        match trim_end(&s[at..line_end]) {
            // Soft line break: the next line continues this one.
            [] | [_] => i = next_line,
            // `=X` at the end of a line is kept, with the line's break.
            pair @ [_, _] => {
                out.extend_from_slice(pair);
                if line_end < s.len() {
                    out.extend_from_slice(b"\r\n");
                }
                i = next_line;
            }
            // Anything else is kept literally with the two bytes after it.
            line => {
                out.extend_from_slice(&line[..3]);
                i = at + 3;
            }
        }
    }
    // The last line, with no line feed after it.
    out.extend_from_slice(trim_end(&s[i..]));
    out
}

/// The search for the next `=` or line feed (memchr2), its searcher built once per body.
/// `memchr2` builds one at every call behind a function pointer, and a quoted-printable
/// body of LinkedIn's is a call every 20-odd bytes: that set-up was about a third of what
/// the searching cost.
#[cfg(target_arch = "x86_64")]
fn stop_finder() -> impl Fn(&[u8]) -> Option<usize> {
    let two = memchr::arch::x86_64::avx2::memchr::Two::new(b'=', b'\n');
    move |haystack| match &two {
        Some(two) => two.find(haystack),
        None => memchr2(b'=', b'\n', haystack),
    }
}

/// The search for the next `=` or line feed (memchr2).
#[cfg(not(target_arch = "x86_64"))]
fn stop_finder() -> impl Fn(&[u8]) -> Option<usize> {
    |haystack| memchr2(b'=', b'\n', haystack)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The line without trailing spaces, tabs and CRs (what `str::lines` plus `trim_end`
/// leave of it, given that only these whitespace bytes survive the filter).
fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [head @ .., b' ' | b'\t' | b'\r'] = line {
        line = head;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mailparse's own decoding of the same body, the reference.
    fn reference(body: &[u8]) -> Vec<u8> {
        super::super::mailparse_decoded("quoted-printable", body).unwrap()
    }

    #[test]
    fn same_as_mailparse() {
        let cases: &[&[u8]] = &[
            b"",
            b"a",
            b"\n",
            b"\r\n",
            b"\n\n",
            b"a\n",
            b"a\r\n",
            b"a\r\nb",
            b"a\r\nb\r\n",
            b"soft=\r\nbreak\r\n",
            b"soft=\nbreak=\n",
            b"=\n=\nx",
            b"ends with equals=",
            b"x=3D=3d=41=4a=4G=G4=\r\n",
            b"==41",
            b"=4",
            b"a=4\r\nb",
            b"=\r\n",
            b"trailing spaces   \r\nand tabs\t\t\r\nnext",
            b"space before soft = \r\nbreak",
            b"a\rb\r\r\nc",
            b"a\r",
            b"caf\xc3\xa9 =C3=A9 \xff=\xc3A9",
            b"\t\x0b\x0c\x7f\x00 =20\r\n",
            b"<a href=3D\"https://www.linkedin.com/comm/in/x?trk=3Deml-a\">=E2=80=99</a>=\r\n\r\n",
            b"line1\n\nline3\n\n",
            b"=0D=0A\r\n=\r\n",
            b"=",
            b"==",
            b"=\n",
            b"\n=",
            b"x= \n",
            b"= b  \n",
            b"=a \tb",
            b"=A \r\n",
            b"=\t\r\nx",
            b"a=4\n=\nb\n",
            b"=3D\n \n\t\r\n",
            b"ab=\r\n\r\n",
            b"x\r\n=4",
        ];
        for c in cases {
            assert_eq!(decode(c), reference(c), "{:?}", String::from_utf8_lossy(c));
        }
    }

    /// Random bodies over the bytes that matter to the decoder, against the reference.
    #[test]
    fn same_as_mailparse_on_random_bodies() {
        const ALPHABET: &[u8] = b"==\r\n\n \t3Dadgx\xff\x00";
        let mut rng = super::super::TestRng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let body = rng.bytes(ALPHABET, 24);
            assert_eq!(decode(&body), reference(&body), "{body:?}");
        }
    }
}
