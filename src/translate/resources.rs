//! Process, security and resource fields of a service → container keys or `PodmanArgs=`.

use crate::compose::{Service, Ulimit};
use crate::quadlet::ContainerSection;

use super::ctx::Ctx;
use super::storage::json_scalar;

pub fn ulimit(name: &str, u: &Ulimit) -> String {
    match (u.single, u.soft, u.hard) {
        (Some(n), _, _) => format!("{name}={n}:{n}"),
        (None, Some(s), Some(h)) => format!("{name}={s}:{h}"),
        (None, Some(s), None) => format!("{name}={s}:{s}"),
        (None, None, Some(h)) => format!("{name}={h}:{h}"),
        (None, None, None) => format!("{name}=-1:-1"),
    }
}

pub fn process(cx: &mut Ctx, name: &str, svc: &Service, c: &mut ContainerSection) {
    let f = format!("services.{name}");
    let arg = |c: &mut ContainerSection, flag: &str, v: &Option<String>| {
        if let Some(v) = v {
            c.podman_args.push(format!("--{flag}={v}"));
        }
    };
    if let Some(u) = &svc.user {
        if crate::quadlet::escape::is_raw_safe(u) {
            c.user = Some(u.clone());
        } else {
            c.podman_args.push(format!("--user={u}"));
        }
    }
    c.group_add = cx.non_empty(&format!("{f}.group_add"), &svc.group_add);
    if let Some(w) = &svc.working_dir {
        if crate::quadlet::escape::is_raw_safe(w) {
            c.working_dir = Some(w.clone());
        } else {
            c.podman_args.push(format!("--workdir={w}"));
        }
    }
    c.run_init = svc.init == Some(true);
    if svc.privileged == Some(true) {
        c.podman_args.push("--privileged".into());
    }
    c.read_only = svc.read_only == Some(true);
    if svc.tty == Some(true) {
        c.podman_args.push("--tty".into());
    }
    if svc.stdin_open == Some(true) {
        c.podman_args.push("--interactive".into());
    }
    c.add_capability = cx.non_empty(&format!("{f}.cap_add"), &svc.cap_add);
    c.drop_capability = cx.non_empty(&format!("{f}.cap_drop"), &svc.cap_drop);
    for (i, s) in svc.security_opt.iter().enumerate() {
        match s.as_str() {
            "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true" => {
                c.no_new_privileges = true
            }
            "no-new-privileges:false" | "no-new-privileges=false" => {}
            "label:disable" | "label=disable" => c.security_label_disable = true,
            "label:nested" | "label=nested" => c.security_label_nested = true,
            // docker's way to unmask /proc and /sys paths
            "systempaths=unconfined" if c.unmask.is_none() => c.unmask = Some("ALL".into()),
            other => {
                // `label:type:x` (docker) and `label=type:x` (podman) alike
                let label = other
                    .strip_prefix("label:")
                    .or_else(|| other.strip_prefix("label="))
                    .and_then(|l| l.split_once(':'));
                let native = match (label, other.split_once('=')) {
                    (Some(("type", v)), _) => Some((&mut c.security_label_type, v)),
                    (Some(("level", v)), _) => Some((&mut c.security_label_level, v)),
                    (Some(("filetype", v)), _) => Some((&mut c.security_label_file_type, v)),
                    (None, Some(("mask", v))) => Some((&mut c.mask, v)),
                    (None, Some(("unmask", v))) => Some((&mut c.unmask, v)),
                    _ => None,
                };
                // Quadlet's keys for these (one value each); a second one stays an argument
                if let Some((field, v)) = native.filter(|(f, v)| f.is_none() && !v.is_empty()) {
                    *field = Some(v.to_string());
                    continue;
                }
                if let Some(p) = other
                    .strip_prefix("seccomp:")
                    .or_else(|| other.strip_prefix("seccomp="))
                {
                    c.seccomp_profile = Some(p.to_string());
                } else if other.is_empty() {
                    cx.warn(&format!("{f}.security_opt[{i}]"), "empty; ignored");
                } else {
                    // Docker's `label:type:x` spelling is Podman's `label=type:x`.
                    let o = match other.split_once(':') {
                        Some((k @ ("label" | "apparmor"), v)) => format!("{k}={v}"),
                        _ => other.to_string(),
                    };
                    c.podman_args.push(format!("--security-opt={o}"));
                }
            }
        }
    }
    for d in &svc.devices {
        let mut s = d.source.clone();
        if let Some(t) = &d.target {
            s.push(':');
            s.push_str(t);
        }
        if let Some(p) = &d.permissions {
            s.push(':');
            s.push_str(p);
        }
        c.add_device.push(s);
    }
    for r in &svc.device_cgroup_rules {
        c.podman_args.push(format!("--device-cgroup-rule={r}"));
    }
    for (k, v) in super::names::sorted(&svc.sysctls) {
        c.sysctl.push((k.clone(), json_scalar(v)));
    }
    for (k, u) in super::names::sorted(&svc.ulimits) {
        c.ulimit.push(ulimit(k, u));
    }
    if let Some(s) = &svc.shm_size {
        c.shm_size = Some(json_scalar(s));
    }
    arg(c, "pid", &svc.pid);
    arg(c, "ipc", &svc.ipc);
    if let Some(u) = svc.userns_mode.as_ref().filter(|u| !u.is_empty()) {
        c.user_ns = Some(u.clone());
    }
    arg(c, "cgroupns", &svc.cgroup);
    arg(c, "cgroup-parent", &svc.cgroup_parent);
    arg(c, "runtime", &svc.runtime);
    arg(c, "platform", &svc.platform);
    for (k, v) in super::names::sorted(&svc.storage_opt) {
        c.podman_args.push(format!("--storage-opt={k}={v}"));
    }
    if let Some(o) = svc.oom_score_adj {
        c.podman_args.push(format!("--oom-score-adj={o}"));
    }
}

