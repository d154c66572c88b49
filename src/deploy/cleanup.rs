//! What a switch leaves behind, and removing it. Stopping a unit does not remove everything its
//! stack created: a container whose stop timed out (exit 137) stays in `podman ps -a`, Quadlet's
//! network units on Podman 4.x never remove their network, secrets are ours to create and so ours
//! to remove, and a unit that failed while stopping stays `failed` in the manager after its file is
//! gone. After a switch from `old` to `new` succeeded, whatever `old` had and `new` does not is
//! removed here, except volumes: they hold data, and go only when the operator asks
//! (`release-tool down --volumes`, or `podman volume rm` with the name the log gives).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::effects::Effects;
use super::manifest::Manifest;
use super::planner::units_of_stack;
use super::store::StateStore;
use super::tool::ToolError;

/// What a generation had that the next one does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Podman container names.
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub secrets: Vec<String>,
    pub volumes: Vec<String>,
    /// systemd units (services and targets) whose `failed` state is to be forgotten.
    pub units: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.networks.is_empty()
            && self.secrets.is_empty()
            && self.volumes.is_empty()
            && self.units.is_empty()
    }
}

/// The Podman name of the object a `.network` or `.volume` unit creates: its `NetworkName=` /
/// `VolumeName=`, else Quadlet's default `systemd-<basename>`. None for other files.
pub fn object_name(unit_file: &str, contents: &str) -> Option<String> {
    let (base, kind) = unit_file.rsplit_once('.')?;
    let (section, key) = match kind {
        "network" => ("[Network]", "NetworkName="),
        "volume" => ("[Volume]", "VolumeName="),
        _ => return None,
    };
    let mut inside = false;
    let mut name = None;
    for line in contents.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == section;
        } else if inside {
            if let Some(v) = line.strip_prefix(key) {
                // `%%` is the unit-file escape of `%`.
                name = Some(v.trim().trim_matches('"').replace("%%", "%"));
            }
        }
    }
    Some(name.unwrap_or_else(|| format!("systemd-{base}")))
}

/// (networks, volumes) a generation's units create. `units_dir` is `<generation>/units`; a unit
/// file that cannot be read counts with Quadlet's default name.
fn objects(units_dir: Option<&Path>, m: &Manifest) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for (stack, s) in &m.stacks {
        for file in s.units.keys() {
            let text = units_dir
                .and_then(|d| fs::read_to_string(d.join(stack).join(file)).ok())
                .unwrap_or_default();
            if let Some(name) = object_name(file, &text) {
                if file.ends_with(".network") {
                    networks.insert(name);
                } else {
                    volumes.insert(name);
                }
            }
        }
    }
    (networks, volumes)
}

