//! How a container starts, stops, restarts and is checked: healthcheck, restart policy,
//! `depends_on`, stop signal and grace period.

use crate::compose::Service;
use crate::quadlet::{ContainerSection, ServiceSection, UnitSection};

use super::ctx::Ctx;
use super::names::duration_seconds;
use crate::quadlet::versions::first_version;

/// A `.container` unit while it is built.
#[derive(Default)]
pub struct Parts {
    pub c: ContainerSection,
    pub unit: UnitSection,
    pub service: ServiceSection,
}

/// `HealthCmd=` and friends. Returns whether the service has an enabled healthcheck.
pub fn healthcheck(cx: &mut Ctx, name: &str, svc: &Service, u: &mut Parts) -> bool {
    let f = format!("services.{name}.healthcheck");
    let Some(h) = &svc.healthcheck else {
        return false;
    };
    let c = &mut u.c;
    let test = h.test.clone().unwrap_or_default();
    let disabled = h.disable == Some(true) || test.first().map(String::as_str) == Some("NONE");
    if disabled {
        c.health_cmd = Some("none".into());
        return false;
    }
    match test.first().map(String::as_str) {
        // Podman reads a JSON array as the exec form; given without "CMD" (it would split the
        // text on blanks when the first element is CMD).
        Some("CMD") if test.len() > 1 => {
            c.health_cmd = serde_json::to_string(&test[1..]).ok();
        }
        Some("CMD-SHELL") if test.len() == 2 => {
            let cmd = &test[1];
            c.health_cmd = if crate::quadlet::escape::is_raw_safe(cmd) {
                Some(format!("CMD-SHELL {cmd}"))
            } else {
                // A multi-line script: the exec form of what Podman runs for CMD-SHELL.
                serde_json::to_string(&["/bin/sh", "-c", cmd]).ok()
            };
        }
        None => {
            // Only timings: they tune the image's own HEALTHCHECK.
        }
        _ => {
            cx.error(
                &format!("{f}.test"),
                "must be [\"CMD\", args...], [\"CMD-SHELL\", command] or [\"NONE\"]",
            );
            return false;
        }
    }
    c.health_interval = h.interval.clone();
    c.health_timeout = h.timeout.clone();
    c.health_retries = h.retries;
    c.health_start_period = h.start_period.clone();
    if h.start_interval.is_some() {
        cx.warn(
            &format!("{f}.start_interval"),
            "Podman has no start interval; the regular interval applies during the start period",
        );
    }
    true
}

/// Whether the deploy's health gate checks this container's health: compose gives it a
/// healthcheck test, or another service waits for it to be healthy (then the image's
/// `HEALTHCHECK` counts). Without either, the gate still asks Podman at deploy time whether the
/// container has a healthcheck (an image's own, tuned by timings only).
pub fn gates_on_health(svc: &Service, has_health: bool, waits_healthy: bool) -> bool {
    let declares_test = svc
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.test.as_ref().is_some_and(|t| !t.is_empty()));
    (has_health && declares_test) || (waits_healthy && (has_health || svc.healthcheck.is_none()))
}

/// `restart:` and `deploy.restart_policy` → `Restart=`.
pub fn restart(cx: &mut Ctx, name: &str, svc: &Service, u: &mut Parts) {
    let f = format!("services.{name}");
    restart_policy(cx, &f, svc, u);
    // `on-failure` must still restart a container killed the way a stop kills it (which
    // `SuccessExitStatus=` counts as success); a stop on purpose is never restarted.
    if u.service.restart.as_deref() == Some("on-failure") {
        u.service.restart_force_exit_status = u.service.success_exit_status.clone();
    }
}

