//! Phase `validate`: the shape checks that come before `normalize` (which checks each field's
//! type). Unknown keys are warnings naming file, line and field, and are dropped; `x-` keys are
//! kept silently. docker compose refuses unknown keys; we warn so a newer file still deploys.

use super::node::{Node, Value};
use crate::diag::Diagnostic;

const TOP: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models",
];

pub const SERVICE: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "label_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
    "models",
    "use_api_socket",
    "provider",
];
/// The keys a top-level network may have.
pub const NETWORK: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "enable_ipv4",
    "enable_ipv6",
    "attachable",
    "labels",
];
/// The keys a top-level volume may have.
pub const VOLUME: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];
/// The keys a top-level secret or config may have.
pub const FILE_OBJ: &[&str] = &[
    "name",
    "file",
    "environment",
    "content",
    "external",
    "labels",
    "driver",
    "driver_opts",
    "template_driver",
];

/// The unknown keys found: warnings, or errors with `--strict`.
#[derive(Debug, Default)]
pub struct UnknownKeys {
    pub strict: bool,
    pub found: Vec<Diagnostic>,
}

fn check(map: &mut Node, known: &[&str], path: &str, warnings: &mut UnknownKeys) {
    let Value::Map(m) = &mut map.value else {
        return;
    };
    m.retain(|k, v| {
        if k.starts_with("x-") || known.contains(&k.as_str()) {
            return true;
        }
        let field = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let hint = crate::diag::closest(k, known.iter().copied())
            .map(|n| format!("; did you mean '{n}'?"))
            .unwrap_or_default();
        warnings.found.push(if warnings.strict {
            Diagnostic::error(v.key_span(), field, format!("unknown key '{k}'{hint}"))
        } else {
            Diagnostic::warning(
                v.key_span(),
                field,
                format!("unknown key '{k}' (ignored){hint}"),
            )
        });
        false
    });
}

/// Known keys of the mappings inside a service, by path below the service (`*` = any key or
/// list item). Unknown keys there are warned about and dropped too.
const NESTED: &[(&str, &[&str])] = &[
    (
        "build",
        &[
            "context",
            "dockerfile",
            "dockerfile_inline",
            "args",
            "ssh",
            "labels",
            "cache_from",
            "cache_to",
            "no_cache",
            "additional_contexts",
            "network",
            "pull",
            "target",
            "shm_size",
            "extra_hosts",
            "isolation",
            "privileged",
            "secrets",
            "tags",
            "ulimits",
            "platforms",
            "entitlements",
        ],
    ),
    (
        "healthcheck",
        &[
            "disable",
            "interval",
            "retries",
            "test",
            "timeout",
            "start_period",
            "start_interval",
        ],
    ),
    (
        "deploy",
        &[
            "mode",
            "endpoint_mode",
            "replicas",
            "labels",
            "rollback_config",
            "update_config",
            "resources",
            "restart_policy",
            "placement",
        ],
    ),
    ("deploy.resources", &["limits", "reservations"]),
    ("deploy.resources.limits", &["cpus", "memory", "pids"]),
    (
        "deploy.resources.reservations",
        &["cpus", "memory", "generic_resources", "devices"],
    ),
    (
        "deploy.restart_policy",
        &["condition", "delay", "max_attempts", "window"],
    ),
    ("logging", &["driver", "options"]),
    ("depends_on.*", &["condition", "required", "restart"]),
    (
        "networks.*",
        &[
            "aliases",
            "interface_name",
            "ipv4_address",
            "ipv6_address",
            "link_local_ips",
            "mac_address",
            "driver_opts",
            "priority",
            "gw_priority",
        ],
    ),
    (
        "ports.*",
        &[
            "name",
            "mode",
            "host_ip",
            "target",
            "published",
            "protocol",
            "app_protocol",
        ],
    ),
    (
        "volumes.*",
        &[
            "type",
            "source",
            "target",
            "read_only",
            "consistency",
            "bind",
            "volume",
            "tmpfs",
            "image",
        ],
    ),
    ("secrets.*", &["source", "target", "uid", "gid", "mode"]),
    ("configs.*", &["source", "target", "uid", "gid", "mode"]),
    ("ulimits.*", &["soft", "hard"]),
];

fn check_nested(svc: &mut Node, path: &str, warnings: &mut UnknownKeys) {
    for (sub, known) in NESTED {
        let parts: Vec<&str> = sub.split('.').collect();
        visit(svc, &parts, path, known, warnings);
    }
}

/// Follows `parts` from `node` (`*` = every entry) and checks the mappings it reaches.
fn visit(node: &mut Node, parts: &[&str], path: &str, known: &[&str], warnings: &mut UnknownKeys) {
    let Some((first, rest)) = parts.split_first() else {
        if matches!(node.value, Value::Map(_)) {
            check(node, known, path, warnings);
        }
        return;
    };
    match (&mut node.value, *first) {
        (Value::Map(m), "*") => {
            for (k, v) in m.iter_mut() {
                visit(v, rest, &format!("{path}.{k}"), known, warnings);
            }
        }
        (Value::Seq(items), "*") => {
            for (i, v) in items.iter_mut().enumerate() {
                visit(v, rest, &format!("{path}[{i}]"), known, warnings);
            }
        }
        (Value::Map(m), key) => {
            if let Some(v) = m.get_mut(key) {
                visit(v, rest, &format!("{path}.{key}"), known, warnings);
            }
        }
        _ => {}
    }
}

