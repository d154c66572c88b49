//! Ordered restarts: level by level, the restart jobs of a level queued together (`--no-block`:
//! systemd starts independent units in parallel, and no unit job can hold the deploy longer than
//! its timeout), then the health gate (`gate`) until every unit of the level is up; at the end,
//! every restarted unit must stay up a few seconds (`gate::SETTLE`). And the
//! stops: queued too, the containers removed, the `failed` states forgotten.

use std::collections::BTreeMap;
use std::time::Duration;

use super::effects::{Effects, UnitState};
use super::gate::{settle, wait_all, Watch, POLL, SETTLE};
use super::manifest::{ContainerManifest, Manifest};

/// Container facts by unit, from a manifest.
pub fn containers_by_unit(m: &Manifest) -> BTreeMap<String, (String, ContainerManifest)> {
    m.stacks
        .iter()
        .flat_map(|(stack, s)| {
            s.containers
                .iter()
                .map(move |c| (c.unit.clone(), (stack.clone(), c.clone())))
        })
        .collect()
}

/// Restarts `levels` in order, waiting (at most `timeout` per level) for each level to be up
/// before the next. A unit of a later level that systemd already restarted through a dependency
/// (its invocation changed since the start) is not restarted again.
pub fn restart_levels(
    fx: &Effects,
    manifest: &Manifest,
    levels: &[Vec<String>],
    timeout: Duration,
) -> Result<(), String> {
    let containers = containers_by_unit(manifest);
    let before: BTreeMap<String, UnitState> = levels
        .iter()
        .flatten()
        .map(|u| (u.clone(), fx.systemd.show(u).unwrap_or_default()))
        .collect();
    let mut all = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        let label = format!("level {}/{}", i + 1, levels.len());
        let mut watches = Vec::new();
        let mut todo = Vec::new();
        for u in level {
            let old = before.get(u).cloned().unwrap_or_default();
            let now = if i == 0 {
                old.clone()
            } else {
                fx.systemd.show(u).unwrap_or_default()
            };
            // Restarted already through its dependencies: only wait for it.
            let restart = now.invocation_id.is_empty() || now.invocation_id == old.invocation_id;
            if restart {
                todo.push(u.clone());
            }
            let (stack, c) = match containers.get(u) {
                Some((s, c)) => (s.as_str(), Some(c)),
                None => ("", None),
            };
            watches.push(Watch::new(
                u,
                stack,
                c,
                restart.then(|| now.invocation_id.clone()),
                now.n_restarts,
            ));
        }
        fx.report.status(&format!(
            "restarting {label}: {} (waiting up to {}s)",
            level.join(" "),
            timeout.as_secs()
        ));
        // The level's health wait is bounded by `timeout`; the service's start timeout must
        // not end it first.
        fx.report.extend_timeout(timeout + STEP_MARGIN);
        for u in &todo {
            let stack = containers.get(u).map(|(s, _)| s.as_str()).unwrap_or("");
            fx.report.info(
                &[
                    ("STACK", stack),
                    ("UNIT", u),
                    ("MESSAGE_ID", crate::logging::ids::UNIT_RESTARTED),
                ],
                &format!("restarting {u}"),
            );
        }
        if !todo.is_empty() {
            fx.systemd
                .restart(&todo)
                .inspect_err(|e| fx.report.error(&[], &e.to_string()))?;
        }
        super::faultpoint::hit("restarting");
        wait_all(fx, &label, &mut watches, timeout)?;
        all.extend(watches);
    }
    if !all.is_empty() {
        fx.report.status(&format!(
            "checking that the restarted units stay up ({}s)",
            SETTLE.min(timeout).as_secs()
        ));
        fx.report.extend_timeout(SETTLE.min(timeout) + STEP_MARGIN);
        settle(fx, &mut all, timeout)?;
    }
    Ok(())
}

/// What a step may take beyond its own bound (systemctl calls, journal writes) when it extends
/// the service's start timeout.
pub const STEP_MARGIN: Duration = Duration::from_secs(60);

/// Stops `units` and removes `containers` (theirs), waiting at most `timeout` for the units to
/// be down; then forgets their `failed` states. The unit's `ExecStop=` removes its container, but
/// not when its start never completed (systemd then only signals the main process, and the
/// container may outlive it): removing the containers ourselves leaves nothing running, bounded
/// by each container's own stop timeout.
pub fn stop_units(
    fx: &Effects,
    units: &[String],
    containers: &[String],
    timeout: Duration,
) -> Result<(), String> {
    if units.is_empty() && containers.is_empty() {
        return Ok(());
    }
    fx.report.status(&format!("stopping {}", units.join(" ")));
    fx.systemd.stop(units)?;
    // In parallel: each may take its whole stop grace period.
    std::thread::scope(|scope| {
        for c in containers {
            scope.spawn(move || {
                if let Err(e) = fx.podman.remove_container(c) {
                    fx.report.warn(&[], &format!("removing container {c}: {e}"));
                }
            });
        }
    });
    let deadline = fx.clock.elapsed() + timeout;
    loop {
        let busy: Vec<&String> = units
            .iter()
            .filter(|u| {
                fx.systemd
                    .show(u)
                    .is_ok_and(|s| !matches!(s.active_state.as_str(), "inactive" | "failed" | ""))
            })
            .collect();
        let Some(first) = busy.first() else { break };
        let now = fx.clock.elapsed();
        if now >= deadline {
            fx.report.warn(
                &[("UNIT", first)],
                &format!(
                    "{first} is not stopped within the timeout ({}s)",
                    timeout.as_secs()
                ),
            );
            break;
        }
        fx.clock.sleep(POLL.min(deadline - now));
    }
    forget_failed(fx, units);
    Ok(())
}

/// `reset-failed` for those of `units` that are failed: a unit stopped or replaced on purpose
/// leaves no `failed` state behind.
pub fn forget_failed(fx: &Effects, units: &[String]) {
    let failed: Vec<String> = units
        .iter()
        .filter(|u| fx.systemd.show(u).is_ok_and(|s| s.active_state == "failed"))
        .cloned()
        .collect();
    if failed.is_empty() {
        return;
    }
    if let Err(e) = fx.systemd.reset_failed(&failed) {
        fx.report.warn(&[], &e.to_string());
    }
}
