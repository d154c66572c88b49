//! `release-tool plan [--format json]`: what a deploy would do now, touching nothing (the checkout is
//! snapshotted into a temporary directory and rendered exactly as `deploy` renders it). Image
//! digests are not resolved (that needs pulls): the plan assumes they did not move.

use std::collections::BTreeMap;
use std::fs;

use similar::TextDiff;

use crate::cli::Args;
use crate::commands::context::Context;
use crate::deploy::exact::pin_all;
use crate::deploy::manifest::Manifest;
use crate::deploy::planner::{plan, StackChange};
use crate::deploy::prepare::{shown_inputs, snapshot_inputs, stack_manifests, StackRenderer};
use crate::deploy::render::{podman_version, RepoRenderer};
use crate::deploy::store::StateStore;
use crate::translate::RenderedStack;

fn unit_text(store: &StateStore, gen: Option<u64>, stack: &str, file: &str) -> String {
    gen.and_then(|g| {
        fs::read_to_string(store.generation_dir(g).join("units").join(stack).join(file)).ok()
    })
    .unwrap_or_default()
}

pub fn run(args: &Args) -> u8 {
    let ctx = Context::from_args(args);
    let store = StateStore::at(&ctx.state_dir);
    let version = match podman_version(args.podman_version.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return super::exit::USAGE;
        }
    };
    let tmp = std::env::temp_dir().join(format!("release-tool-plan-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let r = (|| -> Result<(Vec<RenderedStack>, BTreeMap<_, _>), String> {
        snapshot_inputs(&super::deploy::source(&ctx), &tmp, Default::default())
            .map_err(|e| e.to_string())?;
        let renderer = RepoRenderer {
            podman_version: version,
            strict: args.strict,
            home: ctx.home.clone(),
        };
        let stacks = renderer
            .render_all(&tmp, &shown_inputs(&store))
            .map_err(|errs| {
                errs.iter()
                    .map(|e| format!("stack {}: {}", e.stack, e.message))
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
    let _ = fs::remove_dir_all(&tmp);
    let (stacks, manifests) = match r {
        Ok(x) => x,
        Err(e) => {
            eprintln!("release-tool: plan: {e}");
            return super::exit::INVALID_INPUT;
        }
    };
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
    let mut images: Vec<String> = stacks
        .iter()
        .filter(|s| p.stacks.get(&s.stack) != Some(&StackChange::Unchanged))
        .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    images.sort();
    images.dedup();
    if args.format.as_deref() == Some("json") {
        let v = serde_json::json!({
            "current_generation": gen,
            "stacks": p.stacks,
            "diff": diffs,
            "images_to_pull": images,
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
    }
    for files in diffs.values() {
        for d in files.values() {
            print!("{d}");
        }
    }
    if p.is_noop() {
        println!("nothing to do");
        return super::exit::OK;
    }
    println!("images to pull (every image is pulled; a new digest also counts as a change):");
    for i in &images {
        println!("  {i}");
    }
    println!("restart order:");
    for (i, level) in p.restart_levels.iter().enumerate() {
        println!("  {}: {}", i + 1, level.join(" "));
    }
    if !p.stop.is_empty() {
        println!("stop: {}", p.stop.join(" "));
    }
    super::exit::OK
}
