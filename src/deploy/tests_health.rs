//! The health gate against recorded fakes: every container with a healthcheck is checked, a
//! restart loop fails, no wait outlasts the timeout, the waits say what they wait for, and a
//! rollback leaves nothing of the failed generation. (The world, its stacks `a-api` → `a-front`
//! and its 10 s timeout are `tests.rs`'s.)

use std::time::Duration;

use super::effects::ListedContainer;
use super::fake::Behaviour;
use super::gate::SETTLE;
use super::prepare::DeployResult;
use super::restart::restart_levels;
use super::tests::{stack, World};

const TIMEOUT: Duration = Duration::from_secs(10);

fn rolled_back(r: &DeployResult) -> &str {
    match r {
        DeployResult::RolledBack(2, e) => e,
        other => panic!("expected a rollback of generation 2: {other:?}"),
    }
}

#[test]
fn a_container_nothing_waits_on_is_gated_by_its_image_healthcheck() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    // b-front (a new stack): no healthcheck in the manifest and nothing waits on it, but its
    // container has one (the image's HEALTHCHECK), and it fails.
    for set in [&w.podman.image_healthcheck, &w.podman.unhealthy] {
        set.lock().unwrap().insert("systemd-b-front".into());
    }
    let r = w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    let e = rolled_back(&r);
    assert!(
        e.contains("b-front.service") && e.contains("unhealthy") && e.contains("timeout (10s)"),
        "{e}"
    );
    assert_eq!(w.store.current(), Some(1));
}

#[test]
fn a_restart_loop_fails_the_gate_at_once_though_systemd_never_says_failed() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-api.service".into(), Behaviour::Loops);
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    let e = rolled_back(&r);
    assert!(
        e.contains("a-api.service keeps restarting") && e.contains("auto-restart"),
        "{e}"
    );
    // Detected on sight, not at the timeout.
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-api.service".into(), Behaviour::Loops);
    let m = w.store.read_manifest(1).unwrap();
    let t0 = w.clock.slept();
    let e = restart_levels(&w.fx(), &m, &[vec!["a-api.service".into()]], TIMEOUT).unwrap_err();
    assert!(e.contains("keeps restarting"), "{e}");
    assert!(
        w.clock.slept() - t0 < Duration::from_secs(3),
        "{:?}",
        w.clock.slept() - t0
    );
}

#[test]
fn a_unit_that_goes_down_after_it_was_up_fails_the_settle() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    // Up at once, then restarted by systemd (a container that crashes after a few seconds).
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-front.service".into(), Behaviour::SlowStart(0));
    w.systemd
        .crash_after_up
        .lock()
        .unwrap()
        .insert("a-front.service".into());
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    let e = rolled_back(&r);
    assert!(e.contains("a-front.service keeps restarting"), "{e}");
}

#[test]
fn a_start_that_never_completes_ends_at_the_timeout_with_progress_and_a_final_status() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    let t0 = w.clock.slept();
    // The job never finishes (a start waiting on a health check that never passes): the deploy
    // only queued it, so it polls, and gives up at its own deadline.
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-api.service".into(), Behaviour::Hangs);
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    let e = rolled_back(&r);
    assert!(
        e.contains("a-api.service is not up within the timeout (10s)")
            && e.contains("activating/start-post")
            && e.contains("container systemd-a-api"),
        "{e}"
    );
    // The timeout, then the rollback (whose old units must stay up a few seconds).
    let waited = w.clock.slept() - t0;
    assert!(
        waited >= TIMEOUT && waited <= TIMEOUT + SETTLE + Duration::from_secs(2),
        "{waited:?}"
    );
    // A line every few seconds: which unit, which check, how long is left.
    let progress: Vec<String> = w
        .report
        .messages()
        .into_iter()
        .filter(|m| m.starts_with("level 1/2: waiting for a-api.service"))
        .collect();
    assert_eq!(progress.len(), 1, "{progress:?}");
    assert!(
        progress[0].contains("to be healthy") && progress[0].ends_with("; 5s left"),
        "{progress:?}"
    );
    let statuses = w.report.statuses.lock().unwrap().clone();
    assert!(
        statuses
            .iter()
            .any(|s| s.starts_with("level 1/2: waiting for a-api.service") && s.ends_with("s left")),
        "{statuses:?}"
    );
    // STATUS= says how it ended, not the last step it took.
    let last = statuses.last().unwrap();
    assert!(
        last.contains("generation 2 failed and was rolled back to generation 1"),
        "{last}"
    );
    // The journal entries say which event each is, about which unit, stack and generation.
    let unhealthy = "a-api.service is not up within the timeout";
    let id = |text| w.report.field_of(text, "MESSAGE_ID");
    assert_eq!(
        id(unhealthy).as_deref(),
        Some(crate::logging::ids::UNIT_UNHEALTHY)
    );
    assert_eq!(
        w.report.field_of(unhealthy, "UNIT").as_deref(),
        Some("a-api.service")
    );
    assert_eq!(w.report.field_of(unhealthy, "STACK").as_deref(), Some("a"));
    assert_eq!(
        w.report.field_of(unhealthy, "GENERATION").as_deref(),
        Some("2")
    );
    assert_eq!(
        id("rolled back to generation 1").as_deref(),
        Some(crate::logging::ids::ROLLED_BACK)
    );
    assert_eq!(
        id("restarting a-api.service").as_deref(),
        Some(crate::logging::ids::UNIT_RESTARTED)
    );
    // Each health wait first extends the service's start timeout by its own bound.
    let ext = w.report.extensions.lock().unwrap().clone();
    assert!(!ext.is_empty(), "no EXTEND_TIMEOUT_USEC= sent");
    assert!(ext.iter().all(|d| *d >= TIMEOUT.min(SETTLE)), "{ext:?}");
    assert!(
        ext.contains(&(TIMEOUT + super::restart::STEP_MARGIN)),
        "{ext:?}"
    );
}

