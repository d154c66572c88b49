//! Brings the fields that docker compose merges by key into one shape before merging: list forms
//! of `environment`, `labels`, `depends_on`, service `networks`, `build.args`... become mappings,
//! `build: ./dir` becomes `{context: ./dir}`, `extra_hosts` becomes a `host=ip` list.
//! compose-go does the same before its override merge (its `mergeToSequence`).

use indexmap::IndexMap;

use super::node::{Node, Value};

/// `KEY=value` list → mapping (`KEY` alone → null). A mapping is returned as is.
pub fn list_to_map(node: &mut Node, sep: char) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let mut map = IndexMap::new();
    for item in items {
        let Some(text) = item.scalar_text() else {
            continue;
        };
        match text.split_once(sep) {
            Some((k, v)) => {
                map.insert(k.to_string(), Node::str(v, item.pos.clone()));
            }
            None => {
                map.insert(text.clone(), Node::new(Value::Null, item.pos.clone()));
            }
        }
    }
    node.value = Value::Map(map);
}

/// A list of names → mapping of name → null (service `networks`, `depends_on`).
fn names_to_map(node: &mut Node) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let mut map = IndexMap::new();
    for item in items {
        if let Some(name) = item.scalar_text() {
            map.insert(name, Node::new(Value::Null, item.pos.clone()));
        }
    }
    node.value = Value::Map(map);
}

/// Canonical shape of one service (in place). Unknown shapes are left for `normalize` to report.
pub fn service(svc: &mut Node) {
    let Some(map) = svc.as_map_mut() else {
        return;
    };
    for (key, v) in map.iter_mut() {
        match key.as_str() {
            "environment" | "labels" | "annotations" => list_to_map(v, '='),
            "sysctls" => list_to_map(v, '='),
            "networks" | "depends_on" => names_to_map(v),
            "extra_hosts" => extra_hosts(v),
            "build" => {
                if let Value::Str(s) = &v.value {
                    let mut m = IndexMap::new();
                    m.insert("context".to_string(), Node::str(s.clone(), v.pos.clone()));
                    v.value = Value::Map(m);
                }
                if let Some(b) = v.as_map_mut() {
                    for (bk, bv) in b.iter_mut() {
                        match bk.as_str() {
                            "args" | "labels" => list_to_map(bv, '='),
                            "extra_hosts" => extra_hosts(bv),
                            _ => {}
                        }
                    }
                }
            }
            "deploy" => {
                if let Some(labels) = v.as_map_mut().and_then(|d| d.get_mut("labels")) {
                    list_to_map(labels, '=');
                }
            }
            "logging" => {
                if let Some(o) = v.as_map_mut().and_then(|d| d.get_mut("options")) {
                    list_to_map(o, '=');
                }
            }
            "env_file" | "tmpfs" | "dns" | "dns_search" | "dns_opt"
                if !matches!(v.value, Value::Seq(_) | Value::Null) =>
            {
                let item = v.clone();
                v.value = Value::Seq(vec![Node { tag: None, ..item }]);
            }
            _ => {}
        }
    }
}

/// `extra_hosts` as docker compose prints it: a list of `host=ip` (the `host:ip` form and the
/// mapping form are converted), one entry per address: the list form's `host=ip1,ip2` is split,
/// and brackets around an address are removed (`[::1]` → `::1`), as compose-go's `HostsList`.
fn extra_hosts(node: &mut Node) {
    let unbracket = |ip: &str| -> String {
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) if !inner.is_empty() => inner.to_string(),
            _ => ip.to_string(),
        }
    };
    match &node.value {
        Value::Map(m) => {
            let mut items = Vec::new();
            for (k, v) in m {
                match &v.value {
                    Value::Seq(ips) => {
                        for ip in ips {
                            let t = unbracket(&ip.scalar_text().unwrap_or_default());
                            items.push(Node::str(format!("{k}={t}"), ip.pos.clone()));
                        }
                    }
                    _ => {
                        let t = unbracket(&v.scalar_text().unwrap_or_default());
                        items.push(Node::str(format!("{k}={t}"), v.pos.clone()));
                    }
                }
            }
            // docker compose prints them sorted (normalize sorts the merged list again).
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            node.value = Value::Seq(items);
        }
        Value::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                let t = i.scalar_text().unwrap_or_default();
                // `=` first, then `:` (an IPv6 address holds colons).
                match t.split_once('=').or_else(|| t.split_once(':')) {
                    Some((h, ips)) => {
                        for ip in ips.split(',') {
                            out.push(Node::str(format!("{h}={}", unbracket(ip)), i.pos.clone()));
                        }
                    }
                    // No address: refused by `normalize`, naming the entry.
                    None => out.push(Node::str(t, i.pos.clone())),
                }
            }
            node.value = Value::Seq(out);
        }
        _ => {}
    }
}

/// Canonical shape of every service of a file's tree.
pub fn file(root: &mut Node) {
    if let Some(services) = root.as_map_mut().and_then(|m| m.get_mut("services")) {
        if let Some(services) = services.as_map_mut() {
            for svc in services.values_mut() {
                service(svc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse_str;
    use std::path::Path;

    #[test]
    fn list_forms_become_mappings() {
        let mut n = parse_str(
            "services:\n  s:\n    environment: [A=1, B]\n    depends_on: [db]\n    build: ./ctx\n    extra_hosts: {b: 1.1.1.1, a: 2.2.2.2}\n    dns: 8.8.8.8\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        file(&mut n);
        let s = n.get("services").unwrap().get("s").unwrap();
        let env = s.get("environment").unwrap();
        assert_eq!(env.get("A").unwrap().as_str(), Some("1"));
        assert!(env.get("B").unwrap().is_null());
        assert!(s.get("depends_on").unwrap().get("db").unwrap().is_null());
        assert_eq!(
            s.get("build").unwrap().get("context").unwrap().as_str(),
            Some("./ctx")
        );
        let hosts: Vec<_> = s
            .get("extra_hosts")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert_eq!(hosts, ["a=2.2.2.2", "b=1.1.1.1"]);
        assert_eq!(s.get("dns").unwrap().as_seq().unwrap().len(), 1);
    }
}