/// Lists the Compose schema wants without duplicates (`uniqueItems`) and docker compose checks in
/// each file before merging.
const UNIQUE_LISTS: &[&str] = &[
    "security_opt",
    "group_add",
    "device_cgroup_rules",
    "extra_hosts",
    "external_links",
    "volumes_from",
];

/// Refuses a duplicate item in those lists of one file, naming both positions.
pub fn unique_items(root: &Node) -> Result<(), Diagnostic> {
    let Some(services) = root.get("services").and_then(Node::as_map) else {
        return Ok(());
    };
    for (name, svc) in services {
        for field in UNIQUE_LISTS {
            let Some(items) = svc.get(field).and_then(Node::as_seq) else {
                continue;
            };
            for (j, item) in items.iter().enumerate() {
                let text = item.scalar_text();
                if let Some(i) = items[..j]
                    .iter()
                    .position(|p| p.scalar_text() == text && text.is_some())
                {
                    return Err(Diagnostic::error(
                        item.span(),
                        format!("services.{name}.{field}"),
                        format!("array items[{i},{j}] must be unique"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Checks the top-level shape (errors) and drops unknown keys (warnings).
pub fn validate(root: &mut Node, warnings: &mut UnknownKeys) -> Result<(), Diagnostic> {
    if !matches!(root.value, Value::Map(_)) {
        return Err(Diagnostic::error(
            root.span(),
            "",
            format!(
                "a compose file must be a mapping, found {}",
                root.kind_name()
            ),
        ));
    }
    check(root, TOP, "", warnings);
    let Value::Map(top) = &mut root.value else {
        return Ok(());
    };
    for (section, known) in [
        ("services", SERVICE),
        ("networks", NETWORK),
        ("volumes", VOLUME),
        ("secrets", FILE_OBJ),
        ("configs", FILE_OBJ),
    ] {
        let Some(node) = top.get_mut(section) else {
            continue;
        };
        match &mut node.value {
            Value::Null => continue,
            Value::Map(items) => {
                for (name, item) in items.iter_mut() {
                    let path = format!("{section}.{name}");
                    match &item.value {
                        Value::Map(_) => {
                            check(item, known, &path, warnings);
                            if section == "services" {
                                check_nested(item, &path, warnings);
                            }
                        }
                        Value::Null if section != "services" => {}
                        _ => {
                            return Err(Diagnostic::error(item.span(), path, item.not_a_mapping()));
                        }
                    }
                }
            }
            _ => {
                return Err(Diagnostic::error(
                    node.span(),
                    section,
                    node.not_a_mapping(),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse_str;
    use std::path::Path;

    #[test]
    fn unknown_keys_warn_and_go_x_keys_stay() {
        let mut n = parse_str(
            "x-a: 1\nfoo: 2\nservices:\n  s:\n    image: x\n    bogus: 1\n    x-b: 2\nnetworks:\n  n:\n    drvier: bridge\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        let mut w = UnknownKeys::default();
        validate(&mut n, &mut w).unwrap();
        let msgs: Vec<String> = w.found.iter().map(|d| d.to_string()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].starts_with("c.yaml:2:1: warning: foo: unknown key"),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("services.s.bogus")));
        assert!(msgs.iter().any(|m| m.contains("networks.n.drvier")));
        assert!(n.get("x-a").is_some() && n.get("foo").is_none());
        assert!(n
            .get("services")
            .unwrap()
            .get("s")
            .unwrap()
            .get("x-b")
            .is_some());
        let mut n2 = parse_str(
            "services:\n  s:\n    healthcheck: {tset: x}\n    ports: [{target: 1, publish: 2}]\n    deploy: {resources: {limits: {cpu: 1}}}\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        let mut w2 = UnknownKeys::default();
        validate(&mut n2, &mut w2).unwrap();
        let fields: Vec<&str> = w2.found.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "services.s.healthcheck.tset",
                "services.s.deploy.resources.limits.cpu",
                "services.s.ports[0].publish"
            ]
        );
    }

    #[test]
    fn wrong_shapes_are_errors_with_the_field() {
        let mut n = parse_str("services: [a]\n", Path::new("c.yaml")).unwrap();
        let e = validate(&mut n, &mut UnknownKeys::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("services: must be a mapping, found a sequence"),
            "{e}"
        );
        let mut n = parse_str("services:\n  s: 1\n", Path::new("c.yaml")).unwrap();
        let e = validate(&mut n, &mut UnknownKeys::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("services.s: must be a mapping"), "{e}");
    }
}
