//! Phase `merge`: applies one file (or an extending service) over another with docker compose's
//! override rules (compose-go's `override` package):
//! - mappings merge by key, recursively; scalars are replaced;
//! - `command`, `entrypoint` and `healthcheck.test` are replaced whole;
//! - sequences are appended, then made unique: `ports`, `expose`, `dns`, `cap_add`, ... by value,
//!   `volumes` by target path, `secrets`/`configs` by target (else source);
//! - `logging` merges only when the driver is the same (else replaced), a `ulimits` entry merges
//!   only when both sides are mappings;
//! - `!reset` removes the value the earlier file set, `!override` replaces it without merging.

use indexmap::IndexMap;

use super::node::{Node, Value};

/// Merges `over` into `base`. `path` is the field path of `base` (`services.web`), used to pick
/// the rules above.
pub fn merge(base: &mut Node, over: Node, path: &str) {
    if over.has_tag("!override") {
        *base = untagged(over);
        return;
    }
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            if rule_replaces(path) {
                base.value = Value::Map(o);
                base.pos = over.pos;
                return;
            }
            if path_matches(path, "services.*.logging") {
                let driver =
                    |m: &IndexMap<String, Node>| m.get("driver").and_then(|d| d.scalar_text());
                if let (Some(bd), Some(od)) = (driver(b), driver(&o)) {
                    if bd != od {
                        base.value = Value::Map(o);
                        return;
                    }
                }
            }
            merge_maps(b, o, path);
        }
        (Value::Seq(b), Value::Seq(o)) if !rule_replaces(path) => {
            b.extend(o.into_iter().filter(|n| !n.has_tag("!reset")));
            dedupe(b, path);
        }
        (_, value) => {
            base.value = value;
            base.pos = over.pos;
            base.tag = None;
        }
    }
}

fn merge_maps(b: &mut IndexMap<String, Node>, o: IndexMap<String, Node>, path: &str) {
    for (k, v) in o {
        if v.has_tag("!reset") {
            b.shift_remove(&k);
            continue;
        }
        let child = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match b.get_mut(&k) {
            Some(existing) => merge(existing, v, &child),
            None => {
                b.insert(k, strip_resets(v));
            }
        }
    }
}

fn untagged(mut n: Node) -> Node {
    n.tag = None;
    n
}

/// Removes `!reset` values from a tree that has nothing under it to reset.
pub fn strip_resets(mut n: Node) -> Node {
    match &mut n.value {
        Value::Map(m) => {
            m.retain(|_, v| !v.has_tag("!reset"));
            for v in m.values_mut() {
                *v = strip_resets(std::mem::replace(
                    v,
                    Node::new(Value::Null, Default::default()),
                ));
            }
        }
        Value::Seq(s) => {
            s.retain(|v| !v.has_tag("!reset"));
        }
        _ => {}
    }
    if n.has_tag("!override") {
        n.tag = None;
    }
    n
}

/// `a.*.b` pattern match on dotted paths (no indices in merge paths).
pub fn path_matches(path: &str, pattern: &str) -> bool {
    let mut p = path.split('.');
    let mut q = pattern.split('.');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if b == "*" || a == b => continue,
            _ => return false,
        }
    }
}

fn rule_replaces(path: &str) -> bool {
    [
        "services.*.command",
        "services.*.entrypoint",
        "services.*.healthcheck.test",
        "networks.*.ipam.config",
    ]
    .iter()
    .any(|p| path_matches(path, p))
        || (path_matches(path, "services.*.ulimits.*"))
}

/// Key that makes an item of the sequence at `path` unique, or `None` for sequences kept as is.
fn unique_key(path: &str, item: &Node) -> Option<String> {
    let field = path
        .strip_prefix("services.")
        .and_then(|p| p.split_once('.'))
        .map(|(_, f)| f)?;
    match field {
        "volumes" => Some(match &item.value {
            Value::Map(m) => m
                .get("target")
                .and_then(|t| t.scalar_text())
                .unwrap_or_default(),
            _ => {
                let s = item.scalar_text().unwrap_or_default();
                super::short::volume_target(&s).to_string()
            }
        }),
        "secrets" | "configs" => Some(match &item.value {
            Value::Map(m) => m
                .get("target")
                .or_else(|| m.get("source"))
                .and_then(|t| t.scalar_text())
                .unwrap_or_default(),
            _ => item.scalar_text().unwrap_or_default(),
        }),
        "ports" => Some(match &item.value {
            Value::Map(m) => port_key(m),
            // Short syntax is made long before (one port: its key as a long port would have).
            _ => {
                let s = item.scalar_text().unwrap_or_default();
                match super::short::parse_port(&s).as_deref() {
                    Ok([p]) => format!(
                        "{}:{}:{}/{}",
                        p.host_ip.as_deref().unwrap_or("0.0.0.0"),
                        p.published.as_deref().unwrap_or(""),
                        p.target,
                        p.protocol
                    ),
                    _ => s,
                }
            }
        }),
        "expose"
        | "dns"
        | "dns_search"
        | "dns_opt"
        | "tmpfs"
        | "cap_add"
        | "cap_drop"
        | "security_opt"
        | "profiles"
        | "links"
        | "external_links"
        | "devices"
        | "env_file"
        | "volumes_from"
        | "group_add"
        | "device_cgroup_rules" => Some(match &item.value {
            Value::Map(_) => format!("{:?}", strip_pos(item)),
            _ => item.scalar_text().unwrap_or_default(),
        }),
        _ => None,
    }
}

