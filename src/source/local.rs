//! Offline mail sources: a single `.eml`, a directory of `.eml` files, a Maildir
//! (`cur/` and `new/`), or an mbox file. Each message comes with a label saying where it
//! came from (`file.mbox#3`), so errors and `explain` output point at the right message.

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a mail file, directory of .eml files, Maildir or mbox")]
    Unrecognised { path: PathBuf },
}

/// One message read from disk.
#[derive(Debug, Clone)]
pub struct LocalMessage {
    pub label: String,
    pub raw: Vec<u8>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads every message under `path`, in a stable order (sorted by file name, mbox order).
pub fn read_path(path: &Path) -> Result<Vec<LocalMessage>, LocalError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    if meta.is_dir() {
        if path.join("cur").is_dir() || path.join("new").is_dir() {
            return read_maildir(path);
        }
        return read_dir_of_files(path);
    }
    let raw = fs::read(path).map_err(io(path))?;
    if is_mbox(&raw) {
        return Ok(split_mbox(&raw)
            .into_iter()
            .enumerate()
            .map(|(i, raw)| LocalMessage {
                label: format!("{}#{}", path.display(), i + 1),
                raw,
            })
            .collect());
    }
    Ok(vec![LocalMessage {
        label: path.display().to_string(),
        raw,
    }])
}

fn read_maildir(dir: &Path) -> Result<Vec<LocalMessage>, LocalError> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for e in fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let p = e.path();
            // Maildir files never start with a dot; dot files are editor or tool litter.
            if p.is_file() && !e.file_name().to_string_lossy().starts_with('.') {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            Ok(LocalMessage {
                raw: fs::read(&p).map_err(io(&p))?,
                label: p.display().to_string(),
            })
        })
        .collect()
}

/// A directory of `.eml`/`.mbox` files, read recursively (subdirectories that are
/// Maildirs are read as such). Other files are ignored.
fn read_dir_of_files(dir: &Path) -> Result<Vec<LocalMessage>, LocalError> {
    let mut out = Vec::new();
    collect_dir(dir, 0, &mut out)?;
    if out.is_empty() {
        return Err(LocalError::Unrecognised {
            path: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// Deep trees are not mail folders; the bound also stops symlink loops.
const MAX_DIR_DEPTH: usize = 8;

fn collect_dir(dir: &Path, depth: usize, out: &mut Vec<LocalMessage>) -> Result<(), LocalError> {
    let mut entries = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        entries.push(e.map_err(io(dir))?.path());
    }
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth >= MAX_DIR_DEPTH {
                continue;
            }
            if p.join("cur").is_dir() || p.join("new").is_dir() {
                out.extend(read_maildir(&p)?);
            } else {
                collect_dir(&p, depth + 1, out)?;
            }
            continue;
        }
        let ext = p
            .extension()
            .map(|x| x.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if p.is_file() && (ext == "eml" || ext == "mbox") {
            out.extend(read_path(&p)?);
        }
    }
    Ok(())
}

fn is_mbox(raw: &[u8]) -> bool {
    raw.starts_with(b"From ")
}

/// Splits an mbox (mboxo/mboxrd): a message starts at a line beginning with "From " at
/// the start of the file or after a blank line; ">From " quoting is undone.
pub fn split_mbox(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") && prev_blank {
            if let Some(m) = current.take() {
                messages.push(m);
            }
            current = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        let body_line = if line.starts_with(b">")
            && line
                .iter()
                .skip_while(|b| **b == b'>')
                .take(5)
                .eq(b"From ".iter())
        {
            &line[1..]
        } else {
            line
        };
        if let Some(m) = current.as_mut() {
            m.extend_from_slice(body_line);
        }
        prev_blank = line == b"\n" || line == b"\r\n";
    }
    if let Some(m) = current {
        messages.push(m);
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unquote() {
        let m = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: two\n\nx\n";
        let parts = split_mbox(m);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], b"Subject: one\n\nFrom here\n\n");
        assert!(parts[1].starts_with(b"Subject: two"));
    }
}
