//! Quoted-printable decoding of text bodies. mailparse decodes with the `quoted_printable`
//! crate, which copies the body into a `String` char by char and then walks it line by
//! line; on LinkedIn's HTML parts (tens of KB, mostly `=3D` and soft breaks) that was a
//! seventh of all extraction time. This decoder gives byte-for-byte the same output as
//! that crate's robust mode (checked against mailparse in the tests below), finding the
//! `=` signs and line feeds 64 bytes at a time and copying the runs between them whole.
//!
//! The robust rules, all kept: bytes other than tab, CR, LF and printable ASCII are dropped
//! before anything else; trailing whitespace on a line is ignored; a final `=` is a soft
//! line break; `=XX` (hex in either case) is a byte; any other `=` sequence is kept
//! literally, together with the two bytes after it; hard line breaks come out as CRLF.

use memchr::memchr;

/// Decodes a quoted-printable body.
///
/// One pass over the body that stops only at `=` and line feeds, copying the runs between
/// them whole. The reference decoder's line state reduces to this: a line that ends with a
/// line feed and not with a soft break comes out followed by CRLF; a last line without a
/// line feed gets nothing after it.
pub fn decode(input: &[u8]) -> Vec<u8> {
    decode_allowed(input).unwrap_or_else(|| {
        // Bytes the reference drops first, seen only as a stop: drop them all and start
        // again. None are left to stop at then.
        let filtered: Vec<u8> = input.iter().copied().filter(|&b| allowed(b)).collect();
        decode_allowed(&filtered).unwrap_or_default()
    })
}

/// `decode` of a body of only the bytes the reference keeps (tab, CR, LF and printable
/// ASCII), or `None` at the first other byte.
///
/// The stops are found 64 bytes at a time (`stop_mask`), each block's as one word with a
/// bit per byte, and taken in order from that word. memchr's search is built for long
/// runs; a LinkedIn HTML body has a stop every 20-odd bytes (`=3D` in every attribute),
/// and a call per stop, with a copy call after it, was most of what decoding cost.
fn decode_allowed(s: &[u8]) -> Option<Vec<u8>> {
    // A sixteenth more than the input: bodies with bare line feeds (one more byte out per
    // line) mostly fit without growing.
    let mut out = Vec::with_capacity(s.len() + s.len() / 16 + 32);
    // The next byte to read.
    let mut i: usize = 0;
    // Where the bytes copied since the last stop start: a hard line break trims trailing
    // whitespace from these only.
    let mut run = 0;
    let mut base = 0;
    while base < s.len() {
        // Stops before `i` are passed already.
        let mut stops = stop_mask(s, base) & from_bit(i.saturating_sub(base));
        while stops != 0 {
            let at = base + stops.trailing_zeros() as usize;
            copy_run(s, i, at, &mut out);
            i = match s[at] {
                b'\n' => {
                    trim_run(&mut out, run);
                    out.extend_from_slice(b"\r\n");
                    at + 1
                }
                b'=' => equals(s, at, &mut out)?,
                _ => return None,
            };
            run = out.len();
            stops &= from_bit(i - base);
        }
        // The next block, or the one `i` is in when it went further.
        base = (base + 64).max(i - i % 64);
    }
    // The last line, with no line feed after it.
    copy_run(s, i, s.len(), &mut out);
    trim_run(&mut out, run);
    Some(out)
}

/// A mask of the bits from `n` up (none when `n` is 64 or more).
fn from_bit(n: usize) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| u64::MAX.checked_shl(n))
        .unwrap_or(0)
}

