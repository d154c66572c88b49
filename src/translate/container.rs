//! One Compose service → one `.container` unit (and a `.build` unit when it builds its image).

use crate::compose::Service;
use crate::quadlet::{Body, BuildSection, UnitFile};

use super::ctx::Ctx;
use super::lifecycle::{self, Parts};
use super::names::{is_valid_object_name, qualify_image};
use super::storage::json_scalar;
use super::{network, resources, storage, ContainerInfo, SecretSpec};

pub struct ContainerOut {
    pub units: Vec<UnitFile>,
    pub info: ContainerInfo,
    pub secrets: Vec<SecretSpec>,
}

/// Which services others wait on to be healthy or to have completed.
pub fn collect_dependency_roles(cx: &mut Ctx) {
    for svc in cx.stack.project.services.values() {
        for (dep, d) in &svc.depends_on {
            match d.condition.as_str() {
                "service_healthy" => {
                    cx.healthy_deps.insert(dep.clone());
                }
                "service_completed_successfully" => {
                    cx.oneshot_deps.insert(dep.clone());
                }
                _ => {}
            }
        }
    }
}

/// The service with fields that interpolated to an empty string (`platform: ${X:-}`) removed:
/// docker compose treats them as unset, and an empty value would reset a key.
fn without_blank_fields(svc: &Service) -> Service {
    let Ok(serde_json::Value::Object(mut m)) = serde_json::to_value(svc) else {
        return svc.clone();
    };
    m.retain(|_, v| v.as_str() != Some(""));
    serde_json::from_value(serde_json::Value::Object(m)).unwrap_or_else(|_| svc.clone())
}

