//! The deploy: snapshot the inputs into a staged generation, render and validate every stack from
//! the snapshot, pull, compare with the current generation, and only then commit and switch.
//! Nothing on the host changes before the switch: a bad file or a failed pull just removes the
//! staged directory.

use crate::logging::ids;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::effects::Effects;
use super::exact::{paths_under, pin_all};
use super::fsutil::{copy_file, list_files, write_atomic, Durability};
use super::images;
use super::manifest::{stack_manifest, Manifest, Outcome, SecretManifest, StackManifest};
use super::planner::plan;
use super::pulls::{pull_each, PullOptions};
use super::snapshot::{snapshot_tree, SnapshotBudget, SnapshotError};
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
/// the units must name every file of the snapshot by the path `shown` has in place of `inputs`
/// (the stable path through `current`), never by `inputs` itself, which is a staging directory.
pub trait StackRenderer {
    fn render_all(
        &self,
        inputs: &Path,
        shown: &Path,
    ) -> Result<Vec<RenderedStack>, Vec<StackError>>;
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub pull: PullOptions,
    /// How long each restart level may take to become active and healthy.
    pub timeout: Duration,
    /// How many generations to keep.
    pub keep: usize,
    /// Limits on the snapshot of the checkout.
    pub snapshot: SnapshotBudget,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            pull: PullOptions::default(),
            timeout: Duration::from_secs(120),
            keep: 5,
            snapshot: SnapshotBudget::default(),
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

/// No `services/` in an existing repo is a repo with no stacks (every stack removed), not an
/// error. A missing repo, a `--services-dir` elsewhere, or anything else in its place (a file,
/// a dangling link) is still one: a wrong path must never remove every stack.
pub fn no_services_dir(src: &DeploySource) -> bool {
    let in_repo = src.services_dir.parent() == Some(src.repo.as_path()) && src.repo.is_dir();
    in_repo
        && matches!(fs::symlink_metadata(&src.services_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// Copies the inputs a deploy renders from into `dest` (`services/`, `values.env`, `vars.json`),
/// as `snapshot` describes: links out of the repo stay links, special files and loops are refused,
/// and the copy stays within `budget`. A deploy's snapshot is `Durable` (it becomes a generation);
/// `plan`'s is a `Throwaway`.
pub fn snapshot_inputs(
    src: &DeploySource,
    dest: &Path,
    budget: SnapshotBudget,
    durability: Durability,
) -> Result<(), SnapshotError> {
    if no_services_dir(src) {
        let path = dest.join("services");
        fs::create_dir_all(&path).map_err(|source| SnapshotError::Io { path, source })?;
    } else {
        snapshot_tree(
            &src.services_dir,
            &dest.join("services"),
            &src.repo,
            &[".git"],
            budget,
            durability,
        )?;
    }
    if let Some(v) = &src.vars_file {
        // Read whole into memory later: a regular file within the budget, never a FIFO or /dev/zero.
        let meta = fs::metadata(v).map_err(|source| SnapshotError::Io {
            path: v.clone(),
            source,
        })?;
        if !meta.is_file() || meta.len() > budget.max_bytes {
            return Err(SnapshotError::Refused {
                path: v.clone(),
                reason: format!(
                    "the values file must be a regular file of at most {} bytes",
                    budget.max_bytes
                ),
            });
        }
        copy_file(v, &dest.join("values.env"), durability).map_err(|source| SnapshotError::Io {
            path: v.clone(),
            source,
        })?;
    }
    if let Some(j) = &src.vars_json {
        let path = dest.join("vars.json");
        match durability {
            Durability::Durable => write_atomic(&path, j.as_bytes()),
            Durability::Throwaway => fs::write(&path, j.as_bytes()),
        }
        .map_err(|source| SnapshotError::Io { path, source })?;
    }
    Ok(())
}

/// How units name the snapshot of the current generation: through `current`, so a unit's bytes
/// do not depend on the generation's number and the path is valid once the generation is
/// committed (and after a rollback, which switches `current` back with the units).
pub fn shown_inputs(store: &StateStore) -> PathBuf {
    store.current_link().join("inputs")
}

/// sha256 over a directory's file names and contents; a link counts as its target's name (links
/// out of the repo are host state: never followed).
pub fn hash_dir(dir: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for rel in list_files(dir)? {
        let path = dir.join(&rel);
        if fs::symlink_metadata(&path)?.file_type().is_symlink() {
            h.update(format!(
                "{} -> {}\n",
                rel.display(),
                fs::read_link(&path)?.display()
            ));
            continue;
        }
        let bytes = fs::read(&path)?;
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
    // Always there, also with no stacks: the generator takes a generation without `units/` as
    // damaged and would fall back to an older one (every removed stack back).
    fs::create_dir_all(dir.join("units"))?;
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
    // A compose file that is not what it claims would be left out of the snapshot: refuse it here.
    let checked = if no_services_dir(src) {
        Ok(())
    } else {
        crate::compose::discover::check_stack_files(&src.services_dir, src.vars_file.as_deref())
    };
    if let Err(bad) = checked {
        let errors: Vec<StackError> = bad
            .into_iter()
            .map(|(stack, d)| StackError {
                stack,
                message: d.to_string(),
            })
            .collect();
        for e in &errors {
            fx.report.error(
                &[("STACK", &e.stack), ("MESSAGE_ID", ids::STACK_REFUSED)],
                &format!("stack {}: {}", e.stack, e.message),
            );
        }
        return Ok(Err(DeployResult::InvalidInput(errors)));
    }
    fx.report.status("snapshotting the checkout");
    match snapshot_inputs(src, &inputs, o.snapshot, Durability::Durable) {
        Ok(()) => {}
        Err(SnapshotError::Refused { path, reason }) => {
            // The checkout holds something a deploy refuses: bad input, naming the stack.
            let stack = path
                .strip_prefix(&src.services_dir)
                .ok()
                .and_then(|r| r.iter().next())
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            let e = SnapshotError::Refused { path, reason };
            fx.report.error(
                &[("STACK", &stack), ("MESSAGE_ID", ids::STACK_REFUSED)],
                &format!("stack {stack}: {e}"),
            );
            return Ok(Err(DeployResult::InvalidInput(vec![StackError {
                stack,
                message: e.to_string(),
            }])));
        }
        Err(e) => {
            let (from, to) = (src.services_dir.display(), inputs.display());
            return Err(format!("snapshot of {from} into {to}: {e}"));
        }
    }
    fx.report.status("rendering every stack");
    // Messages name the checkout's files, not the snapshot's temporary copies.
    let snapshot_prefix = inputs.join("services").display().to_string();
    let shown_prefix = shown_inputs(store).join("services").display().to_string();
    let checkout_prefix = src.services_dir.display().to_string();
    let in_checkout = |m: &str| {
        m.replace(&snapshot_prefix, &checkout_prefix)
            .replace(&shown_prefix, &checkout_prefix)
    };
    let stacks = match renderer.render_all(&inputs, &shown_inputs(store)) {
        Ok(s) => s,
        Err(mut errors) => {
            for e in &mut errors {
                e.message = in_checkout(&e.message);
                fx.report.error(
                    &[("STACK", &e.stack), ("MESSAGE_ID", ids::STACK_REFUSED)],
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
    let mut images: Vec<String> = stacks
        .iter()
        .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    images.sort();
    images.dedup();
    fx.report
        .status(&format!("pulling {} images", images.len()));
    fx.report
        .extend_timeout(super::pulls::bound(images.len(), &o.pull));
    let (mut digests, failed) = pull_each(fx, &images, &o.pull);
    if !failed.is_empty() {
        let old = store.current().and_then(|c| store.read_manifest(c).ok());
        // The stacks as they would be if every failed image still had the digest they run.
        let mut assumed = digests.clone();
        for (image, _) in &failed {
            if let Some(d) = old.as_ref().and_then(|m| old_digest(m, image)) {
                assumed.insert(image.clone(), d);
            }
        }
        let fresh =
            stack_manifests(store, &pin_all(&stacks, &assumed)?, &inputs, &assumed).map_err(io)?;
        let mut blocking = Vec::new();
        for (image, e) in failed {
            match recorded_digest(old.as_ref(), &fresh, &image) {
                Some(d) => {
                    fx.report.warn(
                        &[("IMAGE", &image), ("MESSAGE_ID", ids::PULL_FAILED)],
                        &format!(
                            "pull of {image} failed ({e}); only unchanged stacks use it: \
                             keeping the digest they run ({d})"
                        ),
                    );
                    digests.insert(image, d);
                }
                None => {
                    fx.report.error(
                        &[("IMAGE", &image), ("MESSAGE_ID", ids::PULL_FAILED)],
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
    // Exact: the units run the digests just pulled, whatever the tag points at later.
    let stacks = pin_all(&stacks, &digests)?;
    write_units(&staging, &stacks).map_err(io)?;
    super::faultpoint::hit("staged");
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

/// A digest some stack of `m` recorded for `image`.
fn old_digest(m: &Manifest, image: &str) -> Option<String> {
    m.stacks
        .values()
        .filter_map(|s| s.images.get(image))
        .find(|d| !d.is_empty())
        .cloned()
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

/// The hash of what a stack's containers see from the snapshot: its own directory, and every
/// file or directory outside it that its units name (a `../shared` bind mount, a build context
/// `..`, a secret in `../secrets`), so a change there is a change of the stack (DESIGN 5).
fn stack_inputs_hash(
    store: &StateStore,
    s: &RenderedStack,
    inputs: &Path,
) -> std::io::Result<String> {
    let own = Path::new("services").join(&s.stack);
    let shown = shown_inputs(store).display().to_string();
    let mut named = BTreeSet::new();
    for text in s
        .units
        .iter()
        .map(|u| u.contents.clone())
        .chain(s.secrets.iter().map(|x| x.file.display().to_string()))
    {
        for p in paths_under(&text, &shown) {
            let rel = PathBuf::from(p[shown.len()..].trim_start_matches('/'));
            if !rel.starts_with(&own) && !rel.as_os_str().is_empty() {
                named.insert(rel);
            }
        }
    }
    let mut h = Sha256::new();
    h.update(hash_dir(&inputs.join(&own))?);
    for rel in named {
        let p = inputs.join(&rel);
        let what = match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => hash_dir(&p)?,
            Ok(m) if m.file_type().is_symlink() => format!("-> {}", fs::read_link(&p)?.display()),
            Ok(_) => hex::encode(Sha256::digest(fs::read(&p)?)),
            Err(_) => "missing".into(),
        };
        h.update(format!("\n{} {what}", rel.display()));
    }
    Ok(hex::encode(h.finalize()))
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
        let inputs_hash = stack_inputs_hash(store, s, inputs)?;
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
    // Remember every image before a generation naming it can go: `prune` removes those later.
    if let Err(e) = images::record(store) {
        fx.report
            .warn(&[], &format!("recording the images generations use: {e}"));
    }
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
