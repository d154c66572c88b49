//! The snapshot: a deploy's copy of the checkout's stacks into the generation it stages.
//!
//! What is copied, and why (docs/deploy.md, "The snapshot"):
//! - regular files and directories, as they are;
//! - a symlink whose target lies inside the repo is copied as what it points to (the generation
//!   must not depend on the checkout), unless that would copy a directory into itself (a loop),
//!   which is an error naming the link;
//! - a symlink whose target lies outside the repo is host state, like a bind-mount source outside
//!   the repo: it is recreated as a link to the same absolute path and never copied (a
//!   `conf -> /usr/share` is one link, not 165 MB);
//! - a dangling link is recreated pointing at the absolute path it names, so the loader still sees
//!   (and refuses) a dangling link, and a relative target cannot land somewhere in the state dir;
//! - FIFOs, sockets and devices are refused naming the path: a deploy never reads from them;
//! - the whole copy has a budget (bytes and entries); exceeding it is an error naming the path;
//! - a deploy's copy (it becomes a generation) fsyncs every file and directory; `plan`'s
//!   throwaway copy does not (`Durability`).

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::{Path, PathBuf};

use super::fsutil::{copy_file, sync_dir, Durability};
use crate::compose::paths::clean;

/// Limits on one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBudget {
    /// Total bytes of the regular files copied.
    pub max_bytes: u64,
    /// Entries copied: files, directories and links.
    pub max_entries: u64,
}

impl Default for SnapshotBudget {
    fn default() -> Self {
        SnapshotBudget {
            max_bytes: 256 * 1024 * 1024,
            max_entries: 20_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{}: {source}", shown(path))]
    Io { path: PathBuf, source: io::Error },
    /// The checkout holds something a deploy does not copy; the message says what and why.
    #[error("{}: {reason}", shown(path))]
    Refused { path: PathBuf, reason: String },
}

impl SnapshotError {
    /// The path the error is about (in the checkout).
    pub fn path(&self) -> &Path {
        match self {
            SnapshotError::Io { path, .. } | SnapshotError::Refused { path, .. } => path,
        }
    }
}

/// A path as an error message shows it: control characters escaped, so a file name cannot forge
/// a line of the journal.
pub fn shown(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars().any(char::is_control) {
        s.escape_debug().to_string()
    } else {
        s
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refused(path: &Path, reason: impl Into<String>) -> SnapshotError {
    SnapshotError::Refused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn special_kind(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a regular file, directory or link"
    }
}

struct Walk<'a> {
    /// The repo, canonical: links resolving inside it are copied, outside it kept as links.
    boundary: PathBuf,
    skip: &'a [&'a str],
    budget: SnapshotBudget,
    durability: Durability,
    bytes: u64,
    entries: u64,
    /// The real (canonical) directories being copied, outermost first: a link to one of them, or
    /// to a directory containing one, would copy it into itself.
    copying: Vec<PathBuf>,
}

impl Walk<'_> {
    fn count(&mut self, path: &Path, bytes: u64) -> Result<(), SnapshotError> {
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.entries > self.budget.max_entries {
            return Err(refused(
                path,
                format!(
                    "the snapshot exceeds its budget of {} files and directories \
                     (a link to a large tree, or data that does not belong in the repo?)",
                    self.budget.max_entries
                ),
            ));
        }
        if self.bytes > self.budget.max_bytes {
            return Err(refused(
                path,
                format!(
                    "the snapshot exceeds its budget of {} bytes \
                     (a link to a large tree, or data that does not belong in the repo?)",
                    self.budget.max_bytes
                ),
            ));
        }
        Ok(())
    }

    fn file(&mut self, shown_as: &Path, real: &Path, dst: &Path) -> Result<(), SnapshotError> {
        let len = fs::metadata(real).map_err(io_at(shown_as))?.len();
        self.count(shown_as, len)?;
        copy_file(real, dst, self.durability).map_err(io_at(shown_as))
    }

    /// Copies the directory `src` (whose canonical path is `real`) to `dst`.
    fn dir(&mut self, src: &Path, real: &Path, dst: &Path) -> Result<(), SnapshotError> {
        self.count(src, 0)?;
        fs::create_dir_all(dst).map_err(io_at(dst))?;
        self.copying.push(real.to_path_buf());
        let mut entries: Vec<_> = fs::read_dir(src)
            .map_err(io_at(src))?
            .collect::<Result<_, _>>()
            .map_err(io_at(src))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if self.skip.iter().any(|s| name == *s) {
                continue;
            }
            let path = src.join(&name);
            let to = dst.join(&name);
            let ft = fs::symlink_metadata(&path)
                .map_err(io_at(&path))?
                .file_type();
            if ft.is_symlink() {
                self.link(&path, &to)?;
            } else if ft.is_dir() {
                self.dir(&path, &real.join(&name), &to)?;
            } else if ft.is_file() {
                self.file(&path, &path, &to)?;
            } else {
                return Err(refused(
                    &path,
                    format!(
                        "is {}: a deploy copies only regular files, directories and links",
                        special_kind(&ft)
                    ),
                ));
            }
        }
        self.copying.pop();
        match self.durability {
            Durability::Durable => sync_dir(dst).map_err(io_at(dst)),
            Durability::Throwaway => Ok(()),
        }
    }

