//! `release-tool plan [--format json]`: what a deploy would do now, touching nothing (the checkout is
//! snapshotted into a temporary directory and rendered exactly as `deploy` renders it). Image
//! digests are not resolved (that needs pulls): the plan assumes they did not move. Besides the
//! unit diff it shows the translation warnings a deploy would log, the input files that changed,
//! the pulls a deploy would make and the longest a failure could take before the rollback starts.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::cli::command::{Format, PlanOpts};
use crate::commands::context::Context;
use crate::commands::runtime::deploy_options;
use crate::deploy::exact::pin_all;
use crate::deploy::fsutil::{list_files, Durability};
use crate::deploy::manifest::Manifest;
use crate::deploy::planner::{plan, StackChange};
use crate::deploy::prepare::{
    shown_inputs, snapshot_inputs, stack_manifests, DeploySource, StackRenderer,
};
use crate::deploy::render::{podman_version, RepoRenderer};
use crate::deploy::snapshot::SnapshotError;
use crate::deploy::store::StateStore;
use crate::translate::RenderedStack;

fn unit_text(store: &StateStore, gen: Option<u64>, stack: &str, file: &str) -> String {
    gen.and_then(|g| {
        fs::read_to_string(store.generation_dir(g).join("units").join(stack).join(file)).ok()
    })
    .unwrap_or_default()
}

/// Files of a stack's snapshot that differ from the current generation's copy, as
/// `services/<stack>/<file>` with `added`, `changed` or `removed`.
fn changed_inputs(old: Option<&Path>, new: &Path, stack: &str) -> Vec<(String, &'static str)> {
    let files = |d: Option<&Path>| -> BTreeMap<PathBuf, Vec<u8>> {
        let Some(d) = d.filter(|d| d.is_dir()) else {
            return BTreeMap::new();
        };
        list_files(d)
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                let bytes = fs::read(d.join(&f)).unwrap_or_default();
                (f, bytes)
            })
            .collect()
    };
    let (before, after) = (files(old), files(Some(new)));
    let name = |f: &Path| format!("services/{stack}/{}", f.display());
    let mut out = Vec::new();
    for (f, bytes) in &after {
        match before.get(f) {
            None => out.push((name(f), "added")),
            Some(b) if b != bytes => out.push((name(f), "changed")),
            Some(_) => {}
        }
    }
    for f in before.keys().filter(|f| !after.contains_key(*f)) {
        out.push((name(f), "removed"));
    }
    out.sort();
    out
}

/// Where `plan` makes its scratch snapshot, in order: `$XDG_RUNTIME_DIR` (RAM-backed and private to
/// the user on systemd hosts: the copy costs no disk writes, which on a slow disk cost several times
/// the rendering), then the temporary directory (`$TMPDIR`, else /tmp).
fn scratch_bases() -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .filter(|r| r.is_dir());
    runtime.into_iter().chain([std::env::temp_dir()]).collect()
}

