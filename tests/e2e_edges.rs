//! The real edges without the loader and translator: generations built by hand (Quadlet files
//! written here) in the lab user's state dir, switched between with `release-tool rollback N` as the
//! lab user. Exercises the generator under the real user manager, `systemctl --user`, podman
//! health checks, ordered restarts, automatic return on failure, `status` and `history`.

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::lab::{text, Lab};
use release_tool::deploy::manifest::{stack_manifest, Manifest, Outcome};
use release_tool::deploy::store::StateStore;
use release_tool::translate::{ContainerInfo, RenderedStack, RenderedUnit};

/// The lab flavour's busybox image (its own registry: tests/common/lab.rs).
fn image() -> String {
    format!("{}/lab/busybox:1", common::lab::registry())
}

fn extra_stack(version: &str, health: &str) -> RenderedStack {
    let db = format!(
        "[Unit]\nDescription=extra db\n[Container]\nImage={}\nExec=httpd -f -p 8080 -h /www\n\
         HealthCmd={health}\nEnvironment=V=db1\nStopTimeout=1\n[Service]\nTimeoutStopSec=5\n",
        image()
    );
    let app = format!(
        "[Unit]\nDescription=extra app\nRequires=extra-db.service\nAfter=extra-db.service\n\
         [Container]\nImage={}\nExec=sleep 100000\nEnvironment=V={version}\nStopTimeout=1\n\
         [Service]\nTimeoutStopSec=5\n",
        image()
    );
    RenderedStack {
        stack: "extra".into(),
        units: vec![
            RenderedUnit {
                file_name: "extra-app.container".into(),
                contents: app,
            },
            RenderedUnit {
                file_name: "extra-db.container".into(),
                contents: db,
            },
            RenderedUnit {
                file_name: "extra.target".into(),
                contents: "[Unit]\nWants=extra-db.service extra-app.service\n".into(),
            },
        ],
        containers: vec![
            ContainerInfo {
                service: "app".into(),
                unit: "extra-app.service".into(),
                image: Some(image()),
                after: vec!["extra-db.service".into()],
                healthcheck: false,
                oneshot: false,
            },
            ContainerInfo {
                service: "db".into(),
                unit: "extra-db.service".into(),
                image: Some(image()),
                after: vec![],
                healthcheck: true,
                oneshot: false,
            },
        ],
        secrets: vec![],
        warnings: vec![],
    }
}

fn add_generation(store: &StateStore, id: u64, stack: &RenderedStack) {
    let dir = store.staging_dir(id);
    let units = dir.join("units").join(&stack.stack);
    std::fs::create_dir_all(&units).unwrap();
    for u in &stack.units {
        std::fs::write(units.join(&u.file_name), &u.contents).unwrap();
    }
    let digests = BTreeMap::from([(image(), "sha256:same".to_string())]);
    let m = Manifest {
        id,
        git_rev: None,
        created: 1_700_000_000 + id,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks: BTreeMap::from([(
            stack.stack.clone(),
            stack_manifest(stack, "inputs", &digests, vec![]),
        )]),
    };
    store.write_manifest(&dir, &m).unwrap();
    store.commit_staged(id).unwrap();
}

#[test]
fn switching_hand_built_generations_on_the_real_manager() {
    let Some(lab) = Lab::get("e2e_edges") else {
        return;
    };
    lab.reset();
    let store = StateStore::open(&lab.state).unwrap();
    add_generation(
        &store,
        1,
        &extra_stack("1", "wget -q -O /dev/null http://127.0.0.1:8080/"),
    );
    add_generation(
        &store,
        2,
        &extra_stack("2", "wget -q -O /dev/null http://127.0.0.1:8080/"),
    );
    add_generation(&store, 3, &extra_stack("3", "false"));
    lab.lab.chown(&lab.home.join(".local"));

    // None → 1: the generator renders it, both containers start, db first and healthy.
    let o = lab.tool(&["rollback", "1", "--timeout", "60"]);
    assert!(o.status.success(), "{}", text(&o));
    let gen_dir = lab.runtime.join("systemd/generator");
    assert!(
        gen_dir.join("extra-db.service").is_file(),
        "generator output"
    );
    let db_unit = std::fs::read_to_string(gen_dir.join("extra-db.service")).unwrap();
    let source = db_unit
        .lines()
        .find_map(|l| l.strip_prefix("SourcePath="))
        .expect("SourcePath=");
    // Quadlet read the generator's staging copy: a plain file (not a link someone could point
    // elsewhere after the check), byte for byte generation 1's verified unit.
    let staged = std::path::Path::new(source);
    let meta = std::fs::symlink_metadata(staged).unwrap();
    assert!(
        meta.file_type().is_file() && staged.starts_with(&gen_dir),
        "{source}: a plain file in the generator's output"
    );
    let generation_1 = lab
        .state
        .join("generations/1/units/extra/extra-db.container");
    assert_eq!(
        std::fs::read(staged).unwrap(),
        std::fs::read(&generation_1).unwrap(),
        "{source} is generation 1's unit"
    );
    assert_eq!(
        lab.unit_property("extra-db.service", "ActiveState"),
        "active"
    );
    assert_eq!(
        lab.unit_property("extra-app.service", "ActiveState"),
        "active"
    );
    let db1 = lab.container("systemd-extra-db").expect("db runs");
    let app1 = lab.container("systemd-extra-app").expect("app runs");

    // 1 → 2: only the app changed: the db keeps its container.
    let o = lab.tool(&["rollback", "2", "--timeout", "60"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        lab.container("systemd-extra-db"),
        Some(db1.clone()),
        "db untouched"
    );
    let app2 = lab.container("systemd-extra-app").expect("app runs");
    assert_ne!(app2, app1, "app restarted");

    // 2 → 3: the db's health check fails: back to 2, exit 5, the previous containers back.
    let o = lab.tool(&["rollback", "3", "--timeout", "15"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert_eq!(store.current(), Some(2));
    assert!(lab.wait_for(Duration::from_secs(30), || {
        lab.unit_property("extra-db.service", "ActiveState") == "active"
            && lab.unit_property("extra-app.service", "ActiveState") == "active"
    }));
    let env = lab.ok(
        "podman",
        &[
            "container",
            "inspect",
            "--format",
            "{{.Config.Env}}",
            "systemd-extra-app",
        ],
    );
    assert!(env.contains("V=2"), "{env}");
    let generated = std::fs::read_to_string(gen_dir.join("extra-db.service")).unwrap();
    assert!(
        !generated.contains("false"),
        "the generator renders generation 2 again"
    );

    // status and history.
    let o = lab.tool(&["status", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let db = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["container"] == "db")
        .unwrap();
    assert_eq!(db["active_state"], "active");
    assert_eq!(db["generation"], 2);
    let o = lab.tool(&["history"]);
    let h = text(&o);
    assert!(h.contains("rolled-back"), "{h}");
    lab.reset();
}