    fn link(&mut self, path: &Path, to: &Path) -> Result<(), SnapshotError> {
        let text = fs::read_link(path).map_err(io_at(path))?;
        let parent = path.parent().unwrap_or(Path::new("/"));
        let named = clean(&parent.join(&text));
        let target = match fs::canonicalize(path) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(40) => {
                return Err(refused(path, format!("is a symlink loop ({e})")))
            }
            Err(_) => {
                // Dangling: kept dangling, at the absolute path it names.
                self.count(path, 0)?;
                return symlink(&named, to).map_err(io_at(path));
            }
        };
        if !target.starts_with(&self.boundary) {
            // Host state: referenced by absolute path, never copied.
            self.count(path, 0)?;
            return symlink(&target, to).map_err(io_at(path));
        }
        let meta = fs::metadata(&target).map_err(io_at(path))?;
        if meta.is_dir() {
            if let Some(inside) = self.copying.iter().find(|d| d.starts_with(&target)) {
                return Err(refused(
                    path,
                    format!(
                        "is a symlink loop: it points at {}, which contains {}",
                        shown(&target),
                        shown(inside)
                    ),
                ));
            }
            self.dir(path, &target, to)
        } else if meta.is_file() {
            self.file(path, &target, to)
        } else {
            Err(refused(
                path,
                format!(
                    "links to {}, which is {}: a deploy copies only regular files, \
                     directories and links",
                    shown(&target),
                    special_kind(&meta.file_type())
                ),
            ))
        }
    }
}

