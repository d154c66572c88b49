//! The fault matrix (issue 11, item 9), on the lab: each fault hits a host running a good
//! generation, and each test asserts that afterwards the host runs one consistent generation —
//! the previous one, or the new one where the design says a killed deploy is finished — with its
//! containers up with that generation's config and image, `status` naming it, the state directory
//! free of half-done work, the data in a volume kept, and that a following normal deploy works.
//!
//! The kill points use the `RELEASE_TOOL_FAULT=kill@POINT` hook (src/deploy/faultpoint.rs,
//! docs/testing.md). Run with the lab lock held:
//! `RELEASE_TOOL_REQUIRE_LAB=1 flock /tmp/rt-lab.lock cargo test --test faults`.

mod common;
#[path = "faults/fixture.rs"]
mod fixture;
#[path = "e2e/mod.rs"]
mod harness;

use fixture::{killed, Fixture, Web, APP, KEEP};
use harness::lab::text;

/// Where a kill happens, in the order a deploy reaches them, and what the next run promises.
const KILL_POINTS: &[(&str, Promise)] = &[
    ("staged", Promise::Untouched),
    ("pulling", Promise::Untouched),
    ("committed", Promise::Untouched),
    ("switched", Promise::Finished),
    ("reloaded", Promise::Finished),
    ("restarting", Promise::Finished),
    ("recorded", Promise::Finished),
    ("rolling-back", Promise::Undone),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Promise {
    /// Killed before the switch: nothing on the host changed; the next deploy deploys the change.
    Untouched,
    /// Killed after the switch: the next run finishes the switch (same generation number).
    Finished,
    /// Killed while rolling back a failed generation: the next run finishes the rollback.
    Undone,
}

#[test]
fn kill_9_at_every_step_is_finished_or_undone_by_the_next_run() {
    let Some(f) = Fixture::deployed("fault-kill", "v0") else {
        return;
    };
    let mut gen = 1;
    let mut mark = "v0".to_string();
    f.assert_consistent(gen, &mark, "first deploy");
    for (point, promise) in KILL_POINTS {
        let what = format!("kill@{point}");
        let before = f.host();
        let new_mark = format!("k-{point}");
        let mut web = Web::good(&new_mark);
        if *promise == Promise::Undone {
            // A generation whose app cannot start: the deploy fails and rolls back.
            web.command = r#"["/no/such/binary"]"#.to_string();
        }
        f.set_web(&web, &what);
        let o = f.deploy_killed_at(point, &[]);
        assert!(
            killed(&o),
            "{what}: the deploy was not killed: {}",
            text(&o)
        );
        match promise {
            Promise::Untouched => {
                assert_eq!(
                    f.host(),
                    before,
                    "{what}: the host changed before the switch"
                );
            }
            Promise::Finished if matches!(*point, "switched" | "reloaded") => {
                // Switched, not restarted yet: the old containers still run.
                assert_eq!(f.host().app, before.app, "{what}");
                assert_eq!(f.host().worker, before.worker, "{what}");
            }
            _ => {}
        }
        if *promise == Promise::Undone {
            // The operator reverts the bad commit; the next run finishes the rollback first.
            f.set_web(&Web::good(&mark), "revert");
        }
        let o = f.deploy(&[]);
        assert!(o.status.success(), "{what}: the next run: {}", text(&o));
        let (expected, expected_mark) = match (promise, *point) {
            (Promise::Undone, _) => (gen, mark.clone()),
            // The committed generation was never switched to: it stays, pending, and the
            // change becomes the one after it.
            (Promise::Untouched, "committed") => (gen + 2, new_mark.clone()),
            _ => (gen + 1, new_mark.clone()),
        };
        f.assert_consistent(expected, &expected_mark, &format!("{what}, next run"));
        if *promise == Promise::Undone {
            assert_eq!(f.manifest(gen + 1)["outcome"], "rolled-back", "{what}");
        }
        if *point == "committed" {
            assert_eq!(f.manifest(gen + 1)["outcome"], "pending", "{what}");
        }
        // A following normal deploy works.
        gen = f.newest() + 1;
        mark = format!("after-{point}");
        f.set_web(&Web::good(&mark), "after");
        f.deploy_ok(&[]);
        f.assert_consistent(gen, &mark, &format!("{what}, following deploy"));
    }
}

/// Writes `contents` to a file of the state directory, owned by the lab user.
fn corrupt(f: &Fixture, rel: &str, contents: &[u8]) {
    let p = f.state().join(rel);
    std::fs::write(&p, contents).unwrap();
    f.lab.lab.chown(&p);
}

#[test]
fn a_corrupt_intent_file_is_named_and_the_interrupted_run_still_finishes() {
    let Some(f) = Fixture::deployed("fault-intent", "v0") else {
        return;
    };
    // Garbage where nothing was in flight: named as the intent file, removed, nothing restarted.
    let before = f.host();
    corrupt(&f, "intent.json", b"{\"from\": 1, \"to\"");
    let o = f.deploy(&[]);
    assert!(o.status.success(), "garbage intent: {}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("intent.json") && out.contains("intent file"),
        "{out}"
    );
    assert!(!out.contains("unreadable manifest"), "{out}");
    assert_eq!(f.host(), before, "nothing restarted");
    f.assert_consistent(1, "v0", "garbage intent");

    // A switch killed after `current` moved, its intent then damaged: still finished.
    f.set_web(&Web::good("v1"), "v1");
    assert!(killed(&f.deploy_killed_at("switched", &[])));
    let p = f.state().join("intent.json");
    let bytes = std::fs::read(&p).unwrap();
    corrupt(&f, "intent.json", &bytes[..bytes.len() / 2]);
    let o = f.deploy(&[]);
    assert!(
        o.status.success(),
        "damaged intent of a switch: {}",
        text(&o)
    );
    f.assert_consistent(2, "v1", "damaged intent of a switch");

    // A rollback killed midway, its intent then emptied: still finished.
    let mut bad = Web::good("v2");
    bad.command = r#"["/no/such/binary"]"#.to_string();
    f.set_web(&bad, "a generation that cannot start");
    assert!(killed(&f.deploy_killed_at("rolling-back", &[])));
    corrupt(&f, "intent.json", b"");
    f.set_web(&Web::good("v1"), "revert");
    let o = f.deploy(&[]);
    assert!(
        o.status.success(),
        "damaged intent of a rollback: {}",
        text(&o)
    );
    f.assert_consistent(2, "v1", "damaged intent of a rollback");
    assert_eq!(f.manifest(3)["outcome"], "rolled-back");

    f.set_web(&Web::good("v3"), "v3");
    f.deploy_ok(&[]);
    f.assert_consistent(4, "v3", "following deploy");
}

#[test]
fn a_corrupt_manifest_of_the_current_generation_keeps_the_host_and_deploys_again() {
    let Some(f) = Fixture::deployed("fault-manifest", "v0") else {
        return;
    };
    let before = f.host();
    corrupt(&f, "generations/1/manifest.json", b"{\"id\": 1, \"stac");
    // An unrelated reload: generation 1 is the only one and no longer intact, so the generator
    // writes nothing and says so (systemd/README.md); what runs is not touched.
    f.lab.systemctl(&["daemon-reload"]);
    assert_eq!(f.host(), before, "nothing restarted by the reload");
    // The next deploy names the file and deploys.
    f.set_web(&Web::good("v1"), "v1");
    let o = f.deploy(&[]);
    assert!(
        o.status.success(),
        "deploy over a corrupt manifest: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("generations/1/manifest.json"),
        "{}",
        text(&o)
    );
    let gen = f.current().unwrap();
    assert!(gen > 1, "a new generation: {gen}");
    f.assert_consistent_except(gen, "v1", &[1], "deploy over a corrupt manifest");
}

#[test]
fn a_corrupt_current_link_keeps_the_host_and_a_deploy_names_the_repair() {
    let Some(f) = Fixture::deployed("fault-current", "v0") else {
        return;
    };
    let link = f.state().join("current");
    let before = f.host();
    for (what, bad) in [
        ("a plain file", None),
        ("a dangling link", Some("generations/99")),
    ] {
        std::fs::remove_file(&link).unwrap();
        match bad {
            None => corrupt(&f, "current", b"generations/1\n"),
            Some(target) => std::os::unix::fs::symlink(target, &link).unwrap(),
        }
        f.lab.systemctl(&["daemon-reload"]);
        let unit = f.lab.systemctl(&["cat", "web-app.service"]);
        assert!(
            text(&unit).contains("MARK=v0"),
            "{what}: the reload kept generation 1's units: {}",
            text(&unit)
        );
        assert_eq!(f.host().app, before.app, "{what}: app untouched");
        assert_eq!(f.host().worker, before.worker, "{what}: worker untouched");
    }
    // A deploy does not guess over a broken `current`: it refuses, naming the link and the repair
    // (the generator meanwhile serves the newest intact generation, above).
    f.set_web(&Web::good("v1"), "v1");
    let o = f.deploy(&[]);
    assert!(
        !o.status.success(),
        "deploy over a broken current: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("current") && text(&o).contains("ln -sfn generations/N"),
        "{}",
        text(&o)
    );
    assert_eq!(
        f.host().app,
        before.app,
        "the refused deploy left the app alone"
    );
    // The repair the message names, then the deploy goes through.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("generations/1", &link).unwrap();
    f.deploy_ok(&[]);
    f.assert_consistent(2, "v1", "deploy after repairing current");
}

/// A small tmpfs mounted over the lab user's state directory (the generator's too), unmounted
/// when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(f: &Fixture, size: &str) -> SmallDisk {
        let dir = f.state().to_path_buf();
        f.lab.lab.create_dirs(&dir);
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0755,uid={}", f.lab.lab.uid))
            .arg("fault-state")
            .arg(&dir)
            .status()
            .expect("mount");
        assert!(st.success(), "mount a tmpfs on {}", dir.display());
        SmallDisk(dir)
    }

    /// Fills the file system: every write fails with ENOSPC until `free`.
    fn fill(&self) {
        for bs in ["64k", "4k"] {
            let _ = std::process::Command::new("dd")
                .args(["if=/dev/zero", &format!("bs={bs}"), "status=none"])
                .arg(format!(
                    "of={}",
                    self.0.join(format!("filler-{bs}")).display()
                ))
                .stderr(std::process::Stdio::null())
                .status();
        }
    }

    fn free(&self) {
        for bs in ["64k", "4k"] {
            std::fs::remove_file(self.0.join(format!("filler-{bs}"))).unwrap();
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_state_disk_refuses_the_deploy_and_changes_nothing() {
    let Some(f) = Fixture::new("fault-disk-full") else {
        return;
    };
    let disk = SmallDisk::mount(&f, "4m");
    f.set_web(&Web::good("v0"), "v0");
    f.deploy_ok(&[]);
    f.lab.ok(
        "podman",
        &["exec", APP, "sh", "-c", &format!("echo kept >{KEEP}")],
    );
    let before = f.host();
    disk.fill();
    f.set_web(&Web::good("v1"), "v1");
    let o = f.deploy(&[]);
    assert!(!o.status.success(), "deploy on a full disk: {}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("No space left") && out.contains(&f.state().display().to_string()),
        "the error names the cause and the path: {out}"
    );
    assert_eq!(f.host(), before, "nothing restarted");
    f.lab.systemctl(&["daemon-reload"]);
    assert_eq!(f.host(), before, "nothing restarted by a reload");
    f.assert_consistent(1, "v0", "full disk");
    disk.free();
    f.deploy_ok(&[]);
    f.assert_consistent(2, "v1", "after freeing space");
    drop(f);
    drop(disk);
}

#[test]
fn daemon_reloads_during_a_deploy_change_nothing_it_promised() {
    let Some(f) = Fixture::deployed("fault-reload", "v0") else {
        return;
    };
    f.set_web(&Web::good("v1"), "v1");
    let mut child = f.deploy_cmd(&[]).spawn().unwrap();
    let mut reloads = 0;
    while child.try_wait().unwrap().is_none() {
        f.lab.systemctl(&["daemon-reload"]);
        reloads += 1;
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "deploy under reloads: {}", text(&o));
    assert!(
        reloads >= 2,
        "the reloads overlapped the deploy ({reloads})"
    );
    f.assert_consistent(2, "v1", "reloads during a deploy");
    // A reload between a killed switch and the next run: the next run still finishes it.
    f.set_web(&Web::good("v2"), "v2");
    assert!(killed(&f.deploy_killed_at("switched", &[])));
    f.lab.systemctl(&["daemon-reload"]);
    f.deploy_ok(&[]);
    f.assert_consistent(3, "v2", "a reload after a killed switch");
}

#[test]
fn a_trigger_during_a_deploy_is_refused_or_queued_never_lost() {
    let Some(f) = Fixture::deployed("fault-trigger", "v0") else {
        return;
    };
    f.set_web(&Web::good("v1"), "v1");
    let first = f.deploy_cmd(&[]).spawn().unwrap();
    let intent = f.state().join("intent.json");
    assert!(
        f.wait_for(60, || intent.exists()),
        "the first deploy switches"
    );
    // A commit lands while it runs.
    f.set_web(&Web::good("v2"), "v2");
    let o = f.deploy(&[]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(
        text(&o).contains("another deploy is running"),
        "{}",
        text(&o)
    );
    let o = f.deploy(&["--wait"]);
    assert!(o.status.success(), "the queued trigger: {}", text(&o));
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "the first deploy: {}", text(&o));
    // The newest commit is what runs, whichever of the two deployed it.
    let gen = f.current().unwrap();
    f.assert_consistent(gen, "v2", "trigger during a deploy");
    assert_eq!(f.manifest(2)["outcome"], "deployed");
}

#[test]
fn a_broken_file_in_one_stack_leaves_the_host_as_it_was() {
    let Some(f) = Fixture::deployed("fault-broken-file", "v0") else {
        return;
    };
    let before = f.host();
    let worker = f.repo.join("services/worker/compose.yaml");
    let good = std::fs::read_to_string(&worker).unwrap();
    let breakages: [(&str, &dyn Fn()); 3] = [
        ("a YAML syntax error", &|| {
            f.write(
                "services/worker/compose.yaml",
                "services:\n  loop: [broken\n",
            )
        }),
        ("a dangling symlink", &|| {
            std::fs::remove_file(&worker).unwrap();
            std::os::unix::fs::symlink("no-such-file.yaml", &worker).unwrap();
        }),
        ("a directory", &|| {
            std::fs::remove_file(&worker).unwrap();
            f.write("services/worker/compose.yaml/x", "x\n");
        }),
    ];
    for (what, breakage) in breakages {
        // A valid change to web in the same commit: it must not deploy either.
        f.set_web(&Web::good("v1"), what);
        breakage();
        f.commit(what);
        let o = f.deploy(&[]);
        assert_eq!(o.status.code(), Some(3), "{what}: {}", text(&o));
        assert!(
            text(&o).contains("services/worker/compose.yaml"),
            "{what}: names the file: {}",
            text(&o)
        );
        assert_eq!(f.host(), before, "{what}: nothing restarted");
        f.assert_consistent(1, "v0", what);
        // Repaired, for the next case.
        let _ = std::fs::remove_dir_all(&worker);
        let _ = std::fs::remove_file(&worker);
        f.write("services/worker/compose.yaml", &good);
        f.set_web(&Web::good("v0"), "repaired");
    }
    f.set_web(&Web::good("v1"), "v1");
    f.deploy_ok(&[]);
    f.assert_consistent(2, "v1", "after the repair");
}

#[test]
fn a_container_that_never_becomes_healthy_with_nothing_waiting_rolls_back() {
    let Some(f) = Fixture::deployed("fault-unhealthy", "v0") else {
        return;
    };
    let mut web = Web::good("v1");
    web.health = r#"["CMD", "false"]"#.to_string();
    f.set_web(&web, "a health check that never passes");
    let o = f.deploy(&["--timeout", "8"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    f.assert_consistent(1, "v0", "never healthy");
    assert_eq!(f.manifest(2)["outcome"], "rolled-back");
    f.set_web(&Web::good("v2"), "v2");
    f.deploy_ok(&[]);
    f.assert_consistent(3, "v2", "after the rollback");
}

/// Answers every connection with an HTTP 500 (a registry that errors), until dropped.
struct ErroringRegistry {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ErroringRegistry {
    fn start() -> ErroringRegistry {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(1)));
                        let _ = c.read(&mut [0; 4096]);
                        let _ = c.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
        });
        ErroringRegistry { port, stop }
    }
}

impl Drop for ErroringRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts the lab registry again when dropped (also when the test fails).
struct RegistryBack<'a>(&'a Fixture);

