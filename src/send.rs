//! The SMTP adapter: delivers one finished digest (raw bytes) with lettre's tokio
//! transport. Knows nothing about digests or the store; the caller decides what a success
//! or failure means. Certificate verification is always on; `ca_file` adds a trusted root.

use std::path::Path;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{is_loopback_host, AuthMethod, SecretError, SmtpConfig, TlsMode};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("smtp: {field} `{value}` is not a valid address")]
    Address { field: &'static str, value: String },
    #[error("smtp: cannot read CA file {path}: {source}")]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("smtp: TLS setup for {host} failed: {detail}")]
    Tls { host: String, detail: String },
    #[error("smtp: plaintext SMTP to {host} refused: only 127.0.0.1, ::1 or localhost may be used without TLS")]
    PlaintextRefused { host: String },
    #[error("smtp: credentials: {0}")]
    Secret(#[from] SecretError),
    #[error("smtp: {host}:{port} did not finish within {secs}s")]
    Timeout { host: String, port: u16, secs: u64 },
    /// 4xx, connection refused, TLS or I/O trouble: worth retrying.
    #[error("smtp: temporary failure sending to {host}:{port}: {detail}")]
    Transient {
        host: String,
        port: u16,
        detail: String,
    },
    /// 5xx: the server refused; retrying unchanged will likely fail again, but the daemon
    /// still retries (with a long backoff) because a fixed config can make it succeed.
    #[error("smtp: {host}:{port} rejected the digest: {detail}")]
    Permanent {
        host: String,
        port: u16,
        detail: String,
    },
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SendError::Timeout { .. } | SendError::Transient { .. }
        )
    }
}

/// Builds the envelope from the digest's From and To values.
pub fn envelope(from: &str, to: &[String]) -> Result<Envelope, SendError> {
    let from: Mailbox = from.parse().map_err(|_| SendError::Address {
        field: "from",
        value: from.to_string(),
    })?;
    let to = to
        .iter()
        .map(|t| {
            t.parse::<Mailbox>()
                .map(|m| m.email)
                .map_err(|_| SendError::Address {
                    field: "to",
                    value: t.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from.email), to).map_err(|_| SendError::Address {
        field: "to",
        value: "(empty)".into(),
    })
}

/// TLS parameters for `cfg.host`, trusting every certificate in `ca_file` when one is set
/// (and then only those, as for IMAP: see `source::imap::tls::connector`), else the
/// system roots. Kept per host and `ca_file` content (see `crate::tls`): a digest that is
/// retried, and every later digest, reuses them instead of re-reading the system CA store.
fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, SendError> {
    type Key = (String, Option<Vec<u8>>);
    static PARAMETERS: crate::tls::Cache<Key, TlsParameters> = crate::tls::Cache::new();
    let pem = match &cfg.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| SendError::CaFile {
            path: path.to_path_buf(),
            source,
        })?),
        None => None,
    };
    PARAMETERS.get_or_build((cfg.host.clone(), pem.clone()), || {
        let mut b = TlsParameters::builder(cfg.host.clone());
        if let (Some(path), Some(pem)) = (&cfg.ca_file, &pem) {
            b = b.certificate_store(CertificateStore::None);
            for cert in ca_certificates(path, pem)? {
                b = b.add_root_certificate(cert);
            }
        }
        b.build_native().map_err(|e| SendError::Tls {
            host: cfg.host.clone(),
            detail: crate::error_chain(&e),
        })
    })
}

