//! Change detection by content and restart planning. Pure: two manifests in, a plan out.
//!
//! A stack is changed when its hash (units + input files + image digests) differs. Inside a changed
//! stack a container restarts when its own unit or its image digest changed; when anything else of
//! the stack changed (an input file such as a mounted config, a volume or network unit), all its
//! containers restart. Dependents (`after`) of a restarted container restart too. Levels follow the
//! Compose graph: dependencies first, independent units of one level together.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::manifest::{ContainerManifest, Manifest, StackManifest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackChange {
    Added,
    Changed,
    Removed,
    Unchanged,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeployPlan {
    pub stacks: BTreeMap<String, StackChange>,
    /// Units to (re)start, dependencies first; one inner list per level.
    pub restart_levels: Vec<Vec<String>>,
    /// Units to stop: those of removed stacks and containers gone from changed ones.
    pub stop: Vec<String>,
    /// Targets of added stacks, started once their containers are up.
    pub start_targets: Vec<String>,
}

impl DeployPlan {
    pub fn is_noop(&self) -> bool {
        self.stacks.values().all(|c| *c == StackChange::Unchanged)
    }

    pub fn restart_units(&self) -> Vec<String> {
        self.restart_levels.iter().flatten().cloned().collect()
    }
}

/// The systemd service a Quadlet file becomes (None for non-Quadlet files such as `.target`).
pub fn service_of(unit_file: &str) -> Option<String> {
    let (base, kind) = unit_file.rsplit_once('.')?;
    let service = match kind {
        "container" | "kube" => format!("{base}.service"),
        "volume" | "network" | "pod" | "image" | "build" => format!("{base}-{kind}.service"),
        _ => return None,
    };
    Some(service)
}

/// Every unit a stack has running: its services and its target, for stopping it.
pub fn units_of_stack(name: &str, s: &StackManifest) -> Vec<String> {
    let mut units: Vec<String> = s.units.keys().filter_map(|f| service_of(f)).collect();
    units.push(format!("{name}.target"));
    units.sort();
    units
}

/// The service of the `.build` unit that makes `c`'s image, when the stack has one for it
/// (`w-app.container` runs the image of `w-app.build`, whose service is `w-app-build.service`).
fn build_service(s: &StackManifest, c: &ContainerManifest) -> Option<String> {
    let base = c.unit.strip_suffix(".service").unwrap_or(&c.unit);
    let file = format!("{base}.build");
    (c.image.is_none() && s.units.contains_key(&file)).then(|| format!("{base}-build.service"))
}

fn restart_set(old: &StackManifest, new: &StackManifest) -> BTreeSet<String> {
    let others_changed = old.inputs_hash != new.inputs_hash
        || new
            .units
            .iter()
            .filter(|(f, _)| !f.ends_with(".container") && !f.ends_with(".target"))
            .any(|(f, sum)| old.units.get(f) != Some(sum))
        || old.units.keys().any(|f| {
            !f.ends_with(".container") && !f.ends_with(".target") && !new.units.contains_key(f)
        });
    let mut set = BTreeSet::new();
    for c in &new.containers {
        let file = format!("{}.container", c.unit.trim_end_matches(".service"));
        let unit_changed = old.units.get(&file) != new.units.get(&file);
        let image_changed = c
            .image
            .as_ref()
            .is_some_and(|i| old.images.get(i) != new.images.get(i));
        if others_changed || unit_changed || image_changed {
            set.insert(c.unit.clone());
        }
    }
    // A container running a built image: its `.build` unit runs again first, so the image is
    // rebuilt from this generation's context (a rollback rebuilds the old one).
    for c in &new.containers {
        if let Some(build) = build_service(new, c) {
            if set.contains(&c.unit) {
                set.insert(build);
            }
        }
    }
    // Dependents of what restarts restart too (they may hold connections to it).
    loop {
        let before = set.len();
        for c in &new.containers {
            if c.after.iter().any(|a| set.contains(a)) {
                set.insert(c.unit.clone());
            }
        }
        if set.len() == before {
            break;
        }
    }
    set
}

/// Orders `units` by the `after` edges among them: level 0 has no dependency in the set.
/// A cycle (which systemd would refuse anyway) lands in one last level rather than being lost.
pub fn levels(units: &BTreeSet<String>, after: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while placed.len() < units.len() {
        let level: Vec<String> = units
            .iter()
            .filter(|u| !placed.contains(*u))
            .filter(|u| {
                after
                    .get(*u)
                    .map(|deps| {
                        deps.iter()
                            .all(|d| !units.contains(d) || placed.contains(d))
                    })
                    .unwrap_or(true)
            })
            .cloned()
            .collect();
        if level.is_empty() {
            out.push(
                units
                    .iter()
                    .filter(|u| !placed.contains(*u))
                    .cloned()
                    .collect(),
            );
            break;
        }
        placed.extend(level.iter().cloned());
        out.push(level);
    }
    out
}