#[test]
fn a_slow_start_within_the_timeout_passes() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-api.service".into(), Behaviour::SlowStart(6));
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "2")])),
        DeployResult::Deployed(2)
    );
    let statuses = w.report.statuses.lock().unwrap().clone();
    assert_eq!(statuses.last().unwrap(), "generation 2 is current");
}

#[test]
fn no_healthcheck_run_outlasts_the_deadline() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.podman
        .unhealthy
        .lock()
        .unwrap()
        .insert("systemd-a-api".into());
    w.podman.healthchecks.lock().unwrap().clear();
    let _ = w.deploy(Ok(vec![stack("a", "2")]));
    let runs = w.podman.healthchecks.lock().unwrap().clone();
    assert!(!runs.is_empty());
    assert!(runs.iter().all(|(_, t)| *t <= TIMEOUT), "{runs:?}");
}

#[test]
fn a_rollback_leaves_nothing_of_the_failed_generation() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd.clear();
    // Generation 2 adds stack b, whose front fails.
    w.systemd
        .failing
        .lock()
        .unwrap()
        .insert("b-front.service".into());
    let r = w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    rolled_back(&r);
    let calls = w.systemd.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("stop b-api.service b-front.service")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"reset-failed b-front.service".to_string()),
        "{calls:?}"
    );
    let removed = w.podman.removed.lock().unwrap().clone();
    for c in ["systemd-b-api", "systemd-b-front"] {
        assert!(removed.contains(&format!("container {c}")), "{removed:?}");
    }
    // Stack a never changed: its containers were not touched.
    assert!(
        !removed
            .iter()
            .any(|c| c.starts_with("container systemd-a-")),
        "{removed:?}"
    );
    let fx = w.fx();
    for u in ["b-api.service", "b-front.service"] {
        assert_ne!(fx.systemd.show(u).unwrap().active_state, "failed", "{u}");
    }
}

#[test]
fn a_stuck_stop_is_bounded_and_its_containers_removed() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    w.podman.listed.lock().unwrap().push(ListedContainer {
        name: "systemd-b-api".into(),
        unit: "b-api.service".into(),
        status: "Up".into(),
    });
    let t0 = w.clock.slept();
    // b goes away while its api is still starting (a stop only signals it then).
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("b-api.service".into(), Behaviour::Hangs);
    let fx = w.fx();
    fx.systemd.restart(&["b-api.service".into()]).unwrap();
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "1")])),
        DeployResult::Deployed(2)
    );
    assert!(w.podman.listed.lock().unwrap().is_empty());
    assert!(w.clock.slept() - t0 <= TIMEOUT + Duration::from_secs(1));
}

#[test]
fn a_long_wait_says_every_few_seconds_what_it_waits_for() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    let m = w.store.read_manifest(1).unwrap();
    w.systemd
        .script
        .lock()
        .unwrap()
        .insert("a-api.service".into(), Behaviour::Hangs);
    let levels = vec![vec!["a-api.service".to_string()]];
    let t0 = w.clock.slept();
    let e = restart_levels(&w.fx(), &m, &levels, Duration::from_secs(30)).unwrap_err();
    assert!(e.contains("within the timeout (30s)"), "{e}");
    // The gate gives up at its deadline, not later.
    assert_eq!(w.clock.slept() - t0, Duration::from_secs(30));
    let left: Vec<String> = w
        .report
        .messages()
        .into_iter()
        .filter(|m| m.starts_with("level 1/1: waiting for a-api.service"))
        .filter_map(|m| m.rsplit("; ").next().map(str::to_string))
        .collect();
    assert_eq!(
        left,
        ["25s left", "20s left", "15s left", "10s left", "5s left"]
    );
}
