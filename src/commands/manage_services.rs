//! `release-tool manage-services restart --affected-services "..."` (the stacks' containers and
//! their dependents, in dependency order, health-checked) and `manage-services status` / `status`
//! (per stack and container: unit state, health, image and digest, generation).

use std::collections::BTreeSet;

use crate::cli::command::{Checkout, Format, ManageServicesOpts, ServicesAction, StatusOpts};
use crate::commands::context::Context;
use crate::commands::runtime::{deploy_options, open_locked, RealEffects};
use crate::deploy::effects::{ContainerEngine, ListedContainer, ServiceManager};
use crate::deploy::manifest::Manifest;
use crate::deploy::planner::levels;
use crate::deploy::restart::{containers_by_unit, restart_levels};
use crate::deploy::store::StateStore;

pub fn run(args: &ManageServicesOpts) -> u8 {
    match args.action {
        ServicesAction::Restart => restart(args),
        ServicesAction::Status => status(&StatusOpts::from_manage_services(args)),
    }
}

pub fn restart(args: &ManageServicesOpts) -> u8 {
    let Some(stacks) = args.affected_services.as_ref().filter(|s| !s.is_empty()) else {
        eprintln!("release-tool: manage-services restart needs --affected-services \"STACK ...\"");
        return super::exit::USAGE;
    };
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    // A dry run only reads the state: it needs neither podman nor systemctl.
    let real = if args.dry_run {
        RealEffects::new()
    } else {
        match RealEffects::require(true) {
            Ok(r) => r,
            Err(code) => return code,
        }
    };
    let fx = real.effects();
    let (store, _lock) = match open_locked(&ctx, args.wait, &real.report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(gen) = store.current() else {
        fx.report.error(
            &[],
            "no current generation: run `release-tool deploy` first",
        );
        return super::exit::FAILURE;
    };
    let m = match store.read_manifest(gen) {
        Ok(m) => m,
        Err(e) => {
            fx.report.error(&[], &e.to_string());
            return super::exit::FAILURE;
        }
    };
    let mut units = BTreeSet::new();
    for s in stacks {
        match m.stacks.get(s) {
            Some(sm) => units.extend(sm.containers.iter().map(|c| c.unit.clone())),
            None => {
                fx.report.error(
                    &[("STACK", s)],
                    &format!("stack {s} is not in generation {gen}"),
                );
                return super::exit::INVALID_INPUT;
            }
        }
    }
    // Every container of a stack is listed, so its dependents inside the stack are too.
    let after = containers_by_unit(&m)
        .into_iter()
        .map(|(u, (_, c))| (u, c.after))
        .collect();
    let lv = levels(&units, &after);
    if args.dry_run {
        // What a restart would do, in order; nothing is restarted.
        for (i, level) in lv.iter().enumerate() {
            println!("level {}: {}", i + 1, level.join(" "));
        }
        return super::exit::OK;
    }
    match restart_levels(&fx, &m, &lv, deploy_options(&args.limits).timeout) {
        Ok(()) => super::exit::OK,
        Err(_) => super::exit::FAILURE,
    }
}

pub fn status(args: &StatusOpts) -> u8 {
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    let Some(store) = StateStore::open_existing(&ctx.state_dir) else {
        eprintln!(
            "release-tool: no generations yet in {}",
            ctx.state_dir.display()
        );
        return super::exit::FAILURE;
    };
    let gen = match store.current_checked() {
        Ok(Some(gen)) => gen,
        Ok(None) => {
            eprintln!(
                "release-tool: no current generation in {}",
                ctx.state_dir.display()
            );
            return super::exit::FAILURE;
        }
        Err(e) => {
            eprintln!("release-tool: {e}");
            return super::exit::FAILURE;
        }
    };
    let m = match store.read_manifest(gen) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return super::exit::FAILURE;
        }
    };
    // The configured binaries ($RELEASE_TOOL_PODMAN, $RELEASE_TOOL_SYSTEMCTL), as a deploy uses.
    let real = RealEffects::new();
    let (systemd, podman) = (&real.systemd, &real.podman);
    let only: Option<&Vec<String>> = args.affected_services.as_ref();
    let mut rows = Vec::new();
    for (stack, s) in &m.stacks {
        if only.is_some_and(|o| !o.contains(stack)) {
            continue;
        }
        for c in &s.containers {
            let unit = systemd.show(&c.unit).unwrap_or_default();
            let st = podman.inspect(&c.container_name).unwrap_or_default();
            let image = c.image.clone().unwrap_or_default();
            let digest = s.images.get(&image).cloned().unwrap_or_default();
            rows.push(serde_json::json!({
                "stack": stack,
                "container": c.service,
                "unit": c.unit,
                "container_name": c.container_name,
                "active_state": unit.active_state,
                "sub_state": unit.sub_state,
                "health": health(c.healthcheck, &st.health),
                "container_id": st.id.get(..12).unwrap_or(&st.id),
                "started_at": st.started_at,
                "image": image,
                "digest": digest,
                "generation": gen,
            }));
        }
    }
    // Containers of ours (a unit of some kept generation started them) that no unit of the
    // current generation runs: what a failed or interrupted switch may have left.
    let known: Vec<Manifest> = store
        .list()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|id| store.read_manifest(id).ok())
        .collect();
    let listed = podman.list_unit_containers().unwrap_or_else(|e| {
        log::warn!("{e}");
        Vec::new()
    });
    let stray = strays(&m, &known, &listed);
    for c in &stray {
        if only.is_some_and(|o| !o.iter().any(|s| c.unit.starts_with(&format!("{s}-")))) {
            continue;
        }
        rows.push(serde_json::json!({
            "stack": "",
            "container": "",
            "unit": c.unit,
            "container_name": c.name,
            "stray": true,
            "status": c.status,
        }));
    }
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return super::exit::OK;
    }
    println!(
        "generation {gen}{}",
        m.git_rev
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    println!(
        "{:<12} {:<14} {:<20} {:<10} {:<14} {:<24} DIGEST",
        "STACK", "CONTAINER", "STATE", "HEALTH", "ID", "IMAGE"
    );
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    for r in rows.iter().filter(|r| r["stray"] != true) {
        let digest = s(r, "digest");
        println!(
            "{:<12} {:<14} {:<20} {:<10} {:<14} {:<24} {}",
            s(r, "stack"),
            s(r, "container"),
            format!("{}/{}", s(r, "active_state"), s(r, "sub_state")),
            s(r, "health"),
            s(r, "container_id"),
            s(r, "image"),
            digest.get(..19).unwrap_or(&digest)
        );
    }
    let strays: Vec<_> = rows.iter().filter(|r| r["stray"] == true).collect();
    if !strays.is_empty() {
        println!("containers of ours that no unit of generation {gen} runs:");
        for r in strays {
            println!(
                "  {:<24} unit {:<28} {}",
                s(r, "container_name"),
                s(r, "unit"),
                s(r, "status")
            );
        }
    }
    super::exit::OK
}

