//! Switching between generations as a transaction: record the intent, create the secrets, switch
//! `current`, reload, stop what went away, restart what changed level by level, wait for health;
//! on any failure switch back and restart what was touched. A run killed midway leaves the intent
//! file, and the next run finishes it (`recover`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::effects::Effects;
use super::manifest::{Manifest, Outcome};
use super::planner::{plan, DeployPlan, StackChange};
use super::restart::{containers_by_unit, forget_failed, restart_levels, stop_units};
use super::store::{Intent, StateStore, StoreError};

/// How a switch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyResult {
    Done,
    /// It failed (the message) and the host is back on the previous generation.
    RolledBack(String),
    /// It failed, and going back failed too (both messages).
    RollbackFailed(String, String),
}

fn empty_manifest() -> Manifest {
    Manifest {
        id: 0,
        git_rev: None,
        created: 0,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks: Default::default(),
    }
}

/// A secret's file as recorded in a manifest (relative to the generation) → a real path.
fn secret_path(gen_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        gen_dir.join(p)
    }
}

/// Creates the secrets of the stacks a plan starts (added or changed) from generation `gen`.
fn create_secrets(
    store: &StateStore,
    fx: &Effects,
    gen: Option<u64>,
    m: &Manifest,
    p: &DeployPlan,
) -> Result<(), String> {
    let Some(gen) = gen else { return Ok(()) };
    let dir = store.generation_dir(gen);
    for (name, s) in &m.stacks {
        if matches!(p.stacks.get(name), Some(StackChange::Unchanged) | None) {
            continue;
        }
        for secret in &s.secrets {
            fx.podman
                .create_secret(&secret.name, &secret_path(&dir, &secret.file))
                .map_err(|e| format!("stack {name}: secret {}: {e}", secret.name))?;
        }
    }
    Ok(())
}

fn set_outcome(store: &StateStore, id: u64, outcome: Outcome, message: Option<String>) {
    if let Ok(mut m) = store.read_manifest(id) {
        m.outcome = outcome;
        m.message = message;
        let _ = store.write_manifest(&store.generation_dir(id), &m);
    }
}

/// The container names `from` runs in `units`.
fn containers_of(from: &Manifest, units: &[String]) -> Vec<String> {
    let by_unit = containers_by_unit(from);
    units
        .iter()
        .filter_map(|u| by_unit.get(u).map(|(_, c)| c.container_name.clone()))
        .collect()
}

/// Switches from the generation whose manifest is `from` to `to` (`target`) along plan `p`.
#[allow(clippy::too_many_arguments)]
fn go(
    store: &StateStore,
    fx: &Effects,
    from: &Manifest,
    to: Option<u64>,
    target: &Manifest,
    p: &DeployPlan,
    timeout: Duration,
    with_secrets: bool,
) -> Result<(), String> {
    if with_secrets {
        create_secrets(store, fx, to, target, p)?;
    }
    store.switch(to).map_err(|e| e.to_string())?;
    super::faultpoint::hit("switched");
    // Stop what goes away before the reload: once its unit file is gone, systemd forgets the
    // ExecStop= that removes the container, and stopping only kills conmon (the container stays).
    stop_units(fx, &p.stop, &containers_of(from, &p.stop), timeout)?;
    fx.report.status("reloading the service manager");
    fx.systemd.daemon_reload()?;
    super::faultpoint::hit("reloaded");
    // A unit that was still stopping when it was reset may have failed since.
    forget_failed(fx, &p.stop);
    restart_levels(fx, target, &p.restart_levels, timeout)?;
    if !p.start_targets.is_empty() {
        fx.systemd.start(&p.start_targets)?;
    }
    Ok(())
}

