//! Phase `yaml`: text → positioned node tree, with yaml-rust2's event parser.
//!
//! We build the tree ourselves so every node keeps its line and column and its tag, aliases are
//! expanded under a budget (a billion-laughs file is refused, not expanded), merge keys (`<<`)
//! follow go-yaml v3 (explicit keys win, earlier merge sources win over later ones), and plain
//! scalars are typed as go-yaml v3 types them (`0400` and `0o400` are ints, `yes`/`on` strings).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::node::{Node, Pos, Value};
use super::yaml_diag;
use crate::diag::{Diagnostic, Span};

/// Compose files larger than this are refused before parsing (4 MiB; the largest real compose file
/// we know of is under 100 KiB).
pub const MAX_FILE_BYTES: u64 = super::source::MAX_COMPOSE_BYTES;
/// Nesting depth refused before the later phases (which recurse) could overflow the stack.
pub const MAX_DEPTH: usize = 256;
/// Nodes that alias expansion may add to one document. A real file adds a few thousand at most;
/// a "billion laughs" file would add billions.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Reads and parses one compose file through [`super::source`]: a regular file (links kept inside
/// `root`), at most [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path, root: Option<&Path>) -> Result<Node, Diagnostic> {
    let text = super::source::read_text(path, root, MAX_FILE_BYTES).map_err(|e| e.at(path, ""))?;
    parse_str(&text, path)
}

/// Parses one YAML document (an empty file is an empty mapping, as compose treats it).
pub fn parse_str(text: &str, file: &Path) -> Result<Node, Diagnostic> {
    // A UTF-8 byte-order mark is not content (go-yaml skips it; yaml-rust2 would read a key).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut fixed = std::borrow::Cow::Borrowed(text);
    let mut first_error = None;
    for _ in 0..32 {
        match parse_once(&fixed, file) {
            Ok(n) => return Ok(n),
            Err((d, scan_line)) => {
                let d = first_error.get_or_insert(d).clone();
                // go-yaml accepts a flow collection closed (`]`, `}`) at its key's indentation,
                // which yaml-rust2 refuses; indenting such a line changes nothing else, so we
                // retry with it indented.
                let Some(line) = scan_line else { return Err(d) };
                match indent_closing_line(&fixed, line) {
                    Some(t) => fixed = std::borrow::Cow::Owned(t),
                    None => return Err(d),
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| Diagnostic::error(Span::default(), "", "YAML syntax error")))
}

/// Refuses a `.inf`/`.nan` value: docker compose refuses the file (its schema validation, after
/// interpolation, cannot represent one: "json: unsupported value: +Inf"), wherever it is, even
/// under an `x-` key.
pub fn check_finite(root: &Node) -> Result<(), Diagnostic> {
    non_finite(root, &mut String::new()).map_or(Ok(()), Err)
}

fn non_finite(node: &Node, path: &mut String) -> Option<Diagnostic> {
    let len = path.len();
    let found = match &node.value {
        Value::Float(f) if !f.is_finite() => Some(Diagnostic::error(
            node.span(),
            path.clone(),
            format!("unsupported value {f} (docker compose refuses .inf and .nan; quote it)"),
        )),
        Value::Seq(items) => items.iter().enumerate().find_map(|(i, n)| {
            path.truncate(len);
            path.push_str(&format!("[{i}]"));
            non_finite(n, path)
        }),
        Value::Map(m) => m.iter().find_map(|(k, n)| {
            path.truncate(len);
            if len > 0 {
                path.push('.');
            }
            path.push_str(k);
            non_finite(n, path)
        }),
        _ => None,
    };
    path.truncate(len);
    found
}

/// How many collections deep `node` nests (a scalar: 0). Bounded: the builder never lets a tree
/// grow deeper than [`MAX_DEPTH`], so this recursion is too.
fn height(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(height).max().unwrap_or(0),
        Value::Map(m) => 1 + m.values().map(height).max().unwrap_or(0),
        _ => 0,
    }
}

/// `text` with 2 more spaces before line `line` (1-based) if it starts with `]` or `}`.
fn indent_closing_line(text: &str, line: usize) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 2);
    let mut found = false;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line && l.trim_start().starts_with([']', '}']) {
            out.push_str("  ");
            found = true;
        }
        out.push_str(l);
    }
    found.then_some(out)
}

