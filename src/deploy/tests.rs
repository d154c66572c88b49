//! The deploy transaction against recorded fakes: what it asks systemd and podman to do, and what
//! it leaves in the state store, for each way a deploy can go.

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::effects::Effects;
use super::fake::{FakeClock, FakePodman, FakeSystemd};
use super::manifest::Outcome;
use super::prepare::{
    deploy, DeployOptions, DeployResult, DeploySource, StackError, StackRenderer,
};
use super::store::{Intent, StateStore};
use super::transaction::apply;
use crate::deploy::fake::Recorder;
use crate::translate::{ContainerInfo, RenderedStack, RenderedUnit, SecretSpec};

struct Renderer {
    stacks: RefCell<Result<Vec<RenderedStack>, Vec<StackError>>>,
}

impl StackRenderer for Renderer {
    fn render_all(
        &self,
        inputs: &Path,
        shown: &Path,
    ) -> Result<Vec<RenderedStack>, Vec<StackError>> {
        assert!(
            inputs.join("services").is_dir(),
            "renders from the snapshot"
        );
        let mut r = self.stacks.borrow().clone();
        if let Err(errors) = &mut r {
            // A loader names the files it read: the snapshot's.
            let snap = inputs.join("services").display().to_string();
            for e in errors {
                e.message = e.message.replace("SNAPSHOT", &snap);
            }
        }
        if let Ok(stacks) = &mut r {
            for s in stacks {
                for sec in &mut s.secrets {
                    sec.file = shown.join("services").join(&s.stack).join(&sec.file);
                }
            }
        }
        r
    }
}

pub(super) fn stack(name: &str, version: &str) -> RenderedStack {
    let unit = |svc: &str, extra: &str| RenderedUnit {
        file_name: format!("{name}-{svc}.container"),
        contents: format!("[Container]\nImage=reg/{name}:{version}\n{extra}"),
    };
    RenderedStack {
        stack: name.into(),
        units: vec![
            unit("api", "HealthCmd=true\n"),
            unit("front", ""),
            RenderedUnit {
                file_name: format!("{name}.target"),
                contents: "[Unit]\n".into(),
            },
        ],
        containers: vec![
            ContainerInfo {
                service: "api".into(),
                unit: format!("{name}-api.service"),
                image: Some(format!("reg/{name}:{version}")),
                after: vec![],
                healthcheck: true,
                oneshot: false,
            },
            ContainerInfo {
                service: "front".into(),
                unit: format!("{name}-front.service"),
                image: Some(format!("reg/{name}:{version}")),
                after: vec![format!("{name}-api.service")],
                healthcheck: false,
                oneshot: false,
            },
        ],
        secrets: vec![SecretSpec {
            name: format!("{name}-token"),
            file: PathBuf::from("token.txt"),
        }],
        warnings: vec![],
    }
}

pub(super) struct World {
    _tmp: tempfile::TempDir,
    pub(super) store: StateStore,
    src: DeploySource,
    pub(super) podman: FakePodman,
    pub(super) systemd: FakeSystemd,
    pub(super) clock: FakeClock,
    pub(super) report: Recorder,
}

impl World {
    pub(super) fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let services = tmp.path().join("repo/services");
        for s in ["a", "b"] {
            fs::create_dir_all(services.join(s)).unwrap();
            fs::write(services.join(s).join("compose.yaml"), "services: {}\n").unwrap();
        }
        let store = StateStore::open(&tmp.path().join("state")).unwrap();
        World {
            src: DeploySource {
                repo: tmp.path().join("repo"),
                services_dir: services,
                vars_file: None,
                vars_json: None,
            },
            store,
            _tmp: tmp,
            podman: FakePodman::default(),
            systemd: FakeSystemd::default(),
            clock: FakeClock::default(),
            report: Recorder::default(),
        }
    }

    pub(super) fn fx(&self) -> Effects<'_> {
        Effects {
            podman: &self.podman,
            systemd: &self.systemd,
            clock: &self.clock,
            report: &self.report,
        }
    }

    pub(super) fn deploy(
        &self,
        stacks: Result<Vec<RenderedStack>, Vec<StackError>>,
    ) -> DeployResult {
        let fx = Effects {
            podman: &self.podman,
            systemd: &self.systemd,
            clock: &self.clock,
            report: &self.report,
        };
        let r = Renderer {
            stacks: RefCell::new(stacks),
        };
        let o = DeployOptions {
            timeout: Duration::from_secs(10),
            ..Default::default()
        };
        deploy(&self.store, &fx, &r, &self.src, &o).unwrap()
    }
}

