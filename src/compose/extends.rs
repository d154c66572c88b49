//! Phase `extends`: a service built on another service of the same file or of another file,
//! nested to any depth. The extending service is merged over its base with the override rules
//! of `merge`; a base from another file has its paths rebased on that file's directory first.
//! A cycle is refused, naming the chain.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::node::{Node, Value};
use super::{canon, interpolate, merge, paths::Dirs, rebase, schema, yaml};
use crate::diag::Diagnostic;

/// The longest `extends` chain (service extends service extends ...).
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// Reads (and caches) the files that `extends` names.
pub struct FileCache<'a> {
    pub vars: &'a IndexMap<String, String>,
    pub files: IndexMap<PathBuf, Node>,
    pub inputs: Vec<PathBuf>,
    /// The repository (see [`Dirs::root`]).
    pub root: Option<&'a Path>,
    /// Schema errors of the files read: they count only where their value ends up in a service
    /// that extends it (`schema::surviving`), as docker compose validates the merged result.
    pub pending: Vec<Diagnostic>,
}

impl FileCache<'_> {
    fn services(&mut self, path: &Path) -> Result<IndexMap<String, Node>, Diagnostic> {
        if !self.files.contains_key(path) {
            let mut root = yaml::read_file(path, self.root)?;
            interpolate::interpolate(&mut root, self.vars)?;
            self.pending.extend(schema::check(&root)?);
            canon::file(&mut root);
            self.inputs.push(path.to_path_buf());
            self.files.insert(path.to_path_buf(), root);
        }
        Ok(self
            .files
            .get(path)
            .and_then(|r| r.get("services"))
            .and_then(Node::as_map)
            .cloned()
            .unwrap_or_default())
    }
}

/// Resolves `extends` in every service of `root` (a file read from `file`, whose relative paths
/// are relative to `base`).
pub fn resolve_file(
    root: &mut Node,
    file: &Path,
    base: &Path,
    dirs: &Dirs,
    cache: &mut FileCache,
) -> Result<(), Diagnostic> {
    let Some(services) = root
        .as_map()
        .and_then(|m| m.get("services"))
        .and_then(Node::as_map)
        .cloned()
    else {
        return Ok(());
    };
    let mut resolved = IndexMap::new();
    for name in services.keys() {
        if services[name].get("extends").is_some() {
            let mut chain = Vec::new();
            let s = resolve_service(name, &services, file, base, dirs, cache, &mut chain)?;
            resolved.insert(name.clone(), s);
        }
    }
    if let Some(m) = root
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(Node::as_map_mut)
    {
        for (k, v) in resolved {
            m.insert(k, v);
        }
    }
    Ok(())
}