/// One parse; a scanner error also gives its line, for the retry above.
fn parse_once(text: &str, file: &Path) -> Result<Node, (Diagnostic, Option<usize>)> {
    let file = Arc::new(PathBuf::from(file));
    let mut b = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: Vec::new(),
        alias_nodes: 0,
        root: None,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| {
            let m = e.marker();
            let stop = yaml_diag::Stop {
                line: m.line(),
                column: m.col() + 1,
                offset: m.index(),
                info: e.info(),
            };
            let (line, column, message) = yaml_diag::explain(text, &b.open(text), &stop);
            let span = Span {
                file: b.file.as_ref().clone(),
                line,
                column,
            };
            (Diagnostic::error(span, "", message), Some(m.line()))
        })?;
        match ev {
            Event::StreamEnd => break,
            Event::DocumentStart if b.root.is_some() => {
                return Err((
                    Diagnostic::error(
                        b.span_at(&mark),
                        "",
                        "a compose file holds one YAML document, found a second",
                    ),
                    None,
                ));
            }
            ev => b.event(ev, &mark).map_err(|d| (d, None))?,
        }
    }
    Ok(b.root.unwrap_or_else(|| {
        Node::new(
            Value::Map(IndexMap::new()),
            Pos {
                file,
                line: 1,
                column: 1,
            },
        )
    }))
}

enum Frame {
    Seq {
        node: Node,
        items: Vec<Node>,
        anchor: usize,
    },
    Map {
        node: Node,
        entries: IndexMap<String, Node>,
        merges: Vec<Node>,
        key: Option<Node>,
        anchor: usize,
    },
}

struct Builder {
    file: Arc<PathBuf>,
    stack: Vec<Frame>,
    /// Anchor id → (node, its node count, its nesting height).
    anchors: Vec<Option<(Node, usize, usize)>>,
    alias_nodes: usize,
    root: Option<Node>,
}

fn local_tag(tag: &Option<Tag>) -> Option<String> {
    tag.as_ref()
        .filter(|t| t.handle == "!")
        .map(|t| format!("!{}", t.suffix))
}

impl Builder {
    fn pos(&self, m: &Marker) -> Pos {
        Pos {
            file: self.file.clone(),
            line: m.line() as u32,
            column: m.col() as u32 + 1,
        }
    }
    fn span_at(&self, m: &Marker) -> Span {
        self.pos(m).span()
    }

