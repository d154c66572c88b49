//! The deploy: snapshot the inputs into a staged generation, render and validate every stack from
//! the snapshot, pull, compare with the current generation, and only then commit and switch.
//! Nothing on the host changes before the switch: a bad file or a failed pull just removes the
//! staged directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::effects::Effects;
use super::fsutil::{copy_file, copy_tree, list_files, write_atomic};
use super::manifest::{stack_manifest, Manifest, Outcome, SecretManifest, StackManifest};
use super::planner::plan;
use super::pulls::{pull_each, PullOptions};
use super::store::{git_revision, StateStore};
use super::transaction::{apply, leaving_manifest, recover, ApplyResult};
use crate::translate::RenderedStack;

/// Where a deploy reads from (the live checkout).
#[derive(Debug, Clone)]
pub struct DeploySource {
    pub repo: PathBuf,
    pub services_dir: PathBuf,
    pub vars_file: Option<PathBuf>,
    pub vars_json: Option<String>,
}

/// One stack that failed to load or render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackError {
    pub stack: String,
    pub message: String,
}

/// Renders a snapshot. `inputs` holds `services/<stack>/…`, maybe `values.env` and `vars.json`;
/// the units must name a stack's files by `display(stack)` (the stable path through `current`).
pub trait StackRenderer {
    fn render_all(
        &self,
        inputs: &Path,
        display: &dyn Fn(&str) -> PathBuf,
    ) -> Result<Vec<RenderedStack>, Vec<StackError>>;
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub pull: PullOptions,
    /// How long each restart level may take to become active and healthy.
    pub timeout: Duration,
    /// How many generations to keep.
    pub keep: usize,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            pull: PullOptions::default(),
            timeout: Duration::from_secs(120),
            keep: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployResult {
    /// Nothing changed; `current` stays.
    NoChange(Option<u64>),
    Deployed(u64),
    InvalidInput(Vec<StackError>),
    PullFailed(Vec<(String, String)>),
    RolledBack(u64, String),
    RollbackFailed(u64, String),
}

/// Copies the inputs a deploy renders from into `dest` (`services/`, `values.env`, `vars.json`).
pub fn snapshot_inputs(src: &DeploySource, dest: &Path) -> std::io::Result<()> {
    copy_tree(&src.services_dir, &dest.join("services"), &[".git"])?;
    if let Some(v) = &src.vars_file {
        copy_file(v, &dest.join("values.env"))?;
    }
    if let Some(j) = &src.vars_json {
        write_atomic(&dest.join("vars.json"), j.as_bytes())?;
    }
    Ok(())
}

/// sha256 over a directory's file names and contents.
pub fn hash_dir(dir: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for rel in list_files(dir)? {
        let bytes = fs::read(dir.join(&rel))?;
        h.update(format!("{} {}\n", rel.display(), bytes.len()));
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// A secret file named through `<state>/current/…` becomes relative to the generation.
fn secret_file(store: &StateStore, file: &Path) -> String {
    match file.strip_prefix(store.current_link()) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => file.display().to_string(),
    }
}

fn write_units(dir: &Path, stacks: &[RenderedStack]) -> std::io::Result<()> {
    for s in stacks {
        let d = dir.join("units").join(&s.stack);
        fs::create_dir_all(&d)?;
        for u in &s.units {
            write_atomic(&d.join(&u.file_name), u.contents.as_bytes())?;
        }
    }
    Ok(())
}

fn io(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Builds the staged generation `id` from `src`; Err(result) when the deploy must stop before
/// switching. The staged directory is left for the caller to commit or remove.
fn stage(
    store: &StateStore,
    fx: &Effects,
    renderer: &dyn StackRenderer,
    src: &DeploySource,
    id: u64,
    o: &DeployOptions,
) -> Result<Result<Manifest, DeployResult>, String> {
    let staging = store.staging_dir(id);
    let inputs = staging.join("inputs");
    fx.report.status("snapshotting the checkout");
    snapshot_inputs(src, &inputs).map_err(|e| {
        let (from, to) = (src.services_dir.display(), inputs.display());
        format!("snapshot of {from} into {to}: {e}")
    })?;
    fx.report.status("rendering every stack");
    // Messages name the checkout's files, not the snapshot's temporary copies.
    let snapshot_prefix = inputs.join("services").display().to_string();
    let checkout_prefix = src.services_dir.display().to_string();
    let in_checkout = |m: &str| m.replace(&snapshot_prefix, &checkout_prefix);
    let stacks = match renderer.render_all(&inputs, &|s| store.display_dir(s)) {
        Ok(s) => s,
        Err(mut errors) => {
            for e in &mut errors {
                e.message = in_checkout(&e.message);
                fx.report.error(
                    &[("STACK", &e.stack)],
                    &format!("stack {}: {}", e.stack, e.message),
                );
            }
            return Ok(Err(DeployResult::InvalidInput(errors)));
        }
    };
    for s in &stacks {
        for w in &s.warnings {
            fx.report
                .warn(&[("STACK", &s.stack)], &in_checkout(&w.to_string()));
        }
    }
    write_units(&staging, &stacks).map_err(io)?;
    super::faultpoint::hit("staged");
    let mut images: Vec<String> = stacks
        .iter()
        .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    images.sort();
    images.dedup();
    fx.report
        .status(&format!("pulling {} images", images.len()));
    let (mut digests, failed) = pull_each(fx, &images, &o.pull);
    if !failed.is_empty() {
        let old = store.current().and_then(|c| store.read_manifest(c).ok());
        let fresh = stack_manifests(store, &stacks, &inputs, &digests).map_err(io)?;
        let mut blocking = Vec::new();
        for (image, e) in failed {
            match recorded_digest(old.as_ref(), &fresh, &image) {
                Some(d) => {
                    fx.report.warn(
                        &[("IMAGE", &image)],
                        &format!(
                            "pull of {image} failed ({e}); only unchanged stacks use it: \
                             keeping the digest they run ({d})"
                        ),
                    );
                    digests.insert(image, d);
                }
                None => {
                    fx.report.error(
                        &[("IMAGE", &image)],
                        &format!("pull of {image} failed: {e}"),
                    );
                    blocking.push((image, e));
                }
            }
        }
        if !blocking.is_empty() {
            return Ok(Err(DeployResult::PullFailed(blocking)));
        }
    }
    let mut manifest = Manifest {
        id,
        git_rev: git_revision(&src.repo),
        created: fx.clock.unix_now(),
        outcome: Outcome::Pending,
        parent: store.current(),
        message: None,
        stacks: BTreeMap::new(),
    };
    manifest.stacks = stack_manifests(store, &stacks, &inputs, &digests).map_err(io)?;
    Ok(Ok(manifest))
}

/// The digest the current generation recorded for `image`, when every stack that uses it is
/// unchanged (same units, same input files). For those stacks the pull only looks for a new digest
/// behind the same tag; when it fails (a registry outage) they keep running what they run, and a
/// change to another stack still deploys. An image a changed stack needs must pull.
fn recorded_digest(
    old: Option<&Manifest>,
    fresh: &BTreeMap<String, StackManifest>,
    image: &str,
) -> Option<String> {
    let old = old?;
    let mut digest = None;
    for (name, new) in fresh.iter().filter(|(_, m)| m.images.contains_key(image)) {
        let prev = old.stacks.get(name)?;
        if prev.units != new.units || prev.inputs_hash != new.inputs_hash {
            return None;
        }
        digest = Some(prev.images.get(image).filter(|d| !d.is_empty())?.clone());
    }
    digest
}

/// Each stack's manifest entry: its units, the hash of its snapshot files and its images' digests.
pub fn stack_manifests(
    store: &StateStore,
    stacks: &[RenderedStack],
    inputs: &Path,
    digests: &BTreeMap<String, String>,
) -> std::io::Result<BTreeMap<String, StackManifest>> {
    let mut out = BTreeMap::new();
    for s in stacks {
        let inputs_hash = hash_dir(&inputs.join("services").join(&s.stack))?;
        let secrets = s
            .secrets
            .iter()
            .map(|sec| SecretManifest {
                name: sec.name.clone(),
                file: secret_file(store, &sec.file),
            })
            .collect();
        out.insert(
            s.stack.clone(),
            stack_manifest(s, &inputs_hash, digests, secrets),
        );
    }
    Ok(out)
}

/// The whole deploy. The caller holds the lock.
pub fn deploy(
    store: &StateStore,
    fx: &Effects,
    renderer: &dyn StackRenderer,
    src: &DeploySource,
    o: &DeployOptions,
) -> Result<DeployResult, String> {
    if let Some(r) = recover(store, fx, o.timeout).map_err(io)? {
        fx.report
            .info(&[], &format!("interrupted run handled: {r:?}"));
    }
    store.remove_staged_leftovers().map_err(io)?;
    let id = store.next_id().map_err(io)?;
    let staging = store.staging_dir(id);
    let staged = stage(store, fx, renderer, src, id, o);
    let manifest = match staged {
        Ok(Ok(m)) => m,
        Ok(Err(result)) => {
            let _ = fs::remove_dir_all(&staging);
            return Ok(result);
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let current = store.current();
    let old = leaving_manifest(store, fx, current).map_err(io)?;
    let p = plan(old.as_ref(), &manifest);
    if p.is_noop() {
        let _ = fs::remove_dir_all(&staging);
        fx.report.status("nothing changed");
        return Ok(DeployResult::NoChange(current));
    }
    for (stack, change) in &p.stacks {
        fx.report.info(
            &[("STACK", stack)],
            &format!("stack {stack}: {change:?}").to_lowercase(),
        );
    }
    store.write_manifest(&staging, &manifest).map_err(io)?;
    store.commit_staged(id).map_err(io)?;
    super::faultpoint::hit("committed");
    fx.report.status(&format!("switching to generation {id}"));
    let r = apply(store, fx, current, id, Outcome::Deployed, o.timeout).map_err(io)?;
    let keep: Vec<u64> = [Some(id), current].into_iter().flatten().collect();
    if let Err(e) = store.prune(o.keep, &keep) {
        fx.report
            .warn(&[], &format!("pruning old generations: {e}"));
    }
    Ok(match r {
        ApplyResult::Done => DeployResult::Deployed(id),
        ApplyResult::RolledBack(e) => DeployResult::RolledBack(id, e),
        ApplyResult::RollbackFailed(e, e2) => {
            DeployResult::RollbackFailed(id, format!("{e}; rollback: {e2}"))
        }
    })
}