/// Every certificate of a `ca_file` bundle (lettre's `from_pem` reads only the first).
fn ca_certificates(path: &Path, pem: &[u8]) -> Result<Vec<Certificate>, SendError> {
    let bad = |detail: String| SendError::Tls {
        host: path.display().to_string(),
        detail,
    };
    let blocks = crate::tls::pem_certificates(pem);
    if blocks.is_empty() {
        return Err(bad(
            "no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            Certificate::from_pem(block)
                .map_err(|e| bad(format!("certificate {}: {}", i + 1, crate::error_chain(&e))))
        })
        .collect()
}

/// Resolves the login for the configured auth method (blocking on a password or token
/// command, hence the blocking thread). None when no login is configured.
async fn credentials(cfg: &SmtpConfig) -> Result<Option<(Credentials, Vec<Mechanism>)>, SendError> {
    let (Some(user), Some(auth)) = (&cfg.username, &cfg.auth) else {
        return Ok(None);
    };
    let auth = auth.clone();
    let (secret, mechanisms) = tokio::task::spawn_blocking(move || match auth {
        AuthMethod::Password(src) => src
            .resolve()
            .map(|s| (s, vec![Mechanism::Plain, Mechanism::Login])),
        AuthMethod::OAuth2 { token_command } => {
            crate::config::secret::run_secret_command(&token_command)
                .map(|s| (s, vec![Mechanism::Xoauth2]))
        }
    })
    .await
    .map_err(|e| SendError::Transient {
        host: cfg.host.clone(),
        port: cfg.port,
        detail: format!("credential task failed: {e}"),
    })??;
    Ok(Some((
        Credentials::new(user.clone(), secret.expose_secret().to_string()),
        mechanisms,
    )))
}

/// Sends `raw` to the envelope's recipients. The whole dialogue is bounded by
/// `cfg.timeout`, because lettre's own timeout covers only connecting and single reads.
/// Secrets are resolved here (blocking on a command if configured) and never logged.
pub async fn send(cfg: &SmtpConfig, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
    if cfg.tls == TlsMode::Plain && !is_loopback_host(&cfg.host) {
        return Err(SendError::PlaintextRefused {
            host: cfg.host.clone(),
        });
    }
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
        .port(cfg.port)
        .timeout(Some(cfg.timeout));
    b = match cfg.tls {
        TlsMode::Implicit => b.tls(Tls::Wrapper(tls_parameters(cfg)?)),
        TlsMode::Starttls => b.tls(Tls::Required(tls_parameters(cfg)?)),
        TlsMode::Plain => b.tls(Tls::None),
    };
    if let Some((creds, mechanisms)) = credentials(cfg).await? {
        b = b.credentials(creds).authentication(mechanisms);
    }
    let transport = b.build();
    let secs = cfg.timeout.as_secs().max(1);
    // Generous outer bound: connect + EHLO + TLS + AUTH + DATA of a small message.
    let outer = cfg.timeout + Duration::from_secs(5);
    match tokio::time::timeout(outer, transport.send_raw(envelope, raw)).await {
        Err(_) => Err(SendError::Timeout {
            host: cfg.host.clone(),
            port: cfg.port,
            secs,
        }),
        Ok(Ok(_response)) => Ok(()),
        Ok(Err(e)) => {
            let detail = crate::error_chain(&e);
            if e.is_permanent() {
                Err(SendError::Permanent {
                    host: cfg.host.clone(),
                    port: cfg.port,
                    detail,
                })
            } else {
                Err(SendError::Transient {
                    host: cfg.host.clone(),
                    port: cfg.port,
                    detail,
                })
            }
        }
    }
}

/// Connects, negotiates TLS and logs in, then says goodbye: what `config check --connect`
/// uses to prove the SMTP settings work without sending anything.
pub async fn check_login(cfg: &SmtpConfig) -> Result<(), SendError> {
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;
    if cfg.tls == TlsMode::Plain && !is_loopback_host(&cfg.host) {
        return Err(SendError::PlaintextRefused {
            host: cfg.host.clone(),
        });
    }
    let transient = |detail: String| SendError::Transient {
        host: cfg.host.clone(),
        port: cfg.port,
        detail,
    };
    let tls = match cfg.tls {
        TlsMode::Implicit => Some(tls_parameters(cfg)?),
        _ => None,
    };
    let fut = async {
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (cfg.host.as_str(), cfg.port),
            Some(cfg.timeout),
            &ClientId::default(),
            tls,
            None,
        )
        .await
        .map_err(|e| transient(crate::error_chain(&e)))?;
        if cfg.tls == TlsMode::Starttls {
            conn.starttls(tls_parameters(cfg)?, &ClientId::default())
                .await
                .map_err(|e| transient(crate::error_chain(&e)))?;
        }
        if let Some((creds, mechanisms)) = credentials(cfg).await? {
            conn.auth(&mechanisms, &creds).await.map_err(|e| {
                let detail = crate::error_chain(&e);
                if e.is_permanent() {
                    SendError::Permanent {
                        host: cfg.host.clone(),
                        port: cfg.port,
                        detail,
                    }
                } else {
                    transient(detail)
                }
            })?;
        }
        let _ = conn.quit().await;
        Ok(())
    };
    match tokio::time::timeout(cfg.timeout + Duration::from_secs(5), fut).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Timeout {
            host: cfg.host.clone(),
            port: cfg.port,
            secs: cfg.timeout.as_secs().max(1),
        }),
    }
}