fn out_of_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// Snapshots `source` into a fresh private directory (a random name, mode 0700: never a path
/// another user can prepare in a shared /tmp) under the first of `scratch_bases` that can hold
/// it. A throwaway copy, removed when the `TempDir` drops: no fsync (docs/deploy.md, "plan").
fn scratch_snapshot(source: &DeploySource) -> Result<tempfile::TempDir, String> {
    let bases = scratch_bases();
    let mut tried = Vec::new();
    for base in &bases {
        let dir = match tempfile::Builder::new()
            .prefix("release-tool-plan-")
            .tempdir_in(base)
        {
            Ok(d) => d,
            Err(e) => {
                tried.push(format!("{}: {e}", base.display()));
                continue;
            }
        };
        match snapshot_inputs(
            source,
            dir.path(),
            Default::default(),
            Durability::Throwaway,
        ) {
            Ok(()) => return Ok(dir),
            // A runtime directory too small for this checkout: the next base.
            Err(SnapshotError::Io { path, source }) if out_of_space(&source) => {
                tried.push(format!("{}: {source}", path.display()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no room for the scratch snapshot of the checkout ({})",
        tried.join("; ")
    ))
}

pub fn run(args: &PlanOpts) -> u8 {
    let ctx = Context::new(&args.checkout, args.state_dir.as_deref());
    if let Err(code) = ctx.require_repo("plan") {
        return code;
    }
    let store = StateStore::at(&ctx.state_dir);
    let version = match podman_version(
        args.podman_version.as_deref(),
        &crate::commands::runtime::podman_cli(),
    ) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return super::exit::USAGE;
        }
    };
    // The scratch snapshot, removed (TempDir's drop) on every way out; it is read again below for
    // the changed files.
    let mut scratch: Option<tempfile::TempDir> = None;
    let r = (|| -> Result<(Vec<RenderedStack>, BTreeMap<_, _>), String> {
        // As deploy: a compose file that is not what it claims is an error, not a removed stack.
        let source = super::deploy::source(&ctx);
        if !crate::deploy::prepare::no_services_dir(&source) {
            crate::compose::discover::check_stack_files(
                &ctx.services_dir,
                ctx.vars_file.as_deref(),
            )
            .map_err(|bad| {
                bad.iter()
                    .map(|(stack, d)| format!("stack {stack}: {d}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        let tmp = scratch
            .insert(scratch_snapshot(&source)?)
            .path()
            .to_path_buf();
        let renderer = RepoRenderer {
            podman_version: version,
            strict: args.strict,
            home: ctx.home.clone(),
        };
        // Messages name the checkout's files, not the snapshot's temporary copies (as deploy).
        let in_checkout = |m: &str| {
            let checkout = source.services_dir.display().to_string();
            m.replace(&tmp.join("services").display().to_string(), &checkout)
                .replace(
                    &shown_inputs(&store).join("services").display().to_string(),
                    &checkout,
                )
        };
        let stacks = renderer
            .render_all(&tmp, &shown_inputs(&store))
            .map_err(|errs| {
                errs.iter()
                    .map(|e| format!("stack {}: {}", e.stack, in_checkout(&e.message)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        let current = store.current().and_then(|g| store.read_manifest(g).ok());
        // Assume digests as recorded: a plan does not pull.
        let digests: BTreeMap<String, String> = current
            .iter()
            .flat_map(|m| m.stacks.values().flat_map(|s| s.images.clone()))
            .collect();
        let stacks = pin_all(&stacks, &digests)?;
        let m = stack_manifests(&store, &stacks, &tmp, &digests).map_err(|e| e.to_string())?;
        Ok((stacks, m))
    })();
    let (stacks, manifests) = match r {
        Ok(x) => x,
        Err(e) => {
            eprintln!("release-tool: plan: {e}");
            return super::exit::INVALID_INPUT;
        }
    };
    let tmp = scratch
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_default();
    let gen = store.current();
    let old = gen.and_then(|g| store.read_manifest(g).ok());
    let new = Manifest {
        id: 0,
        git_rev: None,
        created: 0,
        outcome: crate::deploy::manifest::Outcome::Pending,
        parent: gen,
        message: None,
        stacks: manifests,
    };
    let p = plan(old.as_ref(), &new);
    // Unit diffs of added and changed stacks, and of removed stacks' units.
    let mut diffs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in &stacks {
        if p.stacks.get(&s.stack) == Some(&StackChange::Unchanged) {
            continue;
        }
        for u in &s.units {
            let before = unit_text(&store, gen, &s.stack, &u.file_name);
            if before != u.contents {
                let d = TextDiff::from_lines(&before, &u.contents)
                    .unified_diff()
                    .header(
                        &format!("a/{}/{}", s.stack, u.file_name),
                        &format!("b/{}/{}", s.stack, u.file_name),
                    )
                    .to_string();
                diffs
                    .entry(s.stack.clone())
                    .or_default()
                    .insert(u.file_name.clone(), d);
            }
        }
    }
    if let Some(o) = &old {
        for (name, sm) in &o.stacks {
            let now: Vec<&str> = stacks
                .iter()
                .filter(|s| s.stack == *name)
                .flat_map(|s| s.units.iter().map(|u| u.file_name.as_str()))
                .collect();
            for f in sm.units.keys().filter(|f| !now.contains(&f.as_str())) {
                let before = unit_text(&store, gen, name, f);
                let d = TextDiff::from_lines(before.as_str(), "")
                    .unified_diff()
                    .header(&format!("a/{name}/{f}"), "/dev/null")
                    .to_string();
                diffs.entry(name.clone()).or_default().insert(f.clone(), d);
            }
        }
    }
    // What a deploy logs while rendering, naming the checkout's files, not the snapshot's.
    let snapshot_prefix = tmp.join("services").display().to_string();
    let checkout_prefix = ctx.services_dir.display().to_string();
    let warnings: Vec<String> = stacks
        .iter()
        .flat_map(|s| {
            s.warnings.iter().map(|w| {
                format!("stack {}: {}", s.stack, w).replace(&snapshot_prefix, &checkout_prefix)
            })
        })
        .collect();
    let mut changed_files: BTreeMap<String, Vec<(String, &str)>> = BTreeMap::new();
    for (name, change) in &p.stacks {
        if matches!(change, StackChange::Added | StackChange::Changed) {
            let old_dir = gen.map(|g| store.generation_dir(g).join("inputs/services").join(name));
            let files = changed_inputs(old_dir.as_deref(), &tmp.join("services").join(name), name);
            changed_files.insert(name.clone(), files);
        }
    }
    // Exactly what `deploy` pulls (prepare::stage): every image of every stack, changed or not, to
    // see whether a tag moved.
    let mut images: Vec<String> = stacks
        .iter()
        .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    images.sort();
    images.dedup();
    let o = deploy_options(&args.limits);
    let timeout = o.timeout.as_secs();
    let levels = p.restart_levels.len() as u64;
    let longest = levels * timeout;
    if args.format == Format::Json {
        let v = serde_json::json!({
            "current_generation": gen,
            "stacks": p.stacks,
            "diff": diffs,
            "images_to_pull": images,
            "warnings": warnings,
            "changed_files": changed_files
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|(f, c)| serde_json::json!({"file": f, "change": c})).collect::<Vec<_>>()))
                .collect::<BTreeMap<_, _>>(),
            "longest_until_rollback_secs": longest,
            "restart_levels": p.restart_levels,
            "stop": p.stop,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return super::exit::OK;
    }
    println!(
        "current generation: {}",
        gen.map_or("none".to_string(), |g| g.to_string())
    );
    for (name, change) in &p.stacks {
        let why = if *change == StackChange::Changed && !diffs.contains_key(name) {
            " (input files changed; no unit differs)"
        } else {
            ""
        };
        println!(
            "stack {name}: {}{why}",
            format!("{change:?}").to_lowercase()
        );
        for (f, c) in changed_files.get(name).into_iter().flatten() {
            println!("  {c} {f}");
        }
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    for files in diffs.values() {
        for d in files.values() {
            print!("{d}");
        }
    }
    println!(
        "pulls: {} image(s), every image of every stack (a deploy pulls them all to see whether a tag moved):",
        images.len()
    );
    for i in &images {
        println!("  {i}");
    }
    if p.is_noop() {
        println!("nothing to do");
        return super::exit::OK;
    }
    println!("restart order:");
    for (i, level) in p.restart_levels.iter().enumerate() {
        println!("  {}: {}", i + 1, level.join(" "));
    }
    if !p.stop.is_empty() {
        println!("stop: {}", p.stop.join(" "));
    }
    println!(
        "longest before a rollback starts: {levels} restart level(s) x {timeout}s (--timeout) = {longest}s \
         after the switch; before it, each pull may take {} attempt(s) x {timeout}s, and a failed pull \
         switches nothing",
        o.pull.retries + 1
    );
    super::exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_inputs_name_added_changed_and_removed_files() {
        let t = tempfile::tempdir().unwrap();
        let (old, new) = (t.path().join("old"), t.path().join("new"));
        for d in [&old, &new] {
            fs::create_dir_all(d.join("conf")).unwrap();
            fs::write(d.join("compose.yaml"), "same").unwrap();
        }
        fs::write(old.join("conf/a"), "1").unwrap();
        fs::write(new.join("conf/a"), "2").unwrap();
        fs::write(old.join("gone.env"), "x").unwrap();
        fs::write(new.join("new.env"), "y").unwrap();
        assert_eq!(
            changed_inputs(Some(&old), &new, "web"),
            vec![
                ("services/web/conf/a".to_string(), "changed"),
                ("services/web/gone.env".to_string(), "removed"),
                ("services/web/new.env".to_string(), "added"),
            ]
        );
        assert_eq!(changed_inputs(Some(&new), &new, "web"), vec![]);
    }
}
