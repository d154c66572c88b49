//! Phase `schema`: each compose file is checked on its own, after interpolation and before it is
//! merged, as docker compose checks it: the values compose casts while interpolating
//! (`privileged`, `healthcheck.retries`, `ports[].target`, ...) must read as their type, and the
//! file must fit the Compose JSON schema. So a bad value in a base file is refused even when an
//! override replaces it, and every error names the file, line and column it was written at.
//!
//! The schema (`compose-spec.json`) is the one docker compose 2.26 validates with: the file
//! embedded in its binary, identical to compose-spec/compose-go commit 84b7d5ab
//! (`schema/compose-spec.json`, Apache-2.0, the Compose Specification authors). It is data, read
//! with the `jsonschema` crate, and relaxed in two ways, each documented in docs/loader.md:
//! - unknown keys are our warnings (`validate`, dropped with file, line and field), not errors:
//!   `additionalProperties: false` is removed where an object lists its keys; it stays where a
//!   mapping is keyed by names (services, networks, ulimits...), so an invalid name is refused;
//! - `uniqueItems` is left to `validate::unique_items`: docker compose removes duplicates from
//!   most lists before it validates, and refuses them only in the lists that function checks.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Number, Value as Json};

use super::node::{Node, Value};
use crate::diag::Diagnostic;

const SCHEMA: &str = include_str!("compose-spec.json");

/// The relaxed schema and its validator, built once.
fn schema() -> &'static (Json, Validator) {
    static CELL: OnceLock<(Json, Validator)> = OnceLock::new();
    CELL.get_or_init(|| {
        // The embedded schema is part of the program: a failure here is a build defect, which the
        // unit tests catch, never caused by input.
        let mut doc: Json = serde_json::from_str(SCHEMA).expect("compose-spec.json is JSON");
        relax(&mut doc);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&doc)
            .expect("compose-spec.json compiles");
        (doc, validator)
    })
}

/// The two relaxations described in the module documentation.
fn relax(schema: &mut Json) {
    match schema {
        Json::Object(o) => {
            let named = o
                .get("patternProperties")
                .and_then(Json::as_object)
                .is_some_and(|p| p.keys().any(|k| k != "^x-"));
            if o.contains_key("properties") && !named {
                o.remove("additionalProperties");
            }
            o.remove("uniqueItems");
            o.values_mut().for_each(relax);
        }
        Json::Array(a) => a.iter_mut().for_each(relax),
        _ => {}
    }
}

/// How compose-go casts a string while interpolating (`strconv.Atoi`, `ParseFloat`, its boolean
/// words).
#[derive(Clone, Copy)]
enum Cast {
    Int,
    Float,
    Bool,
}

/// The fields docker compose casts during interpolation, in every file it reads (compose-go's
/// `interpolateTypeCastMapping`): `*` is any key, `[]` any list item.
const CASTS: &[(&str, Cast)] = &[
    ("services.*.configs.[].mode", Cast::Int),
    ("services.*.cpu_count", Cast::Int),
    ("services.*.cpu_percent", Cast::Float),
    ("services.*.cpu_period", Cast::Int),
    ("services.*.cpu_quota", Cast::Int),
    ("services.*.cpu_rt_period", Cast::Int),
    ("services.*.cpu_rt_runtime", Cast::Int),
    ("services.*.cpus", Cast::Float),
    ("services.*.cpu_shares", Cast::Int),
    ("services.*.init", Cast::Bool),
    ("services.*.deploy.replicas", Cast::Int),
    ("services.*.deploy.update_config.parallelism", Cast::Int),
    (
        "services.*.deploy.update_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.rollback_config.parallelism", Cast::Int),
    (
        "services.*.deploy.rollback_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.restart_policy.max_attempts", Cast::Int),
    (
        "services.*.deploy.placement.max_replicas_per_node",
        Cast::Int,
    ),
    ("services.*.healthcheck.retries", Cast::Int),
    ("services.*.healthcheck.disable", Cast::Bool),
    ("services.*.oom_kill_disable", Cast::Bool),
    ("services.*.oom_score_adj", Cast::Int),
    ("services.*.pids_limit", Cast::Int),
    ("services.*.ports.[].target", Cast::Int),
    ("services.*.privileged", Cast::Bool),
    ("services.*.read_only", Cast::Bool),
    ("services.*.scale", Cast::Int),
    ("services.*.secrets.[].mode", Cast::Int),
    ("services.*.stdin_open", Cast::Bool),
    ("services.*.tty", Cast::Bool),
    ("services.*.ulimits.*", Cast::Int),
    ("services.*.ulimits.*.hard", Cast::Int),
    ("services.*.ulimits.*.soft", Cast::Int),
    ("services.*.volumes.[].read_only", Cast::Bool),
    ("services.*.volumes.[].volume.nocopy", Cast::Bool),
    ("networks.*.external", Cast::Bool),
    ("networks.*.internal", Cast::Bool),
    ("networks.*.attachable", Cast::Bool),
    ("networks.*.enable_ipv4", Cast::Bool),
    ("networks.*.enable_ipv6", Cast::Bool),
    ("volumes.*.external", Cast::Bool),
    ("secrets.*.external", Cast::Bool),
    ("configs.*.external", Cast::Bool),
];

