//! Exact generations with the real renderer and the fakes: units pinned by digest, the snapshot's
//! policy for links and special files, and a stack's content reaching outside its directory.

use std::fs;
use std::path::Path;

use super::corpus_tests::routes_case;
use super::effects::Effects;
use super::fake::{FakeClock, FakePodman, FakeSystemd};
use super::prepare::{deploy, shown_inputs, DeployOptions, DeployResult, DeploySource};
use super::render::RepoRenderer;
use super::store::StateStore;
use crate::deploy::fake::Recorder;
use crate::translate::PodmanVersion;

struct World {
    store: StateStore,
    podman: FakePodman,
    systemd: FakeSystemd,
    clock: FakeClock,
    report: Recorder,
}

impl World {
    fn new(dir: &Path) -> World {
        World {
            store: StateStore::open(&dir.join("state")).unwrap(),
            podman: FakePodman::default(),
            systemd: FakeSystemd::default(),
            clock: FakeClock::default(),
            report: Recorder::default(),
        }
    }

    fn deploy(&self, src: &DeploySource) -> DeployResult {
        let fx = Effects {
            podman: &self.podman,
            systemd: &self.systemd,
            clock: &self.clock,
            report: &self.report,
        };
        let renderer = RepoRenderer {
            podman_version: PodmanVersion::NEWEST,
            strict: false,
            home: None,
        };
        deploy(&self.store, &fx, &renderer, src, &DeployOptions::default()).unwrap()
    }
}

/// DESIGN 5: a file outside the stack's directory that a unit names (a `../shared` bind mount) is
/// part of the stack's content: changing it changes the stack, and only the stacks naming it.
#[test]
fn a_change_outside_the_stack_dir_that_a_unit_names_changes_the_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let case = routes_case(tmp.path());
    fs::create_dir_all(case.src.services_dir.join("other")).unwrap();
    fs::write(
        case.src.services_dir.join("other/compose.yaml"),
        "services:\n  o:\n    image: registry.example/o:1\n",
    )
    .unwrap();
    let w = World::new(tmp.path());
    let store = &w.store;
    let run = || w.deploy(&case.src);
    let DeployResult::Deployed(first) = run() else {
        panic!("first deploy")
    };
    fs::write(
        case.src.services_dir.join("shared/conf/nginx.conf"),
        "changed",
    )
    .unwrap();
    let DeployResult::Deployed(second) = run() else {
        panic!("a changed bind-mounted file outside the stack dir went unnoticed")
    };
    let (a, b) = (
        store.read_manifest(first).unwrap(),
        store.read_manifest(second).unwrap(),
    );
    assert_ne!(a.stacks["app"].hash, b.stacks["app"].hash);
    assert_eq!(a.stacks["other"].hash, b.stacks["other"].hash);
    assert!(matches!(run(), DeployResult::NoChange(Some(g)) if g == second));
}

