//! Typed reads of nodes for `normalize`, each failing with the field path and the position, and
//! the plain node → JSON conversion for fields passed through as written.

use serde_json::{Map, Number, Value as Json};

use super::node::{Node, Value};
use crate::diag::Diagnostic;

pub type Res<T> = Result<T, Diagnostic>;

pub fn err(node: &Node, path: &str, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(node.span(), path, msg)
}

/// A string field: scalars are written as text (compose-go accepts `image: 1` as "1").
pub fn string(node: &Node, path: &str) -> Res<String> {
    match &node.value {
        Value::Seq(_) | Value::Map(_) => Err(err(
            node,
            path,
            format!("must be a string, found {}", node.kind_name()),
        )),
        _ => Ok(node.scalar_text().unwrap_or_default()),
    }
}

/// A field the Compose schema types as a string only: a number or a boolean is refused, as
/// docker compose refuses `user: 1000` ("must be a string"). `null` only where `allow_null`.
pub fn strict_string(node: &Node, path: &str, allow_null: bool) -> Res<String> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Null if allow_null => Ok(String::new()),
        _ => Err(err(
            node,
            path,
            format!("must be a string, found {} (quote it)", node.kind_name()),
        )),
    }
}

/// A boolean field: `true`/`false`, or a string compose-go casts (`yes`, `on`, `"true"`, ...).
pub fn boolean(node: &Node, path: &str) -> Res<bool> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Ok(true),
            "n" | "no" | "false" | "off" => Ok(false),
            _ => Err(err(node, path, format!("must be a boolean, found {s:?}"))),
        },
        _ => Err(err(
            node,
            path,
            format!("must be a boolean, found {}", node.kind_name()),
        )),
    }
}

pub fn integer(node: &Node, path: &str) -> Res<i64> {
    match &node.value {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| err(node, path, format!("must be an integer, found {s:?}"))),
        _ => Err(err(
            node,
            path,
            format!("must be an integer, found {}", node.kind_name()),
        )),
    }
}

/// An integer in `0..=max` (counts, modes, port numbers).
pub fn unsigned(node: &Node, path: &str, max: u64) -> Res<i64> {
    let i = integer(node, path)?;
    if i < 0 || i as u64 > max {
        return Err(err(
            node,
            path,
            format!("must be an integer from 0 to {max}, found {i}"),
        ));
    }
    Ok(i)
}

pub fn number(node: &Node, path: &str) -> Res<f64> {
    match &node.value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| err(node, path, format!("must be a number, found {s:?}"))),
        _ => Err(err(
            node,
            path,
            format!("must be a number, found {}", node.kind_name()),
        )),
    }
}

pub fn float_json(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Json::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)
    }
}

/// A string or a list of strings → list (`dns: 8.8.8.8` → `["8.8.8.8"]`).
pub fn string_list(node: &Node, path: &str) -> Res<Vec<String>> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| string(n, &format!("{path}[{i}]")))
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => Ok(vec![string(node, path)?]),
    }
}

/// The items of a list field; anything else is an error naming the field.
pub fn seq<'a>(node: &'a Node, path: &str) -> Res<&'a [Node]> {
    node.as_seq()
        .map(Vec::as_slice)
        .ok_or_else(|| err(node, path, "must be a list"))
}

pub fn map<'a>(node: &'a Node, path: &str) -> Res<&'a indexmap::IndexMap<String, Node>> {
    node.as_map()
        .ok_or_else(|| err(node, path, node.not_a_mapping()))
}

/// Each entry of a mapping turned into JSON by `f(key, value, key_path)`, inserted into `out` (an
/// entry replaces a default already there). The first error stops it.
pub fn fields_into(
    out: &mut Map<String, Json>,
    entries: &indexmap::IndexMap<String, Node>,
    path: &str,
    mut f: impl FnMut(&str, &Node, &str) -> Res<Json>,
) -> Res<()> {
    for (k, v) in entries {
        let j = f(k, v, &format!("{path}.{k}"))?;
        out.insert(k.clone(), j);
    }
    Ok(())
}

/// A mapping field as a JSON object, each value typed by `f(key, value, key_path)`; anything but a
/// mapping is an error naming the field.
pub fn object(node: &Node, path: &str, f: impl FnMut(&str, &Node, &str) -> Res<Json>) -> Res<Json> {
    let mut out = Map::new();
    fields_into(&mut out, map(node, path)?, path, f)?;
    Ok(Json::Object(out))
}

/// A node as written (maps, lists, typed scalars).
pub fn plain(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number(Number::from(*i)),
        Value::Float(f) => Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
    }
}

/// A mapping whose values docker compose prints as strings (labels, driver_opts, sysctls...).
/// `null` values stay `null` when `keep_null`, else become `""`.
pub fn string_map(node: &Node, path: &str, keep_null: bool) -> Res<Json> {
    let mut out = Map::new();
    match &node.value {
        Value::Map(m) => fields_into(&mut out, m, path, |_, v, p| {
            Ok(if v.is_null() {
                if keep_null {
                    Json::Null
                } else {
                    Json::String(String::new())
                }
            } else {
                Json::String(string(v, p)?)
            })
        })?,
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let s = string(item, &format!("{path}[{i}]"))?;
                match s.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Json::String(v.to_string())),
                    None if keep_null => out.insert(s, Json::Null),
                    None => out.insert(s, Json::String(String::new())),
                };
            }
        }
        Value::Null => {}
        _ => {
            return Err(err(
                node,
                path,
                format!("must be a mapping or a list, found {}", node.kind_name()),
            ))
        }
    }
    Ok(Json::Object(out))
}
