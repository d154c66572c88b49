//! Phase `profiles`: a service with `profiles:` exists only when one of them is enabled
//! (`COMPOSE_PROFILES` in the stack's `.env`, comma-separated; `*` enables all). Disabled
//! services vanish; a dependent's optional link (`required: false`) to one goes with it, a
//! required link is an error, as in docker compose. The disabled services are handed back: docker
//! compose still decodes them (a bad port or size there fails the project), see `load`.

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

/// The services profiles disabled (name, tree, in order) and the errors: required links to them.
pub type Applied = (Vec<(String, Node)>, Vec<Diagnostic>);

/// Removes the disabled services and every link to them. The errors are handed back rather than
/// returned at once: docker compose reports its other consistency errors (an undefined network)
/// first, so the loader adds these after its own checks.
pub fn apply(root: &mut Node, enabled: &IndexSet<String>) -> Applied {
    let Some(services) = root
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(Node::as_map_mut)
    else {
        return (Vec::new(), Vec::new());
    };
    let all = enabled.contains("*");
    let mut removed = IndexSet::new();
    let mut disabled = Vec::new();
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
            disabled.push((name.clone(), svc.clone()));
        }
        keep
    });
    let mut errors = Vec::new();
    if removed.is_empty() {
        return (disabled, errors);
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
        errors.extend(err);
    }
    (disabled, errors)
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
        assert!(apply(&mut n, &parse_enabled("tools")).1.is_empty());
        let s = n.get("services").unwrap().as_map().unwrap();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["web", "tools"]);
        assert!(s["web"]
            .get("depends_on")
            .unwrap()
            .as_map()
            .unwrap()
            .is_empty());
        let mut n = tree("services:\n  a:\n    profiles: [x]\n  b:\n    profiles: [y]\n");
        assert!(apply(&mut n, &parse_enabled("*")).1.is_empty());
        assert_eq!(n.get("services").unwrap().as_map().unwrap().len(), 2);
    }

    #[test]
    fn a_required_link_to_a_disabled_service_is_an_error() {
        let mut n =
            tree("services:\n  web:\n    depends_on: [dbg]\n  dbg:\n    profiles: [debug]\n");
        let e = apply(&mut n, &parse_enabled("")).1[0].to_string();
        assert!(e.contains("services.web.depends_on.dbg"), "{e}");
    }
}
