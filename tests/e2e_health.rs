//! The health gate on the lab's real user manager (issues 10 and 11): a failing healthcheck
//! nothing waits on rolls back; an image that never becomes healthy rolls back within the
//! timeout (+30 s) with progress lines in the journal; nothing of the failed generation remains;
//! a restart loop that systemd never calls `failed` is caught. Run under the lab lock:
//! `RELEASE_TOOL_REQUIRE_LAB=1 flock /tmp/rt-lab.lock cargo test --test e2e_health`.

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::lab::{now, text, Lab};

const TIMEOUT: u64 = 20;

fn setup(test: &str) -> Option<(Lab, PathBuf)> {
    let lab = Lab::get(test)?;
    lab.reset();
    let repo = lab.repo(test);
    let o = lab.deploy(&repo, &[]);
    assert!(o.status.success(), "first deploy: {}", text(&o));
    Some((lab, repo))
}

fn current_generation(lab: &Lab) -> Option<u64> {
    let target = std::fs::read_link(lab.state.join("current")).ok()?;
    target.file_name()?.to_str()?.parse().ok()
}

fn status_rows(lab: &Lab) -> Vec<serde_json::Value> {
    let o = lab.tool(&["status", "--format", "json"]);
    assert!(o.status.success(), "status: {}", text(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Deploys with `--timeout TIMEOUT`; (exit code, output, seconds it took).
fn deploy_timed(lab: &Lab, repo: &Path) -> (Option<i32>, String, u64) {
    let t0 = Instant::now();
    let o = lab.deploy(repo, &["--timeout", &TIMEOUT.to_string()]);
    (o.status.code(), text(&o), t0.elapsed().as_secs())
}

/// Asserts that no container, failed unit or health timer of ours is left but the current
/// generation's.
fn assert_nothing_left(lab: &Lab, what: &str) {
    let ps = lab.ok(
        "podman",
        &["ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}}"],
    );
    assert!(!ps.contains("unhealthy"), "{what}: podman ps -a:\n{ps}");
    let current: Vec<String> = status_rows(lab)
        .iter()
        .filter(|r| r["stray"] != true)
        .map(|r| r["container_name"].as_str().unwrap().to_string())
        .collect();
    for line in ps.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let ours = ["web-", "worker-", "extra-", "systemd-"]
            .iter()
            .any(|p| name.starts_with(p));
        assert!(
            !ours || current.iter().any(|c| c == name),
            "{what}: container {name} is not the current generation's:\n{ps}"
        );
    }
    let failed = text(&lab.systemctl(&["list-units", "--state=failed", "--no-legend", "--plain"]));
    assert!(
        !["web-", "worker-", "extra-"]
            .iter()
            .any(|p| failed.contains(p)),
        "{what}: failed units:\n{failed}"
    );
    // Podman's health timers are `<container id>.timer`: none for a container that is gone.
    let timers = text(&lab.systemctl(&["list-timers", "--all", "--no-legend", "--plain"]));
    for id in timers
        .split_whitespace()
        .filter_map(|w| w.strip_suffix(".timer"))
        .filter(|id| id.len() == 64)
    {
        let o = lab.run("podman", &["container", "exists", id]);
        assert!(
            o.status.success(),
            "{what}: health timer of a removed container {id}:\n{timers}"
        );
    }
    let stray: Vec<_> = status_rows(lab)
        .into_iter()
        .filter(|r| r["stray"] == true)
        .collect();
    assert!(stray.is_empty(), "{what}: status lists strays: {stray:?}");
}

#[test]
fn h01_a_failing_healthcheck_nothing_waits_on_rolls_back() {
    let Some((lab, repo)) = setup("h01") else {
        return;
    };
    // A healthcheck nothing waits on is checked, and `status` shows its health.
    lab.replace(
        &repo,
        "services/worker/compose.yaml",
        "    stop_signal: SIGKILL\n",
        "    stop_signal: SIGKILL\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 2s\n",
    );
    lab.commit(&repo, "a passing healthcheck on the worker");
    let o = lab.deploy(&repo, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = status_rows(&lab);
    let worker = rows
        .iter()
        .find(|r| r["unit"] == "worker-worker.service")
        .unwrap();
    assert_eq!(worker["health"], "healthy", "{rows:?}");
    let gen = current_generation(&lab);
    // A new service whose healthcheck always fails, and nothing waits on it.
    lab.replace(
        &repo,
        "services/worker/compose.yaml",
        "\nsecrets:\n",
        "\n  probe:\n    image: ${REGISTRY}/lab/unhealthy:1\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:8080/\"]\n      interval: 2s\n      retries: 2\n\nsecrets:\n",
    );
    lab.commit(&repo, "an unhealthy probe nothing waits on");
    let since = harness::lab::now().saturating_sub(1);
    let (code, out, secs) = deploy_timed(&lab, &repo);
    eprintln!("h01: rolled back in {secs}s (timeout {TIMEOUT}s)");
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("worker-probe.service"), "{out}");
    assert_eq!(current_generation(&lab), gen);
    // `journalctl MESSAGE_ID=…` finds the failed deploy, the unit that failed the gate, and the
    // rollback, each with the generation it is about.
    let failed_gen = (gen.unwrap() + 1).to_string();
    let ids = release_tool::logging::ids::ALL;
    let id = |name: &str| ids.iter().find(|(n, _)| *n == name).unwrap().1;
    let failed = lab.journal_entries(id("DEPLOY_FAILED"), since);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["GENERATION"], failed_gen.as_str(), "{failed:?}");
    assert!(failed[0]["GIT_REV"].as_str().is_some_and(|r| !r.is_empty()));
    let unhealthy = lab.journal_entries(id("UNIT_UNHEALTHY"), since);
    assert!(
        unhealthy
            .iter()
            .any(|e| e["UNIT"] == "worker-probe.service" && e["STACK"] == "worker"),
        "{unhealthy:?}"
    );
    let rolled = lab.journal_entries(id("ROLLED_BACK"), since);
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    assert_eq!(rolled[0]["PRIORITY"], "4", "a warning: {rolled:?}");
    assert_eq!(
        lab.unit_property("worker-worker.service", "ActiveState"),
        "active"
    );
    assert_nothing_left(&lab, "h01");
    lab.reset();
}

#[test]
fn h02_never_healthy_with_a_dependent_rolls_back_within_the_timeout_with_progress() {
    let Some((lab, repo)) = setup("h02") else {
        return;
    };
    lab.replace(
        &repo,
        "services/web/compose.yaml",
        "  api:\n    <<: *busybox\n",
        "  api:\n    <<: *busybox\n    image: ${REGISTRY}/lab/unhealthy:1\n",
    );
    lab.commit(&repo, "an api that never becomes healthy");
    let since = now();
    let (code, out, secs) = deploy_timed(&lab, &repo);
    eprintln!("h02: rolled back in {secs}s (timeout {TIMEOUT}s)");
    assert_eq!(code, Some(5), "{out}");
    assert!(
        secs <= TIMEOUT + 30,
        "took {secs}s with --timeout {TIMEOUT}: {out}"
    );
    assert_eq!(current_generation(&lab), Some(1));
    assert_eq!(
        lab.unit_property("web-frontend.service", "ActiveState"),
        "active"
    );
    // Progress lines, read back from the journal: which unit, which check, how long is left.
    let journal = lab.journal_since(since);
    let progress: Vec<&str> = journal
        .lines()
        .filter(|l| l.contains("waiting for web-api.service") && l.ends_with("s left"))
        .collect();
    assert!(progress.len() >= 2, "journal:\n{journal}");
    assert!(
        progress.iter().any(|l| l.contains("web-api-1")),
        "{progress:?}"
    );
    assert_nothing_left(&lab, "h02");
    lab.reset();
}

#[test]
fn h03_a_new_stack_that_never_becomes_healthy_leaves_nothing_behind() {
    let Some((lab, repo)) = setup("h03") else {
        return;
    };
    lab.write(
        &repo,
        "services/extra/compose.yaml",
        "services:\n  db:\n    image: ${REGISTRY}/lab/unhealthy:1\n    stop_grace_period: 2s\n  app:\n    image: ${REGISTRY}/lab/busybox:1\n    command: [\"sleep\", \"3600\"]\n    depends_on:\n      db:\n        condition: service_healthy\n",
    );
    lab.commit(&repo, "a new stack whose db never becomes healthy");
    let (code, out, secs) = deploy_timed(&lab, &repo);
    eprintln!("h03: rolled back in {secs}s (timeout {TIMEOUT}s)");
    assert_eq!(code, Some(5), "{out}");
    assert!(
        secs <= TIMEOUT + 30,
        "took {secs}s with --timeout {TIMEOUT}: {out}"
    );
    assert_eq!(current_generation(&lab), Some(1));
    assert_nothing_left(&lab, "h03");
    let units = text(&lab.systemctl(&["list-units", "--all", "--no-legend", "extra-*"]));
    assert!(units.trim().is_empty(), "{units}");
    lab.reset();
}

#[test]
fn h04_a_restart_loop_is_a_failure() {
    let Some((lab, repo)) = setup("h04") else {
        return;
    };
    // Exits after 3 s, restarted by Restart=on-failure: slower than systemd's start limit (5
    // starts in 10 s), so the unit loops and is never `failed`.
    lab.replace(
        &repo,
        "services/worker/compose.yaml",
        r#"command: ["sh", "-c", "while true; do echo \"$$GREETING\"; sleep 5; done"]"#,
        r#"command: ["sh", "-c", "sleep 3; exit 3"]"#,
    );
    lab.commit(&repo, "a worker in a restart loop");
    let (code, out, secs) = deploy_timed(&lab, &repo);
    eprintln!("h04: rolled back in {secs}s (timeout {TIMEOUT}s)");
    assert_eq!(code, Some(5), "{out}");
    // Which state the gate catches the looping unit in is timing: restarting (`auto-restart`,
    // `NRestarts` grown) or on its way down after the exit (`deactivating/stop-post`). Either is
    // the worker's verdict, never a timeout.
    assert!(
        out.contains("worker-worker.service keeps restarting")
            || out.contains("worker-worker.service did not stay up"),
        "{out}"
    );
    assert!(!out.contains("within the timeout"), "{out}");
    assert_eq!(current_generation(&lab), Some(1));
    let ok = lab.wait_for(Duration::from_secs(10), || {
        lab.unit_property("worker-worker.service", "ActiveState") == "active"
    });
    assert!(ok, "the old worker runs again");
    assert_nothing_left(&lab, "h04");
    lab.reset();
}

#[test]
fn h05_a_container_stopped_on_purpose_leaves_no_failed_unit() {
    let Some((lab, _repo)) = setup("h05") else {
        return;
    };
    // The worker's stop signal is SIGKILL (exit 137); the frontend's httpd ignores SIGTERM and is
    // killed after its 2 s grace period (137 too).
    for u in ["worker-worker.service", "web-frontend.service"] {
        let o = lab.systemctl(&["stop", u]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(lab.unit_property(u, "ActiveState"), "inactive", "{u}");
        assert_eq!(lab.unit_property(u, "Result"), "success", "{u}");
    }
    lab.reset();
}
