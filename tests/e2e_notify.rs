//! `Notify=healthy` for real, on the lab flavour at hand (`RELEASE_TOOL_LAB_ENV`): Podman 5 holds a
//! unit in `activating` until its container's health check passes and fails the start when it never
//! does; Podman 4.3 has no `--sdnotify=healthy`, which is why the translator must not emit the key for
//! it. The same tests run against both flavours (`ci/test` runs every `tests/e2e*.rs` twice), each
//! asserting what that flavour's Podman does.

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use common::lab::Lab as CommonLab;
use harness::lab::{text, Lab};
use std::path::PathBuf;

/// Quadlet files written for one test; their units stopped, their containers removed, the files
/// removed, the manager reloaded and the failed states reset when dropped, pass or fail.
struct Units<'a> {
    lab: &'a CommonLab,
    files: Vec<PathBuf>,
    units: Vec<String>,
    containers: Vec<String>,
}

impl Drop for Units<'_> {
    fn drop(&mut self) {
        for unit in &self.units {
            let _ = self.lab.systemctl(&["stop", unit]);
        }
        // On Podman 5 a container whose Notify=healthy start timed out is left `Exited (-1)`: the
        // unit's `podman rm` finds it "could not be stopped" (its `podman run` was killed mid-wait).
        for c in &self.containers {
            let _ = self.lab.run(&["podman", "rm", "-f", "-t", "0", c]);
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        let _ = self.lab.systemctl(&["daemon-reload"]);
        for unit in &self.units {
            let _ = self.lab.systemctl(&["reset-failed", unit]);
        }
    }
}

