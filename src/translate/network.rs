//! Top-level networks → `.network` units; a service's networks, aliases, static IPs and
//! `network_mode` → `Network=` keys.

use crate::compose::{Service, ServiceNetwork};
use crate::quadlet::{Body, ContainerSection, NetworkSection, UnitFile};

use super::ctx::Ctx;

pub fn network_units(cx: &mut Ctx) -> Vec<UnitFile> {
    let mut out = Vec::new();
    let project = &cx.stack.project;
    for (key, net) in &project.networks {
        let field = format!("networks.{key}");
        if net.external == Some(true) {
            continue;
        }
        let Some(name) = cx.object_name("networks", key, net.name.as_deref()) else {
            continue;
        };
        let mut n = NetworkSection {
            network_name: Some(name),
            ..Default::default()
        };
        match net.driver.as_deref() {
            None | Some("bridge") => {}
            Some(d @ ("macvlan" | "ipvlan")) => n.driver = Some(d.to_string()),
            Some(d) => cx.warn(
                &format!("{field}.driver"),
                format!("driver {d:?} has no Podman equivalent; the default bridge is used"),
            ),
        }
        for (k, v) in super::names::sorted(&net.driver_opts) {
            n.options.push((k.clone(), v.clone()));
        }
        n.internal = net.internal == Some(true);
        n.ipv6 = net.enable_ipv6 == Some(true);
        if let Some(ipam) = &net.ipam {
            match ipam.driver.as_deref() {
                None | Some("default") => {}
                Some(d) => n.ipam_driver = Some(d.to_string()),
            }
            for (i, pool) in ipam.config.iter().enumerate() {
                n.subnet.extend(pool.subnet.clone());
                n.gateway.extend(pool.gateway.clone());
                n.ip_range.extend(pool.ip_range.clone());
                if !pool.aux_addresses.is_empty() {
                    cx.warn(
                        &format!("{field}.ipam.config[{i}].aux_addresses"),
                        "auxiliary addresses have no Podman equivalent and are not reserved",
                    );
                }
            }
            if !ipam.options.is_empty() {
                cx.warn(
                    &format!("{field}.ipam.options"),
                    "IPAM driver options have no Podman equivalent",
                );
            }
        }
        if net.attachable.is_some() {
            cx.warn(
                &format!("{field}.attachable"),
                "swarm-only: every Podman network is attachable",
            );
        }
        for (k, v) in super::names::sorted(&net.labels) {
            n.label.push((k.clone(), v.clone()));
        }
        for k in net.extensions.keys().filter(|k| !k.starts_with("x-")) {
            cx.warn(&format!("{field}.{k}"), "no Podman equivalent; ignored");
        }
        let mut unit = UnitFile::new(cx.unit(key, "network"), Body::Network(n));
        unit.unit.description = Some(format!("Compose network {key} of stack {}", cx.stack.name));
        out.push(unit);
    }
    out
}

/// Whether a `links:` alias can be a network alias: a host name (letters, digits, `.`, `-`, `_`).
/// Anything else is not made one (the linking service's warning says so), so another service's
/// odd link cannot refuse the linked one.
pub fn link_alias_ok(alias: &str) -> bool {
    !alias.is_empty()
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The aliases other services on network `key` give service `name` through `links:`
/// (`name:alias`, the alias differing from the name and a host name), in service order.
fn link_aliases<'s>(cx: &Ctx<'s>, name: &str, key: &str) -> Vec<&'s str> {
    let mut out = Vec::new();
    for svc in cx.stack.project.services.values() {
        if svc.network_mode.is_some() || !svc.networks.contains_key(key) {
            continue;
        }
        for l in &svc.links {
            if let Some((target, alias)) = l.split_once(':') {
                if target == name && alias != name && link_alias_ok(alias) {
                    out.push(alias);
                }
            }
        }
    }
    out
}

