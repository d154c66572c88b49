//! `release-tool down [--volumes] [--purge-state] [--timeout SECS]`: stops and removes everything
//! release-tool deployed for this user. It first disables the trigger (`release-tool-deploy.path`,
//! so no deploy starts behind it and the next login or commit does not bring the stacks back), then
//! stops every unit in reverse dependency order (targets, then dependents before what they depend
//! on, then networks and volumes), and switches to an empty generation through the normal
//! transaction, which removes the containers, networks and secrets and forgets failed states
//! (`deploy::cleanup`). Volumes and the state directory stay unless asked; the empty generation is
//! in `history`, and `release-tool rollback` brings the previous one back.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use crate::cli::command::{Checkout, DownOpts};
use crate::commands::context::Context;
use crate::commands::runtime::{apply_exit, deploy_options, open_locked, RealEffects};
use crate::deploy::cleanup;
use crate::deploy::effects::Effects;
use crate::deploy::manifest::{Manifest, Outcome};
use crate::deploy::planner::{levels, units_of_stack};
use crate::deploy::store::StateStore;
use crate::deploy::transaction::{apply, recover, ApplyResult};

/// The path unit that starts deploys.
pub const TRIGGER_UNIT: &str = "release-tool-deploy.path";

/// What `down` removes beyond units, containers, networks and secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Remove the stacks' volumes (their data) too.
    pub volumes: bool,
    pub timeout: std::time::Duration,
}

/// The stop order for everything `m` runs: targets first, then the containers level by level,
/// dependents before their dependencies, then the network and volume services.
pub fn stop_order(m: &Manifest) -> Vec<Vec<String>> {
    let mut after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut containers = BTreeSet::new();
    for s in m.stacks.values() {
        for c in &s.containers {
            after.insert(c.unit.clone(), c.after.clone());
            containers.insert(c.unit.clone());
        }
    }
    let mut order = Vec::new();
    let targets: Vec<String> = m.stacks.keys().map(|s| format!("{s}.target")).collect();
    if !targets.is_empty() {
        order.push(targets);
    }
    order.extend(levels(&containers, &after).into_iter().rev());
    let rest: Vec<String> = m
        .stacks
        .iter()
        .flat_map(|(n, s)| units_of_stack(n, s))
        .filter(|u| !u.ends_with(".target") && !containers.contains(u))
        .collect();
    if !rest.is_empty() {
        order.push(rest);
    }
    order
}

/// Writes an empty generation (no stacks) and returns its id.
fn empty_generation(store: &StateStore, fx: &Effects, parent: u64) -> Result<u64, String> {
    let id = store.next_id().map_err(|e| e.to_string())?;
    let staging = store.staging_dir(id);
    for d in ["units", "inputs/services"] {
        fs::create_dir_all(staging.join(d)).map_err(|e| format!("{}: {e}", staging.display()))?;
    }
    let m = Manifest {
        id,
        git_rev: None,
        created: fx.clock.unix_now(),
        outcome: Outcome::Pending,
        parent: Some(parent),
        message: None,
        stacks: BTreeMap::new(),
    };
    store
        .write_manifest(&staging, &m)
        .map_err(|e| e.to_string())?;
    store.commit_staged(id).map_err(|e| e.to_string())?;
    Ok(id)
}

/// Takes down what the current generation runs. The caller holds the deploy lock. Ok(None) when
/// nothing was deployed.
pub fn take_down(
    store: &StateStore,
    fx: &Effects,
    o: DownOptions,
) -> Result<Option<ApplyResult>, String> {
    if let Some(r) = recover(store, fx, o.timeout).map_err(|e| e.to_string())? {
        fx.report
            .info(&[], &format!("interrupted run handled: {r:?}"));
    }
    let Some(current) = store.current() else {
        fx.report.info(&[], "nothing is deployed");
        if o.volumes {
            remove_volumes(store, fx);
        }
        return Ok(None);
    };
    let old = store.read_manifest(current).map_err(|e| e.to_string())?;
    if old.stacks.is_empty() {
        fx.report
            .info(&[], &format!("generation {current} runs no stack"));
        if o.volumes {
            remove_volumes(store, fx);
        }
        return Ok(None);
    }
    for step in stop_order(&old) {
        fx.report.status(&format!("stopping {}", step.join(" ")));
        fx.systemd.stop(&step)?;
    }
    let id = empty_generation(store, fx, current)?;
    fx.report.status(&format!(
        "switching to generation {id}, which runs no stack"
    ));
    let r = apply(store, fx, Some(current), id, Outcome::Deployed, o.timeout)
        .map_err(|e| e.to_string())?;
    if r == ApplyResult::Done {
        if let Ok(mut m) = store.read_manifest(id) {
            m.message = Some(format!(
                "release-tool down (rollback {current} brings it back)"
            ));
            let _ = store.write_manifest(&store.generation_dir(id), &m);
        }
        if o.volumes {
            remove_volumes(store, fx);
        }
    }
    Ok(Some(r))
}

/// Removes the volumes of every generation in the store: after a plain `down`, the current
/// generation runs nothing, and `down --volumes` must still find the data it kept.
fn remove_volumes(store: &StateStore, fx: &Effects) {
    let mut volumes: BTreeSet<String> = BTreeSet::new();
    for g in store.list().unwrap_or_default() {
        volumes.extend(cleanup::volumes_of(store, g));
    }
    let l = cleanup::Leftovers {
        volumes: volumes.into_iter().collect(),
        ..Default::default()
    };
    cleanup::remove(fx, &l, true);
}

