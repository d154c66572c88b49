//! The whole-stack walk: names checked, units built, rewritten for the target Podman, written.

use crate::diag::Diagnostic;
use crate::quadlet::{self, Body, UnitFile};

use super::ctx::Ctx;
use super::names::is_valid_name_part;
use super::{container, network, storage, RenderOptions, RenderedStack, RenderedUnit};
use crate::compose::LoadedStack;

pub fn render_stack(
    stack: &LoadedStack,
    opts: &RenderOptions,
) -> Result<RenderedStack, Vec<Diagnostic>> {
    let mut cx = Ctx::new(stack, opts);
    if !is_valid_name_part(&stack.name) {
        cx.error(
            "",
            format!(
                "stack name {:?} cannot name a unit: use ASCII letters, digits, '_', '.', '-'",
                stack.name
            ),
        );
        return Err(cx.diags);
    }
    if opts.podman_version < super::PodmanVersion::OLDEST {
        cx.error(
            "",
            format!(
                "Podman {}.{} has no Quadlet; {}.{} is the oldest supported",
                opts.podman_version.major,
                opts.podman_version.minor,
                super::PodmanVersion::OLDEST.major,
                super::PodmanVersion::OLDEST.minor
            ),
        );
        return Err(cx.diags);
    }
    if stack.project.services.is_empty() {
        cx.error("services", "the stack defines no service");
    }
    for name in stack.project.services.keys() {
        if !is_valid_name_part(name) {
            cx.error(
                &format!("services.{name}"),
                "service name cannot name a unit: use ASCII letters, digits, '_', '.', '-'",
            );
        }
    }
    if cx.has_errors() {
        return Err(cx.diags);
    }
    // Quadlet runs `podman run --replace`: two services with one container name would keep
    // replacing each other.
    let mut names = std::collections::BTreeMap::new();
    for svc in stack.project.services.keys() {
        if let Some(first) = names.insert(cx.container_name(svc), svc.clone()) {
            cx.error(
                &format!("services.{svc}.container_name"),
                format!(
                    "{:?} is also the container name of service {first}",
                    cx.container_name(svc)
                ),
            );
        }
    }
    if cx.has_errors() {
        return Err(cx.diags);
    }
    container::collect_dependency_roles(&mut cx);

    let mut units: Vec<UnitFile> = Vec::new();
    units.extend(network::network_units(&mut cx));
    units.extend(storage::volume_units(&mut cx));
    let mut containers = Vec::new();
    let mut secrets = Vec::new();
    for (name, svc) in &stack.project.services {
        if let Some(out) = container::container_units(&mut cx, name, svc) {
            units.extend(out.units);
            containers.push(out.info);
            for s in out.secrets {
                if !secrets.contains(&s) {
                    secrets.push(s);
                }
            }
        }
    }
    units.push(stack_target(&cx, &containers));

    let mut rendered = Vec::new();
    for mut unit in units {
        match quadlet::versions::downgrade(&mut unit, opts.podman_version) {
            Ok(moved) => {
                for key in ["VolumeName", "NetworkName"] {
                    if moved.iter().any(|m| m == key) {
                        let field = field_of(&cx, &unit.file_name);
                        cx.warn(
                            &format!("{field}.name"),
                            format!(
                                "{key}= needs Podman 4.6; the object is named systemd-{}",
                                unit.file_name.rsplit_once('.').map_or("", |p| p.0)
                            ),
                        );
                    }
                }
                if !moved.is_empty() {
                    log::debug!(
                        "{}: {} emitted as PodmanArgs= for Podman {}.{}",
                        unit.file_name,
                        moved.join(", "),
                        opts.podman_version.major,
                        opts.podman_version.minor
                    );
                }
            }
            Err(u) => {
                cx.error(
                    &field_of(&cx, &unit.file_name),
                    format!(
                        "{}: {} needs Podman {}.{} or newer (target is {}.{})",
                        unit.file_name,
                        u.key,
                        u.needs.major,
                        u.needs.minor,
                        opts.podman_version.major,
                        opts.podman_version.minor
                    ),
                );
                continue;
            }
        }
        match quadlet::write_unit(&unit) {
            Ok(contents) => rendered.push(RenderedUnit {
                file_name: unit.file_name.clone(),
                contents,
            }),
            Err(e) => {
                let field = field_of(&cx, &unit.file_name);
                let field = match compose_field(&unit.file_name, &e.key) {
                    Some(sub) if !field.is_empty() => format!("{field}.{sub}"),
                    _ => field,
                };
                cx.error(&field, e.to_string())
            }
        }
    }
    if cx.has_errors() {
        return Err(cx.diags);
    }
    rendered.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(RenderedStack {
        stack: stack.name.clone(),
        units: rendered,
        containers,
        secrets,
        warnings: cx.diags,
    })
}

