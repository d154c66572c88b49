//! An operator's first week, on the lab (issue 10): the README's Quick start run word for word
//! deploys the checked-out commit and catches up after downtime; a removed stack (and the last
//! one) leaves nothing in `podman ps -a`, `podman network ls`, `podman secret ls` or the failed
//! units; `release-tool down` takes two stacks down. Hold the lab lock (docs/testing.md).

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::lab::{text, Lab};

/// The clone URL the README's Quick start uses; the test clones a local bare repo instead.
const README_URL: &str = "https://git.example/you/stacks.git";

fn current_generation(lab: &Lab) -> Option<u64> {
    let target = std::fs::read_link(lab.state.join("current")).ok()?;
    target.file_name()?.to_str()?.parse().ok()
}

/// Everything of ours Podman and systemd still hold that mentions `needle`.
fn traces(lab: &Lab, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (what, args) in [
        ("container", &["ps", "-a", "--format", "{{.Names}}"][..]),
        ("network", &["network", "ls", "--format", "{{.Name}}"][..]),
        ("secret", &["secret", "ls", "--format", "{{.Name}}"][..]),
    ] {
        for l in lab.ok("podman", args).lines() {
            if l.contains(needle) {
                out.push(format!("{what} {l}"));
            }
        }
    }
    let failed = lab.systemctl(&[
        "list-units",
        "--state=failed",
        "--plain",
        "--no-legend",
        "--all",
    ]);
    for l in String::from_utf8_lossy(&failed.stdout).lines() {
        if l.contains(needle) {
            out.push(format!("failed unit {l}"));
        }
    }
    out
}

fn volumes(lab: &Lab) -> String {
    lab.ok("podman", &["volume", "ls", "--format", "{{.Name}}"])
}

/// Whether the web stack's named volume exists. Its Podman name depends on the version rendered
/// for: `VolumeName=web_data` (compose's name) on Podman 5, Quadlet's `systemd-web-data` for 4.4.
fn has_web_data(lab: &Lab) -> bool {
    volumes(lab)
        .lines()
        .any(|v| v == "web_data" || v == "systemd-web-data" || v.ends_with("web-data"))
}

fn deployed(lab: &Lab, repo: &Path) {
    let o = lab.deploy(repo, &[]);
    assert!(o.status.success(), "deploy: {}", text(&o));
}

fn default_repo(lab: &Lab) -> PathBuf {
    lab.home.join("release-tool-repo")
}

/// The shell lines of the README's Quick start block.
fn quick_start() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("README has a Quick start");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block in the Quick start");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Installs the units as the packages do, into the user's unit directory, with the lab's binary.
fn install_units(lab: &Lab) {
    let units = lab.home.join(".config/systemd/user");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for f in ["release-tool-deploy.service", "release-tool-deploy.path"] {
        lab.write(&units, f, &std::fs::read_to_string(src.join(f)).unwrap());
    }
    lab.write(
        &units,
        "release-tool-deploy.service.d/e2e.conf",
        &format!(
            "[Service]\nExecStart=\nExecStart={} deploy --wait --timeout 60\n",
            lab.bin.display()
        ),
    );
    lab.systemctl(&["daemon-reload"]);
}

fn deploy_service_idle(lab: &Lab) -> bool {
    let s = lab.unit_property("release-tool-deploy.service", "ActiveState");
    s == "inactive" || s == "failed"
}

/// Waits (3 min at most) until generation `gen` is current and the deploy service idle; `what`
/// names the deploy in the failure.
fn wait_generation(lab: &Lab, gen: u64, what: &str) {
    assert!(
        lab.wait_for(Duration::from_secs(180), || current_generation(lab)
            == Some(gen)
            && deploy_service_idle(lab)),
        "{what} ran: {}",
        text(&lab.systemctl(&["status", "release-tool-deploy.service"]))
    );
}

/// Gives the repo at `r` (a clone) the identity the tests commit with.
fn git_identity(lab: &Lab, r: &str) {
    lab.ok(
        "git",
        &["-C", r, "config", "user.email", "e2e@release-tool.invalid"],
    );
    lab.ok("git", &["-C", r, "config", "user.name", "e2e"]);
}

