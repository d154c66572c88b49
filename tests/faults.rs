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
