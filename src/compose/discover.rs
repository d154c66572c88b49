//! Phase `discover`: the stacks under the services directory, the compose files of one stack
//! (what docker compose picks without `-f`), and stack-name validation.

use std::path::{Path, PathBuf};

use super::{LoadError, StackRef};
use crate::diag::{Diagnostic, Span};

/// The file names docker compose looks for, in its order of preference.
pub const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// A stack name must be a valid compose project name — lowercase letters, digits, `-` and `_`,
/// starting with a letter or digit — so it is also a safe unit-name part and file name (no `..`,
/// `/`, `@`, spaces or control characters can get through).
pub fn check_stack_name(name: &str) -> Result<(), String> {
    let ok = name
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid stack name {:?}: a stack directory name must be a compose project name \
             (lowercase letters, digits, '-' and '_', starting with a letter or digit)",
            name
        ))
    }
}

/// Whether a directory entry exists under that name, whatever it is (a dangling link or a FIFO
/// named `compose.yaml` is still the stack's compose file, and loading it is an error).
fn present(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// The main compose file and the automatic override of a stack directory (names relative to it).
pub fn default_files(dir: &Path) -> Option<Vec<PathBuf>> {
    let main = COMPOSE_FILES.iter().find(|f| present(&dir.join(f)))?;
    let mut files = vec![PathBuf::from(main)];
    if let Some(o) = OVERRIDE_FILES.iter().find(|f| present(&dir.join(f))) {
        files.push(PathBuf::from(o));
    }
    Some(files)
}

/// The files that make a directory a stack (its compose files, override files and `.env`),
/// checked to be what they claim: each error names the stack and the path. A deploy runs this on
/// the checkout before anything else, so a broken file is refused there instead of vanishing
/// from a snapshot and making its stack look removed.
///
/// `values_file` (the global variables file, when there is one) is checked too: it is snapshotted
/// with the stacks, and a FIFO there would block the copy.
pub fn check_stack_files(
    services_dir: &Path,
    values_file: Option<&Path>,
) -> Result<(), Vec<(String, Diagnostic)>> {
    let (stacks, errors) = scan(services_dir).map_err(|e| {
        e.diagnostics
            .into_iter()
            .map(|d| (String::new(), d))
            .collect::<Vec<_>>()
    })?;
    let mut out: Vec<(String, Diagnostic)> =
        errors.into_iter().map(|d| (String::new(), d)).collect();
    if let Some(v) = values_file {
        if let Err(e) = super::source::check_regular(v, None) {
            out.push((String::new(), e.at(v, "the values file")));
        }
    }
    for s in &stacks {
        let root = super::source::repo_of(&s.dir);
        for name in COMPOSE_FILES.iter().chain(OVERRIDE_FILES).chain(&[".env"]) {
            let p = s.dir.join(name);
            if !present(&p) {
                continue;
            }
            if let Err(e) = super::source::check_regular(&p, root.as_deref()) {
                out.push((s.name.clone(), e.at(&p, "")));
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

pub fn discover_stacks(services_dir: &Path) -> Result<Vec<StackRef>, LoadError> {
    let (stacks, errors) = scan(services_dir)?;
    if !errors.is_empty() {
        return Err(LoadError {
            diagnostics: errors,
        });
    }
    Ok(stacks)
}

/// The valid stacks, and an error for each directory whose name is refused.
pub fn scan(services_dir: &Path) -> Result<(Vec<StackRef>, Vec<Diagnostic>), LoadError> {
    let span = |p: &Path| Span {
        file: p.to_path_buf(),
        ..Default::default()
    };
    let entries = std::fs::read_dir(services_dir).map_err(|e| LoadError {
        diagnostics: vec![Diagnostic::error(
            span(services_dir),
            "",
            format!("cannot read the services directory: {e}"),
        )],
    })?;
    let mut stacks = Vec::new();
    let mut errors = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() || (default_files(&path).is_none() && !sets_compose_file(&path)) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match check_stack_name(&name) {
            Ok(()) => stacks.push(StackRef { name, dir: path }),
            Err(e) => errors.push(Diagnostic::error(span(&path), "", e)),
        }
    }
    errors.sort();
    stacks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((stacks, errors))
}

/// A stack may name its files only through `COMPOSE_FILE` in its `.env` (read without blocking
/// and within the size cap; a `.env` that cannot be read names no files here, and loading the
/// stack reports it).
fn sets_compose_file(dir: &Path) -> bool {
    let p = dir.join(".env");
    super::source::read_text(&p, None, super::source::MAX_DOTENV_BYTES).is_ok_and(|t| {
        t.lines()
            .map(|l| l.trim_start().trim_start_matches("export ").trim_start())
            .any(|l| l.starts_with("COMPOSE_FILE=") || l.starts_with("COMPOSE_FILE ="))
    })
}

/// compose-go's `NormalizeProjectName`: lowercase, keep `[a-z0-9_-]`, trim leading `_`/`-`.
pub fn normalize_project_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_stack_name("web-1_x").is_ok());
        for bad in ["..", "a/b", "a@b", "a b", "a\nb", "", "-a", "Web"] {
            assert!(check_stack_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_project_name("My.App_1"), "myapp_1");
        assert_eq!(normalize_project_name("_x"), "x");
    }

    #[test]
    fn stacks_are_found_by_default_files_or_compose_file() {
        let tmp = tempfile::tempdir().unwrap();
        for (d, f, text) in [
            ("b", "compose.yaml", "services: {}"),
            ("a", ".env", "COMPOSE_FILE=base.yml\n"),
            ("notastack", "README", "x"),
        ] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
            std::fs::write(tmp.path().join(d).join(f), text).unwrap();
        }
        let names: Vec<String> = discover_stacks(tmp.path())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