pub fn container_units(cx: &mut Ctx, name: &str, svc: &Service) -> Option<ContainerOut> {
    let svc = &without_blank_fields(svc);
    let f = format!("services.{name}");
    let mut p = Parts::default();
    let mut units = Vec::new();
    let container_name = cx.container_name(name);
    if !is_valid_object_name(&container_name) {
        cx.error(
            &format!("{f}.container_name"),
            format!("{container_name:?} is not a valid container name"),
        );
        return None;
    }
    p.c.container_name = Some(container_name.clone());

    // Image, or the image a .build unit makes.
    let mut pulled_image = None;
    if let Some(build) = &svc.build {
        let tag = match &svc.image {
            Some(i) => qualify_image(i),
            None => Some(format!("localhost/{}-{name}:latest", cx.project_name())),
        };
        let Some(tag) = tag else {
            cx.error(&format!("{f}.image"), "not a valid image reference");
            return None;
        };
        units.push(build_unit(cx, name, build, &tag)?);
        p.c.image = cx.unit(name, "build");
    } else {
        let Some(img) = svc.image.as_deref() else {
            cx.error(&f, "a service needs image: or build:");
            return None;
        };
        let Some(q) = qualify_image(img) else {
            cx.error(
                &format!("{f}.image"),
                format!("{img:?} is not a valid image reference"),
            );
            return None;
        };
        p.c.image = q.clone();
        pulled_image = Some(q);
    }
    match svc.pull_policy.as_deref() {
        None => {}
        Some("always") => p.c.pull = Some("always".into()),
        Some("never") => p.c.pull = Some("never".into()),
        Some("missing" | "if_not_present") => p.c.pull = Some("missing".into()),
        Some("build") if svc.build.is_some() => {}
        Some(other) => cx.warn(
            &format!("{f}.pull_policy"),
            format!("{other:?} has no Podman equivalent; Podman's default (missing) applies"),
        ),
    }

    // Command line.
    if let Some(ep) = &svc.entrypoint {
        p.c.entrypoint = serde_json::to_string(ep).ok();
    }
    p.c.exec = svc.command.as_ref().map(|cmd| command_args(cx, &f, cmd));

    // Environment and metadata.
    for (k, v) in super::names::sorted(&svc.environment) {
        match v {
            Some(v) => p.c.environment.push((k.clone(), v.clone())),
            None => cx.warn(
                &format!("{f}.environment.{k}"),
                "declared without a value and no variable gives one; not set",
            ),
        }
    }
    for (i, e) in svc.env_file.iter().enumerate() {
        cx.warn(&format!("{f}.env_file[{i}]"), format!("{:?} was not merged into environment by the loader; not passed (Podman's env-file format differs)", e.path));
    }
    for (k, v) in super::names::sorted(&svc.labels) {
        if k == "io.containers.autoupdate" {
            p.c.auto_update = Some(v.clone());
        } else {
            p.c.label.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in super::names::sorted(&svc.annotations) {
        p.c.annotation.push((k.clone(), v.clone()));
    }

    // Networking.
    let net_deps = network::attach(cx, name, svc, &mut p.c);
    for d in &net_deps {
        let unit = cx.service_unit(d);
        if !p.unit.requires.contains(&unit) {
            p.unit.requires.push(unit.clone());
            p.unit.after.push(unit);
        }
    }
    ports(cx, name, svc, &mut p);
    p.c.host_name = svc.hostname.clone();
    if svc.domainname.is_some() {
        cx.warn(
            &format!("{f}.domainname"),
            "Podman has no domain name option; set hostname: to a fully qualified name instead",
        );
    }
    p.c.dns = cx.non_empty(&format!("{f}.dns"), &svc.dns);
    p.c.dns_search = dns_search(cx, &f, &svc.dns_search);
    p.c.dns_option = cx.non_empty(&format!("{f}.dns_opt"), &svc.dns_opt);
    for h in &svc.extra_hosts {
        // docker compose prints `host=ip` (or `host:ip`); Podman takes `host:ip`.
        let entry = match h.split_once('=') {
            Some((host, ip)) => format!("{host}:{ip}"),
            None => h.clone(),
        };
        p.c.add_host.push(entry);
    }
    for (i, l) in svc.links.iter().enumerate() {
        let shared = |target: &str| {
            cx.stack.project.services.get(target).is_some_and(|t| {
                svc.network_mode.is_none()
                    && t.network_mode.is_none()
                    && t.networks.keys().any(|k| svc.networks.contains_key(k))
            })
        };
        let message = match l.split_once(':') {
            Some((_, alias)) if !super::network::link_alias_ok(alias) => format!(
                "{l:?}: the alias is not a host name (letters, digits, '.', '-', '_'); it is not \
                 created"
            ),
            Some((target, alias)) if alias != target && !shared(target) => format!(
                "{l:?}: {target} shares no network with this service here; the alias is not \
                 created"
            ),
            Some((target, alias)) if alias != target => format!(
                "{l:?}: {alias} is made a network alias of {target} (every service on the \
                 network resolves it, not only this one)"
            ),
            _ => format!("{l:?}: services already resolve each other by name on the stack network; a link alias is not created"),
        };
        cx.warn(&format!("{f}.links[{i}]"), message);
    }
    for (i, l) in svc.external_links.iter().enumerate() {
        cx.warn(
            &format!("{f}.external_links[{i}]"),
            format!("{l:?}: external links have no Podman equivalent"),
        );
    }

    // Storage, secrets, configs.
    storage::mounts(cx, name, svc, &mut p.c);
    let secrets = storage::secrets_and_configs(cx, name, svc, &mut p.c);

    // Process and security.
    resources::process(cx, name, svc, &mut p.c);
    resources::limits(cx, name, svc, &mut p.c);
    resources::untyped_fields(cx, name, svc, &mut p.c);
    if let Some(l) = &svc.logging {
        logging(cx, &f, l, &mut p.c);
    }

    // Lifecycle.
    let has_health = lifecycle::healthcheck(cx, name, svc, &mut p);
    lifecycle::stop(cx, name, svc, &mut p);
    lifecycle::restart(cx, name, svc, &mut p);
    let mut after = lifecycle::depends_on(cx, name, svc, &mut p);
    for d in net_deps {
        let unit = cx.service_unit(&d);
        if !after.contains(&unit) {
            after.push(unit);
        }
    }
    let oneshot = cx.oneshot_deps.contains(name);
    if oneshot {
        lifecycle::make_oneshot(cx, name, &mut p);
    }
    let waits_healthy = cx.healthy_deps.contains(name) && !oneshot;
    if waits_healthy {
        let disabled = svc.healthcheck.as_ref().is_some_and(|h| {
            h.disable == Some(true)
                || h.test.as_ref().and_then(|t| t.first()).map(String::as_str) == Some("NONE")
        });
        if disabled {
            cx.error(
                &format!("{f}.healthcheck"),
                "another service waits for this one to be healthy, but its healthcheck is disabled",
            );
        } else {
            lifecycle::wait_healthy(cx, svc, &container_name, &mut p);
        }
    }
    replicas(cx, name, svc);
    unsupported(cx, name, svc);

    for list in [
        &mut p.unit.requires,
        &mut p.unit.wants,
        &mut p.unit.part_of,
        &mut p.unit.after,
    ] {
        dedup_keep_order(list);
    }
    // A hard requirement wins over a soft one on the same unit.
    let requires = p.unit.requires.clone();
    p.unit.wants.retain(|w| !requires.contains(w));
    p.unit.description = Some(format!("Compose service {name} of stack {}", cx.stack.name));
    let mut unit = UnitFile::new(cx.unit(name, "container"), Body::Container(Box::new(p.c)));
    unit.unit = p.unit;
    unit.service = p.service;
    unit.install.wanted_by = vec![format!("{}.target", cx.stack.name)];
    units.push(unit);
    Some(ContainerOut {
        units,
        info: ContainerInfo {
            service: name.to_string(),
            unit: cx.service_unit(name),
            image: pulled_image,
            after,
            healthcheck: lifecycle::gates_on_health(svc, has_health, waits_healthy),
            oneshot,
        },
        secrets,
    })
}

fn ports(cx: &mut Ctx, name: &str, svc: &Service, p: &mut Parts) {
    for (i, port) in svc.ports.iter().enumerate() {
        let f = format!("services.{name}.ports[{i}]");
        let proto = match port.protocol.as_deref() {
            None | Some("tcp") => String::new(),
            Some(pr @ ("udp" | "sctp")) => format!("/{pr}"),
            Some(other) => {
                cx.error(
                    &format!("{f}.protocol"),
                    format!("unknown protocol {other:?}"),
                );
                continue;
            }
        };
        let ip = match port.host_ip.as_deref() {
            None | Some("") => String::new(),
            Some(ip) if ip.contains(':') => format!("[{ip}]:"),
            Some(ip) => format!("{ip}:"),
        };
        let s = match &port.published {
            Some(h) if !h.is_empty() => format!("{ip}{h}:{}{proto}", port.target),
            _ if !ip.is_empty() => format!("{ip}:{}{proto}", port.target),
            _ => format!("{}{proto}", port.target),
        };
        if s.chars().any(|c| c.is_whitespace()) {
            cx.error(&f, "not a valid port mapping");
            continue;
        }
        p.c.publish_port.push(s);
    }
    for e in &svc.expose {
        p.c.expose_host_port.push(e.clone());
    }
}

fn replicas(cx: &mut Ctx, name: &str, svc: &Service) {
    let f = format!("services.{name}");
    let n = svc.deploy.as_ref().and_then(|d| d.replicas).or(svc.scale);
    match n {
        None | Some(1) => {}
        Some(0) => cx.warn(&format!("{f}.deploy.replicas"), "0 replicas: the unit is still generated and started with the stack"),
        Some(n) => cx.error(&format!("{f}.deploy.replicas"), format!("{n} replicas: one unit runs one container; split the service or run it once (published ports and container names would clash)")),
    }
}

fn unsupported(cx: &mut Ctx, name: &str, svc: &Service) {
    let f = format!("services.{name}");
    if svc.develop.is_some() {
        cx.warn(
            &format!("{f}.develop"),
            "develop/watch is a docker compose development feature; ignored",
        );
    }
    if !svc.post_start.is_empty() {
        cx.warn(
            &format!("{f}.post_start"),
            "lifecycle hooks are not supported; not run",
        );
    }
    if !svc.pre_stop.is_empty() {
        cx.warn(
            &format!("{f}.pre_stop"),
            "lifecycle hooks are not supported; not run",
        );
    }
    for k in svc.extensions.keys() {
        if !k.starts_with("x-") && !resources::EXTENSION_FIELDS.contains(&k.as_str()) {
            cx.warn(&format!("{f}.{k}"), "unknown field; ignored");
        }
    }
}

fn build_unit(cx: &mut Ctx, name: &str, b: &crate::compose::Build, tag: &str) -> Option<UnitFile> {
    let f = format!("services.{name}.build");
    let context = b.context.clone().unwrap_or_else(|| ".".into());
    let context =
        if context.contains("://") || context.starts_with('/') || context.starts_with("git@") {
            context
        } else {
            cx.stack.dir.join(&context).to_string_lossy().into_owned()
        };
    let mut s = BuildSection {
        image_tag: vec![tag.to_string()],
        set_working_directory: Some(context.clone()),
        ..Default::default()
    };
    if let Some(df) = &b.dockerfile {
        s.file = Some(if df.starts_with('/') {
            df.clone()
        } else {
            format!("{}/{df}", context.trim_end_matches('/'))
        });
    }
    if b.dockerfile_inline.is_some() {
        cx.error(
            &format!("{f}.dockerfile_inline"),
            "an inline Dockerfile cannot be given to a .build unit; put it in a file",
        );
        return None;
    }
    s.target = b.target.clone();
    if b.pull == Some(true) {
        s.pull = Some("always".into());
    }
    s.network = b.network.clone();
    for (k, v) in super::names::sorted(&b.labels) {
        s.label.push((k.clone(), v.clone()));
    }
    for (k, v) in super::names::sorted(&b.args) {
        match v {
            Some(v) => s.podman_args.push(format!("--build-arg={k}={v}")),
            None => cx.warn(
                &format!("{f}.args.{k}"),
                "declared without a value; not passed",
            ),
        }
    }
    for t in &b.tags {
        if let Some(q) = qualify_image(t) {
            s.image_tag.push(q);
        }
    }
    for h in &b.extra_hosts {
        let e = match h.split_once('=') {
            Some((a, b)) => format!("{a}:{b}"),
            None => h.clone(),
        };
        s.podman_args.push(format!("--add-host={e}"));
    }
    if b.no_cache == Some(true) {
        s.podman_args.push("--no-cache".into());
    }
    if let Some(sz) = &b.shm_size {
        s.podman_args
            .push(format!("--shm-size={}", json_scalar(sz)));
    }
    for (k, u) in super::names::sorted(&b.ulimits) {
        s.podman_args
            .push(format!("--ulimit={}", resources::ulimit(k, u)));
    }
    for p in &b.platforms {
        s.podman_args.push(format!("--platform={p}"));
    }
    for (field, set) in [
        ("secrets", !b.secrets.is_empty()),
        ("ssh", !b.ssh.is_empty()),
        ("cache_from", !b.cache_from.is_empty()),
        ("cache_to", !b.cache_to.is_empty()),
        ("additional_contexts", !b.additional_contexts.is_empty()),
    ] {
        if set {
            cx.warn(
                &format!("{f}.{field}"),
                "not supported by the .build unit; ignored",
            );
        }
    }
    for k in b.extensions.keys().filter(|k| !k.starts_with("x-")) {
        cx.warn(
            &format!("{f}.{k}"),
            "not supported by the .build unit; ignored",
        );
    }
    let mut unit = UnitFile::new(cx.unit(name, "build"), Body::Build(s));
    unit.unit.description = Some(format!(
        "Image build of service {name} of stack {}",
        cx.stack.name
    ));
    Some(unit)
}

fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

/// The command's arguments for `Exec=`. Quadlet cannot pass an empty argument (its word
/// splitting drops it and every argument after it), so trailing empty ones, typically a variable
/// that expanded to nothing (`command: [app, "${EXTRA}"]`), are dropped with a warning; an empty
/// one before others stays, and the writer refuses it naming the field.
fn command_args(cx: &mut Ctx, f: &str, cmd: &[String]) -> Vec<String> {
    let keep = cmd.iter().rposition(|a| !a.is_empty()).map_or(0, |i| i + 1);
    if keep == 0 || keep == cmd.len() {
        return cmd.to_vec();
    }
    cx.warn(
        &format!("{f}.command"),
        format!(
            "{} trailing empty argument(s) dropped: Quadlet cannot pass an empty argument",
            cmd.len() - keep
        ),
    );
    cmd[..keep].to_vec()
}

/// `dns_search:` for `DNSSearch=`. An empty entry means "no search domain" to docker
/// (`dns_search: ""` clears the host's); Podman's way to say it is the domain `.`. Alongside
/// real domains an empty entry adds nothing and is dropped.
fn dns_search(cx: &mut Ctx, f: &str, list: &[String]) -> Vec<String> {
    if !list.is_empty() && list.iter().all(|d| d.trim().is_empty()) {
        return vec![".".to_string()];
    }
    cx.non_empty(&format!("{f}.dns_search"), list)
}

/// The log drivers Podman has (`--log-driver`); `json-file` is its name for `k8s-file` too.
const PODMAN_LOG_DRIVERS: &[&str] = &[
    "journald",
    "k8s-file",
    "json-file",
    "none",
    "passthrough",
    "passthrough-tty",
];

/// `logging:` → `LogDriver=`/`LogOpt=`. A driver Podman does not have (`gelf`, `fluentd`,
/// `loki`, `syslog`, `awslogs`, `local`…) is not carried over, nor are its options (addresses,
/// pipeline stages: nothing Podman's drivers read): a warning says so and the container logs
/// to Podman's default (the journal on a systemd host).
fn logging(
    cx: &mut Ctx,
    f: &str,
    l: &crate::compose::Logging,
    c: &mut crate::quadlet::ContainerSection,
) {
    if let Some(d) = l.driver.as_deref() {
        if !PODMAN_LOG_DRIVERS.contains(&d) {
            cx.warn(
                &format!("{f}.logging.driver"),
                format!(
                    "{d:?} is not a Podman log driver; not carried over, nor its options: the \
                     container logs to Podman's default (the journal under systemd)"
                ),
            );
            return;
        }
    }
    c.log_driver = l.driver.clone();
    for (k, v) in super::names::sorted(&l.options) {
        if let Some(v) = v {
            c.log_opt.push(format!("{k}={v}"));
        }
    }
}
