//! A small YAML writer for the generator: block or flow collections, plain or quoted scalars
//! (the choice is the generator's: a plain `0400` is a number, a quoted one a string), anchors,
//! aliases and tags.

pub enum Y {
    /// A plain scalar, written as is (`8080`, `yes`, `busybox`).
    Plain(String),
    /// A string, written double-quoted with escapes.
    Quoted(String),
    Seq(Vec<Y>, Style),
    Map(Vec<(String, Y)>, Style),
    /// `*name`.
    Alias(String),
    /// `&name` before the value.
    Anchor(String, Box<Y>),
    /// `!reset` / `!override` before the value.
    Tag(&'static str, Box<Y>),
}

#[derive(Clone, Copy, PartialEq)]
pub enum Style {
    Block,
    Flow,
}

pub fn plain(s: impl Into<String>) -> Y {
    Y::Plain(s.into())
}

pub fn quoted(s: impl Into<String>) -> Y {
    Y::Quoted(s.into())
}

fn dq(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\x{:02x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A key: plain when it is a simple word, else double-quoted.
fn key(k: &str) -> String {
    let simple = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && !k.starts_with(['-', '.'])
        && !k.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if simple || k == "<<" {
        k.to_string()
    } else {
        dq(k)
    }
}

fn flow_scalar(s: &str) -> String {
    if s.contains([',', '[', ']', '{', '}', '#']) || s.contains(": ") || s.is_empty() {
        dq(s)
    } else {
        s.to_string()
    }
}

/// The value in flow style (one line).
fn flow(y: &Y) -> String {
    match y {
        Y::Plain(s) => flow_scalar(s),
        Y::Quoted(s) => dq(s),
        Y::Alias(a) => format!("*{a}"),
        Y::Anchor(a, v) => format!("&{a} {}", flow(v)),
        Y::Tag(t, v) => format!("{t} {}", flow(v)),
        Y::Seq(items, _) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Y::Map(entries, _) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn is_block_collection(y: &Y) -> bool {
    match y {
        Y::Seq(v, Style::Block) => !v.is_empty(),
        Y::Map(v, Style::Block) => !v.is_empty(),
        Y::Anchor(_, v) | Y::Tag(_, v) => is_block_collection(v),
        _ => false,
    }
}

/// Writes `y` as the value after `prefix` (`key:` or `-`) at `indent`.
fn write_value(out: &mut String, indent: usize, prefix: &str, y: &Y) {
    let pad = " ".repeat(indent);
    if !is_block_collection(y) {
        out.push_str(&format!("{pad}{prefix} {}\n", flow(y)));
        return;
    }
    let (head, inner) = match y {
        Y::Anchor(a, v) => (format!(" &{a}"), &**v),
        Y::Tag(t, v) => (format!(" {t}"), &**v),
        v => (String::new(), v),
    };
    out.push_str(&format!("{pad}{prefix}{head}\n"));
    write_block(out, indent + 2, inner);
}

fn write_block(out: &mut String, indent: usize, y: &Y) {
    match y {
        Y::Seq(items, _) => {
            for i in items {
                write_value(out, indent, "-", i);
            }
        }
        Y::Map(entries, _) => {
            for (k, v) in entries {
                write_value(out, indent, &format!("{}:", key(k)), v);
            }
        }
        Y::Anchor(_, v) | Y::Tag(_, v) => write_block(out, indent, v),
        other => out.push_str(&format!("{}{}\n", " ".repeat(indent), flow(other))),
    }
}

/// A whole document: `y` is the top-level mapping.
pub fn document(y: &Y) -> String {
    let mut out = String::new();
    write_block(&mut out, 0, y);
    out
}
