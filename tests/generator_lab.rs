//! The generator under the lab's real user manager when `current` breaks: an unrelated
//! `daemon-reload` keeps our units loaded and running (the newest intact generation is rendered,
//! where before every unit became `not-found`), the generator's message goes to the manager's
//! stderr, and `status` names the broken link. A lab test: run it under the lab lock.

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::fs;
use std::time::Duration;

use harness::lab::{text, Lab};
use release_tool::deploy::manifest::sha256_hex;
use release_tool::deploy::store::StateStore;
use serde_json::json;

/// The lab flavour's busybox image (its own registry: tests/common/lab.rs).
fn image() -> String {
    format!("{}/lab/busybox:1", common::lab::registry())
}

/// Generation `id` of stack `extra` (one container), with the manifest a deploy writes (only the
/// fields the generator reads filled in).
fn write_generation(store: &StateStore, id: u64) {
    let dir = store.staging_dir(id);
    let units = dir.join("units/extra");
    fs::create_dir_all(&units).unwrap();
    let files = [
        (
            "extra-app.container",
            format!(
                "[Container]\nImage={}\nExec=sleep 100000\nEnvironment=G={id}\nStopTimeout=1\n\
                 [Service]\nTimeoutStopSec=5\n",
                image()
            ),
        ),
        (
            "extra.target",
            "[Unit]\nWants=extra-app.service\n[Install]\nWantedBy=default.target\n".to_string(),
        ),
    ];
    let mut hashes = serde_json::Map::new();
    for (name, text) in &files {
        fs::write(units.join(name), text).unwrap();
        hashes.insert(name.to_string(), json!(sha256_hex(text.as_bytes())));
    }
    let m = json!({"id": id, "git_rev": null, "created": 0, "outcome": "deployed", "parent": null,
        "stacks": {"extra": {"hash": "", "inputs_hash": "", "units": hashes, "containers": [],
                             "secrets": [], "images": {}}}});
    fs::write(dir.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    store.commit_staged(id).unwrap();
}

/// Resets the lab when the test ends, failed or not: the lab is shared.
struct ResetOnDrop<'a>(&'a Lab);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.reset();
    }
}

#[test]
fn a_broken_current_keeps_our_units_through_a_daemon_reload() {
    let Some(lab) = Lab::get("generator_lab") else {
        return;
    };
    lab.reset();
    let _reset = ResetOnDrop(&lab);
    let store = StateStore::open(&lab.state).unwrap();
    write_generation(&store, 1);
    store.switch(Some(1)).unwrap();
    lab.lab.chown(&lab.home.join(".local"));
    assert!(lab.systemctl(&["daemon-reload"]).status.success());
    let o = lab.systemctl(&["start", "extra-app.service"]);
    assert!(o.status.success(), "{}", text(&o));
    let running = || {
        lab.unit_property("extra-app.service", "LoadState") == "loaded"
            && lab.unit_property("extra-app.service", "ActiveState") == "active"
    };
    assert!(lab.wait_for(Duration::from_secs(60), running), "started");

    // `current` becomes a plain file, then something else reloads the manager.
    let log = lab
        .lab
        .env_file
        .with_file_name(format!("user-manager-{}.log", lab.user));
    let logged_before = fs::read_to_string(&log).map(|t| t.len()).unwrap_or(0);
    fs::remove_file(store.current_link()).unwrap();
    fs::write(store.current_link(), "generations/1\n").unwrap();
    lab.lab.chown(&store.current_link());
    assert!(lab.systemctl(&["daemon-reload"]).status.success());
    assert_eq!(
        lab.unit_property("extra-app.service", "LoadState"),
        "loaded",
        "generation 1 is rendered again, not nothing"
    );
    assert_eq!(
        lab.unit_property("extra-app.service", "ActiveState"),
        "active"
    );
    assert!(lab
        .unit_property("extra-app.service", "FragmentPath")
        .contains("systemd/generator"));
    // The generator's stderr is the manager's (here the lab's log file; under user@.service, the
    // journal).
    if let Ok(t) = fs::read_to_string(&log) {
        let new = &t[logged_before.min(t.len())..];
        assert!(
            new.contains("release-tool-generator:") && new.contains("rendering generation 1"),
            "{log:?}: {new}"
        );
    }

    // `status` names the broken link instead of "no generations yet".
    let o = lab.tool(&["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains(&*store.current_link().to_string_lossy()) && out.contains("is a file"),
        "{out}"
    );
}
