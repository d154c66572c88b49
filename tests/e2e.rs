//! The issue's ten end-to-end scenarios, on the lab: a real `systemd --user` manager, rootless
//! Podman, the real quadlet, the registry on 127.0.0.1:5000. Each scenario starts from a clean
//! slate (`Lab::reset`) with a git repo made from `examples/`, and runs `release-tool` as the lab
//! user. The scenarios are serialized (one manager).

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::lab::skip_or_fail;
use harness::lab::{now, text, Lab};

const ALL_UNITS: [&str; 4] = [
    "web-api.service",
    "web-frontend.service",
    "worker-migrate.service",
    "worker-worker.service",
];

/// The lab with a fresh repo, or None (skipped) when the lab or a working render is missing.
fn setup(test: &str) -> Option<(Lab, std::path::PathBuf)> {
    let lab = Lab::get(test)?;
    lab.reset();
    let repo = lab.repo(test);
    let r = repo.to_string_lossy().into_owned();
    let o = lab.tool(&["plan", "--repo", &r]);
    if !o.status.success() {
        skip_or_fail(
            test,
            &format!(
                "examples/ does not render yet (loader/translator): {}",
                text(&o)
            ),
        );
        lab.reset();
        return None;
    }
    Some((lab, repo))
}

/// container name → (id, start time) of every container of the current generation.
fn containers(lab: &Lab) -> BTreeMap<String, Option<(String, String)>> {
    let o = lab.tool(&["status", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["container_name"].as_str().unwrap().to_string();
            let state = lab.container(&name);
            (r["unit"].as_str().unwrap().to_string(), state)
        })
        .collect()
}

