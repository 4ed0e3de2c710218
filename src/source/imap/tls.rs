//! Sockets for the IMAP adapter: TCP with a connect timeout, an OpenSSL client context that
//! always verifies the certificate chain and the host name, and [`Transport`], the
//! plain-or-TLS stream handed to the `imap` crate. It knows nothing about IMAP itself.
//!
//! Why the `openssl` crate here and not `native-tls` (which is OpenSSL on Linux too):
//! native-tls 0.2 builds every connector by parsing the whole system CA bundle twice (once
//! for OpenSSL's default paths, once more for the bundle `openssl-probe` finds), and does
//! so even when told to trust only given roots. That was ~90 ms of CPU per process on the
//! benchmark machine, five sixths of an idle `poll --once` (`bench/RESULTS.md`). With
//! OpenSSL directly, an account with a `ca_file` reads only that file, and one without
//! reads the system bundle once. The settings are those of OpenSSL's own `SslConnector`
//! (cipher list, options, peer verification, host name check without partial wildcards),
//! plus TLS 1.2 as the minimum.

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use openssl::error::ErrorStack;
use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::{X509VerifyResult, X509};

/// Why a TLS context could not be built; safe to show (names files, never contents).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read ca_file {path}: {source}")]
    ReadCa { path: PathBuf, source: io::Error },
    #[error("ca_file {path} contains no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("ca_file {path}: certificate {index} is not valid PEM: {detail}")]
    BadCertificate {
        path: PathBuf,
        index: usize,
        detail: String,
    },
    #[error("cannot set up TLS: {0}")]
    Build(#[from] ErrorStack),
}

/// Why a TLS handshake failed.
#[derive(Debug)]
pub enum HandshakeFailure {
    /// The socket read/write timeout expired mid-handshake.
    TimedOut,
    /// Certificate, host name or protocol problem, in OpenSSL's words.
    Failed(String),
}

/// Resolves `host:port` and tries each address with `timeout` as the connect timeout, then
/// sets the same value as read and write timeout so a stalled server surfaces as an error
/// instead of a hang. Name resolution itself uses the system resolver and its own timeout.
pub fn connect_tcp(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    // A zero timeout is rejected by std; treat it as "as short as possible" rather than
    // as "forever".
    let timeout = timeout.max(Duration::from_millis(1));
    let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
    let mut last_err = None;
    for addr in (host_for_lookup, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(timeout))?;
                tcp.set_write_timeout(Some(timeout))?;
                // Commands are single short lines followed by a flush; Nagle only adds delay.
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} resolved to no address"),
        )
    }))
}

/// A client context with verification on (certificate chain, TLS >= 1.2; the host name is
/// checked per connection by [`handshake`]). The trusted roots are every certificate in
/// `ca_file` when one is set (a private CA: the public roots are not needed, and trusting
/// only the CA the server really uses is the narrower choice, as with curl's `--cacert`),
/// else the system's (OpenSSL's default paths, which `SSL_CERT_FILE`/`SSL_CERT_DIR`
/// override). Built once per distinct `ca_file` content and then reused (see `crate::tls`):
/// the file is read again at every call, so a replaced CA takes effect at the next
/// connection.
pub fn connector(ca_file: Option<&Path>) -> Result<SslContext, TlsSetupError> {
    static CONTEXTS: crate::tls::Cache<Option<Vec<u8>>, SslContext> = crate::tls::Cache::new();
    let pem = match ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| TlsSetupError::ReadCa {
            path: path.to_path_buf(),
            source,
        })?),
        None => None,
    };
    CONTEXTS.get_or_build(pem.clone(), || {
        let mut ctx = SslContextBuilder::new(SslMethod::tls_client())?;
        // As `openssl::ssl::SslConnector::builder`, minus its loading of the default paths.
        let mut opts = SslOptions::ALL
            | SslOptions::NO_COMPRESSION
            | SslOptions::NO_SSLV2
            | SslOptions::NO_SSLV3
            | SslOptions::SINGLE_DH_USE
            | SslOptions::SINGLE_ECDH_USE;
        opts &= !SslOptions::DONT_INSERT_EMPTY_FRAGMENTS;
        ctx.set_options(opts);
        ctx.set_mode(
            SslMode::AUTO_RETRY
                | SslMode::ACCEPT_MOVING_WRITE_BUFFER
                | SslMode::ENABLE_PARTIAL_WRITE
                | SslMode::RELEASE_BUFFERS,
        );
        ctx.set_cipher_list(
            "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK",
        )?;
        ctx.set_min_proto_version(Some(SslVersion::TLS1_2))?;
        ctx.set_verify(SslVerifyMode::PEER);
        match (ca_file, &pem) {
            (Some(path), Some(pem)) => {
                let mut store = X509StoreBuilder::new()?;
                for cert in pem_certificates(path, pem)? {
                    // OpenSSL 3 accepts a certificate already in the store; older versions
                    // refuse a duplicate, which leaves the store as it was: not an error.
                    let _ = store.add_cert(cert);
                }
                ctx.set_cert_store(store.build());
            }
            _ => ctx.set_default_verify_paths()?,
        }
        Ok(ctx.build())
    })
}