fn reset(lab: &Lab) {
    lab.reset();
    let _ = std::fs::remove_dir_all(default_repo(lab));
}

#[test]
fn op01_the_quick_start_word_for_word_deploys_the_checkout_and_catches_up() {
    let Some(lab) = Lab::get("op01") else { return };
    reset(&lab);
    let source = lab.repo("op01");
    let bare = lab.home.join("e2e/op01.git");
    let (s, b) = (source.display().to_string(), bare.display().to_string());
    lab.ok("git", &["clone", "-q", "--bare", &s, &b]);
    install_units(&lab);

    let lines = quick_start();
    assert!(
        lines.iter().any(|l| l.contains(README_URL)),
        "the Quick start clones {README_URL}: {lines:#?}"
    );
    for line in &lines {
        let line = line.replace(README_URL, &b);
        let o = lab.run("sh", &["-c", &line]);
        if line.trim_start().starts_with("loginctl enable-linger") {
            // The lab's user manager runs without logind; lingering changes nothing here.
            continue;
        }
        assert!(o.status.success(), "{line}: {}", text(&o));
    }
    // No commit, no touch: enabling the path unit deployed the checked-out commit.
    wait_generation(&lab, 1, "the first deploy");
    assert_eq!(
        lab.unit_property("release-tool-deploy.service", "Result"),
        "success"
    );
    assert_eq!(
        lab.unit_property("web-api.service", "ActiveState"),
        "active"
    );
    let r = default_repo(&lab).display().to_string();

    // The README's trigger file deploys the same commit again and stays out of `git status`.
    let started = || {
        lab.unit_property(
            "release-tool-deploy.service",
            "ExecMainStartTimestampMonotonic",
        )
    };
    let before = started();
    lab.ok(
        "sh",
        &["-c", "touch ~/release-tool-repo/.git/release-tool-trigger"],
    );
    assert!(
        lab.wait_for(Duration::from_secs(60), || started() != before
            && deploy_service_idle(&lab)),
        "the trigger file started a deploy"
    );
    assert_eq!(current_generation(&lab), Some(1), "an unchanged checkout");
    let status = lab.ok("git", &["-C", &r, "status", "--porcelain"]);
    assert_eq!(status, "", "git status stays clean");

    // Catch-up: a commit checked out while the trigger is not running (the host was down) deploys
    // when the path unit starts again (boot, login), without a touch.
    lab.systemctl(&["stop", "release-tool-deploy.path"]);
    git_identity(&lab, &r);
    lab.write(
        &default_repo(&lab),
        "services/web/conf/index.html",
        "<p>while the host was down</p>\n",
    );
    lab.commit(&default_repo(&lab), "a commit while the trigger is stopped");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(current_generation(&lab), Some(1), "nothing watches yet");
    let o = lab.systemctl(&["start", "release-tool-deploy.path"]);
    assert!(o.status.success(), "{}", text(&o));
    wait_generation(&lab, 2, "the catch-up deploy");
    reset(&lab);
}

#[test]
fn op02_a_removed_stack_and_the_last_stack_leave_nothing_behind() {
    let Some(lab) = Lab::get("op02") else { return };
    reset(&lab);
    let repo = lab.repo("op02");
    let r = repo.display().to_string();
    deployed(&lab, &repo);
    let before = traces(&lab, "worker");
    assert!(
        before.iter().any(|t| t.starts_with("secret"))
            && before.iter().any(|t| t.starts_with("network")),
        "the worker stack has a secret and a network to remove: {before:?}"
    );
    lab.ok("git", &["-C", &r, "rm", "-r", "-q", "services/worker"]);
    lab.commit(&repo, "remove worker");
    deployed(&lab, &repo);
    assert_eq!(traces(&lab, "worker"), Vec::<String>::new());
    assert_eq!(
        lab.unit_property("web-api.service", "ActiveState"),
        "active"
    );

    // The last stack: no services/ at all is "no stacks", deployed like any removal.
    lab.ok("git", &["-C", &r, "rm", "-r", "-q", "services"]);
    lab.commit(&repo, "remove every stack");
    let since = harness::lab::now();
    let o = lab.deploy(&repo, &[]);
    assert!(o.status.success(), "removing the last stack: {}", text(&o));
    assert_eq!(current_generation(&lab), Some(3));
    assert_eq!(traces(&lab, "web"), Vec::<String>::new());
    assert_eq!(
        lab.unit_property("web-api.service", "LoadState"),
        "not-found"
    );
    // The same logs as any removal.
    let journal = lab.journal_since(since);
    for line in ["stack web: removed", "removed network", "kept volume"] {
        assert!(journal.contains(line), "{line}: {journal}");
    }
    // Volumes hold data: they stay unless asked.
    assert!(has_web_data(&lab), "{}", volumes(&lab));
    reset(&lab);
}

