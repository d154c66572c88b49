//! Ordered restarts: level by level (one `systemctl restart` per level, so independent units of a
//! level start in parallel), then a wait until each unit is active and its container healthy.
//!
//! The health check is run actively (`podman healthcheck run`): Podman's own healthcheck timers are
//! transient systemd units that may not exist on every host.

use std::collections::BTreeMap;
use std::time::Duration;

use super::effects::Effects;
use super::manifest::{ContainerManifest, Manifest};

const POLL: Duration = Duration::from_millis(500);

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

/// Waits until `unit` is up: a oneshot has run to success, a service is active and (with a
/// healthcheck) healthy. Fails at once on a failed unit, or at `deadline`.
fn wait_unit(
    fx: &Effects,
    unit: &str,
    container: Option<&ContainerManifest>,
    deadline: Duration,
) -> Result<(), String> {
    let oneshot = container.is_some_and(|c| c.oneshot);
    let mut last;
    loop {
        let st = fx.systemd.show(unit)?;
        let active = st.active_state == "active";
        if st.active_state == "failed" {
            return Err(format!("{unit} failed ({})", st.result));
        }
        if oneshot
            && st.active_state == "inactive"
            && st.result == "success"
            && !st.invocation_id.is_empty()
        {
            return Ok(());
        }
        if oneshot
            && st.active_state == "inactive"
            && !st.result.is_empty()
            && st.result != "success"
        {
            return Err(format!("{unit} did not complete ({})", st.result));
        }
        if active && !oneshot {
            match container {
                Some(c) if c.healthcheck => match fx.podman.healthcheck(&c.container_name) {
                    Ok(true) => return Ok(()),
                    Ok(false) => last = format!("container {} is unhealthy", c.container_name),
                    Err(e) => last = e,
                },
                _ => return Ok(()),
            }
        } else if active {
            return Ok(());
        } else {
            last = format!("{unit} is {}/{}", st.active_state, st.sub_state);
        }
        if fx.clock.elapsed() >= deadline {
            return Err(format!(
                "{unit} not active and healthy within the timeout: {last}"
            ));
        }
        fx.clock.sleep(POLL);
    }
}

/// Restarts `levels` in order, waiting for each level to be healthy before the next. A unit of a
/// later level that systemd already restarted through a dependency (its invocation changed since
/// the start) is not restarted again.
pub fn restart_levels(
    fx: &Effects,
    manifest: &Manifest,
    levels: &[Vec<String>],
    timeout: Duration,
) -> Result<(), String> {
    let containers = containers_by_unit(manifest);
    let before: BTreeMap<String, String> = levels
        .iter()
        .flatten()
        .map(|u| {
            let id = fx
                .systemd
                .show(u)
                .map(|s| s.invocation_id)
                .unwrap_or_default();
            (u.clone(), id)
        })
        .collect();
    for (i, level) in levels.iter().enumerate() {
        let todo: Vec<String> = level
            .iter()
            .filter(|u| {
                if i == 0 {
                    return true;
                }
                let now = fx
                    .systemd
                    .show(u)
                    .map(|s| s.invocation_id)
                    .unwrap_or_default();
                now.is_empty() || before.get(*u) == Some(&now)
            })
            .cloned()
            .collect();
        fx.report.status(&format!(
            "restarting level {}/{}: {}",
            i + 1,
            levels.len(),
            level.join(" ")
        ));
        for u in &todo {
            let stack = containers.get(u).map(|(s, _)| s.as_str()).unwrap_or("");
            fx.report
                .info(&[("STACK", stack), ("UNIT", u)], &format!("restarting {u}"));
        }
        if todo.is_empty() {
            // Restarted already through their dependencies: only wait for them.
        } else if let Err(e) = fx.systemd.restart(&todo) {
            // The job result says little; the unit states below say which one failed.
            fx.report.warn(&[], &e);
        }
        super::faultpoint::hit("restarting");
        let deadline = fx.clock.elapsed() + timeout;
        for u in level {
            let c = containers.get(u).map(|(_, c)| c);
            if let Err(e) = wait_unit(fx, u, c, deadline) {
                let stack = containers.get(u).map(|(s, _)| s.as_str()).unwrap_or("");
                fx.report.error(&[("STACK", stack), ("UNIT", u)], &e);
                return Err(e);
            }
            fx.report.info(&[("UNIT", u)], &format!("{u} is up"));
        }
    }
    Ok(())
}