fn restart_policy(cx: &mut Ctx, f: &str, svc: &Service, u: &mut Parts) {
    let policy = svc.deploy.as_ref().and_then(|d| d.restart_policy.as_ref());
    if let Some(p) = policy {
        let r = match p.condition.as_deref() {
            None | Some("any") => "always",
            Some("on-failure") => "on-failure",
            Some("none") => "no",
            Some(other) => {
                cx.warn(
                    &format!("{f}.deploy.restart_policy.condition"),
                    format!("unknown condition {other:?}; no restart"),
                );
                "no"
            }
        };
        u.service.restart = Some(r.into());
        if let Some(d) = &p.delay {
            u.service.restart_sec = duration_seconds(d).map(|s| s.to_string());
        }
        if let Some(n) = p.max_attempts {
            u.unit.start_limit_burst = u32::try_from(n.saturating_add(1)).ok();
        }
        if p.window.is_some() {
            cx.warn(
                &format!("{f}.deploy.restart_policy.window"),
                "no systemd equivalent; ignored",
            );
        }
        return;
    }
    let Some(r) = &svc.restart else { return };
    let (mode, max) = match r.split_once(':') {
        Some((m, n)) => (m, n.parse::<u32>().ok()),
        None => (r.as_str(), None),
    };
    let v = match mode {
        "no" => "no",
        "always" | "unless-stopped" => "always",
        "on-failure" => "on-failure",
        other => {
            cx.warn(
                &format!("{f}.restart"),
                format!("unknown restart policy {other:?}; no restart"),
            );
            return;
        }
    };
    u.service.restart = Some(v.into());
    if let Some(n) = max {
        // systemd counts starts, Docker counts restarts.
        u.unit.start_limit_burst = Some(n.saturating_add(1));
    }
}

/// `depends_on` → `Requires=`/`Wants=` + `After=`, and `PartOf=` for `restart: true`.
/// Returns the units this one starts after.
pub fn depends_on(cx: &mut Ctx, name: &str, svc: &Service, u: &mut Parts) -> Vec<String> {
    let mut after = Vec::new();
    for (dep, d) in &svc.depends_on {
        let f = format!("services.{name}.depends_on.{dep}");
        if !cx.stack.project.services.contains_key(dep) {
            if d.required {
                cx.error(&f, format!("service {dep:?} is not in this stack"));
            } else {
                cx.warn(
                    &f,
                    format!("optional dependency {dep:?} is not in this stack; ignored"),
                );
            }
            continue;
        }
        let unit = cx.service_unit(dep);
        match d.condition.as_str() {
            "" | "service_started" | "service_healthy" | "service_completed_successfully" => {}
            other => cx.warn(
                &format!("{f}.condition"),
                format!("unknown condition {other:?}; treated as service_started"),
            ),
        }
        if d.required {
            u.unit.requires.push(unit.clone());
        } else {
            u.unit.wants.push(unit.clone());
        }
        u.unit.after.push(unit.clone());
        if d.restart == Some(true) {
            u.unit.part_of.push(unit.clone());
        }
        after.push(unit);
    }
    after
}

/// Makes `u` wait until its container is healthy before its start completes: `Notify=healthy`
/// on Podman 5.0+, else an `ExecStartPost=` that polls `podman healthcheck run`, bounded by the
/// healthcheck's own timings.
pub fn wait_healthy(cx: &Ctx, svc: &Service, container_name: &str, u: &mut Parts) {
    // How long the healthcheck may take to pass, by its own timings (Docker's defaults).
    let h = svc.healthcheck.clone().unwrap_or_default();
    let secs = |v: &Option<String>, d: u64| v.as_deref().and_then(duration_seconds).unwrap_or(d);
    let interval = secs(&h.interval, 30).max(1);
    let timeout = secs(&h.timeout, 30);
    let start = secs(&h.start_period, 0);
    let retries = h.retries.unwrap_or(3).max(1);
    let limit = start + (retries + 1) * (interval + timeout);
    // systemd's start timeout (90 s by default) must not cut the wait short; the margin covers
    // the image pull and the container start.
    u.service.timeout_start_sec = Some((limit + 90).to_string());
    if cx.opts.podman_version >= first_version("Container", "Notify=healthy") {
        u.c.notify = Some("healthy".into());
        return;
    }
    let script = format!(
        "end=$(( $(date +%s) + {limit} )); \
         until /usr/bin/podman healthcheck run {container_name} >/dev/null 2>&1; do \
         if [ \"$(date +%s)\" -ge \"$end\" ]; then echo '{container_name} did not become healthy within {limit}s' >&2; exit 1; fi; \
         sleep 1; done"
    );
    u.service
        .exec_start_post
        .push(vec!["/bin/sh".into(), "-c".into(), script]);
}

