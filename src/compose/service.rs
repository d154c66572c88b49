//! Phase `normalize`, one service: short syntax → the long syntax docker compose prints, paths
//! made absolute, `env_file` read and merged into `environment`, values typed per field.

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use super::convert::{
    self, boolean, err, float_json, integer, number, plain, strict_string, string, string_list,
    string_map, Res,
};
use super::node::{Node, Value};
use super::paths::Dirs;
use super::service_mounts::{devices, networks, ports, volumes};
use super::service_runtime::{
    depends_on, deploy, file_refs, healthcheck, is_zero, logging, ulimits,
};
use super::short;
use crate::diag::Diagnostic;

pub struct Ctx<'a> {
    pub dirs: &'a Dirs,
    /// Interpolation variables: they fill `environment` entries written without a value and
    /// are substituted in env files.
    pub vars: &'a IndexMap<String, String>,
    /// Added to every service's environment at the lowest precedence.
    pub globals: &'a IndexMap<String, String>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub inputs: Vec<std::path::PathBuf>,
    /// Bytes of container environment built so far (globals and env files are copied into every
    /// service): bounded by [`MAX_STACK_ENV_BYTES`].
    pub env_bytes: usize,
}

/// The most container environment one stack may build: 64 MiB. Each env file is bounded on its
/// own; this bounds their copies into many services.
pub const MAX_STACK_ENV_BYTES: usize = 64 * 1024 * 1024;

impl Ctx<'_> {
    pub(super) fn keep<T>(&mut self, r: Res<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}

pub(super) fn duration(node: &Node, path: &str) -> Res<Json> {
    let s = string(node, path)?;
    let ns = short::parse_duration(&s).map_err(|e| err(node, path, e))?;
    Ok(Json::String(short::format_duration(ns)))
}

pub(super) fn bytes(node: &Node, path: &str) -> Res<Json> {
    match &node.value {
        Value::Int(i) => Ok(Json::String(i.to_string())),
        _ => {
            let s = string(node, path)?;
            let b = short::parse_bytes(&s).map_err(|e| err(node, path, e))?;
            Ok(Json::String(b.to_string()))
        }
    }
}

/// `host=ip` entries (made so by `canon`), checked as compose-go checks them and sorted as it
/// prints them.
fn extra_hosts(node: &Node, path: &str) -> Res<Json> {
    let mut v = string_list(node, path)?;
    for (i, h) in v.iter().enumerate() {
        let item = node.as_seq().and_then(|s| s.get(i)).unwrap_or(node);
        let p = format!("{path}[{i}]");
        match h.split_once('=') {
            None => {
                return Err(err(
                    item,
                    &p,
                    format!("invalid additional host, missing IP: {h}"),
                ))
            }
            Some((host, _)) if host.is_empty() || host.contains(':') => {
                return Err(err(item, &p, format!("bad host name '{host}'")))
            }
            _ => {}
        }
    }
    v.sort();
    Ok(json!(v))
}

fn command(node: &Node, path: &str) -> Res<Json> {
    match &node.value {
        Value::Null => Ok(Json::Null),
        Value::Seq(_) => Ok(json!(string_list(node, path)?)),
        _ => {
            let s = string(node, path)?;
            Ok(json!(
                short::shell_split(&s).map_err(|e| err(node, path, e))?
            ))
        }
    }
}

/// Normalizes one service. Errors are collected in `ctx` (the other fields still load).
pub fn normalize(name: &str, svc: &Node, ctx: &mut Ctx) -> Json {
    let base = format!("services.{name}");
    let mut out = decode(name, svc, ctx);
    check_resource_conflicts(&out, svc, &base, ctx);
    scale_into_replicas(&mut out, svc, &base, ctx);
    check_container_name(&out, name, svc, &base, ctx);
    check_build_platform(&out, svc, &base, ctx);
    if out.contains_key("network_mode") && out.contains_key("networks") {
        ctx.errors.push(err(
            svc.get("network_mode").unwrap_or(svc),
            &format!("{base}.network_mode"),
            format!("service {name} declares mutually exclusive `network_mode` and `networks`"),
        ));
    }
    Json::Object(out)
}