/// DESIGN 4a: the units of a generation run the digest pulled for it. A tag that moves in the
/// registry is a change (DESIGN 5), the new generation runs the new digest, and the old
/// generation's units, which a rollback makes current again, still run the old one.
#[test]
fn units_pin_the_pulled_digest_and_a_moved_tag_is_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let services = tmp.path().join("repo/services");
    fs::create_dir_all(services.join("app")).unwrap();
    fs::write(
        services.join("app/compose.yaml"),
        "services:\n  web:\n    image: registry.example/web:1\n  job:\n    build: .\n",
    )
    .unwrap();
    fs::write(services.join("app/Dockerfile"), "FROM scratch\n").unwrap();
    let src = DeploySource {
        repo: tmp.path().join("repo"),
        services_dir: services,
        vars_file: None,
        vars_json: None,
    };
    let w = World::new(tmp.path());
    let store = &w.store;
    let image = "registry.example/web:1".to_string();
    let (old, new) = (
        format!("sha256:{}", "a".repeat(64)),
        format!("sha256:{}", "b".repeat(64)),
    );
    let unit = |g: u64| {
        fs::read_to_string(store.generation_dir(g).join("units/app/app-web.container")).unwrap()
    };
    w.podman
        .digests
        .lock()
        .unwrap()
        .insert(image.clone(), old.clone());
    let DeployResult::Deployed(first) = w.deploy(&src) else {
        panic!("first deploy")
    };
    let text = unit(first);
    assert!(
        text.contains(&format!("\nImage=registry.example/web@{old}\n")),
        "{text}"
    );
    assert!(
        text.contains("# release-tool: image registry.example/web:1\n"),
        "{text}"
    );
    // The built image keeps its .build reference (built from the generation's own context).
    let job = fs::read_to_string(
        store
            .generation_dir(first)
            .join("units/app/app-job.container"),
    )
    .unwrap();
    assert!(job.contains("\nImage=app-job.build\n"), "{job}");
    // Same files, the tag moved.
    w.podman
        .digests
        .lock()
        .unwrap()
        .insert(image.clone(), new.clone());
    let DeployResult::Deployed(second) = w.deploy(&src) else {
        panic!("a new digest behind the same tag went unnoticed")
    };
    assert!(unit(second).contains(&format!("\nImage=registry.example/web@{new}\n")));
    assert!(
        unit(first).contains(&format!("\nImage=registry.example/web@{old}\n")),
        "the generation a rollback returns to runs the old digest"
    );
    let m = store.read_manifest(second).unwrap();
    assert_eq!(m.stacks["app"].images[&image], new);
    // A registry outage for an unchanged stack keeps the digest it runs.
    w.podman.fail_pulls(&image, 100);
    assert!(matches!(
        w.deploy(&src),
        DeployResult::NoChange(Some(g)) if g == second
    ));
}

/// Issue 11 item 3: a stack's directory linking out of the repo (`conf -> /usr/share`) costs one
/// link in the generation, not a copy; a FIFO in a stack is bad input naming it (exit 3), and the
/// deploy changes nothing.
#[test]
fn the_snapshot_keeps_links_out_of_the_repo_and_refuses_a_fifo() {
    let tmp = tempfile::tempdir().unwrap();
    let services = tmp.path().join("repo/services");
    let app = services.join("app");
    fs::create_dir_all(&app).unwrap();
    fs::write(
        app.join("compose.yaml"),
        "services:\n  web:\n    image: registry.example/web:1\n    volumes: [./conf:/c:ro]\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/usr/share", app.join("conf")).unwrap();
    let fifo = app.join("pipe");
    let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let src = DeploySource {
        repo: tmp.path().join("repo"),
        services_dir: services,
        vars_file: None,
        vars_json: None,
    };
    let w = World::new(tmp.path());
    let store = &w.store;
    match w.deploy(&src) {
        DeployResult::InvalidInput(e) => {
            assert_eq!(e[0].stack, "app");
            assert!(e[0].message.contains(&fifo.display().to_string()), "{e:?}");
            assert!(e[0].message.contains("is a FIFO"), "{e:?}");
        }
        other => panic!("a FIFO in a stack: {other:?}"),
    }
    assert_eq!(
        store.list().unwrap(),
        Vec::<u64>::new(),
        "nothing committed"
    );
    assert!(w.systemd.calls().is_empty(), "{:?}", w.systemd.calls());
    fs::remove_file(&fifo).unwrap();
    let DeployResult::Deployed(id) = w.deploy(&src) else {
        panic!("deploy")
    };
    let conf = store.generation_dir(id).join("inputs/services/app/conf");
    assert_eq!(fs::read_link(&conf).unwrap(), Path::new("/usr/share"));
    let unit =
        fs::read_to_string(store.generation_dir(id).join("units/app/app-web.container")).unwrap();
    let shown = shown_inputs(store).join("services/app/conf");
    assert!(
        unit.contains(&format!("Volume={}:/c:ro", shown.display())),
        "{unit}"
    );
}