fn cast_for(segments: &[String]) -> Option<Cast> {
    CASTS.iter().find_map(|(pattern, cast)| {
        let parts: Vec<&str> = pattern.split('.').collect();
        (parts.len() == segments.len()
            && parts.iter().zip(segments).all(|(p, s)| match *p {
                "[]" => s.starts_with('['),
                "*" => !s.starts_with('['),
                p => p == s,
            }))
        .then_some(*cast)
    })
}

fn field(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        if !s.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(s);
    }
    out
}

fn cast(node: &Node, how: Cast, s: &str, path: &str) -> Result<Json, Diagnostic> {
    let bad = |what: &str| {
        Diagnostic::error(
            node.span(),
            path,
            format!("must be {what}, found {s:?} (docker compose casts it when interpolating)"),
        )
    };
    match how {
        Cast::Int => s
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| bad("an integer")),
        Cast::Float => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| bad("a number")),
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "true" | "y" | "yes" | "on" => Ok(Json::Bool(true)),
            "false" | "n" | "no" | "off" => Ok(Json::Bool(false)),
            _ => Err(bad("a boolean")),
        },
    }
}

/// A `!reset` value is removed before docker compose validates the file.
fn is_reset(n: &Node) -> bool {
    n.has_tag("!reset")
}

/// The file as the JSON docker compose validates, casts applied (a failed cast is an error).
/// `segments` is the path of `node` (`[3]` for a list item).
fn to_json(node: &Node, segments: &mut Vec<String>) -> Result<Json, Diagnostic> {
    Ok(match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        // YAML's .inf and .nan have no JSON form; as text they fail any number field.
        Value::Float(f) => Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(f.to_string())),
        Value::Str(s) => match cast_for(segments) {
            Some(how) => cast(node, how, s, &field(segments))?,
            None => Json::String(s.clone()),
        },
        Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().filter(|n| !is_reset(n)).enumerate() {
                segments.push(format!("[{i}]"));
                let v = to_json(item, segments);
                segments.pop();
                out.push(v?);
            }
            Json::Array(out)
        }
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.iter().filter(|(_, v)| !is_reset(v)) {
                segments.push(k.clone());
                let j = to_json(v, segments);
                segments.pop();
                out.insert(k.clone(), j?);
            }
            Json::Object(out)
        }
    })
}

