//! Phase `profiles`: a service with `profiles:` exists only when one of them is enabled
//! (`COMPOSE_PROFILES` in the stack's `.env`, comma-separated; `*` enables all). Disabled
//! services vanish; a dependent's optional link (`required: false`) to one goes with it, a
//! required link is an error, as in docker compose.

use indexmap::IndexSet;

use super::node::{Node, Value};
use crate::diag::Diagnostic;

pub fn parse_enabled(s: &str) -> IndexSet<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn apply(root: &mut Node, enabled: &IndexSet<String>) -> Result<(), Diagnostic> {
    let Some(services) = root
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(Node::as_map_mut)
    else {
        return Ok(());
    };
    let all = enabled.contains("*");
    let mut removed = IndexSet::new();
    services.retain(|name, svc| {
        let keep = match svc.get("profiles").and_then(Node::as_seq) {
            Some(p) if !p.is_empty() => {
                all || p
                    .iter()
                    .any(|x| x.scalar_text().is_some_and(|t| enabled.contains(&t)))
            }
            _ => true,
        };
        if !keep {
            removed.insert(name.clone());
        }
        keep
    });
    if removed.is_empty() {
        return Ok(());
    }
    for (name, svc) in services.iter_mut() {
        let Some(deps) = svc
            .as_map_mut()
            .and_then(|m| m.get_mut("depends_on"))
            .and_then(Node::as_map_mut)
        else {
            continue;
        };
        let mut err = None;
        deps.retain(|dep, link| {
            if !removed.contains(dep) {
                return true;
            }
            let required = link.get("required").is_none_or(|r| !matches!(r.value, Value::Bool(false)) && r.as_str() != Some("false"));
            if required && err.is_none() {
                err = Some(Diagnostic::error(
                    link.span(),
                    format!("services.{name}.depends_on.{dep}"),
                    format!("service \"{name}\" depends on service \"{dep}\", which no enabled profile includes"),
                ));
            }
            false
        });
        if let Some(e) = err {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{canon, yaml::parse_str};
    use std::path::Path;

    fn tree(s: &str) -> Node {
        let mut n = parse_str(s, Path::new("c.yaml")).unwrap();
        canon::file(&mut n);
        n
    }

    #[test]
    fn disabled_services_vanish_with_optional_links() {
        let mut n = tree("services:\n  web:\n    depends_on:\n      dbg: {required: false}\n  dbg:\n    profiles: [debug]\n  tools:\n    profiles: [tools]\n");
        apply(&mut n, &parse_enabled("tools")).unwrap();
        let s = n.get("services").unwrap().as_map().unwrap();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["web", "tools"]);
        assert!(s["web"]
            .get("depends_on")
            .unwrap()
            .as_map()
            .unwrap()
            .is_empty());
        let mut n = tree("services:\n  a:\n    profiles: [x]\n  b:\n    profiles: [y]\n");
        apply(&mut n, &parse_enabled("*")).unwrap();
        assert_eq!(n.get("services").unwrap().as_map().unwrap().len(), 2);
    }

    #[test]
    fn a_required_link_to_a_disabled_service_is_an_error() {
        let mut n =
            tree("services:\n  web:\n    depends_on: [dbg]\n  dbg:\n    profiles: [debug]\n");
        let e = apply(&mut n, &parse_enabled("")).unwrap_err().to_string();
        assert!(e.contains("services.web.depends_on.dbg"), "{e}");
    }
}
