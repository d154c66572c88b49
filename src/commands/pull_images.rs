//! `release-tool pull-images --affected-services "..." --units-dir DIR [--jobs N] [--retries N]
//! [--timeout SECS]`: pulls the `Image=` of those stacks' `.container` files in DIR (as
//! `generate-units` wrote them: `DIR/<stack>/…`, or flat `DIR/<stack>-….container`), in parallel,
//! with retries.

use std::path::{Path, PathBuf};

use crate::cli::command::PullImagesOpts;
use crate::commands::runtime::{deploy_options, RealEffects};
use crate::deploy::pulls::pull_all;

/// The `Image=` values of the `[Container]` sections of `files`.
pub fn images_of(files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut images = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut in_container = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_container = line == "[Container]";
            } else if let Some(v) = line.strip_prefix("Image=").filter(|_| in_container) {
                images.push(v.trim().trim_matches('"').to_string());
            }
        }
    }
    images.sort();
    images.dedup();
    Ok(images)
}

/// The targets a unit's `[Install]` section names in `WantedBy=`.
fn wanted_by(text: &str) -> Vec<String> {
    let mut in_install = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_install = line == "[Install]";
        } else if let Some(v) = line.strip_prefix("WantedBy=").filter(|_| in_install) {
            out.extend(v.split_whitespace().map(str::to_owned));
        }
    }
    out
}

/// Whether a flat `<stack>-….container` file belongs to `stack`. The prefix alone cannot tell stack
/// `web` from a stack `web-api`; the units `generate-units` writes say `WantedBy=<stack>.target`,
/// so that decides when present. A file without it (written by hand) goes by its prefix.
fn belongs_to(path: &Path, stack: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true; // unreadable: images_of reports it, naming the file
    };
    let targets = wanted_by(&text);
    targets.is_empty() || targets.iter().any(|t| *t == format!("{stack}.target"))
}

/// A stack's `.container` files in `dir`: its own subdirectory when there is one, else the flat
/// files named `<stack>-*.container` that belong to it (see `belongs_to`).
pub fn container_files(dir: &Path, stack: &str) -> Vec<PathBuf> {
    let sub = dir.join(stack);
    let (base, prefix) = if sub.is_dir() {
        (sub, String::new())
    } else {
        (dir.to_path_buf(), format!("{stack}-"))
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.ends_with(".container")
                        && n.starts_with(&prefix)
                        && (prefix.is_empty() || belongs_to(p, stack))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn run(args: &PullImagesOpts) -> u8 {
    let (Some(stacks), Some(dir)) = (&args.affected_services, &args.units_dir) else {
        eprintln!(
            "release-tool: pull-images needs --affected-services \"STACK ...\" and --units-dir DIR"
        );
        return super::exit::USAGE;
    };
    if !dir.is_dir() {
        eprintln!(
            "release-tool: pull-images: the units directory {} is not a directory",
            crate::diag::escaped(&dir.display().to_string())
        );
        return super::exit::FAILURE;
    }
    let files: Vec<PathBuf> = stacks
        .iter()
        .flat_map(|s| container_files(dir, s))
        .collect();
    let images = match images_of(&files) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("release-tool: pull-images: {e}");
            return super::exit::FAILURE;
        }
    };
    let real = match RealEffects::require(false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let fx = real.effects();
    let o = deploy_options(&args.limits).pull;
    fx.report
        .status(&format!("pulling {} images", images.len()));
    fx.report
        .extend_timeout(crate::deploy::pulls::bound(images.len(), &o));
    match pull_all(&fx, &images, &o) {
        Ok(digests) => {
            // The spinner line goes before the data, or clearing it would erase a line of it.
            crate::logging::finish();
            for (image, digest) in digests {
                println!("{image} {digest}");
            }
            super::exit::OK
        }
        Err(failed) => {
            for (image, e) in failed {
                fx.report.error(
                    &[("IMAGE", &image)],
                    &format!("pull of {image} failed: {e}"),
                );
            }
            super::exit::PULL_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_from_container_sections_of_a_stack() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("web-api.container"),
            "[Unit]\nImage=no\n[Container]\nImage=reg/a:1\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("web-x.container"),
            "[Container]\nImage=reg/a:1\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("webby-x.container"),
            "[Container]\nImage=reg/b:1\n",
        )
        .unwrap();
        let files = container_files(t.path(), "web");
        assert_eq!(files.len(), 2);
        assert_eq!(images_of(&files).unwrap(), vec!["reg/a:1"]);
        std::fs::create_dir(t.path().join("webby")).unwrap();
        std::fs::write(
            t.path().join("webby/webby-x.container"),
            "[Container]\nImage=reg/c:1\n",
        )
        .unwrap();
        assert_eq!(
            images_of(&container_files(t.path(), "webby")).unwrap(),
            vec!["reg/c:1"]
        );
    }

    #[test]
    fn a_stack_named_like_a_prefix_of_another_keeps_to_its_own_units() {
        let t = tempfile::tempdir().unwrap();
        let unit = |stack: &str, image: &str| {
            format!("[Container]\nImage={image}\n\n[Install]\nWantedBy={stack}.target\n")
        };
        // Stack `web` has service `api-db`; stack `web-api` has service `db`: one file name each,
        // both starting with `web-`.
        std::fs::write(
            t.path().join("web-api-db.container"),
            unit("web", "reg/w:1"),
        )
        .unwrap();
        std::fs::write(
            t.path().join("web-api-x.container"),
            unit("web-api", "reg/wa:1"),
        )
        .unwrap();
        std::fs::write(t.path().join("web-front.container"), unit("web", "reg/f:1")).unwrap();
        let web = images_of(&container_files(t.path(), "web")).unwrap();
        assert_eq!(web, vec!["reg/f:1", "reg/w:1"]);
        let web_api = images_of(&container_files(t.path(), "web-api")).unwrap();
        assert_eq!(web_api, vec!["reg/wa:1"]);
    }
}
