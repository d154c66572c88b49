//! Which generation the generator renders. `current` when it is intact; when it is broken (not a
//! link, a loop, dangling, a generation that is not intact) the newest intact generation, ranked
//! by outcome; when none is intact, nothing and an error. Rules and their reasons:
//! systemd/README.md, "What the generator renders".
//!
//! A generation is INTACT when its `manifest.json` parses and names its own number, its `units/`
//! is a directory, and every unit file the manifest lists is a regular file under
//! `units/<stack>/` whose sha256 is the one the manifest recorded. Files the manifest does not list
//! are never rendered.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::fsutil::map_in_parallel;
use super::manifest::{sha256_hex, Manifest, Outcome, StackManifest};
use super::store::{StateStore, StoreError};

/// A unit file larger than this is not ours (ours are a few KiB): refused before reading it.
pub const MAX_UNIT_BYTES: u64 = 1 << 20;

/// Why a unit (or drop-in) file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("{0}")]
    Io(io::Error),
    #[error("is a directory")]
    Directory,
    #[error("not a regular file")]
    NotRegular,
    #[error("larger than a unit file can be ({MAX_UNIT_BYTES} bytes)")]
    TooLarge,
}

/// Why a generation is not intact.
#[derive(Debug, thiserror::Error)]
pub enum NotIntact {
    #[error("{0}")]
    Manifest(StoreError),
    #[error("{path}: the manifest is of generation {found}")]
    WrongId { path: PathBuf, found: u64 },
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: FileProblem },
    #[error("{0}: its content does not match the sha256 in the manifest")]
    HashMismatch(PathBuf),
}

/// One unit file of a verified generation, with the bytes whose sha256 was checked: the generator
/// writes these bytes (not the file, which could change after the check) for quadlet to read.
#[derive(Debug)]
pub struct UnitFile {
    pub name: String,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// A generation that passed the check, its stacks in name order.
#[derive(Debug)]
pub struct Verified {
    pub id: u64,
    pub manifest: Manifest,
    pub stacks: Vec<(String, Vec<UnitFile>)>,
}

/// Reads a unit or drop-in file (through links) without blocking on a FIFO or reading a device:
/// open non-blocking, then check what the descriptor is before reading; bounded.
pub fn read_unit_file(path: &Path) -> Result<Vec<u8>, FileProblem> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(FileProblem::Io)?;
    let meta = f.metadata().map_err(FileProblem::Io)?;
    if meta.is_dir() {
        return Err(FileProblem::Directory);
    }
    if !meta.is_file() {
        return Err(FileProblem::NotRegular);
    }
    if meta.len() > MAX_UNIT_BYTES {
        return Err(FileProblem::TooLarge);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.by_ref()
        .take(MAX_UNIT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(FileProblem::Io)?;
    if bytes.len() as u64 > MAX_UNIT_BYTES {
        return Err(FileProblem::TooLarge);
    }
    Ok(bytes)
}

/// Checks generation `id` (see the module comment); the unit files are read once, here.
pub fn verify(store: &StateStore, id: u64) -> Result<Verified, NotIntact> {
    let manifest = store.read_manifest(id).map_err(NotIntact::Manifest)?;
    let dir = store.generation_dir(id);
    if manifest.id != id {
        return Err(NotIntact::WrongId {
            path: dir.join("manifest.json"),
            found: manifest.id,
        });
    }
    let units_dir = dir.join("units");
    if let Err(e) = fs::read_dir(&units_dir) {
        return Err(NotIntact::File {
            path: units_dir,
            problem: FileProblem::Io(e),
        });
    }
    // Stacks are read in parallel (a reload waits for the generator); the first problem in stack
    // order is reported, as a sequential check would.
    let listed: Vec<(&String, &StackManifest)> = manifest.stacks.iter().collect();
    let read = map_in_parallel(&listed, |(stack, sm)| -> Result<_, NotIntact> {
        let mut files = Vec::with_capacity(sm.units.len());
        for (name, sum) in &sm.units {
            let path = units_dir.join(stack).join(name);
            let bytes = match read_unit_file(&path) {
                Ok(b) => b,
                Err(problem) => return Err(NotIntact::File { path, problem }),
            };
            if sha256_hex(&bytes) != *sum {
                return Err(NotIntact::HashMismatch(path));
            }
            files.push(UnitFile {
                name: name.clone(),
                path,
                bytes,
            });
        }
        Ok(((*stack).clone(), files))
    });
    let stacks = read.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Verified {
        id,
        manifest,
        stacks,
    })
}

/// What the generator is to render.
#[derive(Debug)]
pub enum Choice {
    /// Nothing, rightly: no state at all, or generations of which none was ever deployed and no
    /// `current` (a first deploy not switched yet, or undone). The note says which, if any.
    Nothing(Option<String>),
    /// This generation; `fallback` says why it is not `current`'s (None: it is current).
    Serve {
        generation: Verified,
        fallback: Option<String>,
    },
}

/// Nothing can be rendered although generations exist.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("state store {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{why}; no intact generation to fall back to ({tried}); writing no units")]
    NoneIntact { why: String, tried: String },
}