#[test]
fn op03_down_takes_two_stacks_down_and_keeps_the_data_unless_asked() {
    let Some(lab) = Lab::get("op03") else { return };
    reset(&lab);
    let repo = lab.repo("op03");
    deployed(&lab, &repo);
    let o = lab.tool(&["down", "--timeout", "60"]);
    assert!(o.status.success(), "down: {}", text(&o));
    for stack in ["web", "worker"] {
        assert_eq!(traces(&lab, stack), Vec::<String>::new(), "{stack}");
    }
    for u in ["web-api.service", "worker-worker.service", "web.target"] {
        assert_eq!(lab.unit_property(u, "LoadState"), "not-found", "{u}");
        assert_ne!(lab.unit_property(u, "ActiveState"), "active", "{u}");
    }
    assert!(has_web_data(&lab), "volumes stay: {}", volumes(&lab));
    let h = text(&lab.tool(&["history"]));
    assert!(h.contains("release-tool down"), "{h}");
    assert!(lab.state.join("generations").is_dir(), "the state stays");
    // What down did, a rollback undoes.
    let o = lab.tool(&["rollback", "--timeout", "60"]);
    assert!(o.status.success(), "rollback after down: {}", text(&o));
    assert_eq!(
        lab.unit_property("web-api.service", "ActiveState"),
        "active"
    );
    assert_eq!(current_generation(&lab), Some(1));
    let o = lab.tool(&["down", "--timeout", "60"]);
    assert!(o.status.success(), "down again: {}", text(&o));
    assert_eq!(traces(&lab, "web"), Vec::<String>::new());
    // The rest, when asked.
    let o = lab.tool(&["down", "--volumes", "--purge-state"]);
    assert!(o.status.success(), "down --volumes: {}", text(&o));
    assert!(!has_web_data(&lab), "{}", volumes(&lab));
    assert!(!lab.state.exists(), "the state directory is gone");
    reset(&lab);
}