/// Bit `j` set when `s[base + j]` is a stop: `=`, a line feed, or a byte outside tab, CR
/// and printable ASCII. Past the end of `s` there are none.
///
/// The comparisons are written byte by byte without branches so that the compiler does
/// all 64 at once in vector registers, and the eight flags of each 8-byte word are
/// gathered into its byte of the mask with one multiplication.
fn stop_mask(s: &[u8], base: usize) -> u64 {
    let stop =
        |c: u8| (c == b'=') | ((c.wrapping_sub(b' ') > b'~' - b' ') & (c != b'\t') & (c != b'\r'));
    let mask = |block: &[u8; 64]| {
        let flags: [u8; 64] = std::array::from_fn(|j| u8::from(stop(block[j])));
        flags.chunks_exact(8).enumerate().fold(0u64, |m, (k, w)| {
            let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
            // Bit 0 of byte j lands on bit 56 + j, and no two products overlap.
            m | (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k)
        })
    };
    match s.get(base..base + 64) {
        Some(block) => mask(block.try_into().unwrap_or(&[b' '; 64])),
        None => {
            // The last block, padded with spaces, which are no stops.
            let mut block = [b' '; 64];
            let rest = s.get(base..).unwrap_or_default();
            block[..rest.len()].copy_from_slice(rest);
            mask(&block)
        }
    }
}

/// Appends `s[i..at]`. Runs are short (a LinkedIn body has a stop every 20-odd bytes), so
/// up to 32 bytes are copied as a fixed-size block and the excess cut off again, rather
/// than with a call per run.
#[inline(always)]
fn copy_run(s: &[u8], i: usize, at: usize, out: &mut Vec<u8>) {
    let n = at - i;
    match s.get(i..i + 32) {
        Some(block) if n <= 32 => {
            let block: &[u8; 32] = block.try_into().unwrap_or(&[0; 32]);
            out.extend_from_slice(block);
            out.truncate(out.len() - 32 + n);
        }
        _ => out.extend_from_slice(&s[i..at]),
    }
}

/// Whether the reference decoder keeps `b` (it drops all other bytes first).
fn allowed(b: u8) -> bool {
    matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~')
}

/// What the `=` at `at` means, written to `out`: returns where reading goes on, or `None`
/// when what it reads holds a byte the reference drops (which it must see first).
fn equals(s: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    // The two bytes after the `=` are read once for both common cases. Where there are
    // fewer than two, the rule below gives the same as these would.
    if let Some(&[h, l]) = s.get(at + 1..at + 3) {
        let (hv, lv) = (HEX[usize::from(h)], HEX[usize::from(l)]);
        if hv | lv < 16 {
            // The common case, `=XX`: hex digits are never trailing whitespace, so the
            // line trimming cannot apply.
            out.push(hv << 4 | lv);
            return Some(at + 3);
        }
        // The next most common case, a soft line break right before the line feed (every
        // line of a long HTML part ends in one): the rule below would search for the line
        // end it is already at.
        match (h, l) {
            (b'\n', _) => return Some(at + 2),
            (b'\r', b'\n') => return Some(at + 3),
            _ => {}
        }
    }
    // Otherwise what the `=` means depends on the rest of its line, trimmed.
    let line_end = memchr(b'\n', &s[at..]).map_or(s.len(), |q| at + q);
    let next_line = (line_end + 1).min(s.len());
    if !s[at..line_end].iter().all(|&b| allowed(b)) {
        return None;
    }
    Some(match trim_end(&s[at..line_end]) {
        // Soft line break: the next line continues this one.
        [] | [_] => next_line,
        // `=X` at the end of a line is kept, with the line's break.
        pair @ [_, _] => {
            out.extend_from_slice(pair);
            if line_end < s.len() {
                out.extend_from_slice(b"\r\n");
            }
            next_line
        }
        // Anything else is kept literally with the two bytes after it.
        line => {
            out.extend_from_slice(&line[..3]);
            at + 3
        }
    })
}

/// Drops the trailing spaces, tabs and CRs of the bytes from `run` on (what `str::lines`
/// plus `trim_end` leave of a line, given that only these whitespace bytes survive the
/// filter).
fn trim_run(out: &mut Vec<u8>, run: usize) {
    let kept = run + trim_end(&out[run..]).len();
    out.truncate(kept);
}