/// The volumes the units of generation `gen` create (for `down --volumes`).
pub fn volumes_of(store: &StateStore, gen: u64) -> Vec<String> {
    match store.read_manifest(gen) {
        Ok(m) => objects(Some(&store.generation_dir(gen).join("units")), &m)
            .1
            .into_iter()
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// What `old` (whose units are in `old_units`) has that `new` does not.
pub fn leftovers(
    fx: &Effects,
    old_units: Option<&Path>,
    old: &Manifest,
    new_units: Option<&Path>,
    new: &Manifest,
) -> Leftovers {
    let names = |m: &Manifest| -> BTreeSet<String> {
        m.stacks
            .values()
            .flat_map(|s| s.containers.iter().map(|c| c.container_name.clone()))
            .collect()
    };
    let units = |m: &Manifest| -> BTreeSet<String> {
        m.stacks
            .iter()
            .flat_map(|(n, s)| units_of_stack(n, s))
            .collect()
    };
    let secrets = |m: &Manifest| -> BTreeSet<String> {
        m.stacks
            .values()
            .flat_map(|s| s.secrets.iter().map(|x| x.name.clone()))
            .collect()
    };
    let (new_names, new_units_set) = (names(new), units(new));
    let gone_units: BTreeSet<String> = units(old).difference(&new_units_set).cloned().collect();
    let mut containers: BTreeSet<String> = names(old).difference(&new_names).cloned().collect();
    // A container of a gone unit under another name (an older ContainerName=, a rename by hand)
    // still carries the label Quadlet gives every container it runs.
    for unit in gone_units.iter().filter(|u| u.ends_with(".service")) {
        match fx.podman.containers_with_label("PODMAN_SYSTEMD_UNIT", unit) {
            Ok(found) => containers.extend(found.into_iter().filter(|n| !new_names.contains(n))),
            Err(e) => fx.report.warn(
                &[("UNIT", unit)],
                &format!("listing the containers of {unit}: {e}"),
            ),
        }
    }
    let (old_nets, old_vols) = objects(old_units, old);
    let (new_nets, new_vols) = objects(new_units, new);
    Leftovers {
        containers: containers.into_iter().collect(),
        networks: old_nets.difference(&new_nets).cloned().collect(),
        secrets: secrets(old).difference(&secrets(new)).cloned().collect(),
        volumes: old_vols.difference(&new_vols).cloned().collect(),
        units: gone_units.into_iter().collect(),
    }
}

/// Removes the leftovers: containers first (a network in use cannot go), then networks, secrets,
/// volumes when `volumes` is true, and last the units' failed states. Each failure is logged and
/// the rest goes on; the failures are returned.
pub fn remove(fx: &Effects, l: &Leftovers, volumes: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let mut each = |kind: &str, names: &[String], f: &dyn Fn(&str) -> Result<(), ToolError>| {
        for n in names {
            match f(n) {
                Ok(()) => fx.report.info(&[], &format!("removed {kind} {n}")),
                Err(e) => {
                    let msg = format!("removing {kind} {n}: {e}");
                    fx.report.warn(&[], &msg);
                    errors.push(msg);
                }
            }
        }
    };
    each("container", &l.containers, &|n| {
        fx.podman.remove_container(n)
    });
    each("network", &l.networks, &|n| fx.podman.remove_network(n));
    each("secret", &l.secrets, &|n| fx.podman.remove_secret(n));
    if volumes {
        each("volume", &l.volumes, &|n| fx.podman.remove_volume(n));
    } else {
        for v in &l.volumes {
            fx.report.info(
                &[],
                &format!("kept volume {v} (its data); `podman volume rm {v}` removes it"),
            );
        }
    }
    if !l.units.is_empty() {
        if let Err(e) = fx.systemd.reset_failed(&l.units) {
            let msg = format!("resetting the failed state of {}: {e}", l.units.join(" "));
            fx.report.warn(&[], &msg);
            errors.push(msg);
        }
    }
    errors
}

fn units_dir(store: &StateStore, gen: Option<u64>) -> Option<PathBuf> {
    gen.map(|g| store.generation_dir(g).join("units"))
}

/// The hook the transaction calls once a switch from `from` (manifest `old`) to `to` (manifest
/// `new`; None and an empty manifest for "no generation", as after undoing a first deploy)
/// succeeded, forward or back. Never fails the switch: what could not be removed is logged.
pub fn after_switch(
    store: &StateStore,
    fx: &Effects,
    from: Option<u64>,
    old: Option<&Manifest>,
    to: Option<u64>,
    new: &Manifest,
) {
    let Some(old) = old else { return };
    let old_dir = units_dir(store, from);
    let new_dir = units_dir(store, to);
    let l = leftovers(fx, old_dir.as_deref(), old, new_dir.as_deref(), new);
    if !l.is_empty() {
        fx.report
            .status("removing what the previous generation left");
        remove(fx, &l, false);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::deploy::effects::Effects;
    use crate::deploy::fake::Recorder;
    use crate::deploy::fake::{FakeClock, FakePodman, FakeSystemd};
    use crate::deploy::prepare::{
        deploy, DeployOptions, DeployResult, DeploySource, StackError, StackRenderer,
    };
    use crate::translate::{ContainerInfo, RenderedStack, RenderedUnit, SecretSpec};

    /// Renders one stack per directory of the snapshot, each with a container, a network
    /// (stack `a` names its network), a volume and a secret.
    struct DirRenderer;

    fn stack(name: &str) -> RenderedStack {
        let u = |f: String, c: &str| RenderedUnit {
            file_name: f,
            contents: c.into(),
        };
        let net = if name == "a" {
            "[Network]\nNetworkName=a_default\n"
        } else {
            "[Network]\n"
        };
        RenderedStack {
            stack: name.into(),
            units: vec![
                u(
                    format!("{name}-app.container"),
                    "[Container]\nImage=reg/x:1\n",
                ),
                u(format!("{name}-data.volume"), "[Volume]\n"),
                u(format!("{name}-default.network"), net),
                u(format!("{name}.target"), "[Unit]\n"),
            ],
            containers: vec![ContainerInfo {
                service: "app".into(),
                unit: format!("{name}-app.service"),
                image: Some("reg/x:1".into()),
                after: vec![],
                healthcheck: false,
                oneshot: false,
            }],
            secrets: vec![SecretSpec {
                name: format!("{name}-token"),
                file: PathBuf::from("token.txt"),
            }],
            warnings: vec![],
        }
    }

    impl StackRenderer for DirRenderer {
        fn render_all(
            &self,
            inputs: &Path,
            _shown: &Path,
        ) -> Result<Vec<RenderedStack>, Vec<StackError>> {
            let mut names: Vec<String> = fs::read_dir(inputs.join("services"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            Ok(names.iter().map(|n| stack(n)).collect())
        }
    }

    pub(crate) struct World {
        pub tmp: tempfile::TempDir,
        pub store: StateStore,
        pub podman: FakePodman,
        pub systemd: FakeSystemd,
        pub clock: FakeClock,
        pub report: Recorder,
    }

    impl World {
        pub fn new(stacks: &[&str]) -> World {
            let tmp = tempfile::tempdir().unwrap();
            for s in stacks {
                fs::create_dir_all(tmp.path().join("repo/services").join(s)).unwrap();
            }
            World {
                store: StateStore::open(&tmp.path().join("state")).unwrap(),
                tmp,
                podman: FakePodman::default(),
                systemd: FakeSystemd::default(),
                clock: FakeClock::default(),
                report: Recorder::default(),
            }
        }
        fn services(&self) -> PathBuf {
            self.tmp.path().join("repo/services")
        }
        pub fn fx(&self) -> Effects<'_> {
            Effects {
                podman: &self.podman,
                systemd: &self.systemd,
                clock: &self.clock,
                report: &self.report,
            }
        }
        pub fn deploy(&self) -> DeployResult {
            let fx = self.fx();
            let src = DeploySource {
                repo: self.tmp.path().join("repo"),
                services_dir: self.services(),
                vars_file: None,
                vars_json: None,
            };
            let o = DeployOptions {
                timeout: Duration::from_secs(10),
                ..Default::default()
            };
            deploy(&self.store, &fx, &DirRenderer, &src, &o).unwrap()
        }
        pub fn removed(&self) -> Vec<String> {
            self.podman.removed.lock().unwrap().clone()
        }
    }

    #[test]
    fn object_names_follow_quadlet() {
        assert_eq!(
            object_name(
                "web-default.network",
                "[Network]\nNetworkName=web_default\n"
            )
            .as_deref(),
            Some("web_default")
        );
        assert_eq!(
            object_name("web-data.volume", "[Volume]\n").as_deref(),
            Some("systemd-web-data")
        );
        // A NetworkName= outside [Network] is not the network's name.
        assert_eq!(
            object_name("n.network", "[Unit]\nNetworkName=x\n[Network]\n").as_deref(),
            Some("systemd-n")
        );
        assert_eq!(object_name("a-app.container", "[Container]\n"), None);
    }

    #[test]
    fn removing_a_stack_removes_its_containers_networks_secrets_and_failed_states() {
        let w = World::new(&["a", "b"]);
        assert_eq!(w.deploy(), DeployResult::Deployed(1));
        assert!(w.removed().is_empty(), "a first deploy removes nothing");
        // A container of b's unit under an older name still carries Quadlet's label.
        w.podman
            .labelled
            .lock()
            .unwrap()
            .insert("b-app.service".into(), vec!["b-app-renamed".into()]);
        fs::remove_dir_all(w.services().join("b")).unwrap();
        w.systemd.clear();
        assert_eq!(w.deploy(), DeployResult::Deployed(2));
        assert_eq!(
            // Each removal once (the switch itself may have removed a container already).
            {
                let r: std::collections::BTreeSet<String> = w.removed().into_iter().collect();
                r.into_iter().collect::<Vec<_>>()
            },
            vec![
                "container b-app-renamed",
                "container systemd-b-app",
                "network systemd-b-default",
                "secret b-token",
            ]
        );
        let calls = w.systemd.calls();
        assert!(
            calls.contains(
                &"stop b-app.service b-data-volume.service b-default-network.service b.target"
                    .to_string()
            ),
            "{calls:?}"
        );
        assert_eq!(
            calls.last().unwrap(),
            "reset-failed b-app.service b-data-volume.service b-default-network.service b.target"
        );
        assert!(
            w.report
                .messages()
                .iter()
                .any(|m| m.contains("kept volume systemd-b-data")),
            "the volume stays, and the log says how to remove it"
        );
    }

    #[test]
    fn removing_every_stack_is_a_deploy_of_no_stacks() {
        let w = World::new(&["a", "b"]);
        assert_eq!(w.deploy(), DeployResult::Deployed(1));
        // No services/ directory at all: every stack was removed.
        fs::remove_dir_all(w.services()).unwrap();
        assert_eq!(w.deploy(), DeployResult::Deployed(2));
        assert!(w.store.read_manifest(2).unwrap().stacks.is_empty());
        // The generator serves it as it is (no units), not an older one as if it were damaged.
        assert!(crate::deploy::intact::verify(&w.store, 2).is_ok());
        let removed = w.removed();
        for x in [
            "container systemd-a-app",
            "network a_default",
            "secret a-token",
            "container systemd-b-app",
            "network systemd-b-default",
            "secret b-token",
        ] {
            assert!(removed.contains(&x.to_string()), "{x}: {removed:?}");
        }
        assert!(
            !removed.iter().any(|r| r.starts_with("volume")),
            "{removed:?}"
        );
        // An empty services/ is the same: nothing left to change.
        fs::create_dir_all(w.services()).unwrap();
        assert_eq!(w.deploy(), DeployResult::NoChange(Some(2)));
    }

    #[test]
    fn a_services_path_that_is_not_a_directory_is_still_an_error() {
        let w = World::new(&["a"]);
        assert_eq!(w.deploy(), DeployResult::Deployed(1));
        fs::remove_dir_all(w.services()).unwrap();
        std::os::unix::fs::symlink("/nonexistent/services", w.services()).unwrap();
        let fx = Effects {
            podman: &w.podman,
            systemd: &w.systemd,
            clock: &w.clock,
            report: &w.report,
        };
        let src = DeploySource {
            repo: w.tmp.path().join("repo"),
            services_dir: w.services(),
            vars_file: None,
            vars_json: None,
        };
        // Refused either way: as bad input (the compose-file check) or as an I/O error.
        assert!(matches!(
            deploy(&w.store, &fx, &DirRenderer, &src, &DeployOptions::default()),
            Err(_) | Ok(DeployResult::InvalidInput(_))
        ));
        assert_eq!(w.store.current(), Some(1));
        assert!(w.removed().is_empty());
        // A repo that does not exist (a wrong RELEASE_TOOL_REPO) is an error, not "no stacks".
        let gone = DeploySource {
            repo: w.tmp.path().join("no-such-repo"),
            services_dir: w.tmp.path().join("no-such-repo/services"),
            ..src
        };
        let e = match deploy(
            &w.store,
            &fx,
            &DirRenderer,
            &gone,
            &DeployOptions::default(),
        ) {
            Err(e) => e,
            Ok(DeployResult::InvalidInput(errs)) => format!("{errs:?}"),
            Ok(other) => panic!("a missing repo deployed: {other:?}"),
        };
        assert!(e.contains("no-such-repo/services"), "{e}");
        assert_eq!(w.store.current(), Some(1));
        assert!(w.removed().is_empty());
    }
}