/// The git revision of the current generation (`release-tool history --format json`).
fn current_rev(lab: &Lab) -> Option<String> {
    let o = lab.tool(&["history", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    v.as_array()?
        .iter()
        .find(|g| g["current"] == true)
        .and_then(|g| g["git_rev"].as_str())
        .map(str::to_owned)
}

#[test]
fn op04_every_commit_of_a_burst_ends_deployed_without_a_touch() {
    let Some(lab) = Lab::get("op04") else { return };
    reset(&lab);
    let source = lab.repo("op04");
    let repo = default_repo(&lab);
    let (s, r) = (source.display().to_string(), repo.display().to_string());
    lab.ok("git", &["clone", "-q", &s, &r]);
    git_identity(&lab, &r);
    let trigger = repo.join(".git/release-tool-trigger");
    assert!(!trigger.exists(), "a fresh clone has no trigger file");
    install_units(&lab);
    let o = lab.systemctl(&["enable", "--now", "release-tool-deploy.path"]);
    assert!(o.status.success(), "{}", text(&o));
    wait_generation(&lab, 1, "the first deploy");
    // The deploy made the trigger file, so systemd watches it by itself (docs/deploy.md).
    assert!(
        trigger.is_file(),
        "the deploy creates {}",
        trigger.display()
    );

    // Commits one after another with uneven gaps: some land while nothing runs (each must be
    // seen: a lost inotify event leaves the checkout undeployed), some while a deploy runs
    // (systemd does not watch then: the deploy must notice the checkout moved).
    for (i, gap_ms) in [0u64, 2500, 300, 6000, 0, 1500, 9000, 100]
        .iter()
        .enumerate()
    {
        // One shell, as a person or a script commits: the edit and the commit back to back.
        lab.ok(
            "sh",
            &[
                "-c",
                &format!(
                    "cd {r} && echo '<p>commit {i} of a burst</p>' >services/web/conf/index.html \
                     && git commit -qam 'burst {i}'"
                ),
            ],
        );
        std::thread::sleep(Duration::from_millis(*gap_ms));
    }
    let head = lab.ok("git", &["-C", &r, "rev-parse", "HEAD"]);
    let head = head.trim();
    assert!(
        lab.wait_for(Duration::from_secs(240), || current_rev(&lab).as_deref()
            == Some(head)
            && deploy_service_idle(&lab)),
        "the newest commit {head} was deployed (current: {:?}): {}",
        current_rev(&lab),
        lab.lab.journal_of_user_unit("release-tool-deploy.service")
    );
    assert_eq!(
        lab.unit_property("release-tool-deploy.service", "Result"),
        "success"
    );
    assert_eq!(
        lab.unit_property("web-frontend.service", "ActiveState"),
        "active"
    );
    lab.systemctl(&["disable", "--now", "release-tool-deploy.path"]);
    reset(&lab);
}

/// A stack whose one container turns healthy only `ready_after` seconds after it starts.
fn slow_stack(ready_after: u32, mark: &str) -> String {
    format!(
        r#"services:
  app:
    image: ${{REGISTRY}}/lab/busybox:1
    command: ["sh", "-c", "sleep {ready_after}; touch /tmp/ready; exec sleep 3600"]
    stop_signal: SIGKILL
    environment:
      MARK: "{mark}"
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 2s
      timeout: 2s
      retries: 60
"#
    )
}

/// Runs the deploy service once with a start timeout of `timeout_s` and
/// `NotifyAccess=notify_access`, watching it: returns its `Result`, how long it ran, and every
/// `StatusText` (STATUS=) the manager showed meanwhile.
fn run_deploy_service(
    lab: &Lab,
    timeout_s: u32,
    notify_access: &str,
) -> (String, Duration, Vec<String>) {
    let units = lab.home.join(".config/systemd/user");
    lab.write(
        &units,
        "release-tool-deploy.service.d/timeout.conf",
        &format!("[Service]\nTimeoutStartSec={timeout_s}s\nNotifyAccess={notify_access}\n"),
    );
    lab.systemctl(&["daemon-reload"]);
    lab.systemctl(&["reset-failed", "release-tool-deploy.service"]);
    let t0 = std::time::Instant::now();
    let o = lab.systemctl(&["start", "--no-block", "release-tool-deploy.service"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut statuses: Vec<String> = Vec::new();
    let mut started = false;
    while t0.elapsed() < Duration::from_secs(180) {
        let state = lab.unit_property("release-tool-deploy.service", "ActiveState");
        let status = lab.unit_property("release-tool-deploy.service", "StatusText");
        if !status.is_empty() && statuses.last() != Some(&status) {
            statuses.push(status);
        }
        started |= state == "activating";
        if started && (state == "inactive" || state == "failed") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    (
        lab.unit_property("release-tool-deploy.service", "Result"),
        t0.elapsed(),
        statuses,
    )
}

#[test]
fn op05_a_long_health_wait_extends_the_start_timeout_and_the_journal_says_what_happened() {
    let Some(lab) = Lab::get("op05") else { return };
    reset(&lab);
    let since = harness::lab::now().saturating_sub(1);
    let source = lab.repo("op05");
    lab.write(&source, "services/slow/compose.yaml", &slow_stack(15, "1"));
    lab.commit(&source, "a stack that takes 15 s to turn healthy");
    let repo = default_repo(&lab);
    let (s, r) = (source.display().to_string(), repo.display().to_string());
    lab.ok("git", &["clone", "-q", &s, &r]);
    git_identity(&lab, &r);
    install_units(&lab);

    // The service's start timeout (8 s) is shorter than the deploy, which waits 15 s for the
    // container's health: the deploy's EXTEND_TIMEOUT_USEC= must reach the manager. (`systemctl start`
    // of a oneshot returns when it ends.)
    let (result, ran, statuses) = run_deploy_service(&lab, 8, "main");
    assert!(
        result == "success" && ran > Duration::from_secs(8),
        "the deploy outlived TimeoutStartSec=8s by extending it: Result={result} after {ran:?}: {}",
        lab.lab.journal_of_user_unit("release-tool-deploy.service")
    );
    assert_eq!(current_generation(&lab), Some(1));
    assert_eq!(
        lab.unit_property("slow-app.service", "ActiveState"),
        "active"
    );
    // STATUS= reached the manager too: `systemctl status` showed the wait as it happened.
    assert!(
        statuses
            .iter()
            .any(|s| s.contains("waiting for slow-app.service") && s.ends_with("s left")),
        "{statuses:?}"
    );

    // The journal, read back from journald: `journalctl MESSAGE_ID=…` finds each kind of event
    // with the fields that say which generation, commit, stack and unit it is about.
    let head = lab.ok("git", &["-C", &r, "rev-parse", "--short=12", "HEAD"]);
    let done = lab.journal_entries(release_tool::logging::ids::DEPLOY_SUCCEEDED, since);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["GENERATION"], "1", "{:?}", done[0]);
    let rev = done[0]["GIT_REV"].as_str().unwrap_or_default();
    assert!(
        !rev.is_empty() && head.trim().starts_with(&rev[..rev.len().min(12)]),
        "GIT_REV={rev} is HEAD {head}"
    );
    assert_eq!(done[0]["SYSLOG_IDENTIFIER"], "release-tool");
    let started = lab.journal_entries(release_tool::logging::ids::DEPLOY_STARTED, since);
    assert_eq!(started.len(), 1, "{started:?}");
    let restarted = lab.journal_entries(release_tool::logging::ids::UNIT_RESTARTED, since);
    assert!(
        restarted
            .iter()
            .any(|e| e["UNIT"] == "slow-app.service" && e["STACK"] == "slow"),
        "{restarted:?}"
    );
    let up = lab.journal_entries(release_tool::logging::ids::UNIT_UP, since);
    assert!(up.iter().any(|e| e["UNIT"] == "slow-app.service"), "{up:?}");

    // The control: the same kind of deploy, with the manager told to ignore the process's
    // notifications, is killed at the start timeout. So it was the extension that kept the
    // first one alive, not a slow clock.
    lab.write(&repo, "services/slow/compose.yaml", &slow_stack(15, "2"));
    lab.ok(
        "git",
        &["-C", &r, "commit", "-qam", "restart the slow stack"],
    );
    let (result, ran, statuses) = run_deploy_service(&lab, 8, "none");
    assert!(
        result == "timeout" && ran < Duration::from_secs(14),
        "without EXTEND_TIMEOUT_USEC= the deploy is killed at 8 s: Result={result} after {ran:?}"
    );
    assert!(statuses.is_empty(), "NotifyAccess=none: {statuses:?}");
    // The interrupted deploy finishes on the next run (DESIGN: every step can die).
    let (result, _, _) = run_deploy_service(&lab, 120, "main");
    assert_eq!(result, "success");
    assert_eq!(current_generation(&lab), Some(2));
    let _ = std::fs::remove_file(
        lab.home
            .join(".config/systemd/user/release-tool-deploy.service.d/timeout.conf"),
    );
    lab.systemctl(&["daemon-reload"]);
    reset(&lab);
}

/// Every stack a scenario writes (`services/<name>/`) is one `reset` cleans up (harness STACKS).
#[test]
fn every_stack_the_scenarios_deploy_is_reset() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("e2e") || n == "faults.rs")
        })
        .collect();
    files.sort();
    let mut seen = 0;
    for f in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(f).unwrap();
        for (at, _) in text.match_indices("\"services/") {
            let rest = &text[at + "\"services/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if name.is_empty() || !rest[name.len()..].starts_with('/') {
                continue;
            }
            seen += 1;
            assert!(
                harness::lab::STACKS.contains(&name.as_str()),
                "{}: stack {name} is deployed but not in the harness's STACKS",
                f.display()
            );
        }
    }
    assert!(
        seen > 10,
        "found only {seen} stacks written by the scenarios"
    );
}