fn container_name(lab: &Lab, unit: &str) -> String {
    let o = lab.tool(&["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"] == unit)
        .and_then(|r| r["container_name"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn deployed(lab: &Lab, repo: &Path) {
    let o = lab.deploy(repo, &[]);
    assert!(o.status.success(), "deploy: {}", text(&o));
}

fn current_generation(lab: &Lab) -> Option<u64> {
    let target = std::fs::read_link(lab.state.join("current")).ok()?;
    target.file_name()?.to_str()?.parse().ok()
}

fn assert_all_up(lab: &Lab) {
    for u in [
        "web-api.service",
        "web-frontend.service",
        "worker-worker.service",
    ] {
        assert_eq!(lab.unit_property(u, "ActiveState"), "active", "{u}");
    }
    // The migration is a oneshot: it ran, and succeeded.
    assert_eq!(
        lab.unit_property("worker-migrate.service", "Result"),
        "success"
    );
    let name = container_name(lab, "web-api.service");
    let o = lab.run("podman", &["healthcheck", "run", &name]);
    assert!(o.status.success(), "web-api healthy: {}", text(&o));
}

fn monotonic(lab: &Lab, unit: &str, prop: &str) -> u64 {
    lab.unit_property(unit, prop).parse().unwrap_or(0)
}

#[test]
fn s01_first_deploy_starts_everything_in_order_and_healthy() {
    let Some((lab, repo)) = setup("s01") else {
        return;
    };
    let since = now();
    deployed(&lab, &repo);
    assert_all_up(&lab);
    // Dependency order: the frontend became active after the api (healthy), the worker after the
    // migration finished.
    let api = monotonic(&lab, "web-api.service", "ActiveEnterTimestampMonotonic");
    let front = monotonic(
        &lab,
        "web-frontend.service",
        "ActiveEnterTimestampMonotonic",
    );
    assert!(api > 0 && front > api, "api {api} before frontend {front}");
    let migrated = monotonic(
        &lab,
        "worker-migrate.service",
        "ExecMainExitTimestampMonotonic",
    );
    let worker = monotonic(
        &lab,
        "worker-worker.service",
        "ActiveEnterTimestampMonotonic",
    );
    assert!(
        migrated > 0 && worker >= migrated,
        "migrate {migrated} before worker {worker}"
    );
    let journal = lab.journal_verbose_since(since);
    assert!(journal.contains("GENERATION=1"), "{journal}");
    assert!(journal.contains("UNIT=web-api.service"));
    assert!(journal.contains("GIT_REV="));
    lab.reset();
}

#[test]
fn s02_one_stack_changed_restarts_only_it() {
    let Some((lab, repo)) = setup("s02") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    lab.replace(&repo, "services/worker/compose.yaml", "sleep 5", "sleep 6");
    lab.commit(&repo, "worker: slower loop");
    deployed(&lab, &repo);
    let after = containers(&lab);
    assert_eq!(
        before["web-api.service"], after["web-api.service"],
        "web untouched"
    );
    assert_eq!(
        before["web-frontend.service"],
        after["web-frontend.service"]
    );
    assert_ne!(
        before["worker-worker.service"], after["worker-worker.service"],
        "worker restarted"
    );
    assert!(after["worker-worker.service"].is_some());
    assert_eq!(current_generation(&lab), Some(2));
    lab.reset();
}

#[test]
fn s03_global_variable_restarts_exactly_the_stacks_whose_units_change() {
    let Some((lab, repo)) = setup("s03") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    lab.replace(
        &repo,
        "values.env",
        "hello from release-tool",
        "hello again",
    );
    lab.commit(&repo, "new greeting");
    let r = repo.to_string_lossy().into_owned();
    let plan: serde_json::Value =
        serde_json::from_slice(&lab.tool(&["plan", "--repo", &r, "--format", "json"]).stdout)
            .unwrap();
    deployed(&lab, &repo);
    let after = containers(&lab);
    // The stacks whose unit files differ between the two generations, read from the store.
    let units = |g: u64, s: &str| {
        let d = lab.state.join(format!("generations/{g}/units/{s}"));
        let mut v: Vec<(String, String)> = std::fs::read_dir(&d)
            .map(|r| {
                r.flatten()
                    .map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        (n, std::fs::read_to_string(e.path()).unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    for stack in ["web", "worker"] {
        let units_changed = units(1, stack) != units(2, stack);
        assert_eq!(
            plan["stacks"][stack] == "changed",
            units_changed,
            "plan agrees for {stack}"
        );
        for unit in ALL_UNITS
            .iter()
            .filter(|u| u.starts_with(stack) && !u.contains("migrate"))
        {
            assert_eq!(
                before[*unit] != after[*unit],
                units_changed,
                "{unit} restarted iff its stack's units changed"
            );
        }
    }
    lab.reset();
}

#[test]
fn s04_broken_compose_changes_nothing_and_reload_keeps_the_old_generation() {
    let Some((lab, repo)) = setup("s04") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    let unit_before = text(&lab.systemctl(&["cat", "web-api.service"]));
    lab.write(
        &repo,
        "services/web/compose.yaml",
        "services:\n  api:\n    image: [broken\n",
    );
    lab.commit(&repo, "broken");
    let since = now();
    let o = lab.deploy(&repo, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let journal = lab.journal_since(since);
    assert!(
        journal.contains("stack web") && journal.contains("compose.yaml"),
        "{journal}"
    );
    assert_eq!(containers(&lab), before, "nothing restarted");
    assert_eq!(current_generation(&lab), Some(1));
    lab.systemctl(&["daemon-reload"]);
    assert_eq!(
        text(&lab.systemctl(&["cat", "web-api.service"])),
        unit_before
    );
    assert_eq!(containers(&lab), before);
    lab.reset();
}

#[test]
fn s05_failing_health_check_rolls_back() {
    let Some((lab, repo)) = setup("s05") else {
        return;
    };
    deployed(&lab, &repo);
    let unit_before = text(&lab.systemctl(&["cat", "web-api.service"]));
    lab.replace(
        &repo,
        "services/web/compose.yaml",
        r#"test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]"#,
        r#"test: ["CMD", "false"]"#,
    );
    lab.commit(&repo, "a health check that fails");
    let o = lab.deploy(&repo, &["--timeout", "20"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert_eq!(current_generation(&lab), Some(1));
    assert_eq!(
        text(&lab.systemctl(&["cat", "web-api.service"])),
        unit_before
    );
    assert_all_up(&lab);
    let h = text(&lab.tool(&["history"]));
    assert!(h.contains("rolled-back"), "{h}");
    lab.reset();
}

#[test]
fn s06_registry_down_switches_nothing() {
    let Some((lab, repo)) = setup("s06") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    lab.replace(&repo, "services/worker/compose.yaml", "sleep 5", "sleep 7");
    lab.commit(&repo, "worker change while the registry is down");
    assert!(lab.lab.registry_ctl("stop"), "registry stop");
    let o = lab.deploy(&repo, &["--retries", "1", "--timeout", "10"]);
    let up = lab.lab.registry_ctl("start");
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(up, "registry back");
    assert_eq!(current_generation(&lab), Some(1));
    assert_eq!(containers(&lab), before);
    lab.reset();
}

#[test]
fn s07_killed_deploy_is_finished_by_the_next() {
    let Some((lab, repo)) = setup("s07") else {
        return;
    };
    deployed(&lab, &repo);
    lab.write(
        &repo,
        "services/web/conf/index.html",
        "<p>version two</p>\n",
    );
    lab.commit(&repo, "new page");
    let r = repo.to_string_lossy().into_owned();
    let bin = lab.bin.to_string_lossy().into_owned();
    let mut child = lab
        .cmd(&bin, &["deploy", "--repo", &r, "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the switch is under way (the intent is recorded).
    let intent = lab.state.join("intent.json");
    let seen = lab.wait_for(Duration::from_secs(60), || intent.exists());
    let pids = lab.run("pgrep", &["-u", &lab.user, "-f", &format!("^{bin} deploy")]);
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status();
    }
    let _ = child.wait();
    assert!(seen, "the deploy reached the switch");
    let o = lab.deploy(&repo, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!intent.exists());
    assert_eq!(current_generation(&lab), Some(2));
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lab.state.join("generations/2/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["outcome"], "deployed");
    assert_all_up(&lab);
    lab.reset();
}

#[test]
fn s08_the_lock_holds() {
    let Some((lab, repo)) = setup("s08") else {
        return;
    };
    let r = repo.to_string_lossy().into_owned();
    let bin = lab.bin.to_string_lossy().into_owned();
    let mut first = lab
        .cmd(&bin, &["deploy", "--repo", &r, "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let o = lab.deploy(&repo, &[]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(
        text(&o).contains("another deploy is running"),
        "{}",
        text(&o)
    );
    let o = lab.deploy(&repo, &["--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(first.wait().unwrap().success());
    assert_eq!(
        current_generation(&lab),
        Some(1),
        "the waiter found nothing left to do"
    );
    lab.reset();
}

#[test]
fn s09_the_path_unit_deploys_on_a_new_commit() {
    let Some((lab, repo)) = setup("s09") else {
        return;
    };
    let units = lab.home.join(".config/systemd/user");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let r = repo.display().to_string();
    let bin = lab.bin.display().to_string();
    for f in ["release-tool-deploy.service", "release-tool-deploy.path"] {
        lab.write(&units, f, &std::fs::read_to_string(src.join(f)).unwrap());
    }
    lab.write(
        &units,
        "release-tool-deploy.service.d/e2e.conf",
        &format!("[Service]\nEnvironment=RELEASE_TOOL_REPO={r}\nExecStart=\nExecStart={bin} deploy --wait --timeout 60\n"),
    );
    lab.write(
        &units,
        "release-tool-deploy.path.d/e2e.conf",
        &format!("[Path]\nPathChanged=\nPathChanged={r}/.git/HEAD\nPathChanged={r}/.git/refs/heads\nPathChanged={r}/.git/release-tool-trigger\n"),
    );
    lab.systemctl(&["daemon-reload"]);
    let o = lab.systemctl(&["enable", "--now", "release-tool-deploy.path"]);
    assert!(o.status.success(), "{}", text(&o));
    // Enabling deploys the checked-out commit (the path unit starts the service once).
    let idle = || lab.unit_property("release-tool-deploy.service", "ActiveState") == "inactive";
    assert!(
        lab.wait_for(Duration::from_secs(120), || current_generation(&lab)
            == Some(1)
            && idle()),
        "the first deploy ran: {}",
        text(&lab.systemctl(&["status", "release-tool-deploy.service"]))
    );
    lab.write(
        &repo,
        "services/web/conf/index.html",
        "<p>via the path unit</p>\n",
    );
    lab.commit(&repo, "a commit the path unit sees");
    assert!(
        lab.wait_for(Duration::from_secs(120), || current_generation(&lab)
            == Some(2)
            && idle()),
        "a deploy ran: {}",
        text(&lab.systemctl(&["status", "release-tool-deploy.service"]))
    );
    assert_eq!(
        lab.unit_property("release-tool-deploy.service", "Result"),
        "success"
    );
    // Progress went to the manager as STATUS= (what `systemctl --user status` shows).
    let status = lab.unit_property("release-tool-deploy.service", "StatusText");
    assert!(status.contains("generation 2"), "{status}");
    assert_all_up(&lab);
    lab.reset();
}

#[test]
fn s10_a_removed_stack_stops_and_disappears() {
    let Some((lab, repo)) = setup("s10") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    let r = repo.to_string_lossy().into_owned();
    lab.ok("git", &["-C", &r, "rm", "-r", "-q", "services/worker"]);
    lab.commit(&repo, "remove worker");
    deployed(&lab, &repo);
    for u in [
        "worker-worker.service",
        "worker-migrate.service",
        "worker.target",
    ] {
        let state = lab.unit_property(u, "LoadState");
        assert_eq!(state, "not-found", "{u} is gone");
        assert_ne!(lab.unit_property(u, "ActiveState"), "active", "{u} stopped");
    }
    let names = lab.ok("podman", &["ps", "--format", "{{.Names}}"]);
    assert!(!names.contains("worker"), "{names}");
    let after = containers(&lab);
    assert_eq!(
        before["web-api.service"], after["web-api.service"],
        "web untouched"
    );
    lab.reset();
}

#[test]
fn s11_the_step_commands_on_the_real_host() {
    let Some((lab, repo)) = setup("s11") else {
        return;
    };
    deployed(&lab, &repo);
    let before = containers(&lab);
    // manage-services restart: the stack's containers, ordered and health-checked; others untouched.
    let o = lab.tool(&[
        "manage-services",
        "restart",
        "--affected-services",
        "worker",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let after = containers(&lab);
    assert_ne!(
        before["worker-worker.service"],
        after["worker-worker.service"]
    );
    assert_eq!(before["web-api.service"], after["web-api.service"]);
    // pull-images over what generate-units wrote.
    let units = lab.home.join("e2e/s11-units");
    let (r, u) = (repo.display().to_string(), units.display().to_string());
    let services = format!("{r}/services");
    lab.ok(
        lab.bin.to_str().unwrap(),
        &[
            "generate-units",
            "--services-dir",
            &services,
            "--output-dir",
            &u,
        ],
    );
    let o = lab.tool(&[
        "pull-images",
        "--affected-services",
        "web",
        "--units-dir",
        &u,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("sha256:"),
        "{}",
        text(&o)
    );
    // rollback without an argument goes back to the previous deployed generation.
    lab.write(&repo, "services/web/conf/index.html", "<p>two</p>\n");
    lab.commit(&repo, "page two");
    deployed(&lab, &repo);
    assert_eq!(current_generation(&lab), Some(2));
    let o = lab.tool(&["rollback", "--timeout", "60"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(current_generation(&lab), Some(1));
    let h = text(&lab.tool(&["history"]));
    assert!(h.contains("restored"), "{h}");
    assert_all_up(&lab);
    lab.reset();
}