/// What switching from `old` to `new` must do.
pub fn plan(old: Option<&Manifest>, new: &Manifest) -> DeployPlan {
    let empty = BTreeMap::new();
    let old_stacks = old.map(|m| &m.stacks).unwrap_or(&empty);
    let mut p = DeployPlan::default();
    let mut restart = BTreeSet::new();
    let mut after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stop = BTreeSet::new();
    for (name, s) in &new.stacks {
        for c in &s.containers {
            let mut deps = c.after.clone();
            deps.extend(build_service(s, c));
            after.insert(c.unit.clone(), deps);
        }
        let change = match old_stacks.get(name) {
            None => {
                restart.extend(s.containers.iter().map(|c| c.unit.clone()));
                p.start_targets.push(format!("{name}.target"));
                StackChange::Added
            }
            Some(o) if o.hash == s.hash => StackChange::Unchanged,
            Some(o) => {
                restart.extend(restart_set(o, s));
                let now: BTreeSet<_> = units_of_stack(name, s).into_iter().collect();
                stop.extend(
                    units_of_stack(name, o)
                        .into_iter()
                        .filter(|u| !now.contains(u)),
                );
                StackChange::Changed
            }
        };
        p.stacks.insert(name.clone(), change);
    }
    for (name, o) in old_stacks {
        if !new.stacks.contains_key(name) {
            p.stacks.insert(name.clone(), StackChange::Removed);
            stop.extend(units_of_stack(name, o));
        }
    }
    p.restart_levels = levels(&restart, &after);
    p.stop = stop.into_iter().collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::manifest::{stack_manifest, Outcome};
    use crate::translate::{ContainerInfo, RenderedStack, RenderedUnit};

    fn c(stack: &str, svc: &str, after: &[&str], image: &str) -> ContainerInfo {
        ContainerInfo {
            service: svc.into(),
            unit: format!("{stack}-{svc}.service"),
            image: Some(image.into()),
            after: after
                .iter()
                .map(|a| format!("{stack}-{a}.service"))
                .collect(),
            healthcheck: false,
            oneshot: false,
        }
    }

    /// A stack of `db` ← `api` ← `web` (web after api after db) plus an independent `cron`.
    fn stack(name: &str, api_env: &str, extra_unit: bool) -> RenderedStack {
        let mut units = vec![];
        for (svc, body) in [("db", ""), ("api", api_env), ("web", ""), ("cron", "")] {
            units.push(RenderedUnit {
                file_name: format!("{name}-{svc}.container"),
                contents: format!("[Container]\nImage=i\n{body}\n"),
            });
        }
        if extra_unit {
            units.push(RenderedUnit {
                file_name: format!("{name}-data.volume"),
                contents: "[Volume]\n".into(),
            });
        }
        RenderedStack {
            stack: name.into(),
            units,
            containers: vec![
                c(name, "db", &[], "i"),
                c(name, "api", &["db"], "i"),
                c(name, "web", &["api"], "i"),
                c(name, "cron", &[], "i"),
            ],
            secrets: vec![],
            warnings: vec![],
        }
    }

    fn manifest(stacks: &[(RenderedStack, &str, &str)]) -> Manifest {
        Manifest {
            id: 1,
            git_rev: None,
            created: 0,
            outcome: Outcome::Pending,
            parent: None,
            message: None,
            stacks: stacks
                .iter()
                .map(|(s, inputs, digest)| {
                    let d = [("i".to_string(), digest.to_string())].into();
                    (s.stack.clone(), stack_manifest(s, inputs, &d, vec![]))
                })
                .collect(),
        }
    }

    #[test]
    fn first_deploy_starts_everything_in_dependency_levels() {
        let new = manifest(&[(stack("a", "", false), "x", "d1")]);
        let p = plan(None, &new);
        assert_eq!(p.stacks["a"], StackChange::Added);
        assert_eq!(
            p.restart_levels,
            vec![
                vec!["a-cron.service".to_string(), "a-db.service".to_string()],
                vec!["a-api.service".to_string()],
                vec!["a-web.service".to_string()],
            ]
        );
        assert_eq!(p.start_targets, vec!["a.target"]);
    }

    #[test]
    fn nothing_changed_is_a_noop() {
        let m = manifest(&[
            (stack("a", "", false), "x", "d1"),
            (stack("b", "", false), "y", "d1"),
        ]);
        let p = plan(Some(&m), &m);
        assert!(p.is_noop());
        assert!(p.restart_levels.is_empty() && p.stop.is_empty());
    }

    #[test]
    fn one_container_changed_restarts_it_and_its_dependents_only() {
        let old = manifest(&[
            (stack("a", "", false), "x", "d1"),
            (stack("b", "", false), "y", "d1"),
        ]);
        let new = manifest(&[
            (stack("a", "E=1", false), "x", "d1"),
            (stack("b", "", false), "y", "d1"),
        ]);
        let p = plan(Some(&old), &new);
        assert_eq!(p.stacks["a"], StackChange::Changed);
        assert_eq!(p.stacks["b"], StackChange::Unchanged);
        assert_eq!(
            p.restart_levels,
            vec![
                vec!["a-api.service".to_string()],
                vec!["a-web.service".to_string()]
            ]
        );
    }

    #[test]
    fn input_file_or_digest_change_restarts_the_whole_stack() {
        let old = manifest(&[(stack("a", "", false), "x", "d1")]);
        let new = manifest(&[(stack("a", "", false), "x2", "d1")]);
        assert_eq!(plan(Some(&old), &new).restart_units().len(), 4);
        let new = manifest(&[(stack("a", "", false), "x", "d2")]);
        let p = plan(Some(&old), &new);
        assert_eq!(p.stacks["a"], StackChange::Changed);
        assert_eq!(p.restart_units().len(), 4, "every container runs image i");
        let new = manifest(&[(stack("a", "", true), "x", "d1")]);
        assert_eq!(plan(Some(&old), &new).restart_units().len(), 4);
    }

    #[test]
    fn a_built_image_is_rebuilt_before_its_container_restarts() {
        let with_build = |inputs: &str| {
            let mut st = stack("a", "", false);
            st.units.push(RenderedUnit {
                file_name: "a-cron.build".into(),
                contents: "[Build]\nImageTag=localhost/a-cron\n".into(),
            });
            st.containers[3].image = None;
            let mut m = manifest(&[(st, inputs, "d1")]);
            m.id = 2;
            m
        };
        let p = plan(Some(&with_build("x")), &with_build("x2"));
        let units = p.restart_units();
        let pos = |u: &str| units.iter().position(|x| x == u).unwrap();
        assert!(
            pos("a-cron-build.service") < pos("a-cron.service"),
            "{units:?}"
        );
        assert_eq!(
            p.restart_levels[0],
            vec![
                "a-cron-build.service".to_string(),
                "a-db.service".to_string()
            ]
        );
        // Unchanged: nothing rebuilds.
        assert!(plan(Some(&with_build("x")), &with_build("x")).is_noop());
    }

    #[test]
    fn removed_stack_and_unit_are_stopped() {
        let old = manifest(&[
            (stack("a", "", true), "x", "d1"),
            (stack("b", "", false), "y", "d1"),
        ]);
        let new = manifest(&[(stack("a", "", false), "x", "d1")]);
        let p = plan(Some(&old), &new);
        assert_eq!(p.stacks["b"], StackChange::Removed);
        assert!(p.stop.contains(&"b.target".to_string()));
        assert!(p.stop.contains(&"b-web.service".to_string()));
        assert!(p.stop.contains(&"a-data-volume.service".to_string()));
        assert!(!p
            .stop
            .iter()
            .any(|u| u.starts_with("a-") && u != "a-data-volume.service"));
    }

    #[test]
    fn cycles_do_not_lose_units() {
        let units: BTreeSet<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
        let after: BTreeMap<String, Vec<String>> = [
            ("x".to_string(), vec!["y".to_string()]),
            ("y".to_string(), vec!["x".to_string()]),
        ]
        .into();
        assert_eq!(
            levels(&units, &after),
            vec![
                vec!["z".to_string()],
                vec!["x".to_string(), "y".to_string()]
            ]
        );
    }

    #[test]
    fn quadlet_service_names() {
        assert_eq!(service_of("w-a.container").as_deref(), Some("w-a.service"));
        assert_eq!(
            service_of("w-d.volume").as_deref(),
            Some("w-d-volume.service")
        );
        assert_eq!(
            service_of("w-n.network").as_deref(),
            Some("w-n-network.service")
        );
        assert_eq!(service_of("w.target"), None);
    }
}