/// Fallback preference: a generation known to have run healthy first, then one a deploy was
/// still working on, a rolled-back one last.
fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Deployed | Outcome::Restored => 0,
        Outcome::Pending => 1,
        Outcome::RolledBack => 2,
    }
}

/// The generation numbers under `<root>/generations`, newest first (none when it is absent).
fn generations_newest_first(root: &Path) -> Result<Vec<u64>, SelectError> {
    let dir = root.join("generations");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SelectError::Io { path: dir, source }),
    };
    let mut ids: Vec<u64> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    Ok(ids)
}

/// Chooses what to render from the state directory `state` (see the module comment).
pub fn choose(state: &Path) -> Result<Choice, SelectError> {
    let root = match fs::canonicalize(state) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Choice::Nothing(None)),
        Err(source) => {
            return Err(SelectError::Io {
                path: state.to_path_buf(),
                source,
            })
        }
    };
    let store = StateStore::at(&root);
    let ids = generations_newest_first(&root)?;
    let mut tried = Vec::new();
    let (why, skip) = match store.current_checked() {
        Ok(Some(id)) => match verify(&store, id) {
            Ok(generation) => {
                return Ok(Choice::Serve {
                    generation,
                    fallback: None,
                })
            }
            Err(e) => (
                format!("current generation {id} is not intact: {e}"),
                Some(id),
            ),
        },
        Ok(None) if ids.is_empty() => return Ok(Choice::Nothing(None)),
        Ok(None) => (
            format!("{} is missing", store.current_link().display()),
            None,
        ),
        Err(e) => (e.to_string(), None),
    };
    let no_current = store.current_link().symlink_metadata().is_err();
    let mut best: Option<Verified> = None;
    for id in ids.into_iter().filter(|id| Some(*id) != skip) {
        match verify(&store, id) {
            Ok(v) => {
                let r = rank(v.manifest.outcome);
                if best.as_ref().is_none_or(|b| r < rank(b.manifest.outcome)) {
                    best = Some(v);
                }
                if r == 0 {
                    break;
                }
            }
            Err(e) => tried.push(format!("generation {id}: {e}")),
        }
    }
    // No `current` and nothing ever deployed is a host before (or after an undone) first deploy.
    if no_current && tried.is_empty() && best.as_ref().is_none_or(|b| rank(b.manifest.outcome) > 0)
    {
        return Ok(Choice::Nothing(Some(
            "no current generation, and no generation was ever deployed: nothing to render".into(),
        )));
    }
    match best {
        Some(generation) if !no_current || rank(generation.manifest.outcome) == 0 => {
            let fallback = Some(format!(
                "{why}; rendering generation {} ({}), the newest intact one{}",
                generation.id,
                generation.manifest.outcome.as_str(),
                if rank(generation.manifest.outcome) > 0 {
                    ": no intact deployed generation exists"
                } else {
                    ""
                }
            ));
            Ok(Choice::Serve {
                generation,
                fallback,
            })
        }
        best => {
            if let Some(b) = best {
                tried.push(format!(
                    "generation {} is intact but was never deployed ({})",
                    b.id,
                    b.manifest.outcome.as_str()
                ));
            }
            if tried.is_empty() {
                tried.push("there is no other generation".into());
            }
            Err(SelectError::NoneIntact {
                why,
                tried: tried.join("; "),
            })
        }
    }
}
