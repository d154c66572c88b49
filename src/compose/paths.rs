//! Path helpers: lexical cleaning (Go's `filepath.Clean`), `~` expansion with the home directory
//! given in `LoadOptions`, and the mapping of the directory read from to the directory shown.

use std::path::{Component, Path, PathBuf};

/// Joins `rel` to `base` and cleans the result lexically (`./a/../b` → `b`).
pub fn join_clean(base: &Path, rel: &str) -> PathBuf {
    clean(&base.join(rel))
}

pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Where the files are read from, and the directory output paths name instead.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub real: PathBuf,
    pub display: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// The repository: symlinks the stack's files go through must stay inside it.
    pub root: Option<PathBuf>,
}

impl Dirs {
    /// An absolute real path for a path written in a file whose base directory is `base`.
    pub fn resolve_in(&self, base: &Path, p: &str) -> PathBuf {
        if let Some(rest) = p.strip_prefix("~") {
            if rest.is_empty() || rest.starts_with('/') {
                if let Some(h) = &self.home {
                    return join_clean(h, rest.trim_start_matches('/'));
                }
            }
        }
        join_clean(base, p)
    }
    pub fn resolve(&self, p: &str) -> PathBuf {
        self.resolve_in(&self.real, p)
    }
    /// How output names a path written in a file (relative to the project directory): docker
    /// compose keeps an absolute path as written (`/srv/data/` keeps its slash), and joins and
    /// cleans a relative one (`~` expanded).
    pub fn shown(&self, p: &str) -> String {
        if p.starts_with('/') {
            return self.show(Path::new(p));
        }
        self.show(&self.resolve(p))
    }
    /// The path as output shows it: under `display` in place of `real`.
    pub fn show(&self, p: &Path) -> String {
        if let Some(d) = &self.display {
            if let Ok(rest) = p.strip_prefix(&self.real) {
                return if rest.as_os_str().is_empty() {
                    d.display().to_string()
                } else {
                    d.join(rest).display().to_string()
                };
            }
        }
        p.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_and_show() {
        assert_eq!(
            join_clean(Path::new("/s/web"), "./a/../b"),
            PathBuf::from("/s/web/b")
        );
        assert_eq!(
            join_clean(Path::new("/s/web"), "."),
            PathBuf::from("/s/web")
        );
        let d = Dirs {
            real: "/tmp/snap/web".into(),
            display: Some("/srv/current/web".into()),
            home: Some("/home/u".into()),
            root: None,
        };
        assert_eq!(d.show(&d.resolve("./conf")), "/srv/current/web/conf");
        assert_eq!(d.show(&d.resolve("~/x")), "/home/u/x");
        assert_eq!(d.show(&d.resolve("/abs")), "/abs");
    }
}
