//! The user's Quadlet drop-ins (`container.d/`, `NAME.container.d/`, … in Quadlet's user search
//! paths), copied into the generator's staging directory so they apply to our units as to
//! hand-written ones. One that cannot be read is reported and left out, as Quadlet does.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::generator::GeneratorError;
use super::intact::read_unit_file;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> GeneratorError + '_ {
    move |source| GeneratorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies the `*.d/*.conf` drop-ins of Quadlet's search paths into `staging`; an earlier
/// (higher-priority) directory's file wins over a later one of the same name, as in Quadlet,
/// even when it cannot be read. What cannot be read (permissions, a directory, a FIFO, a dangling
/// link) is returned, not copied, and stops nothing: Quadlet itself logs such a drop-in and renders
/// the unit without it. Err only when the staging directory cannot be written.
pub fn copy_dropins(search_dirs: &[PathBuf], staging: &Path) -> Result<Dropins, GeneratorError> {
    let mut out = Dropins::default();
    let problems = &mut out.skipped;
    let mut claimed = BTreeSet::new();
    for dir in search_dirs {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().ends_with(".d") || !e.path().is_dir() {
                continue;
            }
            let files = match fs::read_dir(e.path()) {
                Ok(f) => f,
                Err(err) => {
                    problems.push(format!("{}: {err}", e.path().display()));
                    continue;
                }
            };
            let dest = staging.join(&name);
            fs::create_dir_all(&dest).map_err(io_err(&dest))?;
            for f in files.flatten() {
                if !f.file_name().to_string_lossy().ends_with(".conf") {
                    continue;
                }
                let target = dest.join(f.file_name());
                if !claimed.insert(target.clone()) {
                    continue;
                }
                match read_unit_file(&f.path()) {
                    Ok(bytes) => {
                        fs::write(&target, bytes).map_err(io_err(&target))?;
                        out.origin.insert(target, f.path());
                    }
                    Err(why) => problems.push(format!("{}: {why}", f.path().display())),
                }
            }
        }
    }
    Ok(out)
}

/// The drop-ins `copy_dropins` staged.
#[derive(Debug, Default)]
pub struct Dropins {
    /// Drop-ins not copied, each with why.
    pub skipped: Vec<String>,
    /// Staged copy → the user's file, so quadlet's complaints name the user's file.
    pub origin: BTreeMap<PathBuf, PathBuf>,
}

/// Drop-ins quadlet could not load (it goes on without them): the user's file and quadlet's why.
pub fn load_failures(stderr: &str, dropins: &Dropins) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("error loading \"")?;
            let (path, why) = rest.split_once('"')?;
            let user_file = dropins.origin.get(Path::new(path))?;
            Some(format!(
                "{}: {}",
                user_file.display(),
                why.trim_start_matches([',', ' '])
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dropins_are_copied_with_priority() {
        let t = tempfile::tempdir().unwrap();
        let hi = t.path().join("hi");
        let lo = t.path().join("lo");
        fs::create_dir_all(hi.join("container.d")).unwrap();
        fs::create_dir_all(lo.join("container.d")).unwrap();
        fs::create_dir_all(lo.join("web-api.container.d")).unwrap();
        fs::write(hi.join("container.d/10.conf"), "hi").unwrap();
        fs::write(lo.join("container.d/10.conf"), "lo").unwrap();
        fs::write(lo.join("container.d/20.conf"), "lo20").unwrap();
        fs::write(lo.join("web-api.container.d/x.conf"), "x").unwrap();
        fs::write(lo.join("mine.container"), "user unit: not ours to copy").unwrap();
        let st = t.path().join("st");
        copy_dropins(&[hi, lo, t.path().join("missing")], &st).unwrap();
        assert_eq!(
            fs::read_to_string(st.join("container.d/10.conf")).unwrap(),
            "hi"
        );
        assert_eq!(
            fs::read_to_string(st.join("container.d/20.conf")).unwrap(),
            "lo20"
        );
        assert!(st.join("web-api.container.d/x.conf").is_file());
        assert!(!st.join("mine.container").exists());
    }

    #[test]
    fn unreadable_dropins_are_reported_and_skipped() {
        let t = tempfile::tempdir().unwrap();
        let hi = t.path().join("hi");
        let lo = t.path().join("lo");
        let d = hi.join("container.d");
        fs::create_dir_all(&d).unwrap();
        fs::create_dir_all(lo.join("container.d")).unwrap();
        fs::write(d.join("10-ok.conf"), "ok").unwrap();
        fs::create_dir(d.join("20-dir.conf")).unwrap();
        symlink("/nonexistent", d.join("30-dangling.conf")).unwrap();
        let fifo =
            std::ffi::CString::new(d.join("40-fifo.conf").into_os_string().into_encoded_bytes())
                .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        // The unreadable higher-priority file still hides the lower one, as in Quadlet.
        fs::write(lo.join("container.d/20-dir.conf"), "lo").unwrap();
        let st = t.path().join("st");
        let problems = copy_dropins(&[hi, lo], &st).unwrap().skipped;
        assert_eq!(problems.len(), 3, "{problems:?}");
        for (name, why) in [
            ("20-dir.conf", "is a directory"),
            ("30-dangling.conf", "No such file"),
            ("40-fifo.conf", "not a regular file"),
        ] {
            assert!(
                problems.iter().any(|p| p.contains(name) && p.contains(why)),
                "{name}: {problems:?}"
            );
            assert!(!st.join("container.d").join(name).exists());
        }
        assert!(st.join("container.d/10-ok.conf").is_file());
    }
}
