//! `UID FETCH` sent and read straight off the transport, beside the `imap` crate's session.
//!
//! Why not `Session::uid_fetch`: the `imap` crate (3.0.0-alpha.15) reads a response line by
//! line and parses it again from its first byte after every line until the literal is
//! complete, so a 700-line invitation is parsed ~700 times. In a first scan of 100,000
//! messages that was a third of the client's CPU, as much as the server needs to send the
//! mail (bench/RESULTS.md). Here a literal is read as what it is: `{n}` announces n bytes,
//! which are copied once into the message's buffer.
//!
//! The rest of the session (login, EXAMINE, SEARCH, IDLE, actions) stays with the crate. The
//! two share the stream between commands only: this module uses its own tag prefix, reads
//! exactly up to the end of its tagged completion line and hands anything read past it back
//! to the transport, so the crate's next read sees the byte stream exactly where a server
//! would leave it.
//!
//! It understands what a FETCH response can contain (RFC 3501 §7.4.2 and §9: atoms, numbers,
//! quoted strings, literals, NIL and nested lists, in any order) and picks out UID,
//! RFC822.SIZE and `BODY[]`; other untagged responses are skipped, except EXISTS (new mail)
//! and BYE, which are reported to the caller. It never panics on what a server sends; a
//! response it cannot read is a protocol error, after which the caller drops the session.

use std::io::{self, Read, Write};

use super::tls::Transport;

/// Longest line (outside literals) accepted in a response: FETCH lines are short; this only
/// stops a broken server from growing a buffer without end.
const MAX_LINE: usize = 1 << 20;

/// Largest literal accepted when the caller sets no smaller limit.
const MAX_LITERAL: u64 = 1 << 31;

/// How much is read from the transport at a time.
const CHUNK: usize = 64 * 1024;

/// One message's FETCH data, as far as the server sent it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Item {
    pub uid: Option<u32>,
    pub size: Option<u32>,
    pub body: Option<Vec<u8>>,
}

/// The tagged status that ended the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// Everything the server answered to one `UID FETCH`.
#[derive(Debug)]
pub struct Reply {
    pub items: Vec<Item>,
    pub status: Status,
    /// The human-readable text of the tagged line (with its response code, if any).
    pub text: String,
    /// An untagged `* n EXISTS` came with the response: new mail.
    pub exists: bool,
    /// The text of an untagged `BYE`, if the server said it is closing the connection.
    pub bye: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{0}")]
    Protocol(String),
}

/// Sends `{tag} UID FETCH {set} {query}` and reads the whole response. `max_literal` bounds
/// the size of any one literal (the caller's message size limit plus one); a larger
/// announcement is a protocol error rather than a huge allocation.
pub fn uid_fetch(
    t: &mut Transport,
    tag: &str,
    set: &str,
    query: &str,
    max_literal: u64,
) -> Result<Reply, FetchError> {
    t.write_all(format!("{tag} UID FETCH {set} {query}\r\n").as_bytes())?;
    t.flush()?;
    let mut reader = Reader::new(t);
    let result = read_reply(&mut reader, tag, max_literal.min(MAX_LITERAL));
    reader.give_back();
    result
}