/// docker compose refuses a `platform` that `build.platforms` (when given) leaves out.
fn check_build_platform(out: &Map<String, Json>, svc: &Node, base: &str, ctx: &mut Ctx) {
    let Some(Json::String(platform)) = out.get("platform") else {
        return;
    };
    let Some(Json::Array(platforms)) = out.get("build").and_then(|b| b.get("platforms")) else {
        return;
    };
    if !platforms.is_empty()
        && !platforms
            .iter()
            .any(|p| p.as_str() == Some(platform.as_str()))
    {
        ctx.errors.push(err(
            svc.get("platform").unwrap_or(svc),
            &format!("{base}.platform"),
            format!("service.build.platforms MUST include service.platform {platform:?}"),
        ));
    }
}

/// A fixed container name cannot be given to more than one replica: docker compose refuses
/// `container_name` with `scale` or `deploy.replicas` above 1.
fn check_container_name(
    out: &Map<String, Json>,
    name: &str,
    svc: &Node,
    base: &str,
    ctx: &mut Ctx,
) {
    if !out.contains_key("container_name") {
        return;
    }
    let replicas = out
        .get("scale")
        .or_else(|| out.get("deploy").and_then(|d| d.get("replicas")));
    if replicas.and_then(Json::as_u64).is_some_and(|n| n > 1) {
        ctx.errors.push(err(
            svc.get("container_name").unwrap_or(svc),
            &format!("{base}.container_name"),
            format!("can't set container_name and {name} as container name must be unique"),
        ));
    }
}