#[test]
fn first_deploy_restarts_in_levels_and_records_the_generation() {
    let w = World::new();
    let r = w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    assert_eq!(r, DeployResult::Deployed(1));
    assert_eq!(
        w.systemd.calls(),
        vec![
            "daemon-reload",
            "restart a-api.service b-api.service",
            "restart a-front.service b-front.service",
            "start a.target b.target",
        ]
    );
    assert_eq!(w.store.current(), Some(1));
    let m = w.store.read_manifest(1).unwrap();
    assert_eq!(m.outcome, Outcome::Deployed);
    assert_eq!(m.stacks["a"].images["reg/a:1"], "sha256:reg/a:1");
    // Secrets name the generation's own copy, not the moving `current` link.
    let secrets = w.podman.secrets.lock().unwrap().clone();
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets[0]
            .1
            .ends_with("generations/1/inputs/services/a/token.txt"),
        "{secrets:?}"
    );
    assert!(w
        .store
        .generation_dir(1)
        .join("units/a/a-api.container")
        .is_file());
    assert!(w
        .store
        .generation_dir(1)
        .join("inputs/services/a/compose.yaml")
        .is_file());
    assert_eq!(w.store.read_intent().unwrap(), None);
}

#[test]
fn nothing_changed_means_no_reload_and_no_generation() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd.clear();
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "1")])),
        DeployResult::NoChange(Some(1))
    );
    assert!(w.systemd.calls().is_empty());
    assert_eq!(w.store.list().unwrap(), vec![1]);
}

#[test]
fn a_changed_stack_restarts_alone_and_a_new_digest_counts_as_a_change() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    w.systemd.clear();
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "2"), stack("b", "1")])),
        DeployResult::Deployed(2)
    );
    assert_eq!(
        w.systemd.calls(),
        vec![
            "daemon-reload",
            "restart a-api.service",
            "restart a-front.service"
        ]
    );
    w.systemd.clear();
    w.podman
        .digests
        .lock()
        .unwrap()
        .insert("reg/b:1".into(), "sha256:new".into());
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "2"), stack("b", "1")])),
        DeployResult::Deployed(3)
    );
    assert!(w
        .systemd
        .calls()
        .contains(&"restart b-api.service".to_string()));
    // An input file change (a mounted config) restarts the stack even with the same units.
    w.systemd.clear();
    fs::write(w.src.services_dir.join("a/index.html"), "new page").unwrap();
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "2"), stack("b", "1")])),
        DeployResult::Deployed(4)
    );
    assert!(w
        .systemd
        .calls()
        .contains(&"restart a-api.service".to_string()));
    assert!(!w.systemd.calls().iter().any(|c| c.contains("b-api")));
}

#[test]
fn a_failed_health_check_rolls_back_to_the_previous_generation() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    w.systemd.clear();
    w.podman
        .unhealthy
        .lock()
        .unwrap()
        .insert("systemd-a-api".into());
    let r = w.deploy(Ok(vec![stack("a", "2"), stack("b", "1")]));
    let DeployResult::RollbackFailed(2, why) = r else {
        panic!("{r:?}")
    };
    assert!(
        why.contains("a-api.service") && why.contains("unhealthy"),
        "{why}"
    );
    assert_eq!(w.store.current(), Some(1));
    let calls = w.systemd.calls();
    assert_eq!(calls[0], "daemon-reload");
    assert_eq!(calls[1], "restart a-api.service");
    // Back: reload again and restart the old a-api (the fake's container stays unhealthy, so the
    // rollback's own wait fails: reported as ROLLBACK_FAILED).
    assert!(
        calls.iter().filter(|c| *c == "daemon-reload").count() >= 2,
        "{calls:?}"
    );
    assert_eq!(
        w.store.read_manifest(2).unwrap().outcome,
        Outcome::RolledBack
    );
    assert!(w
        .report
        .messages()
        .iter()
        .any(|m| m.contains("rolling back to generation 1")));
}

