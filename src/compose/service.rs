//! Phase `normalize`, one service: short syntax → the long syntax docker compose prints, paths
//! made absolute, `env_file` read and merged into `environment`, values typed per field.

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use super::convert::{
    self, boolean, err, float_json, integer, number, plain, string, string_list, string_map, Res,
};
use super::node::{Node, Value};
use super::paths::Dirs;
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
    pub inputs: Vec<std::path::PathBuf>,
}

impl Ctx<'_> {
    fn keep<T>(&mut self, r: Res<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}

fn duration(node: &Node, path: &str) -> Res<Json> {
    let s = string(node, path)?;
    let ns = short::parse_duration(&s).map_err(|e| err(node, path, e))?;
    Ok(Json::String(short::format_duration(ns)))
}

fn bytes(node: &Node, path: &str) -> Res<Json> {
    match &node.value {
        Value::Int(i) => Ok(Json::String(i.to_string())),
        _ => {
            let s = string(node, path)?;
            let b = short::parse_bytes(&s).map_err(|e| err(node, path, e))?;
            Ok(Json::String(b.to_string()))
        }
    }
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
    let Some(m) = ctx.keep(convert::map(svc, &base)) else {
        return Json::Object(Map::new());
    };
    let mut out = Map::new();
    let mut env: IndexMap<String, Json> = ctx
        .globals
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let mut has_env = !env.is_empty();
    if let Some(files) = m.get("env_file") {
        has_env |= read_env_files(files, &format!("{base}.env_file"), &mut env, ctx);
    }
    for (key, node) in m {
        let path = format!("{base}.{key}");
        let value: Res<Json> = match key.as_str() {
            "env_file" | "extends" => continue,
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
            "stop_grace_period" => duration(node, &path),
            "mem_limit" | "mem_reservation" | "memswap_limit" | "shm_size" => bytes(node, &path),
            "cpus" => number(node, &path).map(float_json),
            "privileged" | "read_only" | "tty" | "stdin_open" | "init" | "oom_kill_disable" => {
                match boolean(node, &path) {
                    // compose-go's `omitempty`: false is printed as nothing.
                    Ok(false) => continue,
                    r => r.map(Json::Bool),
                }
            }
            "scale" | "cpu_shares" | "pids_limit" | "oom_score_adj" | "cpu_count"
            | "cpu_percent" => integer(node, &path).map(|i| json!(i)),
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
            | "device_cgroup_rules"
            | "extra_hosts" => string_list(node, &path).map(|v| json!(v)),
            "image" | "restart" | "container_name" | "hostname" | "domainname" | "user"
            | "working_dir" | "stop_signal" | "network_mode" | "pull_policy" | "platform"
            | "pid" | "ipc" | "userns_mode" | "cgroup" | "cgroup_parent" | "mac_address"
            | "runtime" | "cpuset" | "isolation" => match string(node, &path) {
                // compose-go's `omitempty`: an empty string (often `${X:-}`) is no value.
                Ok(s) if s.is_empty() => continue,
                r => r.map(Json::String),
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
        out.insert(
            "environment".into(),
            Json::Object(env.into_iter().collect()),
        );
    }
    Json::Object(out)
}

/// Reads the `env_file`s into `env` (later files win). Returns whether any file was read.
fn read_env_files(
    files: &Node,
    path: &str,
    env: &mut IndexMap<String, Json>,
    ctx: &mut Ctx,
) -> bool {
    let items: Vec<&Node> = match &files.value {
        Value::Seq(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![files],
    };
    let mut any = false;
    for (i, item) in items.into_iter().enumerate() {
        let p = format!("{path}[{i}]");
        let (file, required, format) = match &item.value {
            Value::Map(m) => {
                let Some(f) = m.get("path") else {
                    ctx.errors
                        .push(err(item, &p, "an env_file entry needs a path"));
                    continue;
                };
                let required = match m.get("required") {
                    Some(r) => ctx
                        .keep(boolean(r, &format!("{p}.required")))
                        .unwrap_or(true),
                    None => true,
                };
                let format = m.get("format").and_then(|f| f.scalar_text());
                (f, required, format)
            }
            _ => (item, true, None),
        };
        let Some(rel) = ctx.keep(string(file, &p)) else {
            continue;
        };
        let real = ctx.dirs.resolve(&rel);
        let text = match std::fs::read_to_string(&real) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => {
                ctx.errors.push(err(
                    file,
                    &p,
                    format!("env file {} not found: {e}", ctx.dirs.show(&real)),
                ));
                continue;
            }
        };
        ctx.inputs.push(real.clone());
        any = true;
        let parsed = if format.as_deref() == Some("raw") {
            Ok(text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect())
        } else {
            let vars = ctx.vars;
            super::dotenv::parse(&text, &|k| vars.get(k).cloned())
        };
        match parsed {
            Ok(vals) => {
                for (k, v) in vals {
                    env.insert(k, Json::String(v));
                }
            }
            Err(e) => ctx.errors.push(Diagnostic::error(
                crate::diag::Span {
                    file: real.clone(),
                    line: e.line,
                    column: 0,
                },
                p.clone(),
                e.message,
            )),
        }
    }
    any
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
            ctx.dirs.show(&ctx.dirs.resolve(&context))
        }),
    );
    if !m.contains_key("dockerfile_inline") {
        out.insert("dockerfile".into(), json!("Dockerfile"));
    }
    for (k, v) in m {
        let p = format!("{path}.{k}");
        let j = match k.as_str() {
            "context" => continue,
            "labels" => string_map(v, &p, true)?,
            // An arg written without a value takes the variable's value, as docker compose does.
            "args" => match string_map(v, &p, true)? {
                Json::Object(o) => Json::Object(
                    o.into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                Json::Null => {
                                    ctx.vars.get(&k).map(|s| json!(s)).unwrap_or(Json::Null)
                                }
                                v => v,
                            };
                            (k, v)
                        })
                        .collect(),
                ),
                other => other,
            },
            "tags" | "platforms" | "cache_from" | "cache_to" | "extra_hosts" => {
                json!(string_list(v, &p)?)
            }
            "shm_size" => bytes(v, &p)?,
            _ => plain(v),
        };
        out.insert(k.clone(), j);
    }
    Ok(Json::Object(out))
}