/// Each field of one service read into docker compose's shape, without the checks between
/// fields (what docker compose still does to a service no enabled profile includes).
pub fn decode(name: &str, svc: &Node, ctx: &mut Ctx) -> Map<String, Json> {
    let base = format!("services.{name}");
    let Some(m) = ctx.keep(convert::map(svc, &base)) else {
        return Map::new();
    };
    let mut out = Map::new();
    let mut env: IndexMap<String, Json> = ctx
        .globals
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let mut has_env = !env.is_empty();
    if let Some(files) = m.get("env_file") {
        has_env |=
            super::env_files::read_env_files(files, &format!("{base}.env_file"), &mut env, ctx);
    }
    for (key, node) in m {
        let path = format!("{base}.{key}");
        let value: Res<Json> = match key.as_str() {
            "env_file" | "extends" => continue,
            // Written empty (`deploy:`): the schema allows null, docker compose prints nothing.
            "deploy" | "develop" if node.is_null() => continue,
            "environment" => {
                has_env = true;
                match string_map(node, &path, true) {
                    Ok(Json::Object(o)) => {
                        for (k, v) in o {
                            let v = match v {
                                Json::Null => ctx
                                    .vars
                                    .get(&k)
                                    .map(|s| Json::String(s.clone()))
                                    .unwrap_or(Json::Null),
                                v => v,
                            };
                            env.insert(k, v);
                        }
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => Err(e),
                }
            }
            "command" | "entrypoint" => command(node, &path),
            "build" => build(node, &path, ctx),
            "ports" => ports(node, &path),
            "expose" => string_list(node, &path).map(|v| json!(v)),
            "volumes" => volumes(node, &path, ctx),
            "networks" => networks(node, &path),
            "depends_on" => depends_on(node, &path),
            "healthcheck" => healthcheck(node, &path),
            "labels" | "annotations" | "sysctls" | "storage_opt" => string_map(node, &path, false),
            "secrets" | "configs" => file_refs(node, &path, key == "secrets"),
            "deploy" => deploy(node, &path),
            "develop" => Ok(develop(node, ctx)),
            "devices" => devices(node, &path),
            "ulimits" => ulimits(node, &path),
            "logging" => logging(node, &path),
            "stop_grace_period" => {
                strict_string(node, &path, false).and_then(|_| duration(node, &path))
            }
            // compose-go's `omitempty`: zero is no value.
            "mem_limit" | "mem_reservation" | "memswap_limit" | "shm_size" | "mem_swappiness" => {
                match bytes(node, &path) {
                    Ok(v) if is_zero(&v) => continue,
                    r => r,
                }
            }
            "cpus" => match number(node, &path).map(float_json) {
                Ok(v) if is_zero(&v) => continue,
                r => r,
            },
            "privileged" | "read_only" | "tty" | "stdin_open" | "init" | "oom_kill_disable" => {
                if let Value::Str(s) = &node.value {
                    let l = s.to_ascii_lowercase();
                    if ["y", "yes", "on", "n", "no", "off"].contains(&l.as_str()) {
                        let want = ["y", "yes", "on"].contains(&l.as_str());
                        ctx.warnings.push(Diagnostic::warning(
                            node.span(),
                            path.clone(),
                            format!("\"{s}\" for boolean is not supported by YAML 1.2, please use `{want}`"),
                        ));
                    }
                }
                match boolean(node, &path) {
                    // compose-go's `omitempty`: false is printed as nothing.
                    Ok(false) => continue,
                    r => r.map(Json::Bool),
                }
            }
            "scale" => convert::unsigned(node, &path, u32::MAX as u64).map(|i| json!(i)),
            // compose-go's `omitempty`: zero is no value.
            "cpu_shares" | "pids_limit" | "oom_score_adj" | "cpu_count" | "cpu_percent" => {
                match integer(node, &path) {
                    Ok(0) => continue,
                    r => r.map(|i| json!(i)),
                }
            }
            "tmpfs"
            | "dns"
            | "dns_search"
            | "dns_opt"
            | "cap_add"
            | "cap_drop"
            | "security_opt"
            | "profiles"
            | "links"
            | "external_links"
            | "volumes_from"
            | "group_add"
            | "device_cgroup_rules" => string_list(node, &path).map(|v| json!(v)),
            "extra_hosts" => extra_hosts(node, &path),
            "image" | "restart" | "container_name" | "hostname" | "domainname" | "user"
            | "working_dir" | "stop_signal" | "network_mode" | "pull_policy" | "platform"
            | "pid" | "ipc" | "userns_mode" | "cgroup" | "cgroup_parent" | "mac_address"
            | "runtime" | "cpuset" | "isolation" | "uts" => {
                match strict_string(node, &path, key == "pid") {
                    // compose-go's `omitempty`: an empty string (often `${X:-}`) is no value.
                    Ok(s) if s.is_empty() => continue,
                    r => r.map(Json::String),
                }
            }
            "post_start" | "pre_stop" => match &node.value {
                Value::Seq(_) => Ok(plain(node)),
                _ => Err(err(
                    node,
                    &path,
                    format!("must be a list, found {}", node.kind_name()),
                )),
            },
            _ => Ok(plain(node)),
        };
        if let Some(v) = ctx.keep(value) {
            if key == "depends_on" && v.as_object().is_some_and(Map::is_empty) {
                continue;
            }
            out.insert(key.clone(), v);
        }
    }
    if has_env {
        let size: usize = env
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        ctx.env_bytes += size;
        if ctx.env_bytes > MAX_STACK_ENV_BYTES {
            ctx.errors.push(err(
                svc,
                &base,
                format!(
                    "the services' environments add up to more than {MAX_STACK_ENV_BYTES} bytes; \
                     refusing to load"
                ),
            ));
            env.clear();
        }
        out.insert(
            "environment".into(),
            Json::Object(env.into_iter().collect()),
        );
    }
    out
}

/// With a `deploy` section, docker compose copies `scale` into `deploy.replicas`, and refuses a
/// `deploy.replicas` that differs from it.
fn scale_into_replicas(out: &mut Map<String, Json>, svc: &Node, base: &str, ctx: &mut Ctx) {
    let Some(scale) = out.get("scale").cloned() else {
        return;
    };
    let Some(Json::Object(deploy)) = out.get_mut("deploy") else {
        return;
    };
    match deploy.get("replicas") {
        Some(r) if *r != scale => ctx.errors.push(err(
            svc.get("scale").unwrap_or(svc),
            &format!("{base}.scale"),
            "can't set distinct values on 'scale' and 'deploy.replicas'",
        )),
        _ => {
            deploy.insert("replicas".into(), scale);
        }
    }
}

fn build(node: &Node, path: &str, ctx: &mut Ctx) -> Res<Json> {
    let mut out = Map::new();
    let m = convert::map(node, path)?;
    let context = match m.get("context") {
        Some(c) => string(c, &format!("{path}.context"))?,
        None => ".".into(),
    };
    // Remote contexts (git URLs) stay as written.
    let is_remote = context.contains("://")
        || context.starts_with("git@")
        || context.starts_with("github.com/");
    out.insert(
        "context".into(),
        Json::String(if is_remote {
            context
        } else {
            ctx.dirs.shown(&context)
        }),
    );
    if !m.contains_key("dockerfile_inline") {
        out.insert("dockerfile".into(), json!("Dockerfile"));
    }
    for (k, v) in m {
        let p = format!("{path}.{k}");
        let j = match k.as_str() {
            "context" => continue,
            "labels" => string_map(v, &p, false)?,
            "pull" | "no_cache" | "privileged" => Json::Bool(boolean(v, &p)?),
            "ulimits" => ulimits(v, &p)?,
            "network" | "target" | "dockerfile" | "dockerfile_inline" | "isolation" => {
                Json::String(string(v, &p)?)
            }
            // An arg written without a value takes the variable's value, as docker compose does.
            "args" => match string_map(v, &p, true)? {
                // An unset one is left out.
                Json::Object(o) => Json::Object(
                    o.into_iter()
                        .filter_map(|(k, v)| {
                            let v = match v {
                                Json::Null => json!(ctx.vars.get(&k)?),
                                v => v,
                            };
                            Some((k, v))
                        })
                        .collect(),
                ),
                other => other,
            },
            "tags" | "platforms" | "cache_from" | "cache_to" | "extra_hosts" | "ssh" => {
                json!(string_list(v, &p)?)
            }
            // Build secrets name top-level secrets; their target is not defaulted.
            "secrets" => file_refs(v, &p, false)?,
            "additional_contexts" => match string_map(v, &p, false)? {
                Json::Object(o) => Json::Object(
                    o.into_iter()
                        .map(|(k, c)| {
                            let c = c.as_str().unwrap_or_default().to_string();
                            let local = !(c.contains("://") || c.contains(':'));
                            let c = if local {
                                ctx.dirs.show(&ctx.dirs.resolve(&c))
                            } else {
                                c
                            };
                            (k, json!(c))
                        })
                        .collect(),
                ),
                other => other,
            },
            "shm_size" => bytes(v, &p)?,
            _ => plain(v),
        };
        out.insert(k.clone(), j);
    }
    Ok(Json::Object(out))
}

/// `develop.watch[].path` made absolute, `exec` filled in, as docker compose prints it.
fn develop(node: &Node, ctx: &Ctx) -> Json {
    let mut v = plain(node);
    if let Some(Json::Array(watch)) = v.get_mut("watch") {
        for w in watch.iter_mut().filter_map(Json::as_object_mut) {
            if let Some(Json::String(p)) = w.get("path") {
                let abs = ctx.dirs.show(&ctx.dirs.resolve(p));
                w.insert("path".into(), Json::String(abs));
            }
            w.entry("exec").or_insert(json!({"command": null}));
        }
    }
    v
}

/// docker compose refuses a service-level limit that differs from the same `deploy` limit; when
/// the `deploy` section (`limits`/`reservations`) exists, a missing key there counts as 0.
fn check_resource_conflicts(out: &Map<String, Json>, svc: &Node, base: &str, ctx: &mut Ctx) {
    let resources = out.get("deploy").and_then(|d| d.get("resources"));
    let num = |v: &Json| match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    };
    for (field, section, key) in [
        ("cpus", "limits", "cpus"),
        ("mem_limit", "limits", "memory"),
        ("mem_reservation", "reservations", "memory"),
        ("pids_limit", "limits", "pids"),
    ] {
        let (Some(a), Some(sec)) = (out.get(field), resources.and_then(|r| r.get(section))) else {
            continue;
        };
        let b = sec.get(key).and_then(num).unwrap_or(0.0);
        if num(a) != Some(b) {
            ctx.errors.push(err(
                svc.get(field).unwrap_or(svc),
                &format!("{base}.{field}"),
                format!(
                    "can't set distinct values on '{field}' and 'deploy.resources.{section}.{key}'"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{canon, yaml::parse_str};
    use std::path::Path;

    fn norm(text: &str) -> (Json, Vec<Diagnostic>) {
        let mut n = parse_str(text, Path::new("/s/c.yaml")).unwrap();
        canon::service(&mut n);
        let dirs = Dirs {
            real: "/s".into(),
            display: None,
            home: Some("/h".into()),
            root: None,
        };
        let vars: IndexMap<String, String> = [("FROM_VARS".to_string(), "v".to_string())]
            .into_iter()
            .collect();
        let globals: IndexMap<String, String> =
            [("G".to_string(), "g".to_string())].into_iter().collect();
        let mut ctx = Ctx {
            warnings: Vec::new(),
            dirs: &dirs,
            vars: &vars,
            globals: &globals,
            errors: Vec::new(),
            inputs: Vec::new(),
            env_bytes: 0,
        };
        let j = normalize("web", &n, &mut ctx);
        (j, ctx.errors)
    }

    #[test]
    fn short_syntax_becomes_docker_compose_long_syntax() {
        let (j, errors) = norm(concat!(
            "image: x\ncommand: echo 'a b'\nports: ['127.0.0.1:80:8080/udp']\n",
            "volumes: ['./d:/data:ro', 'named:/n', '~/h:/h']\nenvironment: [FROM_VARS, X=1]\n",
            "healthcheck: {test: curl x, interval: 90s}\nstop_grace_period: 1h\nprivileged: 'yes'\n"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(j["command"], json!(["echo", "a b"]));
        assert_eq!(
            j["ports"][0],
            json!({"mode": "ingress", "host_ip": "127.0.0.1", "target": 8080, "published": "80", "protocol": "udp"})
        );
        assert_eq!(
            j["volumes"][0],
            json!({"type": "bind", "source": "/s/d", "target": "/data", "read_only": true, "bind": {"create_host_path": true}})
        );
        assert_eq!(
            j["volumes"][1],
            json!({"type": "volume", "source": "named", "target": "/n", "volume": {}})
        );
        assert_eq!(j["volumes"][2]["source"], json!("/h/h"));
        assert_eq!(
            j["environment"],
            json!({"G": "g", "FROM_VARS": "v", "X": "1"})
        );
        assert_eq!(
            j["healthcheck"],
            json!({"test": ["CMD-SHELL", "curl x"], "interval": "1m30s"})
        );
        assert_eq!(j["stop_grace_period"], json!("1h0m0s"));
        assert_eq!(j["privileged"], json!(true));
    }

    #[test]
    fn type_errors_name_the_field_path() {
        let (_, errors) = norm("image: x\nports: ['80:80', 'x:y']\nhealthcheck: {retries: many}\n");
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("services.web.ports[1]: invalid port")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("services.web.healthcheck.retries: must be an integer")),
            "{msgs:?}"
        );
    }
}
