//! The server-bound limit for `bench/run.sh`: the thinnest IMAP client that does the same
//! work as a first scan (LOGIN, EXAMINE, one `UID SEARCH`, one `UID FETCH` of every match
//! with `BODY.PEEK[]`, LOGOUT) and nothing else. It does not parse, store or keep the
//! messages: literals are counted and skipped as they stream in. Same TLS stack as
//! invite-digest (native-tls, i.e. OpenSSL on Linux).
//!
//! Built as a `[[bench]]` target with `harness = false` so it shares the crate's build and
//! dependencies; `cargo bench` and `cargo test --all-targets` run it without arguments, and
//! then it does nothing.
//!
//! usage: imap_limit --host H --port P --ca CA.pem --user U --password PW
//!                   [--mailbox INBOX] [--search 'FROM "linkedin"']
//! Prints one line: `limit: matched=N fetched=N bytes=N tls_setup=… login=… select=… search=…
//! fetch=… total=…` (seconds, in-process; login includes tls_setup, the TLS handshake and
//! LOGIN).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

type Stream = native_tls::TlsStream<TcpStream>;

struct Conn {
    r: BufReader<Stream>,
    tag: u32,
    line: Vec<u8>,
}

/// What one command's response held: untagged lines without literal data, and how many
/// literals (and bytes) were skipped.
#[derive(Default)]
struct Response {
    untagged: Vec<String>,
    literals: u64,
    literal_bytes: u64,
}

fn literal_len(line: &[u8]) -> Option<u64> {
    let l = line.strip_suffix(b"\r\n").unwrap_or(line);
    let l = l.strip_suffix(b"}")?;
    let open = l.iter().rposition(|&b| b == b'{')?;
    let digits = l[open + 1..].strip_suffix(b"+").unwrap_or(&l[open + 1..]);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl Conn {
    fn command(&mut self, cmd: &str) -> io::Result<Response> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.r
            .get_mut()
            .write_all(format!("{tag} {cmd}\r\n").as_bytes())?;
        self.r.get_mut().flush()?;
        let mut resp = Response::default();
        let mut sink = io::sink();
        loop {
            self.line.clear();
            if self.r.read_until(b'\n', &mut self.line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            // A line may continue after any number of literals.
            let mut first = self.line.clone();
            while let Some(n) = literal_len(&self.line) {
                io::copy(&mut (&mut self.r).take(n), &mut sink)?;
                resp.literals += 1;
                resp.literal_bytes += n;
                self.line.clear();
                self.r.read_until(b'\n', &mut self.line)?;
            }
            if first.starts_with(tag.as_bytes()) && first.get(tag.len()) == Some(&b' ') {
                let status = String::from_utf8_lossy(&first[tag.len() + 1..]).into_owned();
                if status.starts_with("OK") {
                    return Ok(resp);
                }
                return Err(io::Error::other(format!("{cmd}: {}", status.trim_end())));
            }
            if first.starts_with(b"* ") && resp.literals == 0 {
                first.truncate(first.len().saturating_sub(2));
                resp.untagged
                    .push(String::from_utf8_lossy(&first).into_owned());
            }
        }
    }
}

/// Sorted UIDs as a compact IMAP set: 1:3,7,9:10.
fn uid_set(uids: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

fn arg(args: &[String], name: &str, env: &str, default: Option<&str>) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
        .or_else(|| default.map(str::to_string))
        .unwrap_or_else(|| {
            eprintln!("imap_limit: missing {name} (or ${env})");
            std::process::exit(64)
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty()
        || args
            .iter()
            .all(|a| a == "--bench" || a.starts_with("--test"))
    {
        // Run by `cargo bench` / `cargo test --all-targets`: not a benchmark on its own.
        println!("imap_limit: the server-bound IMAP client of bench/run.sh; nothing to do here");
        return Ok(());
    }
    let host = arg(&args, "--host", "IMAP_HOST", Some("127.0.0.1"));
    let port: u16 = arg(&args, "--port", "IMAPS_PORT", None).parse()?;
    let ca = arg(&args, "--ca", "MAILTEST_CA", None);
    let user = arg(&args, "--user", "IMAP_USER", Some("alice"));
    let password = arg(&args, "--password", "IMAP_PASSWORD", Some("alicepw"));
    let mailbox = arg(&args, "--mailbox", "IMAP_MAILBOX", Some("INBOX"));
    let search = arg(
        &args,
        "--search",
        "LIMIT_SEARCH",
        Some(r#"FROM "linkedin""#),
    );

    let t0 = Instant::now();
    // Only the server's CA: loading the system bundle (~140 roots) is work a thin client
    // for one known server does not need.
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(&std::fs::read(&ca)?)?)
        .disable_built_in_roots(true)
        .build()?;
    let t_setup = Instant::now();
    let tcp = TcpStream::connect((host.as_str(), port))?;
    tcp.set_nodelay(true)?;
    let tls = connector.connect(&host, tcp)?;
    let mut c = Conn {
        r: BufReader::with_capacity(64 * 1024, tls),
        tag: 0,
        line: Vec::new(),
    };
    let mut greeting = Vec::new();
    c.r.read_until(b'\n', &mut greeting)?;
    if !greeting.starts_with(b"* OK") {
        return Err(format!("greeting: {}", String::from_utf8_lossy(&greeting)).into());
    }
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    c.command(&format!("LOGIN {} {}", q(&user), q(&password)))?;
    let t1 = Instant::now();
    c.command(&format!("EXAMINE {}", q(&mailbox)))?;
    let t2 = Instant::now();
    let found = c.command(&format!("UID SEARCH {search}"))?;
    let mut uids: Vec<u32> = found
        .untagged
        .iter()
        .filter_map(|l| l.strip_prefix("* SEARCH"))
        .flat_map(|l| l.split_ascii_whitespace().filter_map(|u| u.parse().ok()))
        .collect();
    uids.sort_unstable();
    let t3 = Instant::now();
    let fetched = if uids.is_empty() {
        Response::default()
    } else {
        c.command(&format!(
            "UID FETCH {} (UID RFC822.SIZE BODY.PEEK[])",
            uid_set(&uids)
        ))?
    };
    let t4 = Instant::now();
    let _ = c.command("LOGOUT");
    let s = |a: Instant, b: Instant| (b - a).as_secs_f64();
    println!(
        "limit: matched={} fetched={} bytes={} tls_setup={:.3}s login={:.3}s select={:.3}s search={:.3}s fetch={:.3}s total={:.3}s",
        uids.len(),
        fetched.literals,
        fetched.literal_bytes,
        s(t0, t_setup),
        s(t0, t1),
        s(t1, t2),
        s(t2, t3),
        s(t3, t4),
        s(t0, t4),
    );
    Ok(())
}
