//! The one way the loader reads a file (compose files, `include`/`extends` targets, `.env`,
//! `env_file`s, the values file) and checks one it does not read (secret and config files).
//!
//! A stack's files must be what they claim: a regular file, or a symlink that resolves to one
//! inside the repository. A dangling link, a link loop, a directory, a FIFO, a device or a socket
//! is an error naming the path, never "no file". Opening never blocks (`O_NONBLOCK`, so a FIFO
//! cannot hang a deploy) and the type is checked again on the open descriptor (`fstat`), so a file
//! swapped between the check and the open is still refused. Every read has a size cap.

use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Span};

/// Compose files (and `include`/`extends` targets): 4 MiB; the largest real one we know of is
/// under 100 KiB.
pub const MAX_COMPOSE_BYTES: u64 = 4 * 1024 * 1024;
/// `.env`, `env_file`s and the values file: 4 MiB.
pub const MAX_DOTENV_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file is refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("not found")]
    NotFound,
    #[error("is a dangling symlink (to {})", .0.display())]
    Dangling(PathBuf),
    #[error("is a symlink loop")]
    Loop,
    #[error(
        "resolves through a symlink to {}, outside the repository {}",
        .target.display(),
        .root.display()
    )]
    OutsideRepo { target: PathBuf, root: PathBuf },
    #[error("is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("file is too large (the limit is {0} bytes)")]
    TooLarge(u64),
    /// `line` and `column` (1-based, the column counted in characters) of the first byte that is
    /// not UTF-8.
    #[error(
        "is not UTF-8 text: byte 0x{byte:02x} at line {line}, column {column} (save it as UTF-8)"
    )]
    NotUtf8 {
        line: usize,
        column: usize,
        byte: u8,
    },
    #[error("cannot read: {0}")]
    Io(std::io::Error),
}

impl FileError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::NotFound)
    }

    /// An error on the whole file `path`.
    pub fn at(&self, path: &Path, what: &str) -> Diagnostic {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("{what} ")
        };
        // The span says where; the message what.
        let (line, column, message) = match self {
            FileError::NotUtf8 { line, column, byte } => (
                *line,
                *column,
                format!("is not UTF-8 text: byte 0x{byte:02x} (save it as UTF-8)"),
            ),
            e => (0, 0, e.to_string()),
        };
        Diagnostic::error(
            Span {
                file: path.to_path_buf(),
                line,
                column,
            },
            "",
            format!("{what}{message}"),
        )
    }
}

fn kind_of(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

fn io_error(e: std::io::Error) -> FileError {
    match e.kind() {
        ErrorKind::NotFound => FileError::NotFound,
        _ if e.raw_os_error() == Some(libc::ELOOP) => FileError::Loop,
        _ => FileError::Io(e),
    }
}

/// Checks that `path` is a regular file or a symlink to one, and — when `root` is given and `path`
/// is written inside it — that no symlink on the way leads out of `root`. A path written outside
/// `root` (absolute, or `../..`) is the caller's policy, not this check's.
pub fn check_regular(path: &Path, root: Option<&Path>) -> Result<Metadata, FileError> {
    let link = std::fs::symlink_metadata(path).map_err(io_error)?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound && link.file_type().is_symlink() => {
            return Err(FileError::Dangling(
                std::fs::read_link(path).unwrap_or_default(),
            ))
        }
        Err(e) => return Err(io_error(e)),
    };
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(&meta)));
    }
    if let Some(root) = root.filter(|r| path.starts_with(r)) {
        let real = std::fs::canonicalize(path).map_err(io_error)?;
        let real_root = std::fs::canonicalize(root).map_err(io_error)?;
        if !real.starts_with(&real_root) {
            return Err(FileError::OutsideRepo {
                target: real,
                root: root.to_path_buf(),
            });
        }
    }
    Ok(meta)
}

/// Reads `path` as UTF-8 text after [`check_regular`], refusing more than `limit` bytes. A leading
/// UTF-8 byte-order mark is dropped (docker compose accepts it in every file it reads).
pub fn read_text(path: &Path, root: Option<&Path>, limit: u64) -> Result<String, FileError> {
    check_regular(path, root)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_error)?;
    read_open(file, limit)
}

fn read_open(file: File, limit: u64) -> Result<String, FileError> {
    // The type again, on what was opened: the path may have been replaced since the check.
    let meta = file.metadata().map_err(FileError::Io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(&meta)));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge(limit));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file growing while it is read still stops at the cap.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge(limit));
    }
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(e.as_bytes(), e.utf8_error()))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Where the first invalid byte is: its line, and its column in characters of the valid
/// text before it on that line.
fn not_utf8(bytes: &[u8], e: std::str::Utf8Error) -> FileError {
    let at = e.valid_up_to();
    // Valid up to `at`, so this prefix decodes.
    let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    FileError::NotUtf8 {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        byte: bytes[at],
    }
}

/// The repository a stack directory belongs to: the parent of its services directory
/// (`<repo>/services/<stack>`). Symlinks a stack's files go through must stay inside it.
pub fn repo_of(stack_dir: &Path) -> Option<PathBuf> {
    stack_dir
        .parent()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn every_kind_of_impostor_is_named() {
        let d = tempfile::tempdir().unwrap();
        let repo = d.path().join("repo");
        std::fs::create_dir_all(repo.join("dir")).unwrap();
        std::fs::write(repo.join("ok"), "\u{feff}a").unwrap();
        std::fs::write(d.path().join("outside"), "x").unwrap();
        symlink("ok", repo.join("good-link")).unwrap();
        symlink("nowhere", repo.join("dangling")).unwrap();
        symlink("loop", repo.join("loop")).unwrap();
        symlink("/dev/zero", repo.join("zero")).unwrap();
        symlink("../outside", repo.join("out")).unwrap();
        let fifo = repo.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let r = Some(repo.as_path());
        assert_eq!(read_text(&repo.join("ok"), r, 10).unwrap(), "a");
        assert_eq!(read_text(&repo.join("good-link"), r, 10).unwrap(), "a");
        let err = |name: &str| read_text(&repo.join(name), r, 10).unwrap_err().to_string();
        assert_eq!(err("dir"), "is a directory, not a regular file");
        assert_eq!(err("fifo"), "is a FIFO (named pipe), not a regular file");
        assert_eq!(err("zero"), "is a character device, not a regular file");
        assert_eq!(err("dangling"), "is a dangling symlink (to nowhere)");
        assert_eq!(err("loop"), "is a symlink loop");
        assert!(
            err("out").contains("outside the repository"),
            "{}",
            err("out")
        );
        assert_eq!(err("missing"), "not found");
        // Written outside the root: the caller's policy; links are only followed to regular files.
        assert_eq!(read_text(&d.path().join("outside"), r, 10).unwrap(), "x");
        std::fs::write(repo.join("big"), "0123456789a").unwrap();
        assert_eq!(err("big"), "file is too large (the limit is 10 bytes)");
    }
}
