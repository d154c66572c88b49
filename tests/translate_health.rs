//! What the translator tells the deploy's health gate, and how a unit stops: every service with a
//! healthcheck test is gated (not only those another service waits on), a stop on purpose exits
//! with a success code, and compose's stop timings reach systemd.

#[path = "golden/support.rs"]
mod support;

use release_tool::compose::{LoadedStack, Project, SourceMap};

fn stack(project: serde_json::Value) -> LoadedStack {
    let project: Project = serde_json::from_value(project).unwrap();
    LoadedStack {
        name: "app".into(),
        dir: "/srv/services/app".into(),
        project,
        sources: SourceMap::default(),
        warnings: vec![],
        inputs: vec![],
    }
}

fn app() -> LoadedStack {
    let img = "127.0.0.1:5000/lab/busybox:1";
    stack(serde_json::json!({
        "name": "app",
        "services": {
            // A healthcheck nothing waits on.
            "lonely": {"image": img, "healthcheck": {"test": ["CMD", "false"]}, "stop_signal": "SIGINT", "stop_grace_period": "70s", "restart": "on-failure"},
            // Disabled, and timings only (the image's own check, if any: found at deploy time).
            "off": {"image": img, "healthcheck": {"disable": true}},
            "timings": {"image": img, "healthcheck": {"interval": "5s"}},
            "plain": {"image": img, "restart": "always"},
            // Waited on without a healthcheck of its own: the image's.
            "db": {"image": img},
            "web": {"image": img, "depends_on": {"db": {"condition": "service_healthy", "required": true}, "init": {"condition": "service_completed_successfully", "required": true}}},
            "init": {"image": img, "command": ["true"]}
        }
    }))
}

#[test]
fn every_service_with_a_healthcheck_test_is_gated() {
    let r = support::render(&app(), support::V5_4).unwrap();
    let gated = |s: &str| {
        r.containers
            .iter()
            .find(|c| c.service == s)
            .unwrap()
            .healthcheck
    };
    assert!(
        gated("lonely"),
        "a healthcheck nothing waits on still gates"
    );
    assert!(gated("db"), "waited on: the image's healthcheck gates");
    for s in ["off", "timings", "plain", "web", "init"] {
        assert!(!gated(s), "{s}");
    }
}

#[test]
fn a_stop_on_purpose_is_a_success_and_stop_timings_reach_systemd() {
    let r = support::render(&app(), support::V5_4).unwrap();
    let lonely = r.unit("app-lonely.container").unwrap();
    assert!(lonely.contains("StopSignal=SIGINT\n"), "{lonely}");
    assert!(lonely.contains("StopTimeout=70\n"), "{lonely}");
    // systemd's own stop timeout (90 s by default) leaves Podman's grace period room.
    assert!(lonely.contains("TimeoutStopSec=100\n"), "{lonely}");
    // SIGINT (130), SIGKILL after the grace period (137), SIGTERM (143).
    assert!(
        lonely.contains("SuccessExitStatus=130 137 143\n"),
        "{lonely}"
    );
    // on-failure still restarts a container killed by something else.
    assert!(
        lonely.contains("RestartForceExitStatus=130 137 143\n"),
        "{lonely}"
    );
    let plain = r.unit("app-plain.container").unwrap();
    assert!(plain.contains("SuccessExitStatus=137 143\n"), "{plain}");
    assert!(
        !plain.contains("RestartForceExitStatus") && !plain.contains("TimeoutStopSec"),
        "{plain}"
    );
    // A oneshot must exit 0: being killed is no success for its dependents.
    let init = r.unit("app-init.container").unwrap();
    assert!(init.contains("Type=oneshot"), "{init}");
    assert!(!init.contains("SuccessExitStatus"), "{init}");
}