fn ports(node: &Node, path: &str) -> Res<Json> {
    let Value::Seq(items) = &node.value else {
        return Err(err(node, path, "must be a list"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match &item.value {
            Value::Map(m) => {
                let mut o = Map::new();
                o.insert("mode".into(), json!("ingress"));
                for (k, v) in m {
                    let kp = format!("{p}.{k}");
                    let j = match k.as_str() {
                        "target" => json!(integer(v, &kp)?),
                        "published" => Json::String(string(v, &kp)?),
                        _ => Json::String(string(v, &kp)?),
                    };
                    o.insert(k.clone(), j);
                }
                o.entry("protocol").or_insert(json!("tcp"));
                out.push(Json::Object(o));
            }
            Value::Seq(_) | Value::Null => {
                return Err(err(item, &p, "must be a port string or a mapping"))
            }
            _ => {
                let s = string(item, &p)?;
                for spec in short::parse_port(&s).map_err(|e| err(item, &p, e))? {
                    let mut o = Map::new();
                    o.insert("mode".into(), json!("ingress"));
                    if let Some(ip) = spec.host_ip {
                        o.insert("host_ip".into(), json!(ip));
                    }
                    o.insert("target".into(), json!(spec.target));
                    if let Some(p) = spec.published {
                        o.insert("published".into(), json!(p));
                    }
                    o.insert("protocol".into(), json!(spec.protocol));
                    out.push(Json::Object(o));
                }
            }
        }
    }
    Ok(Json::Array(out))
}

fn volumes(node: &Node, path: &str, ctx: &mut Ctx) -> Res<Json> {
    let Value::Seq(items) = &node.value else {
        return Err(err(node, path, "must be a list"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let v = match &item.value {
            Value::Map(m) => {
                let mut o = Map::new();
                for (k, v) in m {
                    let kp = format!("{p}.{k}");
                    let j = match k.as_str() {
                        "read_only" => Json::Bool(boolean(v, &kp)?),
                        "tmpfs" => {
                            let mut t = Map::new();
                            for (tk, tv) in convert::map(v, &kp)? {
                                let tp = format!("{kp}.{tk}");
                                t.insert(
                                    tk.clone(),
                                    match tk.as_str() {
                                        "size" => bytes(tv, &tp)?,
                                        "mode" => json!(integer(tv, &tp)?),
                                        _ => plain(tv),
                                    },
                                );
                            }
                            Json::Object(t)
                        }
                        "bind" | "volume" | "image" => {
                            let mut t = Map::new();
                            for (tk, tv) in convert::map(v, &kp)? {
                                let tp = format!("{kp}.{tk}");
                                t.insert(
                                    tk.clone(),
                                    match tk.as_str() {
                                        "create_host_path" | "nocopy" => {
                                            Json::Bool(boolean(tv, &tp)?)
                                        }
                                        _ => Json::String(string(tv, &tp)?),
                                    },
                                );
                            }
                            Json::Object(t)
                        }
                        _ => Json::String(string(v, &kp)?),
                    };
                    o.insert(k.clone(), j);
                }
                let kind = o
                    .get("type")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_string();
                if kind.is_empty() {
                    return Err(err(
                        item,
                        &format!("{p}.type"),
                        "a long-syntax volume needs a type",
                    ));
                }
                if kind == "bind" {
                    if let Some(Json::String(src)) = o.get("source") {
                        let abs = bind_source(src, ctx);
                        o.insert("source".into(), Json::String(abs));
                    }
                }
                if let Some(Json::String(t)) = o.get("target") {
                    let t = clean_target(t);
                    o.insert("target".into(), Json::String(t));
                }
                Json::Object(o)
            }
            _ => {
                let s = string(item, &p)?;
                let sv = short::parse_volume(&s).map_err(|e| err(item, &p, e))?;
                if sv.source.is_empty() && s.contains(':') {
                    return Err(err(
                        item,
                        &p,
                        format!("invalid volume '{s}': empty section between colons"),
                    ));
                }
                let mut o = Map::new();
                let bind = short::is_path_source(&sv.source);
                o.insert("type".into(), json!(if bind { "bind" } else { "volume" }));
                if !sv.source.is_empty() {
                    let src = if bind {
                        bind_source(&sv.source, ctx)
                    } else {
                        sv.source.clone()
                    };
                    o.insert("source".into(), json!(src));
                }
                o.insert("target".into(), json!(clean_target(&sv.target)));
                let mut bind_opts = Map::new();
                let mut vol_opts = Map::new();
                for opt in &sv.options {
                    match opt.as_str() {
                        "ro" => {
                            o.insert("read_only".into(), json!(true));
                        }
                        "rw" => {}
                        "z" | "Z" => {
                            bind_opts.insert("selinux".into(), json!(opt));
                        }
                        // docker compose accepts and drops these (Docker Desktop hints).
                        "delegated" | "cached" | "consistent" => {}
                        "nocopy" => {
                            vol_opts.insert("nocopy".into(), json!(true));
                        }
                        "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                            bind_opts.insert("propagation".into(), json!(opt));
                        }
                        _ => {
                            return Err(err(
                                item,
                                &p,
                                format!("unknown volume option '{opt}' in '{s}'"),
                            ))
                        }
                    }
                }
                if bind {
                    bind_opts.insert("create_host_path".into(), json!(true));
                    o.insert("bind".into(), Json::Object(bind_opts));
                } else {
                    // docker compose keeps `:z`/propagation on a named volume under `bind`.
                    if !bind_opts.is_empty() {
                        o.insert("bind".into(), Json::Object(bind_opts));
                    }
                    o.insert("volume".into(), Json::Object(vol_opts));
                }
                Json::Object(o)
            }
        };
        out.push(v);
    }
    Ok(Json::Array(out))
}

fn networks(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        let j = match &v.value {
            Value::Null => Json::Null,
            Value::Map(m) => {
                let mut o = Map::new();
                for (nk, nv) in m {
                    let np = format!("{p}.{nk}");
                    o.insert(
                        nk.clone(),
                        match nk.as_str() {
                            "aliases" | "link_local_ips" => json!(string_list(nv, &np)?),
                            "priority" => json!(integer(nv, &np)?),
                            "driver_opts" => string_map(nv, &np, false)?,
                            _ => Json::String(string(nv, &np)?),
                        },
                    );
                }
                Json::Object(o)
            }
            _ => return Err(err(v, &p, "must be a mapping or null")),
        };
        out.insert(k.clone(), j);
    }
    Ok(Json::Object(out))
}

fn depends_on(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        let mut o = Map::new();
        o.insert("condition".into(), json!("service_started"));
        o.insert("required".into(), json!(true));
        if let Value::Map(m) = &v.value {
            for (dk, dv) in m {
                let dp = format!("{p}.{dk}");
                o.insert(
                    dk.clone(),
                    match dk.as_str() {
                        "required" | "restart" => Json::Bool(boolean(dv, &dp)?),
                        _ => Json::String(string(dv, &dp)?),
                    },
                );
            }
        }
        out.insert(k.clone(), Json::Object(o));
    }
    Ok(Json::Object(out))
}

fn healthcheck(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        let j = match k.as_str() {
            "test" => match &v.value {
                Value::Seq(_) => json!(string_list(v, &p)?),
                _ => {
                    let s = string(v, &p)?;
                    if s == "NONE" {
                        json!(["NONE"])
                    } else {
                        json!(["CMD-SHELL", s])
                    }
                }
            },
            "interval" | "timeout" | "start_period" | "start_interval" => duration(v, &p)?,
            "retries" => json!(integer(v, &p)?),
            "disable" => Json::Bool(boolean(v, &p)?),
            _ => plain(v),
        };
        out.insert(k.clone(), j);
    }
    Ok(Json::Object(out))
}