impl Drop for RegistryBack<'_> {
    fn drop(&mut self) {
        self.0.lab.lab.registry_ctl("start");
    }
}

#[test]
fn a_registry_that_errors_switches_nothing() {
    let Some(f) = Fixture::deployed("fault-registry", "v0") else {
        return;
    };
    let before = f.host();
    let erroring = ErroringRegistry::start();
    let closed = common::lab::free_port();
    let cases = [
        ("a closed port", format!("127.0.0.1:{closed}/lab/busybox:1")),
        (
            "a registry answering 500",
            format!("127.0.0.1:{}/lab/busybox:1", erroring.port),
        ),
        (
            "the lab registry stopped",
            "${REGISTRY}/lab/busybox:2".into(),
        ),
    ];
    for (what, image) in cases {
        let mut web = Web::good("v1");
        web.image = image;
        f.set_web(&web, what);
        let _back = (what == "the lab registry stopped").then(|| {
            assert!(f.lab.lab.registry_ctl("stop"), "registry stop");
            RegistryBack(&f)
        });
        let o = f.deploy(&[]);
        assert_eq!(o.status.code(), Some(4), "{what}: {}", text(&o));
        assert_eq!(f.host(), before, "{what}: nothing restarted");
        f.assert_consistent(1, "v0", what);
    }
    // The registry started again outlives the test: it must not hold the lab lock's descriptor.
    // (ci/lab-registry: registry.pid for 127.0.0.1:5000, registry-PORT.pid for another port)
    let port = f.lab.lab.registry.rsplit(':').next().unwrap_or_default();
    let pid_file = match port {
        "5000" => "/run/release-tool-lab/registry.pid".to_string(),
        p => format!("/run/release-tool-lab/registry-{p}.pid"),
    };
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let fds = std::fs::read_dir(format!("/proc/{}/fd", pid.trim()))
        .unwrap_or_else(|e| panic!("the restarted registry ({pid_file}: {pid:?}): {e}"));
    for fd in fds.flatten() {
        let target = std::fs::read_link(fd.path()).unwrap_or_default();
        assert!(
            !target.to_string_lossy().contains("rt-lab.lock"),
            "the restarted registry holds {}",
            target.display()
        );
    }
    f.set_web(&Web::good("v1"), "v1");
    f.deploy_ok(&[]);
    f.assert_consistent(2, "v1", "after the registry errors");
}