/// Each byte's value as a hex digit (either case), or 0xff.
static HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i: usize = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i: usize = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

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
            // A line break one or two bytes after the `=`, at the end and not.
            b"=\r",
            b"a=\r",
            b"=\rx\n",
            b"=\r\r\n",
            b"=\nx",
            b"=\n\n",
            b"a=\r\n",
        ];
        for c in cases {
            assert_eq!(decode(c), reference(c), "{:?}", String::from_utf8_lossy(c));
        }
    }

    /// Random bodies over the bytes that matter to the decoder, against the reference.
    #[test]
    fn same_as_mailparse_on_random_bodies() {
        same_on_random(
            b"==\r\n\n \t3Dadgx\xff\x00",
            0x9e37_79b9_7f4a_7c15,
            5000,
            24,
        );
    }

    /// `count` random bodies of fewer than `len` bytes from `alphabet` decode as the reference.
    fn same_on_random(alphabet: &[u8], seed: u64, count: usize, len: usize) {
        let mut rng = super::super::TestRng::new(seed);
        for _ in 0..count {
            let body = rng.bytes(alphabet, len);
            assert_eq!(decode(&body), reference(&body), "{body:?}");
        }
    }

    /// Longer random bodies, mostly text between the stops, so that stops fall at every
    /// place in a word and runs cross words, as in real bodies.
    #[test]
    fn same_as_mailparse_on_long_random_bodies() {
        same_on_random(
            b"abcdefghij<>\"/ 3D=\r\n\t",
            0x2f6b_1d3a_94c8_e571,
            3000,
            300,
        );
    }

    /// Bodies of bare line feeds and `=X` line ends, which come out longer than they go
    /// in (the output buffer must grow), and bodies of stops only.
    #[test]
    fn same_as_mailparse_on_growing_bodies() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 5000] {
            for unit in [
                &b"\n"[..],
                b"=A\n",
                b"x\n",
                b"=",
                b"==",
                b"=\n",
                b"=3D",
                b" \n",
            ] {
                let body = unit.repeat(n);
                assert_eq!(decode(&body), reference(&body), "{unit:?} x {n}");
            }
        }
    }

    /// Every quoted-printable part of the fixtures.
    #[test]
    fn same_as_mailparse_on_fixtures() {
        let mut n = 0;
        super::super::each_fixture_part(&mut |part| {
            if let mailparse::body::Body::QuotedPrintable(b) = part.body_encoded() {
                assert_eq!(decode(b.get_raw()), reference(b.get_raw()));
                n += 1;
            }
        });
        assert!(n > 10, "{n}");
    }
}
/// The decoder as it was before `copy_to_stop`: a memchr2 search per stop and a copy per
/// run. Kept as a reference for the tests and for measuring against.
#[cfg(test)]
mod previous {
    use super::trim_end;
    use memchr::{memchr, memchr2};
    use std::borrow::Cow;

    pub(super) fn decode(input: &[u8]) -> Vec<u8> {
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
}

/// `QP_BENCH_N=n cargo test --release --lib qp_bench -- --ignored` under callgrind: decodes
/// every quoted-printable fixture part n times (`QP_BENCH_OLD=1`: with `previous`).
/// Subtract n=1 from n=11 for the cost of ten passes.
#[cfg(test)]
#[test]
#[ignore]
fn qp_bench() {
    let mut bodies = Vec::new();
    super::each_fixture_part(&mut |part| {
        if let mailparse::body::Body::QuotedPrintable(b) = part.body_encoded() {
            bodies.push(b.get_raw().to_vec());
        }
    });
    let n: usize = std::env::var("QP_BENCH_N").map_or(1, |v| v.parse().unwrap());
    let old = std::env::var("QP_BENCH_OLD").is_ok();
    let mut total = 0;
    for _ in 0..n {
        for b in &bodies {
            let d = if old {
                previous::decode(b)
            } else {
                decode(std::hint::black_box(b))
            };
            total += std::hint::black_box(d).len();
        }
    }
    eprintln!("{total}");
}