fn file_refs(node: &Node, path: &str, secrets: bool) -> Res<Json> {
    let Value::Seq(items) = &node.value else {
        return Err(err(node, path, "must be a list"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut o = Map::new();
        match &item.value {
            Value::Map(m) => {
                for (k, v) in m {
                    let kp = format!("{p}.{k}");
                    o.insert(
                        k.clone(),
                        match k.as_str() {
                            "mode" => json!(integer(v, &kp)?),
                            _ => Json::String(string(v, &kp)?),
                        },
                    );
                }
            }
            _ => {
                o.insert("source".into(), Json::String(string(item, &p)?));
            }
        }
        if secrets && !o.contains_key("target") {
            let src = o
                .get("source")
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_string();
            o.insert("target".into(), json!(format!("/run/secrets/{src}")));
        }
        out.push(Json::Object(o));
    }
    Ok(Json::Array(out))
}

fn resource(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "cpus" => float_json(number(v, &p)?),
                "memory" => bytes(v, &p)?,
                "pids" => json!(integer(v, &p)?),
                "devices" => {
                    let mut list = Vec::new();
                    for (i, d) in v
                        .as_seq()
                        .map(|s| s.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        let dp = format!("{p}[{i}]");
                        let mut o = Map::new();
                        for (dk, dv) in convert::map(d, &dp)? {
                            let kp = format!("{dp}.{dk}");
                            o.insert(
                                dk.clone(),
                                match dk.as_str() {
                                    "capabilities" | "device_ids" => json!(string_list(dv, &kp)?),
                                    "count" => match &dv.value {
                                        Value::Str(s) if s == "all" => json!(-1),
                                        _ => json!(integer(dv, &kp)?),
                                    },
                                    "options" => string_map(dv, &kp, false)?,
                                    _ => Json::String(string(dv, &kp)?),
                                },
                            );
                        }
                        list.push(Json::Object(o));
                    }
                    Json::Array(list)
                }
                _ => plain(v),
            },
        );
    }
    Ok(Json::Object(out))
}