    fn event(&mut self, ev: Event, mark: &Marker) -> Result<(), Diagnostic> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let mut node = Node::new(scalar_value(text, style, &tag), self.pos(mark));
                node.tag = local_tag(&tag);
                self.anchor(anchor, &node);
                self.push(node)
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                Err(Diagnostic::error(
                    self.span_at(mark),
                    "",
                    format!("YAML nested deeper than {MAX_DEPTH} levels; refusing to load"),
                ))
            }
            Event::SequenceStart(anchor, tag) => {
                let mut node = Node::new(Value::Null, self.pos(mark));
                node.tag = local_tag(&tag);
                self.stack.push(Frame::Seq {
                    node,
                    items: Vec::new(),
                    anchor,
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                let mut node = Node::new(Value::Null, self.pos(mark));
                node.tag = local_tag(&tag);
                self.stack.push(Frame::Map {
                    node,
                    entries: IndexMap::new(),
                    merges: Vec::new(),
                    key: None,
                    anchor,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq {
                        mut node,
                        items,
                        anchor,
                    }) => {
                        node.value = Value::Seq(items);
                        self.anchor(anchor, &node);
                        node
                    }
                    Some(Frame::Map {
                        mut node,
                        mut entries,
                        merges,
                        anchor,
                        ..
                    }) => {
                        apply_merges(&mut entries, merges)?;
                        node.value = Value::Map(entries);
                        self.anchor(anchor, &node);
                        node
                    }
                    None => return Ok(()),
                };
                self.push(node)
            }
            Event::Alias(id) => {
                let Some(Some((node, count, height))) = self.anchors.get(id) else {
                    return Err(Diagnostic::error(
                        self.span_at(mark),
                        "",
                        "YAML alias refers to an unknown anchor",
                    ));
                };
                self.alias_nodes += count;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(Diagnostic::error(
                        self.span_at(mark),
                        "",
                        format!(
                            "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes; \
                             refusing to load (an alias-expansion bomb?)"
                        ),
                    ));
                }
                // An alias copies its anchor's whole tree here: nested aliases could otherwise
                // build a tree far deeper than the file (and overflow the recursive phases).
                if self.stack.len() + height > MAX_DEPTH {
                    return Err(Diagnostic::error(
                        self.span_at(mark),
                        "",
                        format!(
                            "YAML aliases nest deeper than {MAX_DEPTH} levels; refusing to load"
                        ),
                    ));
                }
                let node = node.clone();
                self.push(node)
            }
            _ => Ok(()),
        }
    }

    fn anchor(&mut self, id: usize, node: &Node) {
        if id == 0 {
            return;
        }
        if self.anchors.len() <= id {
            self.anchors.resize(id + 1, None);
        }
        self.anchors[id] = Some((node.clone(), node.count(), height(node)));
    }

    /// The collections open now, outermost first, for [`yaml_diag::explain`].
    fn open(&self, text: &str) -> Vec<yaml_diag::Open> {
        let lines: Vec<&str> = text.lines().collect();
        let mut path = String::new();
        let mut out = Vec::new();
        for f in &self.stack {
            let (node, seq) = match f {
                Frame::Seq { node, .. } => (node, true),
                Frame::Map { node, .. } => (node, false),
            };
            let (line, column) = (node.pos.line as usize, node.pos.column as usize);
            let at = lines
                .get(line.wrapping_sub(1))
                .and_then(|l| l.chars().nth(column.wrapping_sub(1)));
            // yaml-rust2 starts a block mapping at its first key's ':': we want the key.
            let (line, column) = match f {
                Frame::Map { entries, key, .. } if !matches!(at, Some('{')) => entries
                    .values()
                    .find_map(|v| v.key_at)
                    .or(key.as_ref().map(|k| (k.pos.line, k.pos.column)))
                    .map_or((line, column), |(l, c)| (l as usize, c as usize)),
                _ => (line, column),
            };
            out.push(yaml_diag::Open {
                seq,
                flow: matches!(at, Some('[' | '{')),
                line,
                column,
                path: path.clone(),
            });
            match f {
                Frame::Map { key: Some(k), .. } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&k.scalar_text().unwrap_or_default());
                }
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Map { key: None, .. } => {}
            }
        }
        out
    }

    /// The field path of the value being built (`services.web.ports[1]`), for errors.
    fn path(&self) -> String {
        let mut p = String::new();
        for f in &self.stack {
            match f {
                Frame::Map { key: Some(k), .. } => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(&k.scalar_text().unwrap_or_default());
                }
                Frame::Seq { items, .. } => p.push_str(&format!("[{}]", items.len())),
                Frame::Map { key: None, .. } => {}
            }
        }
        p
    }

    fn push(&mut self, node: Node) -> Result<(), Diagnostic> {
        // compose-go refuses a key that YAML reads as a number, a boolean or null.
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            if matches!(
                node.value,
                Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null
            ) {
                let shown = match node.value {
                    Value::Null => "null".to_string(),
                    _ => node.scalar_text().unwrap_or_default(),
                };
                return Err(Diagnostic::error(
                    node.span(),
                    self.path(),
                    format!("non-string key {shown} (quote it)"),
                ));
            }
        }
        if let Some(Frame::Map {
            entries,
            key: Some(k),
            ..
        }) = self.stack.last()
        {
            if let Some(first) = k.scalar_text().and_then(|n| entries.get(&n)) {
                let at = first.key_span();
                return Err(Diagnostic::error(
                    k.span(),
                    self.path(),
                    format!(
                        "the key '{}' is already defined at {}:{}; a key may appear once in a \
                         mapping",
                        k.scalar_text().unwrap_or_default(),
                        at.line,
                        at.column
                    ),
                ));
            }
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => {
                    *key = Some(node);
                    Ok(())
                }
                Some(k) => {
                    let name = match k.scalar_text() {
                        Some(s) if matches!(k.value, Value::Null) => {
                            let _ = s;
                            "null".to_string()
                        }
                        Some(s) => s,
                        None => {
                            return Err(Diagnostic::error(
                                k.span(),
                                "",
                                "a mapping key must be a scalar",
                            ))
                        }
                    };
                    if name == "<<" && k.tag.is_none() && matches!(k.value, Value::Str(_)) {
                        merges.push(node);
                        return Ok(());
                    }
                    let mut node = node;
                    node.key_at = Some((k.pos.line, k.pos.column));
                    entries.insert(name, node);
                    Ok(())
                }
            },
        }
    }
}

