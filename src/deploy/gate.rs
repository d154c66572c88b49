//! The health gate: after the restart jobs of a level are queued (never waited on), every unit of
//! the level is polled until it is up, has failed, or the level's deadline (the deploy's
//! `--timeout`) has passed. "Up" means:
//! - a oneshot ran to success (exit 0);
//! - a service is active, systemd has not restarted it on its own since the deploy started it (a
//!   `Restart=` loop may never show `failed`: `activating/auto-restart` or a growing `NRestarts`
//!   is a failure), and, when its container has a healthcheck, the check passes. A container has
//!   one when the manifest says so (compose's `healthcheck:`), or when `podman inspect` shows a
//!   health status (the image's `HEALTHCHECK`), whether or not another service waits on it.
//!
//! The healthcheck is run actively (`podman healthcheck run`): Podman's own healthcheck timers are
//! transient systemd units that may not exist on every host. While waiting, a log line and
//! `STATUS=` every few seconds say which unit, which check, and how long is left.

use crate::logging::ids;
use std::time::Duration;

use super::effects::Effects;
use super::manifest::ContainerManifest;

/// How often the units are looked at.
pub const POLL: Duration = Duration::from_secs(1);
/// How often a wait says what it waits for.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long a restarted unit must stay up (not restarted by systemd, not failed, not exited) before
/// the deploy counts it: a container that crashes a few seconds after it started would otherwise
/// pass the gate and loop behind it.
pub const SETTLE: Duration = Duration::from_secs(5);
/// The longest one `podman healthcheck run` may take (the remaining time bounds it too).
const CHECK_MAX: Duration = Duration::from_secs(30);

/// What one look at a unit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    Up,
    /// Not yet: what it waits for.
    Waiting(String),
    Failed(String),
}

/// One unit the gate waits for, and what it remembers between looks.
pub struct Watch<'a> {
    pub unit: &'a str,
    pub stack: &'a str,
    pub container: Option<&'a ContainerManifest>,
    /// The invocation the unit had before the deploy queued its restart: while it still shows
    /// it, the restart job has not begun and the state seen is the old one.
    pub stale_invocation: Option<String>,
    /// The fewest automatic restarts seen since the restart was queued (a manual start may reset
    /// the counter): more than that means systemd restarted it on its own.
    pub min_restarts: u64,
    /// Whether its container has a healthcheck, once known.
    has_health: Option<bool>,
    /// When it was found up (the clock's time).
    up_at: Option<Duration>,
}

impl<'a> Watch<'a> {
    pub fn new(
        unit: &'a str,
        stack: &'a str,
        container: Option<&'a ContainerManifest>,
        stale_invocation: Option<String>,
        restarts_before: u64,
    ) -> Watch<'a> {
        Watch {
            unit,
            stack,
            container,
            stale_invocation: stale_invocation.filter(|i| !i.is_empty()),
            min_restarts: restarts_before,
            has_health: None,
            up_at: None,
        }
    }
}

/// Whether a unit found up is still up, by its state alone: Some(why) when it failed, exited, or
/// systemd restarted it since.
fn still_up(fx: &Effects, w: &mut Watch) -> Option<String> {
    let st = fx.systemd.show(w.unit).ok()?;
    let unit = w.unit;
    let state = format!("{}/{}", st.active_state, st.sub_state);
    let oneshot = w.container.is_some_and(|c| c.oneshot);
    w.min_restarts = w.min_restarts.min(st.n_restarts);
    let restarts = st.n_restarts - w.min_restarts;
    if st.active_state == "failed" {
        Some(format!(
            "{unit} failed after it started ({state}, result {})",
            st.result
        ))
    } else if oneshot {
        None
    } else if st.sub_state == "auto-restart" || restarts > 0 {
        Some(format!(
            "{unit} keeps restarting ({state}, {restarts} automatic restart(s) since the deploy \
             started it, last result {})",
            st.result
        ))
    } else if st.active_state != "active" {
        Some(format!(
            "{unit} did not stay up ({state}, result {})",
            st.result
        ))
    } else {
        None
    }
}

/// Waits until every unit of `watches` has been up for `SETTLE` (at most `timeout`); Err when
/// one went down meanwhile.
pub fn settle(fx: &Effects, watches: &mut [Watch], timeout: Duration) -> Result<(), String> {
    let start = fx.clock.elapsed();
    let settle = SETTLE.min(timeout);
    loop {
        for w in watches.iter_mut() {
            if let Some(e) = still_up(fx, w) {
                fx.report.error(
                    &[
                        ("STACK", w.stack),
                        ("UNIT", w.unit),
                        ("MESSAGE_ID", ids::UNIT_UNHEALTHY),
                    ],
                    &e,
                );
                return Err(e);
            }
        }
        let now = fx.clock.elapsed();
        let last_up = watches.iter().filter_map(|w| w.up_at).max().unwrap_or(now);
        let until = last_up.min(start) + settle;
        if now >= until {
            return Ok(());
        }
        fx.clock.sleep(POLL.min(until - now));
    }
}