/// Every `CERTIFICATE` block of a PEM file, parsed; `path` is for the error messages.
fn pem_certificates(path: &Path, pem: &[u8]) -> Result<Vec<X509>, TlsSetupError> {
    let blocks = crate::tls::pem_certificates(pem);
    if blocks.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            X509::from_pem(block).map_err(|e| TlsSetupError::BadCertificate {
                path: path.to_path_buf(),
                index: i + 1,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Runs the TLS handshake on `tcp`, verifying the certificate against `host` (a DNS name or
/// an IP address; both are checked against the certificate's subjectAltName, wildcards
/// only as a whole left-most label). A DNS name is also sent as SNI.
pub fn handshake(
    ctx: &SslContext,
    host: &str,
    tcp: TcpStream,
) -> Result<SslStream<TcpStream>, HandshakeFailure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ssl = client_for(ctx, host).map_err(|e| HandshakeFailure::Failed(e.to_string()))?;
    ssl.connect(tcp).map_err(|e| match e {
        // The socket is blocking with a timeout, so "would block" means the timeout fired.
        HandshakeError::WouldBlock(_) => HandshakeFailure::TimedOut,
        HandshakeError::SetupFailure(e) => HandshakeFailure::Failed(e.to_string()),
        HandshakeError::Failure(mid) => {
            let timed_out = mid.error().io_error().is_some_and(|io| {
                matches!(
                    io.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                )
            });
            if timed_out {
                return HandshakeFailure::TimedOut;
            }
            let mut detail = describe(mid.error());
            let verify = mid.ssl().verify_result();
            if verify != X509VerifyResult::OK {
                detail = format!("{detail}: {}", verify.error_string());
            }
            HandshakeFailure::Failed(detail)
        }
    })
}

/// OpenSSL's reasons ("certificate verify failed", "wrong version number"), without the
/// error codes and source file positions of its full error strings; the I/O error or the
/// full text when there is no reason.
fn describe(e: &openssl::ssl::Error) -> String {
    let reasons: Vec<&str> = e
        .ssl_error()
        .map(|stack| stack.errors().iter().filter_map(|e| e.reason()).collect())
        .unwrap_or_default();
    if reasons.is_empty() {
        e.to_string()
    } else {
        reasons.join("; ")
    }
}

/// One connection's TLS state: SNI for a DNS name, and the name or address the
/// certificate must be for.
fn client_for(ctx: &SslContext, host: &str) -> Result<Ssl, ErrorStack> {
    let mut ssl = Ssl::new(ctx)?;
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_none() {
        ssl.set_hostname(host)?;
    }
    let param = ssl.param_mut();
    param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
    match ip {
        Some(ip) => param.set_ip(ip)?,
        None => param.set_host(host)?,
    }
    Ok(ssl)
}

enum Inner {
    Plain(TcpStream),
    // Boxed: a TlsStream is much larger than a TcpStream.
    Tls(Box<SslStream<TcpStream>>),
    #[cfg(test)]
    Mock(mock::MockStream),
}

/// The byte stream under an IMAP session. Counts flushes: the `imap` crate flushes exactly
/// once per line it sends (a command, a SASL response, IDLE's `DONE`), and so does
/// [`super::fetch`], so the count is the number of client turns, i.e. round trips.
///
/// A transport can be [shared](Transport::share): the `imap` crate owns one handle and
/// `fetch` uses another between the crate's commands. Only one thread uses an IMAP session
/// at a time, so the mutex is never contended; it is there because the session must be
/// `Send` to move to a blocking thread.
pub struct Transport {
    shared: Arc<Mutex<Shared>>,
    sent: Arc<AtomicU64>,
    /// What `set_read_timeout(None)` restores. The `imap` crate's IDLE sets a long read
    /// timeout while idling and then `None` ("no timeout"); mapping `None` back to the
    /// account's timeout keeps the `DONE` exchange after IDLE from hanging forever on a
    /// stalled server.
    default_read_timeout: Duration,
}

struct Shared {
    inner: Inner,
    /// Bytes read ahead by one handle and given back with [`Transport::unread`]; served
    /// before anything new from the socket.
    pushback: Vec<u8>,
    pushback_pos: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.lock().inner {
            Inner::Plain(_) => "plain",
            Inner::Tls(_) => "tls",
            #[cfg(test)]
            Inner::Mock(_) => "mock",
        };
        write!(f, "Transport({kind})")
    }
}

impl Transport {
    fn new(inner: Inner, sent: Arc<AtomicU64>, default_read_timeout: Duration) -> Self {
        Transport {
            shared: Arc::new(Mutex::new(Shared {
                inner,
                pushback: Vec::new(),
                pushback_pos: 0,
            })),
            sent,
            default_read_timeout,
        }
    }

    pub fn plain(tcp: TcpStream, sent: Arc<AtomicU64>, default_read_timeout: Duration) -> Self {
        Self::new(Inner::Plain(tcp), sent, default_read_timeout)
    }

    pub fn tls(
        stream: SslStream<TcpStream>,
        sent: Arc<AtomicU64>,
        default_read_timeout: Duration,
    ) -> Self {
        Self::new(Inner::Tls(Box::new(stream)), sent, default_read_timeout)
    }

    /// Another handle on the same stream (and round-trip counter).
    pub fn share(&self) -> Self {
        Transport {
            shared: self.shared.clone(),
            sent: self.sent.clone(),
            default_read_timeout: self.default_read_timeout,
        }
    }

    /// Puts bytes back in front of the stream: the next read of any handle returns them
    /// first. For a reader that read past the end of its response.
    pub fn unread(&self, bytes: &[u8]) {
        let mut s = self.lock();
        let mut pushback = bytes.to_vec();
        pushback.extend_from_slice(&s.pushback[s.pushback_pos..]);
        s.pushback = pushback;
        s.pushback_pos = 0;
    }

    /// The TCP socket back, for the STARTTLS upgrade. `None` if this is not a plain stream,
    /// is shared, or has bytes pushed back (which must not be lost).
    pub fn into_tcp(self) -> Option<TcpStream> {
        let shared = Arc::try_unwrap(self.shared).ok()?.into_inner().ok()?;
        if shared.pushback_pos < shared.pushback.len() {
            return None;
        }
        match shared.inner {
            Inner::Plain(tcp) => Some(tcp),
            _ => None,
        }
    }

    /// The lock is never poisoned in practice (nothing panics while holding it); if it were,
    /// the stream is no worse than after an I/O error, and the next command will tell.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub fn mock(stream: mock::MockStream, sent: Arc<AtomicU64>) -> Self {
        Self::new(Inner::Mock(stream), sent, Duration::from_secs(1))
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.lock();
        if s.pushback_pos < s.pushback.len() {
            let n = buf.len().min(s.pushback.len() - s.pushback_pos);
            buf[..n].copy_from_slice(&s.pushback[s.pushback_pos..s.pushback_pos + n]);
            s.pushback_pos += n;
            if s.pushback_pos == s.pushback.len() {
                s.pushback = Vec::new();
                s.pushback_pos = 0;
            }
            return Ok(n);
        }
        match &mut s.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
            #[cfg(test)]
            Inner::Mock(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.lock().inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
            #[cfg(test)]
            Inner::Mock(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        match &mut self.lock().inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
            #[cfg(test)]
            Inner::Mock(s) => s.flush(),
        }
    }
}

impl imap::extensions::idle::SetReadTimeout for Transport {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        let timeout = Some(timeout.unwrap_or(self.default_read_timeout));
        let result = match &mut self.lock().inner {
            Inner::Plain(s) => TcpStream::set_read_timeout(s, timeout),
            Inner::Tls(s) => TcpStream::set_read_timeout(s.get_ref(), timeout),
            #[cfg(test)]
            Inner::Mock(_) => Ok(()),
        };
        result.map_err(imap::Error::Io)
    }
}

/// An in-memory server for unit tests: replays a script of server bytes and records what
/// the client wrote. When the script runs out, reads fail with `TimedOut`, like a stalled
/// server behind a socket timeout.
#[cfg(test)]
pub mod mock {
    use std::io::{self, Read, Write};
    use std::sync::{Arc, Mutex};

    pub struct MockStream {
        script: Vec<u8>,
        pos: usize,
        pub written: Arc<Mutex<Vec<u8>>>,
    }

    impl MockStream {
        pub fn new(script: &str) -> (Self, Arc<Mutex<Vec<u8>>>) {
            Self::from_bytes(script.as_bytes().to_vec())
        }

        pub fn from_bytes(script: Vec<u8>) -> (Self, Arc<Mutex<Vec<u8>>>) {
            let written = Arc::new(Mutex::new(Vec::new()));
            let s = MockStream {
                script,
                pos: 0,
                written: written.clone(),
            };
            (s, written)
        }
    }

    impl Read for MockStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos >= self.script.len() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "mock: script ended",
                ));
            }
            // At most one line per read, as a server that waits for the next command
            // would deliver it: a reader that buffers must not see past its response.
            let rest = &self.script[self.pos..];
            let line = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            let n = buf.len().min(line);
            buf[..n].copy_from_slice(&self.script[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for MockStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = connector(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a cert\n").unwrap();
        let e = connector(Some(&empty)).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
