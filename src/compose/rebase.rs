//! Makes the relative paths of a service (or a whole file) absolute against the directory of the
//! file it was written in, for content that `extends` or `include` brings from another directory.
//! Main files need none of this: their paths resolve against the stack directory in `normalize`.

use std::path::Path;

use super::node::{Node, Value};
use super::paths::Dirs;
use super::short;

fn abs(dirs: &Dirs, base: &Path, s: &str) -> String {
    dirs.resolve_in(base, s).display().to_string()
}

fn rebase_str(node: &mut Node, dirs: &Dirs, base: &Path) {
    if let Value::Str(s) = &node.value {
        let a = abs(dirs, base, s);
        node.value = Value::Str(a);
    }
}

/// Rebases one service's paths on `base`.
pub fn service(svc: &mut Node, dirs: &Dirs, base: &Path) {
    let Some(m) = svc.as_map_mut() else {
        return;
    };
    if let Some(b) = m.get_mut("build").and_then(Node::as_map_mut) {
        if let Some(c) = b.get_mut("context") {
            let remote = c
                .as_str()
                .is_some_and(|s| s.contains("://") || s.starts_with("git@"));
            if !remote {
                rebase_str(c, dirs, base);
            }
        } else {
            b.insert(
                "context".into(),
                Node::str(abs(dirs, base, "."), Default::default()),
            );
        }
    }
    for key in ["env_file", "label_file"] {
        if let Some(list) = m.get_mut(key) {
            match &mut list.value {
                Value::Seq(items) => {
                    for item in items {
                        match &mut item.value {
                            Value::Map(e) => {
                                if let Some(p) = e.get_mut("path") {
                                    rebase_str(p, dirs, base);
                                }
                            }
                            _ => rebase_str(item, dirs, base),
                        }
                    }
                }
                _ => rebase_str(list, dirs, base),
            }
        }
    }
    if let Some(Value::Seq(items)) = m.get_mut("volumes").map(|v| &mut v.value) {
        for item in items {
            match &mut item.value {
                Value::Str(s) => {
                    let parts = short::split_volume(s);
                    if parts.len() >= 2 && short::is_path_source(parts[0]) {
                        let rest = s[parts[0].len()..].to_string();
                        *s = format!("{}{rest}", abs(dirs, base, parts[0]));
                    }
                }
                Value::Map(v) => {
                    let is_bind = v.get("type").and_then(Node::as_str) == Some("bind");
                    if is_bind {
                        if let Some(src) = v.get_mut("source") {
                            rebase_str(src, dirs, base);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Rebases a whole file's tree (an included file): services and secret/config files.
pub fn file(root: &mut Node, dirs: &Dirs, base: &Path) {
    let Some(m) = root.as_map_mut() else {
        return;
    };
    if let Some(services) = m.get_mut("services").and_then(Node::as_map_mut) {
        for svc in services.values_mut() {
            service(svc, dirs, base);
        }
    }
    for key in ["secrets", "configs"] {
        if let Some(objs) = m.get_mut(key).and_then(Node::as_map_mut) {
            for obj in objs.values_mut() {
                if let Some(f) = obj.as_map_mut().and_then(|o| o.get_mut("file")) {
                    rebase_str(f, dirs, base);
                }
            }
        }
    }
}
