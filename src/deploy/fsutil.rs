//! Crash-safe file operations: every write goes to a temporary name, is fsynced, then renamed over
//! the target, and the directory is fsynced, so a crash leaves either the old or the new content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// Fsyncs a directory so a rename or create inside it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn temp_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `contents` to `path` atomically (temp + fsync + rename + fsync of the directory).
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = temp_name(path);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Points the symlink `link` at `target` atomically: a symlink under a temporary name renamed over
/// `link`, so readers see the old or the new target, never a missing link.
pub fn switch_symlink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = temp_name(link);
    let _ = fs::remove_file(&tmp);
    symlink(target, &tmp)?;
    fs::rename(&tmp, link)?;
    if let Some(parent) = link.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Whether a copy must survive a crash. What a deploy keeps (a generation: its snapshot, units and
/// manifest; `current`; `intent.json`) is `Durable`. A `Throwaway` copy is removed by the process
/// that made it and never read after a crash (`plan`'s scratch snapshot): fsyncing it would only
/// wait for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

/// Copies one file (permissions are kept: a config file may be executable); a durable copy is
/// fsynced. A throwaway copy is a hard link where the file system allows one (same file system,
/// and `fs.protected_hardlinks` permits it): only read, and removed by the process that made it,
/// it needs no bytes of its own, and a link costs a fraction of a file on a disk; else a copy.
pub fn copy_file(src: &Path, dst: &Path, durability: Durability) -> io::Result<()> {
    match durability {
        Durability::Durable => {
            fs::copy(src, dst)?;
            File::open(dst)?.sync_all()
        }
        Durability::Throwaway => {
            // Never a link to a symlink (link(2) does not follow one): its target's bytes are
            // what a copy holds.
            let plain = fs::symlink_metadata(src).is_ok_and(|m| m.file_type().is_file());
            if plain && fs::hard_link(src, dst).is_ok() {
                return Ok(());
            }
            fs::copy(src, dst).map(drop)
        }
    }
}

/// `f` over `items`, on up to 4 threads (as many as the machine has cores) when there are enough
/// items to be worth it; the results in the order of `items`.
pub fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const MIN_PER_THREAD: usize = 32;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(items.len() / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Every regular file and symlink under `dir`, as paths relative to it, sorted (so hashes are
/// stable). Links are listed, never followed: a snapshot keeps links out of the repo as links.
pub fn list_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    fn walk(base: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        for entry in fs::read_dir(base.join(rel))? {
            let entry = entry?;
            let rel_child = rel.join(entry.file_name());
            let ft = fs::symlink_metadata(entry.path())?.file_type();
            if ft.is_dir() {
                walk(base, &rel_child, out)?;
            } else if ft.is_file() || ft.is_symlink() {
                out.push(rel_child);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(dir, Path::new(""), &mut out)?;
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_throwaway_copy_links_plain_files_and_copies_what_a_link_points_at() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.conf");
        fs::write(&src, "x=1\n").unwrap();
        std::os::unix::fs::symlink(&src, d.path().join("via")).unwrap();
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();
        copy_file(&src, &d.path().join("t"), Durability::Throwaway).unwrap();
        assert_eq!(
            ino(&d.path().join("t")),
            ino(&src),
            "same file system: a link"
        );
        copy_file(
            &d.path().join("via"),
            &d.path().join("t2"),
            Durability::Throwaway,
        )
        .unwrap();
        let t2 = d.path().join("t2");
        assert!(fs::symlink_metadata(&t2).unwrap().file_type().is_file());
        assert_ne!(
            ino(&t2),
            ino(&src),
            "a symlink's target is copied, never linked"
        );
        assert_eq!(fs::read(&t2).unwrap(), b"x=1\n");
        copy_file(&src, &d.path().join("d"), Durability::Durable).unwrap();
        assert_ne!(
            ino(&d.path().join("d")),
            ino(&src),
            "a generation owns its bytes"
        );
        // Removing the throwaway copies leaves the checkout's file as it was.
        fs::remove_file(d.path().join("t")).unwrap();
        assert_eq!(fs::read(&src).unwrap(), b"x=1\n");
        // Another file system (where /dev/shm is one): a copy.
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            let dst = shm.path().join("c");
            copy_file(&src, &dst, Durability::Throwaway).unwrap();
            assert_eq!(fs::read(&dst).unwrap(), b"x=1\n");
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn symlink_switch_is_a_rename() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("current");
        switch_symlink(&link, Path::new("generations/1")).unwrap();
        switch_symlink(&link, Path::new("generations/2")).unwrap();
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("generations/2")
        );
    }

    #[test]
    fn parallel_map_keeps_the_order() {
        for n in [0, 1, 31, 32, 64, 65, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_in_parallel(&items, |i| i * 2);
            assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn lists_files_and_links_sorted_without_following() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        fs::create_dir_all(src.join("b/c")).unwrap();
        fs::write(src.join("b/c/x"), "x").unwrap();
        fs::write(src.join("a"), "a").unwrap();
        symlink("/usr", src.join("l")).unwrap();
        assert_eq!(
            list_files(&src).unwrap(),
            vec![
                PathBuf::from("a"),
                PathBuf::from("b/c/x"),
                PathBuf::from("l")
            ]
        );
    }
}
