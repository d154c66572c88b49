//! Phase `interpolate`: substitutes variables in every string value of a file's tree (never in
//! keys), as compose-go does before merging. A substituted value is a string, whatever it reads
//! like; fields that need a number or a boolean convert it later (`normalize`), as compose-go does.

use indexmap::IndexMap;

use super::node::{Node, Value};
use super::template::{substitute, TemplateError, MAX_FILE_EXPANSION};
use crate::diag::Diagnostic;

/// Substitutes in place. Errors name the variable, the file:line:column and the field path. The
/// whole file's substituted text is bounded by [`MAX_FILE_EXPANSION`] (each value by
/// [`super::template::MAX_VALUE_BYTES`]).
pub fn interpolate(node: &mut Node, vars: &IndexMap<String, String>) -> Result<(), Diagnostic> {
    let lookup = |k: &str| vars.get(k).cloned();
    let mut budget = MAX_FILE_EXPANSION;
    walk(node, &mut String::new(), &lookup, &mut budget)
}

fn walk(
    node: &mut Node,
    path: &mut String,
    lookup: &dyn Fn(&str) -> Option<String>,
    budget: &mut usize,
) -> Result<(), Diagnostic> {
    let pos = node.pos.clone();
    match &mut node.value {
        Value::Str(s) if s.contains('$') => {
            let out = substitute(s, lookup).map_err(|e| {
                let message = match e {
                    TemplateError::Invalid => format!("invalid interpolation format in {s:?}"),
                    e => e.to_string(),
                };
                Diagnostic::error(pos.span(), path.clone(), message)
            })?;
            *budget = budget.checked_sub(out.len()).ok_or_else(|| {
                Diagnostic::error(
                    pos.span(),
                    path.clone(),
                    format!(
                        "variables in this file expand to more than {MAX_FILE_EXPANSION} bytes \
                         in all; refusing to load"
                    ),
                )
            })?;
            *s = out;
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, lookup, budget)?;
                path.truncate(len);
            }
        }
        Value::Map(map) => {
            for (k, v) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(v, path, lookup, budget)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse_str;
    use std::path::Path;

    #[test]
    fn values_not_keys_and_errors_name_everything() {
        let mut n = parse_str(
            "services:\n  ${K}:\n    image: ${IMG}\n    ports: [\"${P:-80}:80\"]\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        let mut vars = IndexMap::new();
        vars.insert("IMG".to_string(), "busybox".to_string());
        vars.insert("K".to_string(), "web".to_string());
        interpolate(&mut n, &vars).unwrap();
        let s = n.get("services").unwrap().get("${K}").unwrap();
        assert_eq!(s.get("image").unwrap().as_str(), Some("busybox"));
        assert_eq!(
            s.get("ports").unwrap().as_seq().unwrap()[0].as_str(),
            Some("80:80")
        );

        let mut n = parse_str(
            "services:\n  web:\n    image: ${IMG:?set IMG}\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        let e = interpolate(&mut n, &IndexMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.yaml:3:12: error: services.web.image: required variable IMG is missing a value: set IMG"
        );
    }
}
