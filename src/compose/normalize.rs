//! Phase `normalize`, the project: every service through `service::normalize`, the implicit
//! `default` network, resource names (`<project>_<key>` unless `name:` or external), unused
//! networks/volumes/secrets/configs dropped, secret/config files made absolute — the shape
//! `docker compose config --format json` prints.

use std::path::Path;

use indexmap::IndexSet;
use serde_json::{json, Map, Value as Json};

use super::convert::{self, boolean, plain, string, string_map, Res};
use super::node::{Node, Value};
use super::service::{self, Ctx};

/// Normalizes the merged tree into docker compose's JSON shape.
pub fn project(root: &Node, name: &str, ctx: &mut Ctx) -> Json {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    let empty = Default::default();
    let top = root.as_map().unwrap_or(&empty);
    let mut services = Map::new();
    if let Some(svcs) = top.get("services").and_then(Node::as_map) {
        for (sname, svc) in svcs {
            let mut s = service::normalize(sname, svc, ctx);
            if let Json::Object(o) = &mut s {
                if !o.contains_key("networks") && !o.contains_key("network_mode") {
                    o.insert("networks".into(), json!({"default": null}));
                }
            }
            services.insert(sname.clone(), s);
        }
    }
    implicit_dependencies(&mut services);
    check_references(top, &services, ctx);
    if let Some(cycle) = dependency_cycle(&services) {
        let span = top.get("services").map(Node::span).unwrap_or_default();
        ctx.errors.push(crate::diag::Diagnostic::error(
            span,
            "services",
            format!("dependency cycle detected: {}", cycle.join(" -> ")),
        ));
    }
    let used = |field: &str, f: &dyn Fn(&Json) -> Vec<String>| -> IndexSet<String> {
        services
            .values()
            .filter_map(|s| s.get(field))
            .flat_map(f)
            .collect()
    };
    let used_networks = used("networks", &|n| {
        n.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    });
    let used_volumes = used("volumes", &|v| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|m| m.get("type").and_then(Json::as_str) == Some("volume"))
                    .filter_map(|m| m.get("source").and_then(Json::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    });
    let refs = |s: &Json| -> Vec<String> {
        s.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("source").and_then(Json::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut used_secrets = used("secrets", &refs);
    // Build secrets count too.
    used_secrets.extend(used("build", &|b| {
        b.get("secrets").map(refs).unwrap_or_default()
    }));
    let used_configs = used("configs", &refs);

    for (section, used) in [
        ("networks", &used_networks),
        ("volumes", &used_volumes),
        ("secrets", &used_secrets),
        ("configs", &used_configs),
    ] {
        let declared = top.get(section).and_then(Node::as_map);
        let mut objs = Map::new();
        if section == "networks"
            && used.contains("default")
            && declared.is_none_or(|d| !d.contains_key("default"))
        {
            objs.insert(
                "default".into(),
                json!({"name": format!("{name}_default"), "ipam": {}}),
            );
        }
        if let Some(declared) = declared {
            for (key, node) in declared {
                if !used.contains(key) {
                    continue;
                }
                let path = format!("{section}.{key}");
                let r = resource(section, key, node, name, &path, ctx);
                if let Some(v) = ctx_keep(ctx, r) {
                    objs.insert(key.clone(), v);
                }
            }
        }
        if !objs.is_empty() {
            out.insert(section.into(), Json::Object(objs));
        }
    }
    out.insert("services".into(), Json::Object(services));
    for (k, v) in top {
        if k.starts_with("x-") {
            out.insert(k.clone(), plain(v));
        }
    }
    Json::Object(out)
}

fn ctx_keep<T>(ctx: &mut Ctx, r: Res<T>) -> Option<T> {
    r.map_err(|e| ctx.errors.push(e)).ok()
}

fn resource(
    section: &str,
    key: &str,
    node: &Node,
    project: &str,
    path: &str,
    ctx: &Ctx,
) -> Res<Json> {
    let mut o = Map::new();
    let empty = Default::default();
    let m = match &node.value {
        Value::Null => &empty,
        _ => convert::map(node, path)?,
    };
    let external = match m.get("external") {
        Some(e) => match &e.value {
            // Compose file format 2/3: `external: {name: x}`.
            Value::Map(em) => {
                if let Some(n) = em.get("name") {
                    o.insert(
                        "name".into(),
                        Json::String(string(n, &format!("{path}.external.name"))?),
                    );
                }
                true
            }
            _ => boolean(e, &format!("{path}.external"))?,
        },
        None => false,
    };
    if !o.contains_key("name") {
        let n = match m.get("name") {
            // docker compose prints no name when `name:` interpolates to nothing.
            Some(n) => Some(string(n, &format!("{path}.name"))?).filter(|n| !n.is_empty()),
            None if external => Some(key.to_string()),
            None => Some(format!("{project}_{key}")),
        };
        if let Some(n) = n {
            o.insert("name".into(), Json::String(n));
        }
    }
    for (k, v) in m {
        let p = format!("{path}.{k}");
        let j = match k.as_str() {
            "name" => continue,
            // docker compose prints these only when true (`omitempty`); enable_ipv4/6 are kept.
            "external" if !external => continue,
            "external" => Json::Bool(external),
            "internal" | "attachable" => match boolean(v, &p)? {
                false => continue,
                true => Json::Bool(true),
            },
            "enable_ipv6" | "enable_ipv4" => Json::Bool(boolean(v, &p)?),
            "labels" | "driver_opts" => string_map(v, &p, false)?,
            "file" => {
                let written = string(v, &p)?;
                check_resource_file(section, &ctx.dirs.resolve(&written), v, &p, ctx)?;
                Json::String(ctx.dirs.shown(&written))
            }
            "driver" | "environment" | "content" | "template_driver" => {
                Json::String(string(v, &p)?)
            }
            "ipam" if section == "networks" => ipam(v, &p)?,
            _ => plain(v),
        };
        o.insert(k.clone(), j);
    }
    if section == "networks" && !o.contains_key("ipam") {
        o.insert("ipam".into(), json!({}));
    }
    Ok(Json::Object(o))
}

/// A secret's file must exist and be a regular file (or a link to one inside the repository) when
/// the stack loads, so a deploy refuses it before switching, not when podman reads it. A config's
/// file, when it exists, must be a regular file or a directory (it becomes a bind mount). A file
/// outside the repository is host state and allowed (docs/loader.md).
fn check_resource_file(section: &str, real: &Path, v: &Node, p: &str, ctx: &Ctx) -> Res<()> {
    if section != "secrets" && section != "configs" {
        return Ok(());
    }
    let what = &section[..section.len() - 1];
    match super::source::check_regular(real, ctx.dirs.root.as_deref()) {
        Ok(_) => Ok(()),
        Err(super::source::FileError::NotRegular("directory")) if section == "configs" => Ok(()),
        // docker compose loads a config whose file is missing; podman then refuses the bind
        // mount when the container starts (and the deploy rolls back). Secrets are created
        // before the switch, so theirs is checked here.
        Err(e) if e.is_not_found() && section == "configs" => Ok(()),
        Err(e) => Err(convert::err(
            v,
            p,
            format!("{what} file {} {e}", ctx.dirs.show(real)),
        )),
    }
}

/// The checks docker compose makes across fields: every service has an image or a build, and
/// refers only to declared networks, volumes, secrets and configs and to existing services.
fn check_references(
    top: &indexmap::IndexMap<String, Node>,
    services: &Map<String, Json>,
    ctx: &mut Ctx,
) {
    let declared = |section: &str| -> Vec<String> {
        top.get(section)
            .and_then(Node::as_map)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let networks = declared("networks");
    let volumes = declared("volumes");
    let secrets = declared("secrets");
    let configs = declared("configs");
    let svc_nodes = top.get("services").and_then(Node::as_map);
    for (name, svc) in services {
        let node = svc_nodes.and_then(|m| m.get(name));
        let span = node.map(Node::span).unwrap_or_default();
        let at = |field: &str| {
            node.and_then(|n| n.get(field))
                .map(Node::span)
                .unwrap_or_else(|| span.clone())
        };
        if svc.get("image").is_none() && svc.get("build").is_none() {
            ctx.errors.push(crate::diag::Diagnostic::error(
                span.clone(),
                format!("services.{name}"),
                format!("service \"{name}\" has neither an image nor a build context specified"),
            ));
        }
        let mut fail = |field: &str, msg: String| {
            ctx.errors.push(crate::diag::Diagnostic::error(
                at(field),
                format!("services.{name}.{field}"),
                msg,
            ));
        };

        if let Some(Json::Object(n)) = svc.get("networks") {
            for k in n
                .keys()
                .filter(|k| *k != "default" && !networks.contains(k))
            {
                fail(
                    "networks",
                    format!("service \"{name}\" refers to undefined network {k}"),
                );
            }
        }
        if let Some(Json::Array(v)) = svc.get("volumes") {
            for vol in v {
                if vol.get("type").and_then(Json::as_str) != Some("volume") {
                    continue;
                }
                if let Some(src) = vol.get("source").and_then(Json::as_str) {
                    if !volumes.iter().any(|d| d == src) {
                        fail(
                            "volumes",
                            format!("service \"{name}\" refers to undefined volume {src}"),
                        );
                    }
                }
            }
        }
        for (field, known) in [("secrets", &secrets), ("configs", &configs)] {
            if let Some(Json::Array(refs)) = svc.get(field) {
                for r in refs {
                    if let Some(src) = r.get("source").and_then(Json::as_str) {
                        if !known.iter().any(|d| d == src) {
                            let kind = &field[..field.len() - 1];
                            fail(
                                field,
                                format!("service \"{name}\" refers to undefined {kind} {src}"),
                            );
                        }
                    }
                }
            }
        }
        if let Some(Json::Object(deps)) = svc.get("depends_on") {
            for k in deps.keys().filter(|k| !services.contains_key(*k)) {
                fail(
                    "depends_on",
                    format!("service \"{name}\" depends on undefined service \"{k}\""),
                );
            }
        }
    }
}

/// docker compose adds a `depends_on` for `links`, `volumes_from` and `network_mode`/`ipc`/`pid`
/// set to `service:NAME` (all but `volumes_from` with `restart: true`).
fn implicit_dependencies(services: &mut Map<String, Json>) {
    for svc in services.values_mut().filter_map(Json::as_object_mut) {
        let mut add: Vec<(String, bool)> = Vec::new();
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        // Modes first: their link restarts with the dependency (`restart: true`).
        for field in ["network_mode", "ipc", "pid"] {
            if let Some(name) = svc
                .get(field)
                .and_then(Json::as_str)
                .and_then(|m| m.strip_prefix("service:"))
            {
                add.push((name.to_string(), true));
            }
            for l in strings(svc.get("links")) {
                add.push((l.split(':').next().unwrap_or_default().to_string(), true));
            }
            for v in strings(svc.get("volumes_from")) {
                if v.starts_with("container:") {
                    continue;
                }
                let name = v.strip_prefix("service:").unwrap_or(&v);
                add.push((
                    name.split(':').next().unwrap_or_default().to_string(),
                    false,
                ));
            }
        }
        if add.is_empty() {
            continue;
        }
        let deps = svc.entry("depends_on").or_insert_with(|| json!({}));
        if let Some(d) = deps.as_object_mut() {
            for (name, restart) in add {
                d.entry(name).or_insert_with(|| {
                    let mut o = json!({"condition": "service_started", "required": true});
                    if restart {
                        o["restart"] = json!(true);
                    }
                    o
                });
            }
        }
    }
}

/// The first `depends_on` cycle found, as the chain of service names.
fn dependency_cycle(services: &Map<String, Json>) -> Option<Vec<String>> {
    fn visit(
        name: &str,
        services: &Map<String, Json>,
        stack: &mut Vec<String>,
        done: &mut IndexSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == name) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        stack.push(name.to_string());
        if let Some(Json::Object(deps)) = services.get(name).and_then(|s| s.get("depends_on")) {
            for dep in deps.keys() {
                if let Some(c) = visit(dep, services, stack, done) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        done.insert(name.to_string());
        None
    }
    let mut done = IndexSet::new();
    for name in services.keys() {
        if let Some(c) = visit(name, services, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn ipam(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |k, v, p| {
        Ok(match k {
            "options" => string_map(v, p, false)?,
            "config" => {
                let mut pools = Vec::new();
                let items = v.as_seq().map(Vec::as_slice).unwrap_or_default();
                for (i, pool) in items.iter().enumerate() {
                    pools.push(convert::object(
                        pool,
                        &format!("{p}[{i}]"),
                        |pk, pv, kp| {
                            Ok(match pk {
                                "aux_addresses" => string_map(pv, kp, false)?,
                                _ => Json::String(string(pv, kp)?),
                            })
                        },
                    )?);
                }
                Json::Array(pools)
            }
            _ => Json::String(string(v, p)?),
        })
    })
}
