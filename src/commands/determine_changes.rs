//! `release-tool determine-changes --changed-files "..." [--assume-values-changed]
//! [--services-dir DIR] [--format lines|json]`: the seed tool's path-based change detection.
//!
//! Rules (docs/deploy.md): a changed file under `<services-dir>/<stack>/` affects `<stack>` (also
//! when that stack no longer exists: it was removed); the values file (`values.env`, or the
//! `--vars-file` name), or `--assume-values-changed`, affects every stack that exists; anything
//! else affects nothing. Paths are taken relative to the repo (as `git diff --name-only` prints
//! them) or absolute; with `--services-dir` and no `--repo`, also relative to the services dir's
//! parent (the repo root the seed tool assumed). The output is sorted and deduplicated. `deploy` does not use this: it compares
//! rendered content, and agrees with it whenever the rendered units change.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::cli::command::{Checkout, DetermineChangesOpts, Format};
use crate::commands::context::{Context, VALUES_FILE};

/// Normalizes `a/./b/../c` lexically (the files may no longer exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The stacks the changed files affect. `services_rel` is the services dir relative to the repo
/// (`services`), `services_abs` the same as an absolute path, `values_names` the values file paths
/// relative to the repo, `all_stacks` the stacks that exist.
pub fn affected_stacks(
    changed: &[String],
    services_rel: &[PathBuf],
    services_abs: Option<&Path>,
    values_names: &[PathBuf],
    all_stacks: &[String],
    assume_values_changed: bool,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut values_changed = assume_values_changed;
    for f in changed {
        let p = normalize(Path::new(f));
        if values_names.contains(&p) {
            values_changed = true;
            continue;
        }
        let rest = match services_abs {
            Some(abs) if p.is_absolute() => p.strip_prefix(abs).ok(),
            _ => services_rel.iter().find_map(|r| p.strip_prefix(r).ok()),
        };
        // A file directly in the services dir belongs to no stack.
        if let Some(rest) = rest {
            let mut comps = rest.components();
            if let (Some(Component::Normal(stack)), Some(_)) = (comps.next(), comps.next()) {
                out.insert(stack.to_string_lossy().into_owned());
            }
        }
    }
    if values_changed {
        out.extend(all_stacks.iter().cloned());
    }
    out.into_iter().collect()
}

/// Stack names under the services dir: directories holding a compose file.
pub fn existing_stacks(services_dir: &Path) -> Vec<String> {
    const COMPOSE: [&str; 4] = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yaml",
        "docker-compose.yml",
    ];
    let mut v: Vec<String> = std::fs::read_dir(services_dir)
        .map(|r| {
            r.flatten()
                .filter(|e| COMPOSE.iter().any(|c| e.path().join(c).is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn run(args: &DetermineChangesOpts) -> u8 {
    let ctx = Context::new(&args.checkout, None);
    if !ctx.services_dir.is_dir() {
        eprintln!(
            "release-tool: determine-changes: the services directory {} is not a directory \
             (--services-dir, else <repo>/services)",
            crate::diag::escaped(&ctx.services_dir.display().to_string())
        );
        return super::exit::FAILURE;
    }
    let Some(changed) = &args.changed_files else {
        if !args.assume_values_changed {
            eprintln!("release-tool: determine-changes needs --changed-files \"FILE ...\" (or --assume-values-changed)");
            return super::exit::USAGE;
        }
        return print(args.format, &run_with(&args.checkout, &[], true));
    };
    print(
        args.format,
        &run_with(&args.checkout, changed, args.assume_values_changed),
    )
}

fn run_with(args: &Checkout, changed: &[String], values_changed: bool) -> Vec<String> {
    let ctx = Context::new(args, None);
    let services_abs = std::fs::canonicalize(&ctx.services_dir).ok();
    let repo_abs = std::fs::canonicalize(&ctx.repo).ok();
    let services_rel = match (&services_abs, &repo_abs) {
        (Some(s), Some(r)) => s.strip_prefix(r).map(Path::to_path_buf).ok(),
        _ => None,
    }
    .unwrap_or_else(|| normalize(&ctx.services_dir));
    let mut services_rel = vec![services_rel];
    // The seed tool had only --services-dir, whose parent is the repo root then (as for the values
    // file): `services/web/x` names stack web too, wherever the command runs.
    if args.repo.is_none() {
        if let Some(name) = ctx.services_dir.file_name() {
            services_rel.push(PathBuf::from(name));
        }
    }
    let mut values = vec![PathBuf::from(VALUES_FILE)];
    if let Some(v) = &ctx.vars_file {
        values.push(normalize(v));
        if let (Ok(v), Some(r)) = (std::fs::canonicalize(v), &repo_abs) {
            values.extend(v.strip_prefix(r).map(Path::to_path_buf).ok());
            values.push(v);
        }
    }
    affected_stacks(
        changed,
        &services_rel,
        services_abs.as_deref(),
        &values,
        &existing_stacks(&ctx.services_dir),
        values_changed,
    )
}

fn print(format: Format, stacks: &[String]) -> u8 {
    match format {
        Format::Json => println!("{}", serde_json::json!(stacks)),
        _ => {
            for s in stacks {
                println!("{s}");
            }
        }
    }
    super::exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn files_map_to_their_stack() {
        let all = s(&["web", "worker", "db"]);
        let values = [PathBuf::from("values.env")];
        let r = affected_stacks(
            &s(&[
                "services/web/compose.yaml",
                "./services/web/conf/x.html",
                "README.md",
                "services/gone/compose.yaml",
                "services/top.txt",
            ]),
            &[PathBuf::from("services")],
            None,
            &values,
            &all,
            false,
        );
        assert_eq!(r, s(&["gone", "web"]));
    }

    #[test]
    fn values_file_affects_every_stack() {
        let all = s(&["web", "worker"]);
        let values = [PathBuf::from("values.env")];
        let rel = &[PathBuf::from("services")];
        assert_eq!(
            affected_stacks(&s(&["values.env"]), rel, None, &values, &all, false),
            all
        );
        assert_eq!(affected_stacks(&[], rel, None, &values, &all, true), all);
        assert!(
            affected_stacks(&s(&["docs/values.env"]), rel, None, &values, &all, false).is_empty()
        );
    }

    #[test]
    fn paths_relative_to_the_services_dirs_parent_count_too() {
        let args = Checkout {
            services_dir: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/services"
            ))),
            ..Checkout::default()
        };
        let changed = s(&["services/web/conf/index.html", "examples/x/y"]);
        assert_eq!(run_with(&args, &changed, false), s(&["web"]));
        // With --repo, paths are relative to it alone.
        let args = Checkout {
            repo: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples"
            ))),
            ..Checkout::default()
        };
        assert_eq!(
            run_with(&args, &s(&["services/worker/compose.yaml"]), false),
            s(&["worker"])
        );
        assert!(run_with(&args, &s(&["examples/services/web/a"]), false).is_empty());
    }

    #[test]
    fn absolute_paths_and_other_services_dirs() {
        let all = s(&["a"]);
        let r = affected_stacks(
            &s(&["/srv/repo/stacks/a/compose.yml", "stacks/b/.env"]),
            &[PathBuf::from("stacks")],
            Some(Path::new("/srv/repo/stacks")),
            &[],
            &all,
            false,
        );
        assert_eq!(r, s(&["a", "b"]));
    }
}