fn resolve_service(
    name: &str,
    services: &IndexMap<String, Node>,
    file: &Path,
    base: &Path,
    dirs: &Dirs,
    cache: &mut FileCache,
    chain: &mut Vec<(PathBuf, String)>,
) -> Result<Node, Diagnostic> {
    let link = (file.to_path_buf(), name.to_string());
    if chain.contains(&link) {
        let names: Vec<String> = chain
            .iter()
            .chain([&link])
            .map(|(_, s)| s.clone())
            .collect();
        let at = services.get(name).map(Node::span).unwrap_or_default();
        return Err(Diagnostic::error(
            at,
            format!("services.{name}.extends"),
            format!("extends cycle: {}", names.join(" -> ")),
        ));
    }
    let Some(svc) = services.get(name) else {
        let at = chain
            .last()
            .map(|(f, _)| crate::diag::Span {
                file: f.clone(),
                ..Default::default()
            })
            .unwrap_or_default();
        return Err(Diagnostic::error(
            at,
            format!("services.{name}"),
            format!("extends: service '{name}' not found in {}", file.display()),
        ));
    };
    let Some(ext) = svc.get("extends") else {
        return Ok(svc.clone());
    };
    let path = format!("services.{name}.extends");
    // Resolution recurses once per link: a chain of thousands would overflow the stack (and
    // every service of the chain resolves it again). Real chains are a few links long.
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(Diagnostic::error(
            ext.span(),
            path,
            format!("extends nested more than {MAX_EXTENDS_DEPTH} levels; refusing to load"),
        ));
    }
    let (base_name, base_file) = match &ext.value {
        Value::Str(s) => (s.clone(), None),
        Value::Map(m) => {
            let Some(s) = m.get("service").and_then(Node::scalar_text) else {
                return Err(Diagnostic::error(
                    ext.span(),
                    path,
                    "extends needs a service",
                ));
            };
            (s, m.get("file").and_then(Node::scalar_text))
        }
        _ => {
            return Err(Diagnostic::error(
                ext.span(),
                path,
                "must be a service name or a mapping",
            ))
        }
    };
    chain.push(link);
    let mut merged = match base_file {
        None => resolve_service(&base_name, services, file, base, dirs, cache, chain)?,
        Some(f) => {
            let other = dirs.resolve_in(base, &f);
            let other_base = other.parent().map(Path::to_path_buf).unwrap_or_default();
            let other_services = cache.services(&other).map_err(|mut d| {
                if d.field.is_empty() {
                    d.message = format!("{} (extends from {path})", d.message);
                }
                d
            })?;
            let mut s = resolve_service(
                &base_name,
                &other_services,
                &other,
                &other_base,
                dirs,
                cache,
                chain,
            )?;
            if other_base != base {
                rebase::service(&mut s, dirs, &other_base);
            }
            s
        }
    };
    chain.pop();
    let mut own = svc.clone();
    if let Some(m) = own.as_map_mut() {
        m.shift_remove("extends");
    }
    if let Some(m) = merged.as_map_mut() {
        m.shift_remove("extends");
    }
    merge::merge(&mut merged, own, &format!("services.{name}"));
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse_str;

    fn resolve(text: &str) -> Result<Node, Diagnostic> {
        let mut n = parse_str(text, Path::new("/s/c.yaml"))?;
        canon::file(&mut n);
        let dirs = Dirs {
            real: "/s".into(),
            display: None,
            home: None,
            root: None,
        };
        let vars = IndexMap::new();
        let mut cache = FileCache {
            vars: &vars,
            files: IndexMap::new(),
            inputs: Vec::new(),
            root: None,
            pending: Vec::new(),
        };
        resolve_file(
            &mut n,
            Path::new("/s/c.yaml"),
            Path::new("/s"),
            &dirs,
            &mut cache,
        )?;
        Ok(n)
    }

    #[test]
    fn nested_extends_merge_with_override_rules() {
        let n = resolve(concat!(
            "services:\n  a:\n    image: x\n    command: [one]\n    environment: {A: '1'}\n",
            "  b:\n    extends: a\n    environment: {B: '2'}\n",
            "  c:\n    extends: {service: b}\n    command: [three]\n"
        ))
        .unwrap();
        let c = n.get("services").unwrap().get("c").unwrap();
        assert!(c.get("extends").is_none());
        assert_eq!(c.get("image").unwrap().as_str(), Some("x"));
        assert_eq!(
            c.get("command").unwrap().as_seq().unwrap()[0].as_str(),
            Some("three")
        );
        assert_eq!(c.get("environment").unwrap().as_map().unwrap().len(), 2);
    }

    #[test]
    fn long_chains_are_refused() {
        let mut text = String::from("services:\n");
        for i in 0..40 {
            text.push_str(&format!("  s{i}:\n    image: x\n    extends: s{}\n", i + 1));
        }
        text.push_str("  s40:\n    image: x\n");
        let e = resolve(&text).unwrap_err().to_string();
        assert!(e.contains("extends nested more than 32 levels"), "{e}");
        assert!(e.contains("services.s"), "{e}");
    }

    #[test]
    fn cycles_and_missing_bases_are_refused() {
        let e = resolve("services:\n  a:\n    extends: a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("extends cycle: a -> a"), "{e}");
        let e = resolve("services:\n  a:\n    extends: nope\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("service 'nope' not found"), "{e}");
    }
}