pub fn run(args: &DownOpts) -> u8 {
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    let real = match RealEffects::require(true) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let fx = real.effects();
    let purge = args.purge_state;
    // The trigger first: a deploy must not start behind us, nor at the next login.
    match fx.systemd.disable_now(&[TRIGGER_UNIT.to_string()]) {
        Ok(()) => fx.report.info(
            &[],
            &format!(
                "disabled {TRIGGER_UNIT}; `systemctl --user enable --now {TRIGGER_UNIT}` deploys again"
            ),
        ),
        Err(e) => fx
            .report
            .warn(&[], &format!("disabling {TRIGGER_UNIT}: {e}")),
    }
    if StateStore::open_existing(&ctx.state_dir).is_none() {
        fx.report.info(
            &[],
            &format!(
                "nothing is deployed ({} holds no generation)",
                ctx.state_dir.display()
            ),
        );
        return super::exit::OK;
    }
    // Wait for a running deploy (with or without --wait): taking down is not to be refused because
    // one is finishing.
    let (store, lock) = match open_locked(&ctx, true, &real.report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let o = deploy_options(&args.limits);
    let opts = DownOptions {
        volumes: args.volumes,
        timeout: o.timeout,
    };
    let code = match take_down(&store, &fx, opts) {
        Ok(None) => super::exit::OK,
        Ok(Some(r)) => {
            let code = apply_exit(&r);
            if code == super::exit::OK {
                fx.report.status("down: no stack runs");
            } else {
                fx.report.error(&[], &format!("down failed: {r:?}"));
            }
            code
        }
        Err(e) => {
            fx.report.error(&[], &format!("down failed: {e}"));
            super::exit::FAILURE
        }
    };
    drop(lock);
    if code == super::exit::OK && purge {
        let root = store.root().to_path_buf();
        if let Err(e) = fs::remove_dir_all(&root) {
            fx.report
                .error(&[], &format!("removing {}: {e}", root.display()));
            return super::exit::FAILURE;
        }
        fx.report.info(&[], &format!("removed {}", root.display()));
        if let Err(e) = fx.systemd.daemon_reload() {
            fx.report.warn(&[], &e.to_string());
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::cleanup::tests::World;

    #[test]
    fn down_stops_in_reverse_order_and_leaves_an_empty_generation() {
        let w = World::new(&["a", "b"]);
        w.deploy();
        w.systemd.clear();
        let o = DownOptions {
            volumes: false,
            timeout: std::time::Duration::from_secs(5),
        };
        let r = take_down(&w.store, &w.fx(), o).unwrap();
        assert_eq!(r, Some(ApplyResult::Done));
        let calls = w.systemd.calls();
        assert_eq!(calls[0], "stop a.target b.target");
        assert_eq!(calls[1], "stop a-app.service b-app.service");
        assert_eq!(
            calls[2],
            "stop a-data-volume.service a-default-network.service b-data-volume.service b-default-network.service"
        );
        assert_eq!(w.store.current(), Some(2));
        let m = w.store.read_manifest(2).unwrap();
        assert!(m.stacks.is_empty());
        assert!(m.message.unwrap().contains("rollback 1"));
        let removed = w.removed();
        for x in [
            "container systemd-a-app",
            "network a_default",
            "secret b-token",
        ] {
            assert!(removed.contains(&x.to_string()), "{x}: {removed:?}");
        }
        assert!(
            !removed.iter().any(|r| r.starts_with("volume")),
            "{removed:?}"
        );
        // Again: nothing is deployed, nothing happens.
        w.systemd.clear();
        assert_eq!(take_down(&w.store, &w.fx(), o).unwrap(), None);
        assert!(w.systemd.calls().is_empty());
    }

    #[test]
    fn down_with_volumes_removes_them() {
        let w = World::new(&["a"]);
        w.deploy();
        let o = DownOptions {
            volumes: true,
            timeout: std::time::Duration::from_secs(5),
        };
        take_down(&w.store, &w.fx(), o).unwrap();
        assert!(w.removed().contains(&"volume systemd-a-data".to_string()));
    }

    #[test]
    fn volumes_after_a_plain_down_are_still_found() {
        let w = World::new(&["a"]);
        w.deploy();
        let mut o = DownOptions {
            volumes: false,
            timeout: std::time::Duration::from_secs(5),
        };
        take_down(&w.store, &w.fx(), o).unwrap();
        assert!(!w.removed().iter().any(|r| r.starts_with("volume")));
        o.volumes = true;
        assert_eq!(take_down(&w.store, &w.fx(), o).unwrap(), None);
        assert!(w.removed().contains(&"volume systemd-a-data".to_string()));
    }

    #[test]
    fn dependents_stop_before_their_dependencies() {
        let w = World::new(&["a"]);
        w.deploy();
        let mut m = w.store.read_manifest(1).unwrap();
        let s = m.stacks.get_mut("a").unwrap();
        let mut db = s.containers[0].clone();
        db.unit = "a-db.service".into();
        s.containers[0].after = vec!["a-db.service".into()];
        s.containers.push(db);
        let order = stop_order(&m);
        let pos = |u: &str| order.iter().position(|l| l.iter().any(|x| x == u)).unwrap();
        assert!(pos("a-app.service") < pos("a-db.service"), "{order:?}");
    }
}