/// What `status` shows as a container's health: Podman's word when it has one, "unknown" for a
/// gated container Podman has no word for yet ("unknown"), `-` without a healthcheck.
fn health(gated: bool, podman_health: &str) -> String {
    match podman_health {
        "" if gated => "unknown".into(),
        "" => "-".into(),
        h => h.into(),
    }
}

/// The containers in `listed` that a unit of ours started (a unit or a container name of any
/// `known` generation) and that no unit of `current` runs.
fn strays(
    current: &Manifest,
    known: &[Manifest],
    listed: &[ListedContainer],
) -> Vec<ListedContainer> {
    let units = |m: &Manifest| -> Vec<(String, String)> {
        containers_by_unit(m)
            .into_iter()
            .map(|(u, (_, c))| (u, c.container_name))
            .collect()
    };
    let now = units(current);
    let ours: BTreeSet<String> = known
        .iter()
        .chain(std::iter::once(current))
        .flat_map(|m| units(m).into_iter().flat_map(|(u, n)| [u, n]))
        .collect();
    listed
        .iter()
        .filter(|c| ours.contains(&c.unit) || ours.contains(&c.name))
        .filter(|c| !now.iter().any(|(_, n)| *n == c.name))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::manifest::{ContainerManifest, Outcome, StackManifest};

    fn manifest(containers: &[(&str, &str)]) -> Manifest {
        let stack = StackManifest {
            hash: String::new(),
            inputs_hash: String::new(),
            units: Default::default(),
            containers: containers
                .iter()
                .map(|(unit, name)| ContainerManifest {
                    service: String::new(),
                    unit: unit.to_string(),
                    container_name: name.to_string(),
                    image: None,
                    after: vec![],
                    healthcheck: false,
                    oneshot: false,
                })
                .collect(),
            secrets: vec![],
            images: Default::default(),
        };
        Manifest {
            id: 1,
            git_rev: None,
            created: 0,
            outcome: Outcome::Deployed,
            parent: None,
            message: None,
            stacks: [("web".to_string(), stack)].into(),
        }
    }

    fn listed(name: &str, unit: &str) -> ListedContainer {
        ListedContainer {
            name: name.into(),
            unit: unit.into(),
            status: "Up 3 minutes (unhealthy)".into(),
        }
    }

    #[test]
    fn containers_of_ours_no_current_unit_runs_are_listed() {
        let current = manifest(&[("web-api.service", "web-api-1")]);
        let failed = manifest(&[
            ("web-api.service", "web-api-2"),
            ("web-new.service", "web-new-1"),
        ]);
        let l = vec![
            listed("web-api-1", "web-api.service"),
            // The failed generation's: renamed, and a unit that is gone.
            listed("web-api-2", "web-api.service"),
            listed("web-new-1", "web-new.service"),
            // Not ours.
            listed("other", "other.service"),
        ];
        let s: Vec<String> = strays(&current, &[failed], &l)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(s, ["web-api-2", "web-new-1"]);
    }

    #[test]
    fn health_is_podmans_word() {
        assert_eq!(health(false, "unhealthy"), "unhealthy");
        assert_eq!(health(true, ""), "unknown");
        assert_eq!(health(false, ""), "-");
    }
}