/// compose-go's key for a long-syntax port: `host_ip:published:target/protocol` (defaults
/// `0.0.0.0`, empty, `tcp`), formatted as Go's `%s`/`%d` do, so `published: 8080` and
/// `published: "8080"` are two ports (`%!s(int=8080)` is not `8080`) while ports differing only
/// in `mode` or `name` are one. A string `target` is an integer by then (interpolation's cast).
fn port_key(m: &IndexMap<String, Node>) -> String {
    let go = |key: &str, verb: char, default: &str| -> String {
        let Some(n) = m.get(key) else {
            return default.to_string();
        };
        let text = n.scalar_text().unwrap_or_default();
        match (&n.value, verb) {
            (Value::Str(_), 's') | (Value::Int(_), 'd') => text,
            // Interpolation casts a string `target` to an integer first.
            (Value::Str(s), 'd') if s.trim().parse::<i64>().is_ok() => s.trim().to_string(),
            (Value::Str(_), _) => format!("%!{verb}(string={text})"),
            (Value::Int(_), _) => format!("%!{verb}(int={text})"),
            (Value::Float(_), _) => format!("%!{verb}(float64={text})"),
            (Value::Bool(_), _) => format!("%!{verb}(bool={text})"),
            _ => format!("%!{verb}({})", strip_pos(n)),
        }
    };
    format!(
        "{}:{}:{}/{}",
        go("host_ip", 's', "0.0.0.0"),
        go("published", 's', ""),
        go("target", 'd', ""),
        go("protocol", 's', "tcp")
    )
}

/// A position-free rendering, so equal mappings written in two files compare equal.
fn strip_pos(n: &Node) -> String {
    match &n.value {
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", strip_pos(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Seq(s) => format!(
            "[{}]",
            s.iter().map(strip_pos).collect::<Vec<_>>().join(",")
        ),
        _ => n.scalar_text().unwrap_or_default(),
    }
}

/// Makes the sequences of every service unique, as docker compose does on the final model
/// (a file may list the same volume target or port twice).
pub fn unique_all(root: &mut Node) {
    let Some(services) = root
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(Node::as_map_mut)
    else {
        return;
    };
    for (name, svc) in services.iter_mut() {
        if let Some(fields) = svc.as_map_mut() {
            for (field, v) in fields.iter_mut() {
                if let Value::Seq(items) = &mut v.value {
                    dedupe(items, &format!("services.{name}.{field}"));
                }
            }
        }
    }
}

/// Later items replace earlier items with the same key, at the earlier item's place.
fn dedupe(items: &mut Vec<Node>, path: &str) {
    if unique_key(path, &Node::new(Value::Null, Default::default())).is_none() {
        return;
    }
    let mut index: IndexMap<String, usize> = IndexMap::new();
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        let key = unique_key(path, &item).unwrap_or_default();
        match index.get(&key) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(key, out.len());
                out.push(item);
            }
        }
    }
    *items = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{canon, yaml::parse_str};
    use std::path::Path;

    fn load(s: &str) -> Node {
        let mut n = parse_str(s, Path::new("c.yaml")).unwrap();
        canon::file(&mut n);
        n
    }

    #[test]
    fn override_rules() {
        let mut base = load(concat!(
            "services:\n  web:\n    image: a\n    command: [x, y]\n    environment: [A=1, B=2]\n",
            "    ports: ['80:80']\n    volumes: ['./a:/data', './b:/b']\n    labels: {l: '1'}\n",
            "    dns: 1.1.1.1\n"
        ));
        let over = load(concat!(
            "services:\n  web:\n    image: b\n    command: [z]\n    environment: {B: '3'}\n",
            "    ports: ['80:80', '90:90']\n    volumes: ['./c:/data']\n    labels: !reset {}\n",
            "    dns: [1.1.1.1, 8.8.8.8]\n"
        ));
        merge(&mut base, over, "");
        let web = base.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("b"));
        assert_eq!(web.get("command").unwrap().as_seq().unwrap().len(), 1);
        let env = web.get("environment").unwrap().as_map().unwrap();
        assert_eq!(env["A"].as_str(), Some("1"));
        assert_eq!(env["B"].as_str(), Some("3"));
        assert_eq!(web.get("ports").unwrap().as_seq().unwrap().len(), 2);
        let vols: Vec<_> = web
            .get("volumes")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(vols, ["./c:/data", "./b:/b"]);
        assert!(web.get("labels").is_none());
        assert_eq!(web.get("dns").unwrap().as_seq().unwrap().len(), 2);
    }

    #[test]
    fn override_tag_replaces_whole() {
        let mut base = load("services:\n  web:\n    environment: {A: '1'}\n");
        let over = load("services:\n  web:\n    environment: !override {B: '2'}\n");
        merge(&mut base, over, "");
        let env = base
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .get("environment")
            .unwrap();
        assert!(env.get("A").is_none());
        assert_eq!(env.get("B").unwrap().as_str(), Some("2"));
    }
}