fn read_reply(r: &mut Reader<'_>, tag: &str, max_literal: u64) -> Result<Reply, FetchError> {
    let mut items = Vec::new();
    let mut exists = false;
    let mut bye = None;
    loop {
        let mut parts = r.read_response(max_literal)?;
        let first = match parts.first() {
            Some(Part::Text(t)) => t.as_slice(),
            _ => return Err(FetchError::Protocol("empty response line".into())),
        };
        if let Some(rest) = first.strip_prefix(b"* ") {
            match untagged(rest) {
                Untagged::Fetch => items.push(parse_fetch(&mut parts)?),
                Untagged::Exists => exists = true,
                Untagged::Bye(text) => bye = Some(text),
                Untagged::Other => {}
            }
            continue;
        }
        if first.starts_with(b"+") {
            return Err(FetchError::Protocol(
                "unexpected continuation request during UID FETCH".into(),
            ));
        }
        let Some(rest) = first
            .strip_prefix(tag.as_bytes())
            .and_then(|r| r.strip_prefix(b" "))
        else {
            return Err(FetchError::Protocol(format!(
                "unexpected response to UID FETCH: {}",
                printable(first, 100)
            )));
        };
        let (word, text) = split_word(rest);
        let status = match word.to_ascii_uppercase().as_slice() {
            b"OK" => Status::Ok,
            b"NO" => Status::No,
            b"BAD" => Status::Bad,
            _ => {
                return Err(FetchError::Protocol(format!(
                    "unknown status in: {}",
                    printable(first, 100)
                )))
            }
        };
        return Ok(Reply {
            items,
            status,
            text: printable(text, 500),
            exists,
            bye,
        });
    }
}

enum Untagged {
    Fetch,
    Exists,
    Bye(String),
    Other,
}

/// Classifies an untagged response by its first words (after `* `).
fn untagged(rest: &[u8]) -> Untagged {
    let (first, after) = split_word(rest);
    if !first.is_empty() && first.iter().all(u8::is_ascii_digit) {
        let (kind, _) = split_word(after);
        if kind.eq_ignore_ascii_case(b"FETCH") {
            return Untagged::Fetch;
        }
        if kind.eq_ignore_ascii_case(b"EXISTS") {
            return Untagged::Exists;
        }
    } else if first.eq_ignore_ascii_case(b"BYE") {
        return Untagged::Bye(printable(after, 500));
    }
    Untagged::Other
}

/// `* n FETCH (name value ...)`: picks out UID, RFC822.SIZE and `BODY[]` (with or without
/// an `<origin>`, as partial fetches are answered); other items are skipped.
fn parse_fetch(parts: &mut [Part]) -> Result<Item, FetchError> {
    let mut item = Item::default();
    let mut body_literal = None;
    {
        let mut tokens = Tokens::new(parts);
        // "*", number, "FETCH"
        for _ in 0..3 {
            tokens.next()?;
        }
        if tokens.next()? != Some(Token::Open) {
            return Err(FetchError::Protocol("FETCH response without '('".into()));
        }
        loop {
            let name = match tokens.next()? {
                Some(Token::Close) => break,
                Some(Token::Atom(name)) => name,
                other => {
                    return Err(FetchError::Protocol(format!(
                        "FETCH item name expected, got {other:?}"
                    )))
                }
            };
            let value = match tokens.next()? {
                Some(Token::Open) => {
                    tokens.skip_list()?;
                    continue;
                }
                Some(v @ (Token::Atom(_) | Token::Quoted(_) | Token::Literal(_))) => v,
                other => {
                    return Err(FetchError::Protocol(format!(
                        "FETCH value expected after {}, got {other:?}",
                        printable(name, 40)
                    )))
                }
            };
            if name.eq_ignore_ascii_case(b"UID") {
                item.uid = Some(number(&value, "UID")?);
            } else if name.eq_ignore_ascii_case(b"RFC822.SIZE") {
                item.size = Some(number(&value, "RFC822.SIZE")?);
            } else if is_whole_body(name) {
                match value {
                    Token::Literal(i) => body_literal = Some(i),
                    Token::Quoted(q) => item.body = Some(q),
                    Token::Atom(a) if a.eq_ignore_ascii_case(b"NIL") => {}
                    _ => return Err(FetchError::Protocol("BODY[] value is not a string".into())),
                }
            }
        }
    }
    if let Some(i) = body_literal {
        if let Part::Literal(bytes) = &mut parts[i] {
            item.body = Some(std::mem::take(bytes));
        }
    }
    Ok(item)
}

/// `BODY[]` or `BODY[]<origin>`: the whole message, not a section of it.
fn is_whole_body(name: &[u8]) -> bool {
    name.len() >= 6
        && name[..6].eq_ignore_ascii_case(b"BODY[]")
        && (name.len() == 6 || name[6] == b'<')
}