#[test]
fn a_failed_unit_rolls_back_and_restarts_the_old_units() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd.clear();
    w.systemd
        .failing_once
        .lock()
        .unwrap()
        .insert("a-front.service".into());
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    assert!(
        matches!(r, DeployResult::RolledBack(2, ref e) if e.contains("a-front.service failed")),
        "{r:?}"
    );
    assert_eq!(
        w.systemd.calls(),
        vec![
            "daemon-reload",
            "restart a-api.service",
            "restart a-front.service",
            // Back: the failed generation's units are stopped (not restarted in place), then
            // the old ones start.
            "stop a-api.service a-front.service",
            "reset-failed a-front.service",
            "daemon-reload",
            "restart a-api.service",
            "restart a-front.service",
        ]
    );
    assert_eq!(w.store.current(), Some(1));
    // A rollback that fails too is reported as such.
    w.systemd
        .failing
        .lock()
        .unwrap()
        .insert("a-front.service".into());
    let r = w.deploy(Ok(vec![stack("a", "3")]));
    assert!(matches!(r, DeployResult::RollbackFailed(3, _)), "{r:?}");
}

#[test]
fn a_failed_pull_or_render_touches_nothing() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd.clear();
    w.podman.fail_pulls("reg/a:2", 100);
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    assert!(
        matches!(r, DeployResult::PullFailed(ref f) if f[0].0 == "reg/a:2"),
        "{r:?}"
    );
    let r = w.deploy(Err(vec![StackError {
        stack: "a".into(),
        message: "SNAPSHOT/a/compose.yaml:3:5: services.api.image: must be a string".into(),
    }]));
    assert!(matches!(r, DeployResult::InvalidInput(_)));
    assert!(w.systemd.calls().is_empty());
    assert_eq!(w.store.current(), Some(1));
    assert_eq!(w.store.list().unwrap(), vec![1]);
    // The message names the checkout's file, not the snapshot's copy.
    let want = format!("{}/a/compose.yaml:3:5", w.src.services_dir.display());
    assert!(
        w.report.messages().iter().any(|m| m.contains(&want)),
        "{:?}",
        w.report.messages()
    );
}

#[test]
fn a_failed_secret_switches_nothing() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.systemd.clear();
    w.podman
        .failing_secrets
        .lock()
        .unwrap()
        .insert("a-token".into());
    let r = w.deploy(Ok(vec![stack("a", "2")]));
    assert!(
        matches!(r, DeployResult::RolledBack(2, ref e) if e.contains("a-token")),
        "{r:?}"
    );
    assert!(w.systemd.calls().is_empty(), "{:?}", w.systemd.calls());
    assert_eq!(w.store.current(), Some(1));
    assert_eq!(w.store.read_intent().unwrap(), None);
}

#[test]
fn a_removed_stack_is_stopped() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    w.systemd.clear();
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "1")])),
        DeployResult::Deployed(2)
    );
    assert_eq!(
        w.systemd.calls(),
        // Stopped before the reload, while their unit files (and ExecStop=) are still loaded.
        // Then their failed states are forgotten (deploy::cleanup).
        vec![
            "stop b-api.service b-front.service b.target",
            "daemon-reload",
            "reset-failed b-api.service b-front.service b.target"
        ]
    );
}

