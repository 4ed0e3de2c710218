//! Where a password or token comes from, and how it is read. Secrets are held in
//! `secrecy::SecretString` so they never reach a log line or an error message by accident;
//! errors name the source (file path, env var, command), never the value.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::SecretString;

/// Exactly one place a secret is read from.
#[derive(Clone)]
pub enum SecretSource {
    /// `password_file`: the first line of the file, trailing newline removed.
    File(PathBuf),
    /// `password_command`: run with `sh -c`, stdout trimmed.
    Command(String),
    /// `password_env`: an environment variable.
    Env(String),
    /// `password_credential`: a systemd credential, `$CREDENTIALS_DIRECTORY/<name>`.
    Credential(String),
    /// `password` literal in the TOML (allowed, warned about).
    Literal(SecretString),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read password file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("password file {path} is empty")]
    EmptyFile { path: PathBuf },
    #[error("environment variable {name} is not set or not valid UTF-8")]
    Env { name: String },
    #[error("systemd credential {name}: $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit)")]
    NoCredentialsDirectory { name: String },
    #[error("cannot read systemd credential {path}: {source}")]
    Credential {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("password command `{command}` could not be started: {source}")]
    CommandSpawn {
        command: String,
        source: std::io::Error,
    },
    #[error("password command `{command}` exited with {status}{stderr}")]
    CommandFailed {
        command: String,
        status: std::process::ExitStatus,
        /// First line of stderr, prefixed with ": " when present. Commands print
        /// diagnostics there, not secrets, so it is safe and useful to show.
        stderr: String,
    },
    #[error("password command `{command}` printed nothing")]
    CommandEmpty { command: String },
    #[error("secret from {source_desc} is not valid UTF-8")]
    NotUtf8 { source_desc: String },
}

impl SecretSource {
    /// A description safe for logs: says where, never what.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::File(p) => format!("password_file {}", p.display()),
            SecretSource::Command(c) => format!("password_command `{c}`"),
            SecretSource::Env(n) => format!("password_env {n}"),
            SecretSource::Credential(n) => format!("password_credential {n}"),
            SecretSource::Literal(_) => "password (literal in config)".to_string(),
        }
    }

    /// Reads the secret now. Called at each login so a rotated password file or a fresh
    /// token from a command is picked up without a restart.
    pub fn resolve(&self) -> Result<SecretString, SecretError> {
        match self {
            SecretSource::File(path) => read_secret_file(path, false),
            SecretSource::Credential(name) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                    .ok_or_else(|| SecretError::NoCredentialsDirectory { name: name.clone() })?;
                read_secret_file(&Path::new(&dir).join(name), true)
            }
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => Err(SecretError::Env { name: name.clone() }),
            },
            SecretSource::Command(command) => run_secret_command(command),
            SecretSource::Literal(s) => Ok(s.clone()),
        }
    }
}

fn read_secret_file(path: &Path, credential: bool) -> Result<SecretString, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if credential {
            SecretError::Credential {
                path: path.to_path_buf(),
                source,
            }
        } else {
            SecretError::File {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SecretError::NotUtf8 {
        source_desc: path.display().to_string(),
    })?;
    // Only the first line counts: editors add a trailing newline, and some tools write a
    // comment after the secret.
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(SecretError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(SecretString::from(first.to_string()))
}

/// Runs a token or password command (`sh -c`). Blocking: callers on the async runtime use
/// `spawn_blocking`.
pub fn run_secret_command(command: &str) -> Result<SecretString, SecretError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| SecretError::CommandSpawn {
            command: command.to_string(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(SecretError::CommandFailed {
            command: command.to_string(),
            status: out.status,
            stderr: if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            },
        });
    }
    let text = String::from_utf8(out.stdout).map_err(|_| SecretError::NotUtf8 {
        source_desc: format!("`{command}`"),
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SecretError::CommandEmpty {
            command: command.to_string(),
        });
    }
    Ok(SecretString::from(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn file_takes_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\nignored\n").unwrap();
        let s = SecretSource::File(p).resolve().unwrap();
        assert_eq!(s.expose_secret(), "s3cret");
    }

    #[test]
    fn command_is_trimmed_and_errors_do_not_leak() {
        let s = SecretSource::Command("printf '  tok \\n'".into())
            .resolve()
            .unwrap();
        assert_eq!(s.expose_secret(), "tok");
        // The command prints the secret on stdout and then fails: the error names the
        // command and status but must not echo stdout.
        let e = SecretSource::Command("v=hunt; printf '%ser2' $v; exit 3".into())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("exited"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_never_prints_literal() {
        let s = SecretSource::Literal(SecretString::from("hunter2".to_string()));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