/// Sets `Network=` for one service. Returns the services its network namespace depends on.
pub fn attach(cx: &mut Ctx, name: &str, svc: &Service, c: &mut ContainerSection) -> Vec<String> {
    let field = format!("services.{name}");
    let mut deps = Vec::new();
    if let Some(mode) = &svc.network_mode {
        let f = format!("{field}.network_mode");
        if let Some(other) = mode.strip_prefix("service:") {
            if !cx.stack.project.services.contains_key(other) {
                cx.error(&f, format!("service {other:?} is not in this stack"));
                return deps;
            }
            let net = if cx.opts.podman_version
                >= crate::quadlet::versions::first_version("Container", "Network=*.container")
            {
                cx.unit(other, "container")
            } else {
                format!("container:{}", cx.container_name(other))
            };
            c.network.push(net);
            deps.push(other.to_string());
        } else if let Some(ctr) = mode.strip_prefix("container:") {
            c.network.push(format!("container:{ctr}"));
        } else {
            match mode.as_str() {
                "host" | "none" | "bridge" | "slirp4netns" | "pasta" | "private" => {
                    c.network.push(mode.clone())
                }
                "default" => c.network.push(cx.unit("default", "network")),
                other => cx.error(&f, format!("network mode {other:?} is not supported")),
            }
        }
        return deps;
    }
    // Sort by priority (higher first) like docker compose, then by key for stable bytes.
    let mut nets: Vec<(&String, &Option<ServiceNetwork>)> = svc.networks.iter().collect();
    nets.sort_by_key(|(k, n)| {
        (
            -(n.as_ref().and_then(|n| n.priority).unwrap_or(0)),
            (*k).clone(),
        )
    });
    for (key, opts) in nets {
        let f = format!("{field}.networks.{key}");
        let Some(net) = cx.stack.project.networks.get(key.as_str()) else {
            cx.error(
                &f,
                format!("network {key:?} is not declared in the top-level networks"),
            );
            continue;
        };
        let base = if net.external == Some(true) {
            net.name.clone().unwrap_or_else(|| key.clone())
        } else {
            cx.unit(key, "network")
        };
        // Every service answers to its own name on each of its networks, as in docker compose.
        let mut o: Vec<String> = vec![format!("alias={name}")];
        let mut aliases: Vec<&str> = Vec::new();
        if let Some(n) = opts {
            aliases.extend(n.aliases.iter().map(String::as_str));
        }
        // `links: [name:alias]` in a service on this network: docker resolves `alias` to this
        // container for the linking one; Podman has no per-container alias, so it is an alias of
        // this service on the network they share.
        aliases.extend(link_aliases(cx, name, key));
        for a in aliases {
            if a != name && !o.iter().any(|x| x.strip_prefix("alias=") == Some(a)) {
                o.push(format!("alias={a}"));
            }
        }
        if let Some(n) = opts {
            if let Some(ip) = &n.ipv4_address {
                o.push(format!("ip={ip}"));
            }
            if let Some(ip) = &n.ipv6_address {
                o.push(format!("ip6={ip}"));
            }
            if let Some(mac) = &n.mac_address {
                o.push(format!("mac={mac}"));
            }
            if let Some(ifn) = &n.interface_name {
                o.push(format!("interface_name={ifn}"));
            }
            if !n.link_local_ips.is_empty() {
                cx.warn(
                    &format!("{f}.link_local_ips"),
                    "link-local IPs have no Podman equivalent",
                );
            }
            if !n.driver_opts.is_empty() {
                cx.warn(
                    &format!("{f}.driver_opts"),
                    "per-attachment driver options have no Podman equivalent",
                );
            }
        }
        if o.iter().any(|x| x.contains(',')) {
            cx.error(
                &f,
                "an alias or address contains ',' or '=' and cannot be passed to --network",
            );
            continue;
        }
        c.network.push(format!("{base}:{}", o.join(",")));
    }
    if let Some(mac) = &svc.mac_address {
        c.podman_args.push(format!("--mac-address={mac}"));
    }
    deps
}