fn deploy(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    // docker compose always prints these two.
    out.insert("resources".into(), json!({}));
    out.insert("placement".into(), json!({}));
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "replicas" => json!(integer(v, &p)?),
                "labels" => string_map(v, &p, false)?,
                "resources" => {
                    let mut r = Map::new();
                    for (rk, rv) in convert::map(v, &p)? {
                        r.insert(rk.clone(), resource(rv, &format!("{p}.{rk}"))?);
                    }
                    Json::Object(r)
                }
                "restart_policy" => {
                    let mut r = Map::new();
                    for (rk, rv) in convert::map(v, &p)? {
                        let rp = format!("{p}.{rk}");
                        r.insert(
                            rk.clone(),
                            match rk.as_str() {
                                "delay" | "window" => duration(rv, &rp)?,
                                "max_attempts" => json!(integer(rv, &rp)?),
                                _ => Json::String(string(rv, &rp)?),
                            },
                        );
                    }
                    Json::Object(r)
                }
                _ => plain(v),
            },
        );
    }
    Ok(Json::Object(out))
}

fn devices(node: &Node, path: &str) -> Res<Json> {
    let Value::Seq(items) = &node.value else {
        return Err(err(node, path, "must be a list"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Value::Map(_) = &item.value {
            out.push(plain(item));
            continue;
        }
        let s = string(item, &p)?;
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dst, perm) = match parts.as_slice() {
            [a] => (*a, *a, "rwm"),
            [a, b] => (*a, *b, "rwm"),
            [a, b, c] => (*a, *b, *c),
            _ => return Err(err(item, &p, format!("invalid device '{s}'"))),
        };
        out.push(json!({"source": src, "target": dst, "permissions": perm}));
    }
    Ok(Json::Array(out))
}

fn ulimits(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match &v.value {
                Value::Map(m) => {
                    let mut o = Map::new();
                    for (uk, uv) in m {
                        o.insert(uk.clone(), json!(integer(uv, &format!("{p}.{uk}"))?));
                    }
                    Json::Object(o)
                }
                _ => json!(integer(v, &p)?),
            },
        );
    }
    Ok(Json::Object(out))
}

fn logging(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "options" => string_map(v, &p, true)?,
                _ => Json::String(string(v, &p)?),
            },
        );
    }
    Ok(Json::Object(out))
}

/// A bind source: relative paths joined to the stack directory (cleaned, as Go's `filepath.Join`
/// does), absolute ones kept as written.
fn bind_source(src: &str, ctx: &Ctx) -> String {
    if src.starts_with('/') {
        src.to_string()
    } else {
        ctx.dirs.show(&ctx.dirs.resolve(src))
    }
}

/// Go's `path.Clean` of a container path (`/app/` → `/app`).
fn clean_target(t: &str) -> String {
    if t.is_empty() || !t.starts_with('/') {
        return t.to_string();
    }
    super::paths::clean(std::path::Path::new(t))
        .display()
        .to_string()
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
