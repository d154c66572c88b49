//! Phase `normalize`, a service's mounts and network attachments: `ports`, `volumes`, `devices`,
//! `networks` in the long syntax docker compose prints.

use serde_json::{json, Map, Value as Json};

use super::convert::{
    self, boolean, err, integer, plain, string, string_list, string_map, unsigned, Res,
};
use super::node::{Node, Value};
use super::service::{bytes, Ctx};
use super::short;
use crate::diag::Diagnostic;

pub(super) fn ports(node: &Node, path: &str) -> Res<Json> {
    let items = convert::seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match &item.value {
            Value::Map(m) => {
                let mut o = Map::new();
                o.insert("mode".into(), json!("ingress"));
                convert::fields_into(&mut o, m, &p, |k, v, kp| {
                    Ok(match k {
                        "target" => json!(unsigned(v, kp, 65535)?),
                        // docker compose takes any text here; podman would refuse it at start.
                        "published" => {
                            let text = string(v, kp)?;
                            short::parse_range(&text, "host").map_err(|e| err(v, kp, e))?;
                            Json::String(text)
                        }
                        _ => Json::String(string(v, kp)?),
                    })
                })?;
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

/// compose-go's `omitempty` on a long-syntax volume: `read_only: false`, and a false, zero or
/// empty option under `bind`/`volume`/`tmpfs` (`size: 0`, `create_host_path: false`), print as
/// nothing.
fn drop_empty(o: &mut Map<String, Json>) {
    let empty = |v: &Json| match v {
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty(),
        _ => false,
    };
    if o.get("read_only") == Some(&Json::Bool(false)) {
        o.remove("read_only");
    }
    for section in ["bind", "volume", "tmpfs"] {
        if let Some(Json::Object(opts)) = o.get_mut(section) {
            opts.retain(|k, v| !(empty(v) || (k == "size" && v == "0")));
        }
    }
}

pub(super) fn volumes(node: &Node, path: &str, ctx: &mut Ctx) -> Res<Json> {
    let items = convert::seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let v = match &item.value {
            Value::Map(m) => {
                let mut o = Map::new();
                convert::fields_into(&mut o, m, &p, |k, v, kp| {
                    Ok(match k {
                        "read_only" => Json::Bool(boolean(v, kp)?),
                        "tmpfs" => convert::object(v, kp, |tk, tv, tp| {
                            Ok(match tk {
                                "size" => bytes(tv, tp)?,
                                "mode" => json!(integer(tv, tp)?),
                                _ => plain(tv),
                            })
                        })?,
                        "bind" | "volume" | "image" => convert::object(v, kp, |tk, tv, tp| {
                            Ok(match tk {
                                "create_host_path" | "nocopy" => Json::Bool(boolean(tv, tp)?),
                                _ => Json::String(string(tv, tp)?),
                            })
                        })?,
                        _ => Json::String(string(v, kp)?),
                    })
                })?;
                drop_empty(&mut o);
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
                        // docker compose ignores an option it does not know; so do we, but
                        // say so (`:roz` for `:ro,z` would otherwise mount read-write silently).
                        _ => ctx.warnings.push(Diagnostic::warning(
                            item.span(),
                            p.clone(),
                            format!(
                                "unknown volume option '{opt}' in '{s}' (ignored, as docker \
                                 compose ignores it)"
                            ),
                        )),
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
                    // compose-go returns a spec of two bytes or less (`a:`, `/x`) before it
                    // sets the volume options.
                    if s.len() > 2 {
                        o.insert("volume".into(), Json::Object(vol_opts));
                    }
                }
                Json::Object(o)
            }
        };
        out.push(v);
    }
    Ok(Json::Array(out))
}

pub(super) fn networks(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |_, v, p| match &v.value {
        Value::Null => Ok(Json::Null),
        Value::Map(_) => convert::object(v, p, |nk, nv, np| {
            Ok(match nk {
                "aliases" | "link_local_ips" => json!(string_list(nv, np)?),
                "priority" => json!(integer(nv, np)?),
                "driver_opts" => string_map(nv, np, false)?,
                _ => Json::String(string(nv, np)?),
            })
        }),
        _ => Err(err(v, p, "must be a mapping or null")),
    })
}

pub(super) fn devices(node: &Node, path: &str) -> Res<Json> {
    let items = convert::seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Value::Map(_) = &item.value {
            out.push(convert::object(item, &p, |_, v, kp| {
                Ok(Json::String(string(v, kp)?))
            })?);
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

/// A bind source: relative paths joined to the stack directory (cleaned, as Go's `filepath.Join`
/// does), absolute ones kept as written.
pub(super) fn bind_source(src: &str, ctx: &Ctx) -> String {
    // An absolute Windows path (Go's `filepath.IsAbs` there): an ASCII drive letter, `:`, then a
    // slash. `a:b` is a relative path (compose-go prefixes the project directory).
    let b = src.as_bytes();
    let windows =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'/' | b'\\');
    if src.starts_with('/') || windows {
        src.to_string()
    } else {
        ctx.dirs.show(&ctx.dirs.resolve(src))
    }
}

/// Go's `path.Clean` of a container path (`/app/` → `/app`).
pub(super) fn clean_target(t: &str) -> String {
    if t.is_empty() || !t.starts_with('/') {
        return t.to_string();
    }
    super::paths::clean(std::path::Path::new(t))
        .display()
        .to_string()
}