/// `Type=oneshot` + `RemainAfterExit=yes`: the dependent starts once this one exited with 0.
pub fn make_oneshot(cx: &mut Ctx, name: &str, u: &mut Parts) {
    if u.service.restart.as_deref().is_some_and(|r| r != "no") {
        cx.warn(&format!("services.{name}.restart"), "a service others wait on with service_completed_successfully runs once; its restart policy is not applied");
    }
    u.service.restart = None;
    u.service.restart_force_exit_status = None;
    // A oneshot killed is not a oneshot that completed: only exit 0 lets its dependents start.
    u.service.success_exit_status = None;
    u.unit.start_limit_burst = None;
    u.service.service_type = Some("oneshot".into());
    u.service.remain_after_exit = Some(true);
}

/// Beyond Podman's grace period, the time systemd gives a stop (the removal after the kill).
const STOP_MARGIN_SECS: u64 = 30;

/// `stop_signal`, `stop_grace_period`, and what a container stopped on purpose exits with.
pub fn stop(cx: &mut Ctx, name: &str, svc: &Service, u: &mut Parts) {
    let c = &mut u.c;
    c.stop_signal = svc.stop_signal.clone();
    if let Some(g) = &svc.stop_grace_period {
        match duration_seconds(g) {
            Some(s) => {
                c.stop_timeout = Some(s);
                // systemd's own stop timeout (90 s by default) must not cut Podman's short.
                u.service.timeout_stop_sec = Some(s.saturating_add(STOP_MARGIN_SECS).to_string());
            }
            None => cx.warn(
                &format!("services.{name}.stop_grace_period"),
                format!("{g:?} is not a duration; ignored"),
            ),
        }
    }
    u.service.success_exit_status = Some(stopped_exit_codes(svc.stop_signal.as_deref()));
}

/// The exit codes of a container stopped on purpose: conmon exits with 128 + the signal that
/// ended it, the stop signal (SIGTERM by default) or SIGKILL once the grace period is over.
/// Without these in `SuccessExitStatus=`, every stop leaves a `failed` unit.
fn stopped_exit_codes(stop_signal: Option<&str>) -> String {
    let mut codes = vec![128 + 9, 128 + 15];
    if let Some(n) = stop_signal.and_then(signal_number) {
        codes.push(128 + n);
    }
    codes.sort_unstable();
    codes.dedup();
    codes
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A signal's number on Linux (x86 and arm numbering agree for these), from `SIGTERM`, `TERM` or
/// `15`.
fn signal_number(sig: &str) -> Option<u32> {
    let s = sig.trim();
    if let Ok(n) = s.parse::<u32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let s = s.to_ascii_uppercase();
    let s = s.strip_prefix("SIG").unwrap_or(&s);
    let n = match s {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "WINCH" => 28,
        "PWR" => 30,
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_on_purpose_exits_with_a_success_code() {
        assert_eq!(stopped_exit_codes(None), "137 143");
        assert_eq!(stopped_exit_codes(Some("SIGINT")), "130 137 143");
        assert_eq!(stopped_exit_codes(Some("quit")), "131 137 143");
        assert_eq!(stopped_exit_codes(Some("SIGKILL")), "137 143");
        assert_eq!(stopped_exit_codes(Some("10")), "137 138 143");
        // Unknown or out of range: the defaults only.
        assert_eq!(stopped_exit_codes(Some("SIGNOPE")), "137 143");
        assert_eq!(stopped_exit_codes(Some("99")), "137 143");
    }
}
