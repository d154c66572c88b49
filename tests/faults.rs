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
    // An unrelated reload: the generator still serves generation 1's units.
    f.lab.systemctl(&["daemon-reload"]);
    let unit = text(&f.lab.systemctl(&["cat", "web-app.service"]));
    assert!(unit.contains("MARK=v0"), "{unit}");
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
fn a_corrupt_current_link_keeps_the_host_and_deploys_again() {
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
    f.set_web(&Web::good("v1"), "v1");
    let o = f.deploy(&[]);
    assert!(
        o.status.success(),
        "deploy over a broken current: {}",
        text(&o)
    );
    f.assert_consistent(2, "v1", "deploy over a broken current");
}