/// `<<: *a` and `<<: [*a, *b]`: keys written in the mapping win, then earlier sources.
fn apply_merges(entries: &mut IndexMap<String, Node>, merges: Vec<Node>) -> Result<(), Diagnostic> {
    for m in merges {
        let sources: Vec<Node> = match m.value {
            Value::Map(_) => vec![m],
            Value::Seq(items) => items,
            _ => {
                return Err(Diagnostic::error(
                    m.pos.span(),
                    "<<",
                    "a merge key (<<) needs a mapping or a list of mappings",
                ))
            }
        };
        for src in sources {
            let span = src.span();
            let Value::Map(map) = src.value else {
                return Err(Diagnostic::error(
                    span,
                    "<<",
                    "a merge key (<<) needs a mapping or a list of mappings",
                ));
            };
            for (k, v) in map {
                entries.entry(k).or_insert(v);
            }
        }
    }
    Ok(())
}

fn scalar_value(text: String, style: TScalarStyle, tag: &Option<Tag>) -> Value {
    if let Some(t) = tag {
        if t.handle == "tag:yaml.org,2002:" {
            return match t.suffix.as_str() {
                "str" => Value::Str(text),
                "null" => Value::Null,
                "bool" | "int" | "float" => resolve_plain(text),
                _ => Value::Str(text),
            };
        }
    }
    match style {
        TScalarStyle::Plain => resolve_plain(text),
        _ => Value::Str(text),
    }
}

/// go-yaml v3's resolution of a plain scalar.
pub fn resolve_plain(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(text);
    }
    let plain = text.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return Value::Int(i);
    }
    // go-yaml v3 keeps integers up to u64::MAX exact; our Int is i64, so the digits stay text.
    if !plain.starts_with('0')
        && plain.bytes().all(|b| b.is_ascii_digit())
        && plain.parse::<u64>().is_ok()
    {
        return Value::Str(plain);
    }
    if let Some(t) = timestamp_text(&text) {
        return Value::Str(t);
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text)
}