pub fn limits(cx: &mut Ctx, name: &str, svc: &Service, c: &mut ContainerSection) {
    let f = format!("services.{name}");
    let push = |c: &mut ContainerSection, flag: &str, v: &Option<serde_json::Value>| {
        if let Some(v) = v {
            c.podman_args.push(format!("--{flag}={}", json_scalar(v)));
        }
    };
    push(c, "memory", &svc.mem_limit);
    push(c, "memory-reservation", &svc.mem_reservation);
    push(c, "memory-swap", &svc.memswap_limit);
    push(c, "cpus", &svc.cpus);
    push(c, "cpu-shares", &svc.cpu_shares);
    if let Some(cs) = &svc.cpuset {
        c.podman_args.push(format!("--cpuset-cpus={cs}"));
    }
    if let Some(p) = &svc.pids_limit {
        c.pids_limit = Some(json_scalar(p));
    }
    let Some(d) = &svc.deploy else { return };
    let df = format!("{f}.deploy");
    if let Some(r) = &d.resources {
        if let Some(l) = &r.limits {
            if let Some(cpus) = l.cpus {
                c.podman_args.push(format!("--cpus={cpus}"));
            }
            if let Some(m) = &l.memory {
                c.podman_args.push(format!("--memory={m}"));
            }
            if let Some(p) = l.pids {
                c.pids_limit = Some(p.to_string());
            }
            if !l.devices.is_empty() || !l.generic_resources.is_empty() {
                cx.warn(
                    &format!("{df}.resources.limits"),
                    "device and generic resource limits have no Podman equivalent",
                );
            }
        }
        if let Some(r) = &r.reservations {
            if let Some(m) = &r.memory {
                c.podman_args.push(format!("--memory-reservation={m}"));
            }
            if r.cpus.is_some() {
                cx.warn(
                    &format!("{df}.resources.reservations.cpus"),
                    "Podman cannot reserve CPUs; ignored",
                );
            }
            if r.pids.is_some() {
                cx.warn(
                    &format!("{df}.resources.reservations.pids"),
                    "Podman cannot reserve PIDs; ignored",
                );
            }
            for (i, dev) in r.devices.iter().enumerate() {
                let gpu = dev.capabilities.iter().any(|c| c == "gpu");
                if gpu && dev.driver.as_deref().is_none_or(|d| d == "nvidia") {
                    if dev.device_ids.is_empty() {
                        c.add_device.push("nvidia.com/gpu=all".into());
                    } else {
                        for id in &dev.device_ids {
                            c.add_device.push(format!("nvidia.com/gpu={id}"));
                        }
                    }
                } else {
                    cx.warn(
                        &format!("{df}.resources.reservations.devices[{i}]"),
                        "only NVIDIA GPUs (via CDI) are mapped; this device request is ignored",
                    );
                }
            }
            if !r.generic_resources.is_empty() {
                cx.warn(
                    &format!("{df}.resources.reservations.generic_resources"),
                    "swarm-only; ignored",
                );
            }
        }
    }
    if !d.labels.is_empty() {
        cx.warn(
            &format!("{df}.labels"),
            "swarm service labels; use labels: for container labels; ignored",
        );
    }
    // docker compose prints `placement: {}` when nothing is set.
    let given = |v: &Option<serde_json::Value>| {
        v.as_ref().is_some_and(|v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::Object(o) => !o.is_empty(),
            serde_json::Value::Array(a) => !a.is_empty(),
            _ => true,
        })
    };
    for (field, set) in [
        ("placement", given(&d.placement)),
        ("endpoint_mode", d.endpoint_mode.is_some()),
        ("update_config", given(&d.update_config)),
        ("rollback_config", given(&d.rollback_config)),
    ] {
        if set {
            cx.warn(
                &format!("{df}.{field}"),
                "swarm-only; ignored on a single host",
            );
        }
    }
    if let Some(m) = &d.mode {
        if m != "replicated" && m != "global" {
            cx.warn(
                &format!("{df}.mode"),
                format!("mode {m:?} is swarm-only; one container runs"),
            );
        }
    }
}

