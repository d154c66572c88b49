//! The state store: numbered generations under `<state>/generations/<N>/`, a `current` symlink
//! switched atomically, and an intent file while a deploy is between "switched" and "done".
//!
//! Layout (see docs/deploy.md):
//! ```text
//! <state>/lock                      flock(2) of the one deploy at a time
//! <state>/current -> generations/N  relative symlink, replaced by rename
//! <state>/intent.json               a deploy in progress (absent when idle)
//! <state>/generations/N/{inputs/,units/<stack>/,manifest.json}
//! <state>/generations/.tmp-N/       a generation being written (removed by the next run)
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{switch_symlink, sync_dir, write_atomic};
use super::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("state store {path}: unreadable manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("generation {0} does not exist")]
    NoSuchGeneration(u64),
    /// `current` exists but names no generation: never read as "no generation yet".
    #[error(
        "{path}: {reason}; it should be a link to generations/N: point it at an intact \
         generation (`ln -sfn generations/N {path}`, see `release-tool history`) or remove it"
    )]
    BrokenCurrent { path: PathBuf, reason: String },
    /// The intent file of an interrupted switch cannot be parsed (`recover` rebuilds it).
    #[error("state store {path}: unreadable intent file of an interrupted deploy: {source}")]
    Intent {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a deploy (or rollback) in progress is doing, so a run killed midway can be finished or undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The generation current before the switch (None: there was none).
    pub from: Option<u64>,
    /// The generation being switched to (0: none, when a first deploy is being undone).
    pub to: u64,
    /// Whether `current` may already point at `to`.
    pub switched: bool,
    /// Whether this is the way back from a failed switch (`from` is then the failed generation).
    #[serde(default)]
    pub rolling_back: bool,
    /// The units to restart, level by level, once switched.
    pub restart_levels: Vec<Vec<String>>,
    /// Units of removed stacks to stop once switched.
    pub stop: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StateStore {
    root: PathBuf,
}

impl StateStore {
    /// Opens (creating) the store for a deploy, rollback or restart. The root is made absolute:
    /// units name paths inside it. A broken `current` is an error naming it: what runs is then
    /// unknown, so nothing may be switched until someone looks.
    pub fn open(root: &Path) -> Result<StateStore, StoreError> {
        fs::create_dir_all(root.join("generations")).map_err(io_err(root))?;
        let root = fs::canonicalize(root).map_err(io_err(root))?;
        let store = StateStore { root };
        store.current_checked()?;
        Ok(store)
    }

    /// Opens an existing store without creating anything (the generator, `status`).
    pub fn open_existing(root: &Path) -> Option<StateStore> {
        let root = fs::canonicalize(root).ok()?;
        root.join("generations")
            .is_dir()
            .then_some(StateStore { root })
    }

    /// The store at `root` as `open` would name it, creating nothing (`plan` touches nothing).
    pub fn at(root: &Path) -> StateStore {
        let root = fs::canonicalize(root)
            .or_else(|_| std::path::absolute(root))
            .unwrap_or_else(|_| root.to_path_buf());
        StateStore { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("lock")
    }

    pub fn current_link(&self) -> PathBuf {
        self.root.join("current")
    }

    /// The stable directory a stack's files are named by in units: through `current`, so the path
    /// stays the same across generations and a switch (or rollback) switches config files too.
    pub fn display_dir(&self, stack: &str) -> PathBuf {
        self.current_link().join("inputs/services").join(stack)
    }

    pub fn generation_dir(&self, id: u64) -> PathBuf {
        self.root.join("generations").join(id.to_string())
    }

    pub fn staging_dir(&self, id: u64) -> PathBuf {
        self.root.join("generations").join(format!(".tmp-{id}"))
    }

    /// The current generation, None when `current` is absent or broken. `open` has refused a
    /// broken one; elsewhere use `current_checked` where the difference matters.
    pub fn current(&self) -> Option<u64> {
        self.current_checked().ok().flatten()
    }

    /// The current generation: Ok(None) when there is no `current` link, an error naming it when
    /// it is something else than a link to an existing `generations/N` (a file, a loop, a link
    /// to nothing or elsewhere).
    pub fn current_checked(&self) -> Result<Option<u64>, StoreError> {
        let link = self.current_link();
        let broken = |reason: String| StoreError::BrokenCurrent {
            path: link.clone(),
            reason,
        };
        let meta = match fs::symlink_metadata(&link) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&link)(e)),
        };
        if !meta.file_type().is_symlink() {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "a file"
            };
            return Err(broken(format!("is {what}, not a symbolic link")));
        }
        let target = fs::read_link(&link).map_err(io_err(&link))?;
        let absolute = self.root.join(&target);
        let id = (absolute.parent() == Some(&self.root.join("generations")))
            .then(|| absolute.file_name()?.to_str()?.parse::<u64>().ok())
            .flatten();
        let Some(id) = id else {
            let looped = fs::metadata(&link)
                .err()
                .and_then(|e| e.raw_os_error())
                .is_some_and(|e| e == libc::ELOOP);
            return Err(broken(if looped {
                format!("is a symbolic link loop (-> {})", target.display())
            } else {
                format!("points at {}, not at a generation", target.display())
            }));
        };
        if !self.generation_dir(id).is_dir() {
            return Err(broken(format!(
                "points at generation {id}, which does not exist"
            )));
        }
        Ok(Some(id))
    }

    /// All complete generations, oldest first.
    pub fn list(&self) -> Result<Vec<u64>, StoreError> {
        let dir = self.root.join("generations");
        let mut ids: Vec<u64> = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The next generation number: one past every number in use, staged ones included.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        let dir = self.root.join("generations");
        let max = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_str()?.to_string();
                name.trim_start_matches(".tmp-").parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0);
        Ok(max + 1)
    }

    pub fn read_manifest(&self, id: u64) -> Result<Manifest, StoreError> {
        let path = self.generation_dir(id).join("manifest.json");
        if !path.exists() {
            return Err(StoreError::NoSuchGeneration(id));
        }
        let text = fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&text).map_err(|source| StoreError::Manifest { path, source })
    }

    /// Rewrites a complete generation's manifest (to record its outcome).
    pub fn write_manifest(&self, dir: &Path, m: &Manifest) -> Result<(), StoreError> {
        let path = dir.join("manifest.json");
        let text = serde_json::to_vec_pretty(m).map_err(|source| StoreError::Manifest {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &text).map_err(io_err(&path))
    }

    /// Makes a staged generation complete: one rename of its directory.
    pub fn commit_staged(&self, id: u64) -> Result<PathBuf, StoreError> {
        let from = self.staging_dir(id);
        let to = self.generation_dir(id);
        fs::rename(&from, &to).map_err(io_err(&to))?;
        let parent = self.root.join("generations");
        sync_dir(&parent).map_err(io_err(&parent))?;
        Ok(to)
    }

    /// Points `current` at generation `id` (or removes it for `None`) atomically.
    pub fn switch(&self, id: Option<u64>) -> Result<(), StoreError> {
        let link = self.current_link();
        match id {
            Some(id) => {
                if !self.generation_dir(id).is_dir() {
                    return Err(StoreError::NoSuchGeneration(id));
                }
                let target = PathBuf::from("generations").join(id.to_string());
                switch_symlink(&link, &target).map_err(io_err(&link))
            }
            None => match fs::remove_file(&link) {
                Ok(()) => sync_dir(&self.root).map_err(io_err(&self.root)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err(&link)(e)),
            },
        }
    }

    pub fn intent_path(&self) -> PathBuf {
        self.root.join("intent.json")
    }

    /// The intent of an interrupted switch; `StoreError::Intent` when the file is not one.
    pub fn read_intent(&self) -> Result<Option<Intent>, StoreError> {
        let path = self.intent_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Intent { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// The intent an unreadable intent file must have held, rebuilt from what the generations
    /// record: a `pending` current generation was being switched to (finish it, from its parent);
    /// a `rolled-back` current one was being left (go back to its parent); otherwise, with a newer
    /// generation than `current`, the switch to or from it is undone by switching to `current`
    /// again. None: nothing was switched (no current generation, or nothing newer).
    pub fn rebuild_intent(&self) -> Option<Intent> {
        use super::manifest::Outcome;
        let cur = self.current()?;
        let m = self.read_manifest(cur).ok()?;
        let parent = m.parent.filter(|p| self.read_manifest(*p).is_ok());
        let (from, to, rolling_back) = match m.outcome {
            Outcome::Pending => (parent, cur, false),
            Outcome::RolledBack => (Some(cur), parent.unwrap_or(0), true),
            Outcome::Deployed | Outcome::Restored => {
                let newer = self.list().ok()?.into_iter().filter(|g| *g > cur).max()?;
                (Some(newer), cur, true)
            }
        };
        Some(Intent {
            from,
            to,
            switched: true,
            rolling_back,
            restart_levels: Vec::new(),
            stop: Vec::new(),
        })
    }

    pub fn write_intent(&self, intent: &Intent) -> Result<(), StoreError> {
        let path = self.intent_path();
        let bytes = serde_json::to_vec_pretty(intent).map_err(|source| StoreError::Manifest {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(io_err(&path))
    }

    pub fn clear_intent(&self) -> Result<(), StoreError> {
        let path = self.intent_path();
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.root).map_err(io_err(&self.root)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Removes half-written generations left by a crash (they were never switched to).
    pub fn remove_staged_leftovers(&self) -> Result<Vec<PathBuf>, StoreError> {
        let dir = self.root.join("generations");
        let mut removed = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                fs::remove_dir_all(e.path()).map_err(io_err(&e.path()))?;
                removed.push(e.path());
            }
        }
        Ok(removed)
    }

    /// Keeps the newest `keep` generations plus the ones in `protect` (current, a rollback
    /// target); removes the rest, oldest first.
    pub fn prune(&self, keep: usize, protect: &[u64]) -> Result<Vec<u64>, StoreError> {
        let ids = self.list()?;
        let cut = ids.len().saturating_sub(keep);
        let mut removed = Vec::new();
        for id in &ids[..cut] {
            if protect.contains(id) {
                continue;
            }
            let dir = self.generation_dir(*id);
            // Rename first so a crash mid-delete never leaves a half generation under a number.
            let doomed = self.root.join("generations").join(format!(".tmp-del-{id}"));
            fs::rename(&dir, &doomed).map_err(io_err(&dir))?;
            fs::remove_dir_all(&doomed).map_err(io_err(&doomed))?;
            removed.push(*id);
        }
        Ok(removed)
    }
}

/// The commit checked out in `repo`, read from `.git` directly (HEAD, loose refs, packed-refs);
/// `None` when it is not a git checkout.
pub fn git_revision(repo: &Path) -> Option<String> {
    let dot_git = repo.join(".git");
    let git_dir = if dot_git.is_file() {
        // A worktree or submodule: `gitdir: PATH`.
        let text = fs::read_to_string(&dot_git).ok()?;
        let p = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
        if p.is_absolute() {
            p
        } else {
            repo.join(p)
        }
    } else {
        dot_git
    };
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(refname) = head.strip_prefix("ref:").map(str::trim) else {
        return Some(head.to_string());
    };
    // Loose refs of a worktree live in the common dir.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for dir in [&git_dir, &common] {
        if let Ok(v) = fs::read_to_string(dir.join(refname)) {
            return Some(v.trim().to_string());
        }
    }
    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (sha, name) = l.split_once(' ')?;
        (name == refname).then(|| sha.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::manifest::Outcome;

    fn manifest(id: u64) -> Manifest {
        Manifest {
            id,
            git_rev: None,
            created: 0,
            outcome: Outcome::Pending,
            parent: None,
            message: None,
            stacks: Default::default(),
        }
    }

    fn make_gen(s: &StateStore, id: u64) {
        let d = s.staging_dir(id);
        fs::create_dir_all(&d).unwrap();
        s.write_manifest(&d, &manifest(id)).unwrap();
        s.commit_staged(id).unwrap();
    }

    #[test]
    fn generations_switch_and_prune() {
        let t = tempfile::tempdir().unwrap();
        let s = StateStore::open(t.path()).unwrap();
        assert_eq!(s.current(), None);
        assert_eq!(s.next_id().unwrap(), 1);
        for id in 1..=7 {
            make_gen(&s, id);
        }
        s.switch(Some(2)).unwrap();
        assert_eq!(s.current(), Some(2));
        assert_eq!(s.read_manifest(2).unwrap().id, 2);
        assert!(s.switch(Some(99)).is_err());
        assert_eq!(s.current(), Some(2), "a failed switch keeps current");
        let removed = s.prune(3, &[2]).unwrap();
        assert_eq!(removed, vec![1, 3, 4]);
        assert_eq!(s.list().unwrap(), vec![2, 5, 6, 7]);
        s.switch(None).unwrap();
        assert_eq!(s.current(), None);
        // The display dir goes through `current`, whatever generation it is.
        assert!(s
            .display_dir("web")
            .ends_with("current/inputs/services/web"));
    }

    #[test]
    fn crash_leftovers_are_removed_and_numbers_not_reused() {
        let t = tempfile::tempdir().unwrap();
        let s = StateStore::open(t.path()).unwrap();
        make_gen(&s, 1);
        s.switch(Some(1)).unwrap();
        fs::create_dir_all(s.staging_dir(2).join("inputs")).unwrap();
        assert_eq!(s.next_id().unwrap(), 3, "a staged number is not reused");
        assert_eq!(s.list().unwrap(), vec![1]);
        assert_eq!(s.remove_staged_leftovers().unwrap().len(), 1);
        assert_eq!(s.current(), Some(1));
        // A stray temp symlink from a crash in switch_symlink does not disturb `current`.
        std::os::unix::fs::symlink("generations/9", t.path().join(".current.tmp-1")).unwrap();
        assert_eq!(s.current(), Some(1));
    }

    #[test]
    fn a_broken_current_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let s = StateStore::open(t.path()).unwrap();
        make_gen(&s, 1);
        let link = s.current_link();
        type Make = fn(&Path);
        let cases: [(&str, Make); 5] = [
            ("is a file", |l| fs::write(l, "generations/1").unwrap()),
            ("is a directory", |l| fs::create_dir(l).unwrap()),
            ("symbolic link loop", |l| {
                std::os::unix::fs::symlink("current", l).unwrap()
            }),
            ("generation 7, which does not exist", |l| {
                std::os::unix::fs::symlink("generations/7", l).unwrap()
            }),
            ("points at /etc, not at a generation", |l| {
                std::os::unix::fs::symlink("/etc", l).unwrap()
            }),
        ];
        for (want, make) in cases {
            let _ = fs::remove_file(&link);
            let _ = fs::remove_dir(&link);
            make(&link);
            let e = s.current_checked().unwrap_err().to_string();
            assert!(
                e.contains(want) && e.contains(&*link.to_string_lossy()),
                "{e}"
            );
            assert_eq!(s.current(), None);
            let e = StateStore::open(t.path()).unwrap_err().to_string();
            assert!(e.contains(want), "deploy and rollback refuse it: {e}");
        }
        fs::remove_file(&link).unwrap();
        assert_eq!(s.current_checked().unwrap(), None, "no link: no generation");
        s.switch(Some(1)).unwrap();
        assert_eq!(s.current_checked().unwrap(), Some(1));
    }

    #[test]
    fn intent_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let s = StateStore::open(t.path()).unwrap();
        assert_eq!(s.read_intent().unwrap(), None);
        let i = Intent {
            from: Some(1),
            to: 2,
            switched: true,
            rolling_back: false,
            restart_levels: vec![vec!["a.service".into()]],
            stop: vec![],
        };
        s.write_intent(&i).unwrap();
        assert_eq!(s.read_intent().unwrap(), Some(i));
        s.clear_intent().unwrap();
        assert_eq!(s.read_intent().unwrap(), None);
    }

    #[test]
    fn an_unreadable_intent_is_named_and_rebuilt_from_the_generations() {
        let t = tempfile::tempdir().unwrap();
        let s = StateStore::open(t.path()).unwrap();
        let outcome = |id: u64, o: Outcome| {
            let mut m = s.read_manifest(id).unwrap();
            m.outcome = o;
            m.parent = id.checked_sub(1).filter(|p| *p > 0);
            s.write_manifest(&s.generation_dir(id), &m).unwrap();
        };
        fs::write(s.intent_path(), b"{\"from\": 1, \"to\"").unwrap();
        let e = s.read_intent().unwrap_err();
        assert!(matches!(e, StoreError::Intent { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("intent.json") && msg.contains("intent file"),
            "{msg}"
        );
        assert!(!msg.contains("manifest"), "{msg}");
        // Nothing current: nothing was switched.
        assert_eq!(s.rebuild_intent(), None);
        make_gen(&s, 1);
        make_gen(&s, 2);
        outcome(1, Outcome::Deployed);
        outcome(2, Outcome::Pending);
        s.switch(Some(1)).unwrap();
        // Killed before the switch to 2: undone by going to 1 again.
        let i = s.rebuild_intent().unwrap();
        assert_eq!((i.from, i.to, i.rolling_back), (Some(2), 1, true));
        // Killed after the switch: finished, from 2's parent.
        s.switch(Some(2)).unwrap();
        let i = s.rebuild_intent().unwrap();
        assert_eq!(
            (i.from, i.to, i.rolling_back, i.switched),
            (Some(1), 2, false, true)
        );
        // Killed while leaving a failed 2: the rollback to 1 is finished.
        outcome(2, Outcome::RolledBack);
        let i = s.rebuild_intent().unwrap();
        assert_eq!((i.from, i.to, i.rolling_back), (Some(2), 1, true));
        // Current is the newest deployed generation: nothing in flight.
        outcome(2, Outcome::Deployed);
        assert_eq!(s.rebuild_intent(), None);
    }

    #[test]
    fn git_revision_reads_refs() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(git_revision(t.path()), None);
        let g = t.path().join(".git");
        fs::create_dir_all(g.join("refs/heads")).unwrap();
        fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(g.join("packed-refs"), "# pack\nabc123 refs/heads/main\n").unwrap();
        assert_eq!(git_revision(t.path()).as_deref(), Some("abc123"));
        fs::write(g.join("refs/heads/main"), "def456\n").unwrap();
        assert_eq!(git_revision(t.path()).as_deref(), Some("def456"));
        fs::write(g.join("HEAD"), "0123abcd\n").unwrap();
        assert_eq!(git_revision(t.path()).as_deref(), Some("0123abcd"));
    }
}