#[test]
fn an_interrupted_switch_is_finished_by_the_next_run() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.deploy(Ok(vec![stack("a", "2")]));
    // Simulate a run killed right after recording its intent to go from 2 to 1's copy: make
    // generation 3 by hand (a copy of 1) and leave the intent behind, `current` still at 2.
    let g3 = w.store.staging_dir(3);
    fs::create_dir_all(&g3).unwrap();
    let mut m = w.store.read_manifest(1).unwrap();
    m.id = 3;
    m.outcome = Outcome::Pending;
    w.store.write_manifest(&g3, &m).unwrap();
    w.store.commit_staged(3).unwrap();
    w.store
        .write_intent(&Intent {
            from: Some(2),
            to: 3,
            switched: true,
            rolling_back: false,
            restart_levels: vec![],
            stop: vec![],
        })
        .unwrap();
    fs::create_dir_all(w.store.staging_dir(4)).unwrap();
    w.systemd.clear();
    // The next deploy (of what 3 holds) finishes 3 first, then finds nothing to do.
    assert_eq!(
        w.deploy(Ok(vec![stack("a", "1")])),
        DeployResult::NoChange(Some(3))
    );
    assert_eq!(w.store.current(), Some(3));
    assert_eq!(w.store.read_manifest(3).unwrap().outcome, Outcome::Deployed);
    assert_eq!(w.store.read_intent().unwrap(), None);
    assert!(!w.store.staging_dir(4).exists());
    assert!(w
        .systemd
        .calls()
        .contains(&"restart a-api.service".to_string()));
}

#[test]
fn rollback_to_an_older_generation_is_an_apply() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1")]));
    w.deploy(Ok(vec![stack("a", "2")]));
    let fx = Effects {
        podman: &w.podman,
        systemd: &w.systemd,
        clock: &w.clock,
        report: &w.report,
    };
    w.systemd.clear();
    let r = apply(
        &w.store,
        &fx,
        Some(2),
        1,
        Outcome::Restored,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r, super::transaction::ApplyResult::Done);
    assert_eq!(w.store.current(), Some(1));
    assert_eq!(w.store.read_manifest(1).unwrap().outcome, Outcome::Restored);
    assert_eq!(w.systemd.calls()[1], "restart a-api.service");
}

#[test]
fn an_unreachable_image_of_unchanged_stacks_does_not_block_another_stack() {
    let w = World::new();
    w.deploy(Ok(vec![stack("a", "1"), stack("b", "1")]));
    w.systemd.clear();
    // The registry holding a's image is down; b changes.
    w.podman.fail_pulls("reg/a:1", 100);
    let r = w.deploy(Ok(vec![stack("a", "1"), stack("b", "2")]));
    assert_eq!(r, DeployResult::Deployed(2), "{:?}", w.report.messages());
    let m = w.store.read_manifest(2).unwrap();
    let before = w.store.read_manifest(1).unwrap();
    assert_eq!(
        m.stacks["a"].images, before.stacks["a"].images,
        "a keeps its digest"
    );
    assert!(
        w.report
            .messages()
            .iter()
            .any(|m| m.contains("pull of reg/a:1 failed") && m.contains("unchanged")),
        "{:?}",
        w.report.messages()
    );
    // Only b restarted.
    let calls = format!("{:?}", w.systemd.calls());
    assert!(
        calls.contains("b-api.service") && !calls.contains("a-api.service"),
        "{calls}"
    );
    // Once a changes too, its image must pull: nothing is switched.
    let r = w.deploy(Ok(vec![stack("a", "1b"), stack("b", "2")]));
    assert!(
        matches!(r, DeployResult::Deployed(_)),
        "a:1b pulls fine: {r:?}"
    );
    w.podman.fail_pulls("reg/b:3", 100);
    let r = w.deploy(Ok(vec![stack("a", "1b"), stack("b", "3")]));
    assert!(
        matches!(r, DeployResult::PullFailed(ref f) if f.len() == 1 && f[0].0 == "reg/b:3"),
        "{r:?}"
    );
}