/// go-yaml v3 reads a plain `2001-12-14`, `2001-12-14T21:59:43.1-05:00` or
/// `2001-12-14 21:59:43` as a time; compose-go then prints it with Go's `Time.String()`
/// (`2001-12-14 00:00:00 +0000 UTC`). That text is what docker compose puts in the value.
fn timestamp_text(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    let year = digits(s, &mut i, 4, 4)?;
    let (month, day, mut hms, mut frac, mut zone) = {
        if b.get(i) != Some(&b'-') {
            return None;
        }
        i += 1;
        let m = digits(s, &mut i, 1, 2)?;
        if b.get(i) != Some(&b'-') {
            return None;
        }
        i += 1;
        let d = digits(s, &mut i, 1, 2)?;
        (m, d, (0, 0, 0), String::new(), None::<i32>)
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if i < b.len() {
        let sep = b[i];
        if !matches!(sep, b'T' | b't' | b' ') {
            return None;
        }
        i += 1;
        let h = digits(s, &mut i, 1, 2)?;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let mi = digits(s, &mut i, 1, 2)?;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let se = digits(s, &mut i, 1, 2)?;
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        hms = (h, mi, se);
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() && i - start < 9 {
                i += 1;
            }
            if i == start {
                return None;
            }
            frac = s[start..i].trim_end_matches('0').to_string();
        }
        if sep != b' ' && i < b.len() {
            match b[i] {
                b'Z' => {
                    zone = Some(0);
                    i += 1;
                }
                b'+' | b'-' => {
                    let sign = if b[i] == b'-' { -1 } else { 1 };
                    i += 1;
                    let zh = digits(s, &mut i, 2, 2)?;
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i += 1;
                    let zm = digits(s, &mut i, 2, 2)?;
                    zone = Some(sign * (zh as i32 * 60 + zm as i32));
                }
                _ => return None,
            }
        }
        if i != b.len() {
            return None;
        }
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    let zone = match zone {
        None | Some(0) => "+0000 UTC".to_string(),
        Some(z) => {
            let off = format!(
                "{}{:02}{:02}",
                if z < 0 { '-' } else { '+' },
                z.abs() / 60,
                z.abs() % 60
            );
            format!("{off} {off}")
        }
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}{frac} {zone}",
        hms.0, hms.1, hms.2
    ))
}

/// `min..=max` ASCII digits at `*i`, as a number; advances `*i`.
fn digits(s: &str, i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let b = s.as_bytes();
    let start = *i;
    while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
        *i += 1;
    }
    if *i - start < min {
        return None;
    }
    s[start..*i].parse().ok()
}