/// `super::stack_names`: the file names `network_units`, `volume_units`, `container_units` and
/// `stack_target` give, and `Ctx::container_name` of every service.
pub fn stack_names(stack: &LoadedStack) -> super::StackNames {
    let opts = RenderOptions {
        podman_version: super::PodmanVersion::NEWEST,
        strict: false,
    };
    let mut cx = Ctx::new(stack, &opts);
    let p = &stack.project;
    let mut unit_files = vec![format!("{}.target", stack.name)];
    let networks = p
        .networks
        .iter()
        .map(|(k, n)| ("networks", "network", k, n.external, n.name.as_deref()));
    let volumes = p
        .volumes
        .iter()
        .map(|(k, v)| ("volumes", "volume", k, v.external, v.name.as_deref()));
    for (section, suffix, key, external, name) in networks.chain(volumes) {
        if external != Some(true) && cx.object_name(section, key, name).is_some() {
            unit_files.push(cx.unit(key, suffix));
        }
    }
    for (name, svc) in &p.services {
        unit_files.push(cx.unit(name, "container"));
        if svc.build.is_some() {
            unit_files.push(cx.unit(name, "build"));
        }
    }
    let mut containers: Vec<String> = p.services.keys().map(|s| cx.container_name(s)).collect();
    unit_files.sort();
    containers.sort();
    super::StackNames {
        unit_files,
        containers,
    }
}

/// The Compose field a unit came from, for error messages.
fn field_of(cx: &Ctx, file_name: &str) -> String {
    let prefix = format!("{}-", cx.stack.name);
    let Some(rest) = file_name.strip_prefix(&prefix) else {
        return String::new();
    };
    let (name, kind) = rest.rsplit_once('.').unwrap_or((rest, ""));
    match kind {
        "container" | "build" => format!("services.{name}"),
        "volume" => format!("volumes.{name}"),
        "network" => format!("networks.{name}"),
        _ => String::new(),
    }
}

/// The Compose field (under the service, volume or network) a Quadlet key is written from, so a
/// value the writer refuses is reported where the user wrote it.
fn compose_field(file_name: &str, key: &str) -> Option<&'static str> {
    let kind = file_name.rsplit_once('.').map_or("", |(_, k)| k);
    let f = match (kind, key) {
        ("container", "Image") => "image",
        ("container", "ContainerName") => "container_name",
        ("container", "Pull") => "pull_policy",
        ("container", "AutoUpdate") => "labels",
        ("container", "Entrypoint") => "entrypoint",
        ("container", "Exec") => "command",
        ("container", "Environment") => "environment",
        ("container", "EnvironmentFile") => "env_file",
        ("container" | "volume" | "network", "Label") => "labels",
        ("container", "Annotation") => "annotations",
        ("container", "PublishPort") => "ports",
        ("container", "ExposeHostPort") => "expose",
        ("container", "Network" | "NetworkAlias" | "IP" | "IP6") => "networks",
        ("container", "HostName") => "hostname",
        ("container", "DNS") => "dns",
        ("container", "DNSSearch") => "dns_search",
        ("container", "DNSOption") => "dns_opt",
        ("container", "AddHost") => "extra_hosts",
        ("container", "Volume" | "Mount") => "volumes",
        ("container", "Tmpfs") => "tmpfs",
        ("container", "Secret") => "secrets",
        ("container", "User" | "Group") => "user",
        ("container", "GroupAdd") => "group_add",
        ("container", "WorkingDir") => "working_dir",
        ("container", "SeccompProfile") => "security_opt",
        ("container", "AddCapability") => "cap_add",
        ("container", "DropCapability") => "cap_drop",
        ("container", "AddDevice") => "devices",
        ("container", "Sysctl") => "sysctls",
        ("container", "Ulimit") => "ulimits",
        ("container", "ShmSize") => "shm_size",
        ("container", "PidsLimit") => "pids_limit",
        ("container", "LogDriver") => "logging.driver",
        ("container", "LogOpt") => "logging.options",
        ("container", "StopSignal") => "stop_signal",
        ("container", k) if k.starts_with("Health") => "healthcheck",
        ("volume" | "network", "VolumeName" | "NetworkName") => "name",
        ("volume" | "network", "Driver") => "driver",
        ("volume" | "network", "PodmanArgs" | "Options") | ("volume", "Device" | "Type") => {
            "driver_opts"
        }
        ("network", "Subnet" | "Gateway" | "IPRange" | "IPAMDriver") => "ipam",
        ("build", "ImageTag") => "image",
        ("build", _) => "build",
        _ => return None,
    };
    Some(f)
}

fn stack_target(cx: &Ctx, containers: &[super::ContainerInfo]) -> UnitFile {
    let mut t = UnitFile::new(format!("{}.target", cx.stack.name), Body::Target);
    t.unit.description = Some(format!("Compose stack {}", cx.stack.name));
    t.unit.wants = containers.iter().map(|c| c.unit.clone()).collect();
    t.unit.wants.sort();
    t.install.wanted_by = vec!["default.target".into()];
    t
}

pub fn meta_target(name: &str, stacks: &[String]) -> RenderedUnit {
    let mut t = UnitFile::new(format!("{name}.target"), Body::Target);
    t.unit.description = Some("Every release-tool stack".into());
    let mut wants: Vec<String> = stacks.iter().map(|s| format!("{s}.target")).collect();
    wants.sort();
    wants.dedup();
    t.unit.wants = wants;
    t.install.wanted_by = vec!["default.target".into()];
    // Stack and meta-target names are checked by the caller; a bad one still cannot break the
    // file, the writer refuses it and we fall back to an empty target.
    let contents = quadlet::write_unit(&t).unwrap_or_default();
    RenderedUnit {
        file_name: t.file_name,
        contents,
    }
}