/// Goes back from the failed generation `failed` to `from` (None: no generation at all).
fn undo(
    store: &StateStore,
    fx: &Effects,
    failed: u64,
    from: Option<u64>,
    timeout: Duration,
) -> Result<(), String> {
    let failed_m = store.read_manifest(failed).map_err(|e| e.to_string())?;
    let target = match from {
        Some(id) => store.read_manifest(id).map_err(|e| e.to_string())?,
        None => empty_manifest(),
    };
    let mut back = plan(Some(&failed_m), &target);
    // The failed generation's units that go back are stopped first, not restarted in place: one
    // still starting (waiting on a health check that never passes) would only be signalled, and
    // its container could outlive it.
    let failed_units = containers_by_unit(&failed_m);
    for u in back.restart_levels.iter().flatten() {
        if failed_units.contains_key(u) && !back.stop.contains(u) {
            back.stop.push(u.clone());
        }
    }
    fx.report
        .set_context("GENERATION", &from.map_or("none".into(), |f| f.to_string()));
    store
        .write_intent(&Intent {
            from: Some(failed),
            to: from.unwrap_or(0),
            switched: true,
            rolling_back: true,
            restart_levels: back.restart_levels.clone(),
            stop: back.stop.clone(),
        })
        .map_err(|e| e.to_string())?;
    super::faultpoint::hit("rolling-back");
    go(store, fx, &failed_m, from, &target, &back, timeout, true)?;
    // Nothing of the failed generation stays: no container the target does not run (a name
    // may have changed), no failed unit state.
    let keep: Vec<String> = containers_by_unit(&target)
        .into_values()
        .map(|(_, c)| c.container_name)
        .collect();
    for (_, c) in failed_units.values() {
        if !keep.contains(&c.container_name) {
            if let Err(e) = fx.podman.remove_container(&c.container_name) {
                fx.report.warn(
                    &[],
                    &format!("removing container {}: {e}", c.container_name),
                );
            }
        }
    }
    forget_failed(fx, &failed_units.into_keys().collect::<Vec<_>>());
    Ok(())
}

/// The manifest of the generation a deploy leaves. An unparseable one is logged naming the file
/// and treated as unknown (None): every unit of the new generation restarts, so a damaged
/// manifest does not block every later deploy.
pub fn leaving_manifest(
    store: &StateStore,
    fx: &Effects,
    from: Option<u64>,
) -> Result<Option<Manifest>, StoreError> {
    match from.map(|f| store.read_manifest(f)).transpose() {
        Err(e @ StoreError::Manifest { .. }) => {
            fx.report.warn(
                &[],
                &format!("{e}; every unit of the new generation restarts"),
            );
            Ok(None)
        }
        r => r,
    }
}