/// `strconv.ParseInt(s, 0, 64)`: `0x`, `0o`, `0b` prefixes and a leading `0` for octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn is_yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == f {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        parse_str(s, Path::new("c.yaml")).unwrap()
    }

    #[test]
    fn plain_scalars_are_typed_like_go_yaml_v3() {
        let n = p("a: 0400\nb: 0o400\nc: yes\nd: on\ne: 1.50\nf: ~\ng:\nh: '0400'\ni: 0x1F\nj: 1_000\nk: 08\n");
        let v = |k: &str| n.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Int(256));
        assert_eq!(v("b"), Value::Int(256));
        assert_eq!(v("c"), Value::Str("yes".into()));
        assert_eq!(v("d"), Value::Str("on".into()));
        assert_eq!(v("e"), Value::Float(1.5));
        assert_eq!(v("f"), Value::Null);
        assert_eq!(v("g"), Value::Null);
        assert_eq!(v("h"), Value::Str("0400".into()));
        assert_eq!(v("i"), Value::Int(31));
        assert_eq!(v("j"), Value::Int(1000));
        assert_eq!(v("k"), Value::Float(8.0));
        // Checked against docker compose 2.26.
        let n = p("a: 2001-12-14\nb: 2001-12-14T21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10 -5\nd: 2002-12-14T10:00:00Z\ne: 12345678901234567890\nf: 18446744073709551616\n");
        let v = |k: &str| n.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Str("2001-12-14 00:00:00 +0000 UTC".into()));
        assert_eq!(
            v("b"),
            Value::Str("2001-12-14 21:59:43.1 -0500 -0500".into())
        );
        assert_eq!(v("c"), Value::Str("2001-12-14 21:59:43.10 -5".into()));
        assert_eq!(v("d"), Value::Str("2002-12-14 10:00:00 +0000 UTC".into()));
        assert_eq!(v("e"), Value::Str("12345678901234567890".into()));
        assert_eq!(v("f"), Value::Float(18446744073709551616.0));
    }

    #[test]
    fn positions_and_tags_are_kept() {
        let n = p("services:\n  web:\n    ports: !reset []\n");
        let ports = n
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .get("ports")
            .unwrap();
        assert_eq!(ports.tag.as_deref(), Some("!reset"));
        assert_eq!((ports.pos.line, ports.pos.column), (3, 19));
    }

    #[test]
    fn merge_keys_explicit_wins_then_first_source() {
        let n = p("x: &a {p: 1, q: 1}\ny: &b {q: 2, r: 2}\nz:\n  <<: [*a, *b]\n  p: 9\n");
        let z = n.get("z").unwrap();
        assert_eq!(z.get("p").unwrap().value, Value::Int(9));
        assert_eq!(z.get("q").unwrap().value, Value::Int(1));
        assert_eq!(z.get("r").unwrap().value, Value::Int(2));
    }

    #[test]
    fn syntax_error_names_file_line_column() {
        // An unclosed `[` is reported at the end of the line that opened it.
        let e = parse_str("services:\n  web: [a\n", Path::new("c.yaml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("c.yaml:2:10:"), "{s}");
        assert!(
            s.contains("YAML syntax error") && s.contains("missing ']'"),
            "{s}"
        );
        // Elsewhere, where the parser stopped.
        let e = parse_str("a: b\n  c: d\n", Path::new("c.yaml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("c.yaml:2:"), "{s}");
        assert!(s.contains("YAML syntax error"), "{s}");
    }

    #[test]
    fn flow_sequence_closed_at_key_indentation_is_accepted_like_go_yaml() {
        let n = p("healthcheck:\n  test: [\n      \"CMD\",\n      \"x\"\n  ]\n  interval: 30s\n");
        let h = n.get("healthcheck").unwrap();
        assert_eq!(h.get("test").unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(h.get("interval").unwrap().pos.line, 6);
    }

    #[test]
    fn aliases_cannot_nest_deeper_than_the_limit() {
        let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(120), "]".repeat(120));
        let mut text = format!("a0: &a0 {}\n", nest("1"));
        for k in 1..5 {
            text.push_str(&format!("a{k}: &a{k} {}\n", nest(&format!("*a{}", k - 1))));
        }
        let e = parse_str(&text, Path::new("c.yaml")).unwrap_err();
        assert!(
            e.to_string().contains("aliases nest deeper than 256"),
            "{e}"
        );
        assert!(e.to_string().starts_with("c.yaml:3:"), "{e}");
        // Within the limit, an alias of a nested anchor is fine.
        let ok = format!("a: &a {}\nb: [*a]\n", nest("1"));
        assert!(parse_str(&ok, Path::new("c.yaml")).is_ok());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            s.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let e = parse_str(&s, Path::new("bomb.yaml")).unwrap_err();
        assert!(e.to_string().contains("alias-expansion bomb"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Block mappings: yaml-rust2 itself stops deep flow collections ("recursion limit").
        let text: String = (0..300)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let e = parse_str(&text, Path::new("deep.yaml")).unwrap_err();
        assert!(
            e.to_string().contains("nested deeper than 256 levels"),
            "{e}"
        );
        let flow = format!("a: {}{}\n", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_str(&flow, Path::new("deep.yaml")).is_err());
    }

    #[test]
    fn non_string_keys_are_refused_like_compose_go() {
        let e = parse_str(
            "services:\n  s:\n    environment:\n      1: a\n",
            Path::new("c.yaml"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.yaml:4:7: error: services.s.environment: non-string key 1 (quote it)"
        );
        assert!(parse_str("a:\n  \"1\": x\n  yes: y\n", Path::new("c.yaml")).is_ok());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse_str("a: 1\na: 2\n", Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().contains("'a' is already defined"), "{e}");
    }
}