/// Copies the tree `from` into `to` (created) as described in the module comment. `repo` bounds
/// what links may pull in (`from` itself when it does not lie inside `repo`). Names in `skip`
/// (e.g. `.git`) are not descended into. A `Durable` copy fsyncs every file and directory.
pub fn snapshot_tree(
    from: &Path,
    to: &Path,
    repo: &Path,
    skip: &[&str],
    budget: SnapshotBudget,
    durability: Durability,
) -> Result<(), SnapshotError> {
    let real = fs::canonicalize(from).map_err(io_at(from))?;
    let boundary = fs::canonicalize(repo)
        .ok()
        .filter(|r| real.starts_with(r))
        .unwrap_or_else(|| real.clone());
    let mut w = Walk {
        boundary,
        skip,
        budget,
        durability,
        bytes: 0,
        entries: 0,
        copying: Vec::new(),
    };
    w.dir(from, &real, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn repo() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let svc = d.path().join("repo/services/web");
        fs::create_dir_all(&svc).unwrap();
        fs::write(svc.join("compose.yaml"), "services: {}\n").unwrap();
        (d, svc)
    }

    /// A file, or where a link points.
    fn content(p: &Path) -> Vec<u8> {
        match fs::read_link(p) {
            Ok(t) => t.into_os_string().into_encoded_bytes(),
            Err(_) => fs::read(p).unwrap(),
        }
    }

    /// The durable snapshot of `d/repo/services` in `d/out`; the throwaway one (`plan`'s) must be
    /// the same tree, or the same error.
    fn snap(d: &Path, budget: SnapshotBudget) -> Result<PathBuf, SnapshotError> {
        let run = |out: PathBuf, durability| {
            let _ = fs::remove_dir_all(&out);
            snapshot_tree(
                &d.join("repo/services"),
                &out,
                &d.join("repo"),
                &[".git"],
                budget,
                durability,
            )
            .map(|()| out)
        };
        let durable = run(d.join("out"), Durability::Durable);
        let throwaway = run(d.join("out-throwaway"), Durability::Throwaway);
        match (&durable, &throwaway) {
            (Ok(a), Ok(b)) => {
                let files = crate::deploy::fsutil::list_files(a).unwrap();
                assert_eq!(files, crate::deploy::fsutil::list_files(b).unwrap());
                for f in files {
                    assert_eq!(content(&a.join(&f)), content(&b.join(&f)), "{f:?}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("durable {durable:?}, throwaway {throwaway:?}"),
        }
        durable
    }

    #[test]
    fn links_out_of_the_repo_stay_links_and_are_not_copied() {
        let (d, svc) = repo();
        let outside = d.path().join("host");
        fs::create_dir_all(outside.join("big")).unwrap();
        fs::write(outside.join("big/file"), vec![0u8; 4096]).unwrap();
        symlink(&outside, svc.join("conf")).unwrap();
        symlink("../../../host/big/file", svc.join("rel")).unwrap();
        let budget = SnapshotBudget {
            max_bytes: 1024,
            max_entries: 100,
        };
        let out = snap(d.path(), budget).unwrap();
        let conf = out.join("web/conf");
        assert!(fs::symlink_metadata(&conf).unwrap().is_symlink());
        assert_eq!(
            fs::read_link(&conf).unwrap(),
            outside.canonicalize().unwrap()
        );
        assert_eq!(
            fs::read_link(out.join("web/rel")).unwrap(),
            outside.join("big/file").canonicalize().unwrap()
        );
    }

    #[test]
    fn links_inside_the_repo_are_copied_as_content() {
        let (d, svc) = repo();
        let shared = d.path().join("repo/shared");
        fs::create_dir_all(&shared).unwrap();
        fs::write(shared.join("nginx.conf"), "x").unwrap();
        symlink("../../shared", svc.join("conf")).unwrap();
        symlink("compose.yaml", svc.join("alias.yaml")).unwrap();
        let out = snap(d.path(), SnapshotBudget::default()).unwrap();
        let conf = out.join("web/conf");
        assert!(fs::symlink_metadata(&conf).unwrap().is_dir());
        assert_eq!(fs::read(conf.join("nginx.conf")).unwrap(), b"x");
        assert!(fs::symlink_metadata(out.join("web/alias.yaml"))
            .unwrap()
            .is_file());
    }

    #[test]
    fn loops_are_errors_naming_the_link() {
        let (d, svc) = repo();
        symlink(".", svc.join("self")).unwrap();
        let e = snap(d.path(), SnapshotBudget::default()).unwrap_err();
        assert_eq!(e.path(), svc.join("self"));
        assert!(e.to_string().contains("symlink loop"), "{e}");
        fs::remove_file(svc.join("self")).unwrap();
        // Two directories linking to each other.
        let other = d.path().join("repo/services/other");
        fs::create_dir_all(&other).unwrap();
        symlink("../other", svc.join("o")).unwrap();
        symlink("../web", other.join("w")).unwrap();
        let e = snap(d.path(), SnapshotBudget::default()).unwrap_err();
        assert!(e.to_string().contains("symlink loop"), "{e}");
        fs::remove_file(other.join("w")).unwrap();
        // A link to itself.
        symlink("me", svc.join("me")).unwrap();
        let e = snap(d.path(), SnapshotBudget::default()).unwrap_err();
        assert_eq!(e.path(), svc.join("me"));
    }

    #[test]
    fn special_files_are_refused_naming_the_path() {
        let (d, svc) = repo();
        let sock = svc.join("s.sock");
        let _l = UnixListener::bind(&sock).unwrap();
        let e = snap(d.path(), SnapshotBudget::default()).unwrap_err();
        assert_eq!(e.path(), sock);
        assert!(e.to_string().contains("is a socket"), "{e}");
        fs::remove_file(&sock).unwrap();
        symlink("/dev/zero", svc.join("compose.override.yaml")).unwrap();
        // Outside the repo: a link kept as a link (the loader refuses what it is, by name).
        let out = snap(d.path(), SnapshotBudget::default()).unwrap();
        assert_eq!(
            fs::read_link(out.join("web/compose.override.yaml")).unwrap(),
            Path::new("/dev/zero")
        );
    }

    #[test]
    fn budget_errors_name_the_path() {
        let (d, svc) = repo();
        fs::write(svc.join("big.bin"), vec![1u8; 2000]).unwrap();
        let small = SnapshotBudget {
            max_bytes: 1000,
            max_entries: 100,
        };
        let e = snap(d.path(), small).unwrap_err();
        assert_eq!(e.path(), svc.join("big.bin"));
        assert!(e.to_string().contains("budget of 1000 bytes"), "{e}");
        let few = SnapshotBudget {
            max_bytes: 1 << 20,
            max_entries: 2,
        };
        let e = snap(d.path(), few).unwrap_err();
        assert!(e.to_string().contains("budget of 2 files"), "{e}");
    }

    #[test]
    fn dangling_links_stay_dangling_at_an_absolute_path() {
        let (d, svc) = repo();
        symlink("../../../../manifest.json", svc.join("x")).unwrap();
        let out = snap(d.path(), SnapshotBudget::default()).unwrap();
        let t = fs::read_link(out.join("web/x")).unwrap();
        assert!(t.is_absolute(), "{t:?}");
        assert_eq!(t, clean(&svc.join("../../../../manifest.json")));
    }

    #[test]
    fn names_with_control_characters_are_escaped() {
        assert_eq!(shown(Path::new("/a\nb")), "/a\\nb");
    }
}