/// The node at `location` and its field path (`services.web.ports[1]`).
fn locate<'a>(root: &'a Node, location: &Location) -> (&'a Node, String) {
    let mut node = root;
    let mut path = String::new();
    for segment in location.segments() {
        let next = match (&node.value, &segment) {
            (Value::Map(m), LocationSegment::Property(k)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                m.get(k.as_ref()).filter(|n| !is_reset(n))
            }
            (Value::Seq(items), LocationSegment::Index(i)) => {
                path.push_str(&format!("[{i}]"));
                items.iter().filter(|n| !is_reset(n)).nth(*i)
            }
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    (node, path)
}

fn type_name(t: jsonschema::JsonType) -> &'static str {
    use jsonschema::JsonType as T;
    match t {
        T::Null => "null",
        T::Boolean => "a boolean",
        T::Integer => "an integer",
        T::Number => "a number",
        T::String => "a string",
        T::Array => "a list",
        T::Object => "a mapping",
    }
}

fn expected_types(kind: &TypeKind, into: &mut Vec<&'static str>) {
    let mut add = |t| {
        let name = type_name(t);
        if !into.contains(&name) {
            into.push(name);
        }
    };
    match kind {
        TypeKind::Single(t) => add(*t),
        TypeKind::Multiple(set) => set.iter().for_each(add),
    }
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The error to report for `e`: where (instance location) and what. For `oneOf`/`anyOf`, the
/// alternative that went deepest into the value explains best; when every alternative failed on
/// the value's type, the message lists the types allowed.
fn explain(e: &ValidationError<'_>, doc: &Json) -> (Location, String) {
    let here = e.instance_path().clone();
    match e.kind() {
        ValidationErrorKind::Type { kind } => {
            let mut names = Vec::new();
            expected_types(kind, &mut names);
            (here, format!("must be {}", one_of(&names)))
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let deeper = context
                .iter()
                .flatten()
                .filter(|c| c.instance_path().as_str().len() > here.as_str().len())
                .max_by_key(|c| c.instance_path().as_str().len());
            if let Some(c) = deeper {
                return explain(c, doc);
            }
            // An alternative the value has the type of, failing on something else (a name).
            let typed = context.iter().find(|branch| {
                !branch.is_empty()
                    && branch
                        .iter()
                        .all(|c| !matches!(c.kind(), ValidationErrorKind::Type { .. }))
            });
            if let Some(c) = typed.and_then(|b| b.first()) {
                return explain(c, doc);
            }
            let mut names = Vec::new();
            for c in context.iter().flatten() {
                if let ValidationErrorKind::Type { kind } = c.kind() {
                    expected_types(kind, &mut names);
                }
            }
            match (names.is_empty(), context.iter().flatten().next()) {
                (false, _) => (here, format!("must be {}", one_of(&names))),
                (true, Some(c)) => explain(c, doc),
                (true, None) => (here, e.to_string()),
            }
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            // Only mappings keyed by names keep `additionalProperties: false` (see `relax`).
            let schema_path = e.schema_path().as_str();
            let pattern = doc
                .pointer(schema_path.trim_end_matches("/additionalProperties"))
                .and_then(|s| s.get("patternProperties"))
                .and_then(Json::as_object)
                .and_then(|p| p.keys().find(|k| *k != "^x-").cloned());
            let names: Vec<String> = unexpected.iter().map(|n| format!("{n:?}")).collect();
            let location = match unexpected.first() {
                Some(n) => here.join(n.as_str()),
                None => here,
            };
            let rule = pattern
                .map(|p| format!(" (a name must match {p})"))
                .unwrap_or_default();
            (location, format!("invalid name {}{rule}", names.join(", ")))
        }
        _ => (here, e.to_string()),
    }
}

/// Checks one file's tree (interpolated, not yet merged): a failed cast is returned as `Err`; the
/// schema errors as the list, in file order.
pub fn check(root: &Node) -> Result<Vec<Diagnostic>, Diagnostic> {
    let instance = to_json(root, &mut Vec::new())?;
    let (doc, validator) = schema();
    let mut out: Vec<Diagnostic> = validator
        .iter_errors(&instance)
        .map(|e| {
            let (location, message) = explain(&e, doc);
            let (node, path) = locate(root, &location);
            let found = match &node.value {
                Value::Str(s) if message.starts_with("must be ") => format!(", found {s:?}"),
                _ if message.starts_with("must be ") => format!(", found {}", node.kind_name()),
                _ => String::new(),
            };
            Diagnostic::error(node.span(), path, format!("{message}{found}"))
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.span.file, a.span.line, a.span.column).cmp(&(&b.span.file, b.span.line, b.span.column))
    });
    out.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    Ok(out)
}

/// [`check`], the first error (in file order) as the result.
pub fn check_file(root: &Node) -> Result<(), Diagnostic> {
    match check(root)?.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Where a node was written: a node keeps it through merging, and loses it when replaced.
type At = (Arc<PathBuf>, u32, u32);

fn positions(node: &Node, out: &mut HashSet<At>) {
    out.insert((node.pos.file.clone(), node.pos.line, node.pos.column));
    match &node.value {
        Value::Map(m) => m.values().for_each(|v| positions(v, out)),
        Value::Seq(s) => s.iter().for_each(|v| positions(v, out)),
        _ => {}
    }
}

/// The errors of files read for `extends` that still matter once the services are resolved.
/// docker compose validates an extended file only through the services built on it, after the
/// extending service is merged over its base: a bad value that the extending service replaces,
/// or in a service nothing extends, is not an error. The first error whose value is still in
/// `root` (the file with its `extends` resolved) is returned.
pub fn surviving(root: &Node, pending: &[Diagnostic]) -> Result<(), Diagnostic> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut present = HashSet::new();
    positions(root, &mut present);
    match pending.iter().find(|d| {
        let (Ok(line), Ok(column)) = (u32::try_from(d.span.line), u32::try_from(d.span.column))
        else {
            return false;
        };
        present.contains(&(Arc::new(d.span.file.clone()), line, column))
    }) {
        Some(d) => Err(d.clone()),
        None => Ok(()),
    }
}
