//! How systemd reads what Quadlet generated, modelled closely enough to catch every way a value
//! can turn into something else: an exec line is split into commands at a lone unquoted `;`
//! (systemd's command separator), each word unquoted and C-unescaped, then `%` specifiers and
//! `$` variables resolved per word. A specifier or variable that our value did not mean shows as
//! `<%X>` / `<$>`, so it can never compare equal to the value. `verify` asks the real systemd.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

/// The commands of one exec line (`ExecStart=` value), each an argv.
pub fn exec_commands(line: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = line.chars().collect();
    let mut cmds = vec![Vec::new()];
    let mut i = 0;
    let ws = |c: char| " \t\n\r".contains(c);
    loop {
        while i < chars.len() && ws(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let at_end = |j: usize| j >= chars.len() || ws(chars[j]);
        if chars[i] == ';' && at_end(i + 1) {
            cmds.push(Vec::new());
            i += 1;
            continue;
        }
        if chars[i] == '\\' && chars.get(i + 1) == Some(&';') && at_end(i + 2) {
            cmds.last_mut().unwrap().push(";".to_string());
            i += 2;
            continue;
        }
        let (w, next) = word(&chars, i);
        cmds.last_mut().unwrap().push(resolve(&w));
        i = next;
    }
    cmds
}

/// One word from `i`: quotes removed, C escapes applied (systemd's extract_first_word with
/// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE).
fn word(chars: &[char], mut i: usize) -> (String, usize) {
    let mut w = String::new();
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, c) if " \t\n\r".contains(c) => break,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                i += 1;
                let e = chars.get(i).copied().unwrap_or('\\');
                let hex = |from: usize, n: usize| -> char {
                    let h: String = chars[from..from + n].iter().collect();
                    char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap()
                };
                match e {
                    'n' => w.push('\n'),
                    't' => w.push('\t'),
                    'r' => w.push('\r'),
                    'a' => w.push('\x07'),
                    'b' => w.push('\x08'),
                    'f' => w.push('\x0c'),
                    'v' => w.push('\x0b'),
                    's' => w.push(' '),
                    'x' => {
                        let b = u32::from_str_radix(
                            &chars[i + 1..i + 3].iter().collect::<String>(),
                            16,
                        )
                        .unwrap();
                        // systemd copies a \xNN byte as is: above 0x7f it is not a character.
                        if b > 0x7f {
                            w.push_str(&format!("<byte {b:02x}>"));
                        } else {
                            w.push(char::from_u32(b).unwrap());
                        }
                        i += 2;
                    }
                    'u' => {
                        w.push(hex(i + 1, 4));
                        i += 4;
                    }
                    'U' => {
                        w.push(hex(i + 1, 8));
                        i += 8;
                    }
                    '0'..='7' => {
                        let h: String = chars[i..i + 3].iter().collect();
                        w.push(char::from_u32(u32::from_str_radix(&h, 8).unwrap()).unwrap());
                        i += 2;
                    }
                    other => w.push(other),
                }
            }
            (_, c) => w.push(c),
        }
        i += 1;
    }
    (w, i)
}

/// Specifiers, then `$` variables (`$$` is a literal `$`).
fn resolve(w: &str) -> String {
    let w = specifiers(w);
    let mut out = String::new();
    let mut it = w.chars().peekable();
    while let Some(c) = it.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('$') => {
                it.next();
                out.push('$');
            }
            Some(n) if n.is_ascii_alphabetic() || *n == '_' || *n == '{' => out.push_str("<$>"),
            _ => out.push('$'),
        }
    }
    out
}

/// `%%` → `%`; any other `%X` → `<%X>`.
pub fn specifiers(w: &str) -> String {
    let mut out = String::new();
    let mut it = w.chars();
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') => out.push('%'),
                Some(x) => out.push_str(&format!("<%{x}>")),
                None => out.push_str("<%>"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A `--mount` value as Go's encoding/csv reads it (one record), the first `type=` moved first,
/// which is how Quadlet re-encodes it.
pub fn csv_tokens(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let mut f = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        f.push('"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                f.push(chars[i]);
                i += 1;
            }
        }
        while i < chars.len() && chars[i] != ',' {
            f.push(chars[i]);
            i += 1;
        }
        out.push(f);
        if i >= chars.len() {
            break;
        }
        i += 1;
    }
    if let Some(t) = out.iter().position(|t| t.starts_with("type=")) {
        let t = out.remove(t);
        out.insert(0, t);
    }
    out
}

/// Real systemd's reading of the generated services: `systemd-analyze verify` loads them the
/// way the manager does (exec lines split into commands, specifiers resolved) without running
/// anything, and names each service it has a complaint about.
pub fn verify(
    tool: &Path,
    services: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<(usize, String)>> {
    let mut out = BTreeMap::new();
    if services.is_empty() {
        return out;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text) in services {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let o = std::process::Command::new(tool)
        .args(["verify", "--man=no", "--generators=no"])
        .args(&files)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze");
    let text =
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    for line in text.lines() {
        if let Some(name) = services.keys().find(|n| line.contains(n.as_str())) {
            // `/dir/NAME:LINE: message`
            let at = line
                .split_once(&format!("{name}:"))
                .and_then(|(_, rest)| rest.split_once(':'))
                .and_then(|(n, _)| n.parse().ok())
                .unwrap_or(0);
            out.entry(name.clone())
                .or_insert_with(Vec::new)
                .push((at, line.to_string()));
        }
    }
    out
}
