//! The positioned node tree every phase works on: maps, sequences and typed scalars, each with the
//! file, line and column it was written at, and its YAML tag (`!reset`, `!override`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::diag::Span;

/// Where a node was written. The file is shared, so cloning a node stays cheap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pos {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn span(&self) -> Span {
        Span {
            file: self.file.as_ref().clone(),
            line: self.line as usize,
            column: self.column as usize,
        }
    }
    pub fn file(&self) -> &Path {
        self.file.as_path()
    }
}

/// A value, typed the way go-yaml v3 types a plain scalar when decoding into `interface{}`
/// (what compose-go does before interpolation): `0400` is an int, `yes` a string.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(IndexMap<String, Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// A local tag such as `!reset` or `!override` (core-schema `!!` tags are applied at parse).
    pub tag: Option<String>,
    /// For a mapping's value: the line and column of its key, so a message about the key (an
    /// unknown key) points at the key rather than at its value.
    pub key_at: Option<(u32, u32)>,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Node {
        Node {
            value,
            pos,
            tag: None,
            key_at: None,
        }
    }
    pub fn str(s: impl Into<String>, pos: Pos) -> Node {
        Node::new(Value::Str(s.into()), pos)
    }
    pub fn span(&self) -> Span {
        self.pos.span()
    }
    /// Where the key of this mapping value was written (the value's own place when unknown).
    pub fn key_span(&self) -> Span {
        match self.key_at {
            Some((line, column)) => Span {
                file: self.pos.file.as_ref().clone(),
                line: line as usize,
                column: column as usize,
            },
            None => self.span(),
        }
    }
    pub fn as_map(&self) -> Option<&IndexMap<String, Node>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_map_mut(&mut self) -> Option<&mut IndexMap<String, Node>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tag.as_deref() == Some(tag)
    }
    /// The scalar as text, the way Go's `fmt.Sprint` writes it (compose-go does that when a
    /// string field receives a number or a bool). `None` for maps and sequences.
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.value {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }
    /// A short name of the node's type, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
    /// "must be a mapping, found …": the kind found, and for `image:x` (a plain string that
    /// would be a key with a space after its ':') the likely mistake.
    pub fn not_a_mapping(&self) -> String {
        let hint = match &self.value {
            Value::Str(s) => s
                .split_once(':')
                .filter(|(k, v)| !k.is_empty() && !k.contains(' ') && !v.starts_with([' ', '/']))
                .map(|(k, _)| format!(" ('{s}': a missing space after '{k}:'?)")),
            _ => None,
        };
        format!(
            "must be a mapping, found {}{}",
            self.kind_name(),
            hint.unwrap_or_default()
        )
    }
    /// Number of nodes in this tree (the alias-expansion budget counts these).
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(s) => s.iter().map(Node::count).sum(),
            Value::Map(m) => m.values().map(Node::count).sum(),
            _ => 0,
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which compose-go uses when a float becomes text:
/// the shortest digits, in exponent form when the exponent is below -4 or at least 6
/// (`1.5`, `100000`, `1e+06`, `1.234567e+06`, `1e-05`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `1.234567e6`.
    let e = format!("{f:e}");
    let Some((mantissa, exp)) = e.split_once('e') else {
        return e;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        // Checked against docker compose 2.26 (environment values).
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(123456.7), "123456.7");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(123456789.123), "1.23456789123e+08");
        assert_eq!(
            format_float(-9.223372036854776e18),
            "-9.223372036854776e+18"
        );
    }
}