/// Looks at one unit once. `remaining` bounds the healthcheck run.
pub fn look(fx: &Effects, w: &mut Watch, remaining: Duration) -> Look {
    let unit = w.unit;
    let st = match fx.systemd.show(unit) {
        Ok(st) => st,
        Err(e) => return Look::Waiting(e.to_string()),
    };
    if !matches!(st.load_state.as_str(), "" | "loaded") {
        return Look::Failed(format!("{unit} cannot be loaded ({})", st.load_state));
    }
    if w.stale_invocation
        .as_ref()
        .is_some_and(|old| *old == st.invocation_id)
    {
        return Look::Waiting(format!("{unit}: its restart job has not begun"));
    }
    w.min_restarts = w.min_restarts.min(st.n_restarts);
    let state = format!("{}/{}", st.active_state, st.sub_state);
    if st.active_state == "failed" {
        return Look::Failed(format!("{unit} failed ({state}, result {})", st.result));
    }
    let restarts = st.n_restarts - w.min_restarts;
    if st.sub_state == "auto-restart" || restarts > 0 {
        return Look::Failed(format!(
            "{unit} keeps restarting ({state}, {restarts} automatic restart(s) since the deploy \
             started it, last result {})",
            st.result
        ));
    }
    let oneshot = w.container.is_some_and(|c| c.oneshot);
    if oneshot {
        return match st.active_state.as_str() {
            // RemainAfterExit=yes keeps a oneshot that exited 0 active.
            "active" => Look::Up,
            "inactive" if st.result == "success" && !st.invocation_id.is_empty() => Look::Up,
            "inactive" if !st.result.is_empty() && st.result != "success" => {
                Look::Failed(format!("{unit} did not exit 0 (result {})", st.result))
            }
            _ => Look::Waiting(format!(
                "{unit} runs to completion ({state}); it must exit 0"
            )),
        };
    }
    let name = w.container.map(|c| c.container_name.as_str());
    if st.active_state == "inactive" && !st.invocation_id.is_empty() {
        // Started (a new invocation) and down again: its container exited, and nothing restarts it.
        return Look::Failed(format!("{unit} exited ({state}, result {})", st.result));
    }
    if st.active_state != "active" {
        let why = match name {
            // Podman < 5: an `ExecStartPost=` health poll; Podman 5 (`Notify=healthy`): the start
            // job itself lasts until the container is healthy.
            Some(n)
                if st.sub_state == "start-post"
                    || (st.sub_state == "start" && w.container.is_some_and(|c| c.healthcheck)) =>
            {
                format!(
                    "{unit} is starting ({state}: its start waits for container {n} to be healthy)"
                )
            }
            _ => format!("{unit} is starting ({state})"),
        };
        return Look::Waiting(why);
    }
    let Some(name) = name else { return Look::Up };
    let has_health = *w.has_health.get_or_insert_with(|| {
        w.container.is_some_and(|c| c.healthcheck)
            || fx
                .podman
                .inspect(name)
                .is_some_and(|s| !s.health.is_empty())
    });
    if !has_health {
        return Look::Up;
    }
    let bound = remaining.min(CHECK_MAX).max(Duration::from_secs(1));
    match fx.podman.healthcheck(name, bound) {
        Ok(true) => Look::Up,
        Ok(false) => Look::Waiting(format!(
            "{unit}: the health check of container {name} fails (unhealthy)"
        )),
        Err(e) => Look::Waiting(format!("{unit}: the health check of container {name}: {e}")),
    }
}

/// Waits until every unit of `watches` is up; Err at the first failure or when `timeout` has
/// passed. `label` names the wait in the progress lines ("level 1/2").
pub fn wait_all(
    fx: &Effects,
    label: &str,
    watches: &mut [Watch],
    timeout: Duration,
) -> Result<(), String> {
    let start = fx.clock.elapsed();
    let deadline = start + timeout;
    let mut last_progress = start;
    loop {
        let remaining = deadline.saturating_sub(fx.clock.elapsed());
        let mut waiting = Vec::new();
        for w in watches.iter_mut().filter(|w| w.up_at.is_none()) {
            let (stack, unit) = (w.stack, w.unit);
            let fields = |id| [("STACK", stack), ("UNIT", unit), ("MESSAGE_ID", id)];
            match look(fx, w, remaining) {
                Look::Up => {
                    w.up_at = Some(fx.clock.elapsed());
                    fx.report
                        .info(&fields(ids::UNIT_UP), &format!("{} is up", w.unit));
                }
                Look::Failed(e) => {
                    fx.report.error(&fields(ids::UNIT_UNHEALTHY), &e);
                    return Err(e);
                }
                Look::Waiting(why) => waiting.push((w.unit, w.stack, why)),
            }
        }
        let Some((unit, stack, why)) = waiting.first() else {
            return Ok(());
        };
        let now = fx.clock.elapsed();
        if now >= deadline {
            let e = format!(
                "{unit} is not up within the timeout ({}s): {why}",
                timeout.as_secs()
            );
            fx.report.error(
                &[
                    ("STACK", stack),
                    ("UNIT", unit),
                    ("MESSAGE_ID", ids::UNIT_UNHEALTHY),
                ],
                &e,
            );
            return Err(e);
        }
        let left = (deadline - now).as_secs();
        if now - last_progress >= PROGRESS_EVERY {
            last_progress = now;
            for (unit, stack, why) in &waiting {
                fx.report.info(
                    &[("STACK", stack), ("UNIT", unit)],
                    &format!("{label}: waiting for {unit}: {why}; {left}s left"),
                );
            }
        }
        // STATUS= (and the terminal's spinner) count down at every poll; the log every 5 s.
        let more = match waiting.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        fx.report.notify_status(&format!(
            "{label}: waiting for {unit}{more}: {why}; {left}s left"
        ));
        fx.clock.sleep(POLL.min(deadline - now));
    }
}
