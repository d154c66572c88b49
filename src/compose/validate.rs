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
const NETWORK: &[&str] = &[
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
const VOLUME: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];
const FILE_OBJ: &[&str] = &[
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

fn check(map: &mut Node, known: &[&str], path: &str, warnings: &mut Vec<Diagnostic>) {
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
        warnings.push(Diagnostic::warning(
            v.span(),
            field,
            format!("unknown key '{k}' (ignored)"),
        ));
        false
    });
}

/// Checks the top-level shape (errors) and drops unknown keys (warnings).
pub fn validate(root: &mut Node, warnings: &mut Vec<Diagnostic>) -> Result<(), Diagnostic> {
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
                        Value::Map(_) => check(item, known, &path, warnings),
                        Value::Null if section != "services" => {}
                        _ => {
                            return Err(Diagnostic::error(
                                item.span(),
                                path,
                                format!("must be a mapping, found {}", item.kind_name()),
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(Diagnostic::error(
                    node.span(),
                    section,
                    format!("must be a mapping, found {}", node.kind_name()),
                ));
            }
        }
    }
    Ok(())
}