/// Switches the host from generation `from` to `to` and records `to`'s outcome (`success` when it
/// worked). On failure the host goes back to `from`.
pub fn apply(
    store: &StateStore,
    fx: &Effects,
    from: Option<u64>,
    to: u64,
    success: Outcome,
    timeout: Duration,
) -> Result<ApplyResult, StoreError> {
    let old = leaving_manifest(store, fx, from)?;
    let new = store.read_manifest(to)?;
    let p = plan(old.as_ref(), &new);
    fx.report.set_context("GENERATION", &to.to_string());
    if let Some(rev) = &new.git_rev {
        fx.report.set_context("GIT_REV", rev);
    }
    store.write_intent(&Intent {
        from,
        to,
        switched: true,
        rolling_back: false,
        restart_levels: p.restart_levels.clone(),
        stop: p.stop.clone(),
    })?;
    // Secrets first: a failure here has switched nothing, so only the old secrets go back.
    if let Err(e) = create_secrets(store, fx, Some(to), &new, &p) {
        let msg = format!("generation {to}: {e}; nothing was switched");
        fx.report.error(&[], &msg);
        fx.report.notify_status(&msg);
        let old_m = old.clone().unwrap_or_else(empty_manifest);
        let back = plan(Some(&new), &old_m);
        if let Err(e2) = create_secrets(store, fx, from, &old_m, &back) {
            fx.report
                .error(&[], &format!("restoring the previous secrets: {e2}"));
        }
        set_outcome(store, to, Outcome::RolledBack, Some(e.clone()));
        store.clear_intent()?;
        return Ok(ApplyResult::RolledBack(e));
    }
    let old_m = old.clone().unwrap_or_else(empty_manifest);
    let result = match go(store, fx, &old_m, Some(to), &new, &p, timeout, false) {
        Ok(()) => {
            super::cleanup::after_switch(store, fx, from, old.as_ref(), Some(to), &new);
            set_outcome(store, to, success, None);
            fx.report.status(&format!("generation {to} is current"));
            ApplyResult::Done
        }
        Err(e) => {
            let back = from.map_or("no generation".to_string(), |f| format!("generation {f}"));
            fx.report.error(
                &[],
                &format!("switching to generation {to} failed: {e}; rolling back to {back}"),
            );
            set_outcome(store, to, Outcome::RolledBack, Some(e.clone()));
            fx.report.notify_status(&format!(
                "generation {to} failed; rolling back to {back}: {e}"
            ));
            match undo(store, fx, to, from, timeout) {
                Ok(()) => {
                    fx.report.warn(
                        &[("MESSAGE_ID", crate::logging::ids::ROLLED_BACK)],
                        &format!("rolled back to {back}"),
                    );
                    fx.report.notify_status(&format!(
                        "generation {to} failed and was rolled back to {back}: {e}"
                    ));
                    ApplyResult::RolledBack(e)
                }
                Err(e2) => {
                    fx.report.error(
                        &[("MESSAGE_ID", crate::logging::ids::ROLLBACK_FAILED)],
                        &format!("rollback to {back} failed: {e2}"),
                    );
                    fx.report.notify_status(&format!(
                        "generation {to} failed ({e}) and the rollback to {back} failed: {e2}"
                    ));
                    ApplyResult::RollbackFailed(e, e2)
                }
            }
        }
    };
    super::faultpoint::hit("recorded");
    store.clear_intent()?;
    Ok(result)
}

/// Finishes what a killed run left (the intent file): a switch is finished (applied again: the
/// restarts it had not done yet happen now), a rollback is redone. None when there was nothing.
pub fn recover(
    store: &StateStore,
    fx: &Effects,
    timeout: Duration,
) -> Result<Option<ApplyResult>, StoreError> {
    let intent = match store.read_intent() {
        Ok(Some(i)) => i,
        Ok(None) => return Ok(None),
        Err(e @ StoreError::Intent { .. }) => {
            let Some(i) = store.rebuild_intent() else {
                fx.report
                    .warn(&[], &format!("{e}; nothing was switched: removing it"));
                store.clear_intent()?;
                return Ok(None);
            };
            fx.report
                .warn(&[], &format!("{e}; rebuilt from the generations' outcomes"));
            i
        }
        Err(e) => return Err(e),
    };
    let removed = store.remove_staged_leftovers()?;
    for r in removed {
        fx.report.warn(
            &[],
            &format!("removed a half-written generation: {}", r.display()),
        );
    }
    if !intent.switched {
        store.clear_intent()?;
        return Ok(None);
    }
    if intent.rolling_back {
        let failed = intent.from.unwrap_or(0);
        let to = (intent.to != 0).then_some(intent.to);
        fx.report.warn(
            &[],
            &format!("a rollback from generation {failed} was interrupted; finishing it"),
        );
        let r = match undo(store, fx, failed, to, timeout) {
            Ok(()) => ApplyResult::RolledBack("interrupted deploy".into()),
            Err(e) => ApplyResult::RollbackFailed("interrupted deploy".into(), e),
        };
        store.clear_intent()?;
        return Ok(Some(r));
    }
    fx.report.warn(
        &[],
        &format!(
            "a deploy of generation {} was interrupted; finishing it",
            intent.to
        ),
    );
    apply(
        store,
        fx,
        intent.from,
        intent.to,
        Outcome::Deployed,
        timeout,
    )
    .map(Some)
}