fn number(value: &Token<'_>, what: &str) -> Result<u32, FetchError> {
    match value {
        Token::Atom(a) => std::str::from_utf8(a)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| FetchError::Protocol(format!("{what} is not a number"))),
        _ => Err(FetchError::Protocol(format!("{what} is not a number"))),
    }
}

/// The first space-separated word and the rest after the space.
fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

/// Server text for an error message or log: lossy UTF-8, control characters dropped, cut.
fn printable(s: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&s[..s.len().min(max)])
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// A response as received: text (lines with the CRLF and any `{n}` marker removed) and the
/// literals between them, in order.
#[derive(Debug)]
enum Part {
    Text(Vec<u8>),
    Literal(Vec<u8>),
}

/// Reads responses through its own buffer. Whatever it reads past the end of the tagged
/// line is given back to the transport when it is done ([`Reader::give_back`]).
struct Reader<'a> {
    t: &'a mut Transport,
    buf: Box<[u8]>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(t: &'a mut Transport) -> Self {
        Reader {
            t,
            buf: vec![0; CHUNK].into_boxed_slice(),
            pos: 0,
            end: 0,
        }
    }

    /// Reads more into the buffer; an orderly close by the server is an error here, since a
    /// response is always incomplete when more is needed.
    fn fill(&mut self) -> Result<(), FetchError> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let n = loop {
            match self.t.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        self.end += n;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )
            .into());
        }
        Ok(())
    }

    /// One response: a line, and while it ends in a literal announcement `{n}` (or `{n+}`),
    /// the n bytes and the line that continues after them.
    fn read_response(&mut self, max_literal: u64) -> Result<Vec<Part>, FetchError> {
        let mut parts = Vec::new();
        loop {
            let mut line = self.read_line()?;
            match literal_announcement(&line) {
                Some((start, n)) => {
                    if n > max_literal {
                        return Err(FetchError::Protocol(format!(
                            "the server announced a literal of {n} bytes (limit {max_literal})"
                        )));
                    }
                    line.truncate(start);
                    parts.push(Part::Text(line));
                    // n <= MAX_LITERAL (2^31) fits in usize on every target.
                    parts.push(Part::Literal(self.read_exact(n as usize)?));
                }
                None => {
                    parts.push(Part::Text(line));
                    return Ok(parts);
                }
            }
        }
    }

    /// A line without its CRLF (a bare LF is accepted too).
    fn read_line(&mut self) -> Result<Vec<u8>, FetchError> {
        let mut line = Vec::new();
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = avail.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&avail[..i]);
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            line.extend_from_slice(avail);
            self.pos = self.end;
            if line.len() > MAX_LINE {
                return Err(FetchError::Protocol("response line too long".into()));
            }
            self.fill()?;
        }
    }

    /// Exactly n bytes: what is buffered, then straight from the transport into the result
    /// (no second copy). The vector grows as data arrives, so a server announcing more than
    /// it sends cannot make us allocate it up front.
    fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, FetchError> {
        let buffered = (self.end - self.pos).min(n);
        let mut out = Vec::with_capacity(n.min(16 << 20));
        out.extend_from_slice(&self.buf[self.pos..self.pos + buffered]);
        self.pos += buffered;
        let rest = n - buffered;
        if rest > 0 {
            let got = (&mut *self.t).take(rest as u64).read_to_end(&mut out)?;
            if got < rest {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection inside a message",
                )
                .into());
            }
        }
        Ok(out)
    }

    /// Returns unread bytes to the transport for the `imap` crate's next read.
    fn give_back(self) {
        if self.pos < self.end {
            self.t.unread(&self.buf[self.pos..self.end]);
        }
    }
}

