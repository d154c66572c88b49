//! `env_file`: each file read through [`super::source`] (a regular file, links inside the
//! repository, size cap), parsed with the dotenv rules (or `format: raw`) and merged into a
//! service's environment; the policy for files outside the repository (docs/loader.md).

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::convert::{boolean, err, string};
use super::node::{Node, Value};
use super::service::Ctx;
use crate::diag::Diagnostic;

/// Reads the `env_file`s into `env` (later files win). Returns whether any file was read.
pub(super) fn read_env_files(
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
        let root = ctx.dirs.root.as_deref();
        let text = match super::source::read_text(&real, root, super::source::MAX_DOTENV_BYTES) {
            Ok(t) => t,
            Err(e) if e.is_not_found() && !required => continue,
            Err(e) if e.is_not_found() => {
                ctx.errors.push(err(
                    file,
                    &p,
                    format!("env file {} not found", ctx.dirs.show(&real)),
                ));
                continue;
            }
            Err(e) => {
                ctx.errors.push(err(
                    file,
                    &p,
                    format!("env file {} {e}", ctx.dirs.show(&real)),
                ));
                continue;
            }
        };
        // Policy (docs/loader.md): an env file outside the repository is read, and its values
        // are baked into the generation, but a change to it does not trigger a deploy.
        if root.is_some_and(|r| !real.starts_with(r)) {
            ctx.warnings.push(Diagnostic::warning(
                file.span(),
                p.clone(),
                format!(
                    "env file {} is outside the repository: its values are copied into the \
                     units when deployed, but a change to it alone does not trigger a deploy",
                    ctx.dirs.show(&real)
                ),
            ));
        }
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