fn prop(lab: &CommonLab, unit: &str, name: &str) -> String {
    let out = lab.systemctl(&["show", "-p", name, "--value", unit]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn health(lab: &CommonLab, container: &str) -> String {
    let out = lab.run(&[
        "podman",
        "inspect",
        "--format",
        "{{.State.Health.Status}}",
        container,
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn notify_healthy_units_start_when_healthy_and_fail_when_never() {
    // The harness's lab, not the bare one: it serializes this test with the other one here, whose
    // reset and deploy stop units and reload the manager while these units would be starting (one CI
    // run saw the never-healthy unit's `systemctl start` exit 0 on Podman 4.3 with a deploy beside).
    let Some(serial) = Lab::get("notify_healthy_units_start_when_healthy_and_fail_when_never")
    else {
        return;
    };
    let lab = &serial.lab;
    let good = format!("notify-good-{}", std::process::id());
    let bad = format!("notify-bad-{}", std::process::id());
    let mut units = Units {
        lab,
        files: Vec::new(),
        units: vec![format!("{good}.service"), format!("{bad}.service")],
        containers: vec![good.clone(), bad.clone()],
    };
    // A health check that passes once httpd listens, and one that never can (the unhealthy image's
    // httpd never listens; its own HEALTHCHECK fails every 2 s). TimeoutStopSec: when the start times
    // out, systemd stops the `podman run` still waiting for "healthy", which ignores SIGTERM; without
    // it that takes systemd's default 90 s.
    for (name, image, extra) in [
        (
            &good,
            &lab.image,
            "Exec=httpd -f -p 8080 -h /www\n\
             HealthCmd=wget -q -O /dev/null http://127.0.0.1:8080/\nHealthInterval=1s\n",
        ),
        (&bad, &lab.unhealthy_image, ""),
    ] {
        let path = lab.quadlet_dir().join(format!("{name}.container"));
        lab.write_file(
            &path,
            format!(
                "[Container]\nImage={image}\nContainerName={name}\n{extra}Notify=healthy\n\
                 StopSignal=SIGKILL\n\n[Service]\nTimeoutStartSec=15\nTimeoutStopSec=5\n"
            ),
        );
        units.files.push(path);
    }
    lab.systemctl_ok(&["daemon-reload"]);
    let unit_text = lab.systemctl_ok(&["cat", &format!("{good}.service")]);
    assert!(
        unit_text.contains("--sdnotify=healthy") && unit_text.contains("Type=notify"),
        "Quadlet did not turn Notify=healthy into a notify unit:\n{unit_text}"
    );

    let started = lab.systemctl(&["start", &format!("{good}.service")]);
    let failed = lab.systemctl(&["start", &format!("{bad}.service")]);
    if lab.is_podman5() {
        // started only once healthy: the check has passed by the time `start` returns
        assert!(
            started.status.success(),
            "{}\n{}",
            text(&started),
            lab.journal_by_identifier(&good)
        );
        assert_eq!(
            prop(lab, &format!("{good}.service"), "ActiveState"),
            "active"
        );
        assert_eq!(health(lab, &good), "healthy");
        // systemd took conmon as the main process (the MAINPID Podman sent): the unit follows the
        // container, not the `podman run` that exited
        let pid = prop(lab, &format!("{good}.service"), "MainPID");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(comm.trim(), "conmon", "MainPID {pid}");
        // never healthy: the start fails on its timeout, the unit does not count as started
        assert!(!failed.status.success(), "{}", text(&failed));
        assert_eq!(prop(lab, &format!("{bad}.service"), "Result"), "timeout");
        assert_ne!(
            prop(lab, &format!("{bad}.service"), "ActiveState"),
            "active"
        );
    } else {
        // Podman 4.3 refuses the option outright: neither unit starts, whatever its health. What
        // shows it is the unit's state and podman's refusal, not `systemctl start`'s own status.
        for (name, out) in [(&good, &started), (&bad, &failed)] {
            assert_ne!(
                prop(lab, &format!("{name}.service"), "ActiveState"),
                "active"
            );
            let running = lab.podman_ok(&["ps", "-q", "--filter", &format!("name=^{name}$")]);
            assert_eq!(running.trim(), "", "{name}: a container runs");
            // Why: podman's own refusal. Its line reaches the journal through the unit's stream,
            // which journald sometimes files late under load (seen once in CI with the journal
            // still empty after 10 s); podman's exit status 125 (its own usage error, the same
            // for the healthy unit, so not a health failure) says it without the journal.
            let said = |j: &String| j.contains(r#"invalid sdnotify value "healthy""#);
            let journal = common::lab::wait_for(std::time::Duration::from_secs(20), || {
                Some(lab.journal_by_identifier(name)).filter(said)
            })
            .unwrap_or_else(|| lab.journal_by_identifier(name));
            let status = prop(lab, &format!("{name}.service"), "ExecMainStatus");
            assert!(
                said(&journal) || status == "125",
                "{name}: podman refused --sdnotify=healthy (exit {status}): {journal}\n\
                 systemctl start: {}",
                text(out)
            );
            if !journal.is_empty() && !said(&journal) {
                panic!("{name}: the journal has the unit's lines but not the refusal: {journal}");
            }
        }
    }
}

#[test]
fn a_deploy_waits_on_notify_healthy_only_where_podman_has_it() {
    let Some(lab) = Lab::get("a_deploy_waits_on_notify_healthy_only_where_podman_has_it") else {
        return;
    };
    lab.reset();
    let repo = lab.repo("notify");
    let o = lab.deploy(&repo, &[]);
    assert!(o.status.success(), "deploy: {}", text(&o));
    // release-tool asks the lab user's `podman` for its version and renders for it
    let unit = text(&lab.systemctl(&["cat", "web-api.service"]));
    assert_eq!(
        unit.contains("--sdnotify=healthy"),
        lab.lab.is_podman5(),
        "web-api.service on {}:\n{unit}",
        lab.lab.flavour
    );
    assert_eq!(
        lab.unit_property("web-api.service", "ActiveState"),
        "active"
    );
    let name = "web-api-1";
    assert_eq!(health(&lab.lab, name), "healthy");
    lab.reset();
}