/// If `line` ends with `{n}` or `{n+}`, where the `{` starts and n.
fn literal_announcement(line: &[u8]) -> Option<(usize, u64)> {
    let inner = line.strip_suffix(b"}")?;
    let inner = inner.strip_suffix(b"+").unwrap_or(inner);
    let digits = inner
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let open = inner.len() - digits;
    if open == 0 || inner[open - 1] != b'{' {
        return None;
    }
    let n = std::str::from_utf8(&inner[open..]).ok()?.parse().ok()?;
    Some((open - 1, n))
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    /// An atom or number; brackets are kept with their content (`BODY[]<0>`,
    /// `BODY[HEADER.FIELDS (FROM)]`).
    Atom(&'a [u8]),
    Quoted(Vec<u8>),
    /// Index of the literal in the parts.
    Literal(usize),
}

/// Tokens of a response made of text and literals. A literal token stands where the `{n}`
/// marker was: at the end of the text part before it.
struct Tokens<'a> {
    parts: &'a [Part],
    part: usize,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(parts: &'a [Part]) -> Self {
        Tokens {
            parts,
            part: 0,
            pos: 0,
        }
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, FetchError> {
        loop {
            let Some(part) = self.parts.get(self.part) else {
                return Ok(None);
            };
            let text = match part {
                Part::Literal(_) => {
                    let i = self.part;
                    self.part += 1;
                    self.pos = 0;
                    return Ok(Some(Token::Literal(i)));
                }
                Part::Text(t) => t.as_slice(),
            };
            while self.pos < text.len() && text[self.pos] == b' ' {
                self.pos += 1;
            }
            if self.pos == text.len() {
                self.part += 1;
                self.pos = 0;
                continue;
            }
            let start = self.pos;
            return match text[start] {
                b'(' => {
                    self.pos += 1;
                    Ok(Some(Token::Open))
                }
                b')' => {
                    self.pos += 1;
                    Ok(Some(Token::Close))
                }
                b'"' => self.quoted(text).map(Some),
                _ => {
                    let mut depth = 0usize;
                    let mut i = start;
                    while i < text.len() {
                        match text[i] {
                            b'[' => depth += 1,
                            b']' => depth = depth.saturating_sub(1),
                            b' ' | b'(' | b')' if depth == 0 => break,
                            _ => {}
                        }
                        i += 1;
                    }
                    self.pos = i;
                    Ok(Some(Token::Atom(&text[start..i])))
                }
            };
        }
    }

    /// A quoted string starting at `self.pos`, with `\"` and `\\` unescaped.
    fn quoted(&mut self, text: &[u8]) -> Result<Token<'a>, FetchError> {
        let mut out = Vec::new();
        let mut i = self.pos + 1;
        while i < text.len() {
            match text[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Token::Quoted(out));
                }
                b'\\' if i + 1 < text.len() => {
                    out.push(text[i + 1]);
                    i += 2;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        Err(FetchError::Protocol("unterminated quoted string".into()))
    }

    /// Skips to the `)` closing a list whose `(` was just read.
    fn skip_list(&mut self) -> Result<(), FetchError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                Some(Token::Open) => depth += 1,
                Some(Token::Close) => depth -= 1,
                Some(_) => {}
                None => return Err(FetchError::Protocol("unbalanced parentheses".into())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tls::mock::MockStream;
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    fn transport(script: &[u8]) -> (Transport, Arc<std::sync::Mutex<Vec<u8>>>) {
        let (stream, written) = MockStream::from_bytes(script.to_vec());
        (
            Transport::mock(stream, Arc::new(AtomicU64::new(0))),
            written,
        )
    }

    #[test]
    fn reads_literals_quoted_nil_and_skips_other_items() {
        let script =
            b"* 1 FETCH (FLAGS (\\Seen $X) UID 3 RFC822.SIZE 5 BODY[]<0> {5}\r\nab\r\nc)\r\n\
* 2 FETCH (UID 4 BODY[] \"q\\\"x\" RFC822.SIZE 3 INTERNALDATE \"1-Jan-2020 00:00:00 +0000\")\r\n\
* 3 FETCH (BODY[HEADER.FIELDS (FROM)] {2}\r\nhi UID 5 BODY[] NIL)\r\n\
* 4 EXISTS\r\n* 3 FETCH (FLAGS ())\r\nF1 OK [x] done\r\nrest";
        let (mut t, written) = transport(script);
        let reply = uid_fetch(&mut t, "F1", "3:5", "(UID)", 100).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&written.lock().unwrap()),
            "F1 UID FETCH 3:5 (UID)\r\n"
        );
        assert_eq!(reply.status, Status::Ok);
        assert_eq!(reply.text, "[x] done");
        assert!(reply.exists);
        assert_eq!(
            reply.items,
            vec![
                Item {
                    uid: Some(3),
                    size: Some(5),
                    body: Some(b"ab\r\nc".to_vec())
                },
                Item {
                    uid: Some(4),
                    size: Some(3),
                    body: Some(b"q\"x".to_vec())
                },
                Item {
                    uid: Some(5),
                    size: None,
                    body: None
                },
                Item::default(),
            ]
        );
        // What came after the tagged line is left for the next reader.
        let mut left = Vec::new();
        t.read_to_end(&mut left).ok();
        assert_eq!(left, b"rest");
    }

    #[test]
    fn no_bad_and_bye() {
        let (mut t, _) = transport(b"* BYE going away\r\nF2 NO [EXPUNGEISSUED] gone\r\n");
        let reply = uid_fetch(&mut t, "F2", "1", "(UID)", 100).unwrap();
        assert_eq!(reply.status, Status::No);
        assert_eq!(reply.bye.as_deref(), Some("going away"));
        let (mut t, _) = transport(b"F3 BAD what\r\n");
        assert_eq!(
            uid_fetch(&mut t, "F3", "1", "(UID)", 100).unwrap().status,
            Status::Bad
        );
    }

    #[test]
    fn broken_responses_are_errors_not_panics() {
        let cases: &[&[u8]] = &[
            b"* 1 FETCH (UID 3 BODY[] {5}\r\nab", // closed inside a literal
            b"* 1 FETCH (UID 3 BODY[] {500}\r\n", // over the limit
            b"* 1 FETCH (UID x)\r\nF1 OK\r\n",    // not a number
            b"* 1 FETCH UID 3\r\nF1 OK\r\n",      // no list
            b"* 1 FETCH (UID 3 FLAGS (\\Seen\r\nF1 OK\r\n", // unbalanced
            b"* 1 FETCH (BODY[] \"abc)\r\nF1 OK\r\n", // unterminated quote
            b"+ go ahead\r\n",                    // continuation
            b"a7 OK not ours\r\n",                // someone else's tag
            b"F1 MAYBE\r\n",                      // unknown status
            b"",                                  // closed
            b"* 1 FETCH (UID 3 BODY[] {99999999999999999999}\r\n", // absurd size
        ];
        for case in cases {
            let (mut t, _) = transport(case);
            assert!(
                uid_fetch(&mut t, "F1", "1", "(UID)", 100).is_err(),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn literal_announcements() {
        assert_eq!(literal_announcement(b"BODY[] {12}"), Some((7, 12)));
        assert_eq!(literal_announcement(b"x {0+}"), Some((2, 0)));
        assert_eq!(literal_announcement(b"x {}"), None);
        assert_eq!(literal_announcement(b"x 12}"), None);
        assert_eq!(literal_announcement(b"}"), None);
        assert_eq!(literal_announcement(b"{a}"), None);
    }

    #[test]
    fn whole_body_names() {
        assert!(is_whole_body(b"BODY[]"));
        assert!(is_whole_body(b"body[]<0>"));
        assert!(!is_whole_body(b"BODY[TEXT]"));
        assert!(!is_whole_body(b"BODY[]x"));
        assert!(!is_whole_body(b"BODY"));
    }
}