/// Compose fields the typed model does not name (they arrive in `Service::extensions`) and
/// that this module handles.
pub const EXTENSION_FIELDS: &[&str] = &[
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "mem_swappiness",
    "oom_kill_disable",
    "uts",
    "blkio_config",
    "gpus",
    "cpu_count",
    "cpu_percent",
    "credential_spec",
    "isolation",
    "attach",
    "label_file",
    "models",
    "provider",
    "pre_start",
    "pull_refresh_after",
    "use_api_socket",
    "extends",
];

pub fn untyped_fields(cx: &mut Ctx, name: &str, svc: &Service, c: &mut ContainerSection) {
    let f = format!("services.{name}");
    let get = |k: &str| svc.extensions.get(k).filter(|v| !v.is_null());
    for (key, flag) in [
        ("cpu_period", "cpu-period"),
        ("cpu_quota", "cpu-quota"),
        ("cpu_rt_period", "cpu-rt-period"),
        ("cpu_rt_runtime", "cpu-rt-runtime"),
        ("mem_swappiness", "memory-swappiness"),
        ("uts", "uts"),
    ] {
        if let Some(v) = get(key) {
            c.podman_args.push(format!("--{flag}={}", json_scalar(v)));
        }
    }
    if get("oom_kill_disable").and_then(|v| v.as_bool()) == Some(true) {
        c.podman_args.push("--oom-kill-disable".into());
    }
    if let Some(b) = get("blkio_config") {
        if let Some(w) = b.get("weight") {
            c.podman_args
                .push(format!("--blkio-weight={}", json_scalar(w)));
        }
        let flags = [
            ("weight_device", "blkio-weight-device", "weight"),
            ("device_read_bps", "device-read-bps", "rate"),
            ("device_write_bps", "device-write-bps", "rate"),
            ("device_read_iops", "device-read-iops", "rate"),
            ("device_write_iops", "device-write-iops", "rate"),
        ];
        for (key, flag, value) in flags {
            for d in b.get(key).and_then(|v| v.as_array()).into_iter().flatten() {
                if let (Some(p), Some(v)) = (d.get("path").and_then(|p| p.as_str()), d.get(value)) {
                    c.podman_args
                        .push(format!("--{flag}={p}:{}", json_scalar(v)));
                }
            }
        }
    }
    if let Some(g) = get("gpus") {
        // `gpus: all` or a list of device requests: NVIDIA through CDI, as for deploy devices.
        let ids: Vec<String> = g
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| {
                d.get("device_ids")
                    .and_then(|i| i.as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect();
        if ids.is_empty() {
            c.add_device.push("nvidia.com/gpu=all".into());
        } else {
            c.add_device
                .extend(ids.iter().map(|i| format!("nvidia.com/gpu={i}")));
        }
    }
    let warn = [
        ("cpu_count", "Windows-only; ignored"),
        ("cpu_percent", "Windows-only; ignored"),
        ("credential_spec", "Windows-only; ignored"),
        ("isolation", "Windows-only; ignored"),
        (
            "attach",
            "log attachment of `docker compose up`; journald collects the logs",
        ),
        (
            "label_file",
            "should have been merged into labels by the loader; ignored",
        ),
        ("models", "AI model bindings are not supported; ignored"),
        ("provider", "provider services are not supported; ignored"),
        ("pre_start", "lifecycle hooks are not supported; not run"),
        (
            "pull_refresh_after",
            "no Podman equivalent; Podman's pull policy applies",
        ),
        (
            "use_api_socket",
            "the Docker API socket is not mounted; mount the Podman socket explicitly",
        ),
        (
            "extends",
            "should have been resolved by the loader; ignored",
        ),
    ];
    for (key, why) in warn {
        if get(key).is_some() {
            cx.warn(&format!("{f}.{key}"), why);
        }
    }
}
