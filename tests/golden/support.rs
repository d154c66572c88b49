//! Shared by the translate/quadlet/hostile tests: loading a stack, running the real quadlet,
//! and splitting the `ExecStart=` it prints the way systemd does.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use release_tool::compose::LoadedStack;
use release_tool::translate::{render_stack, PodmanVersion, RenderOptions, RenderedStack};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn lab_required() -> bool {
    std::env::var("RELEASE_TOOL_REQUIRE_LAB").is_ok_and(|v| v == "1")
}

/// `None` (after printing `skipped:`) when the binary is missing and the lab is not required.
pub fn find_binary(test: &str, env_var: &str, standard: &[&str]) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os(env_var)
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.extend(standard.iter().map(PathBuf::from));
    if let Some(p) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(p);
    }
    let why = format!("{env_var} is not set and none of {standard:?} exists");
    if lab_required() {
        panic!("{test}: required (RELEASE_TOOL_REQUIRE_LAB=1) but {why}");
    }
    eprintln!("skipped: {test}: {why}");
    None
}

pub fn quadlet(test: &str) -> Option<PathBuf> {
    find_binary(
        test,
        "QUADLET",
        &[
            "/usr/local/libexec/podman/quadlet",
            "/usr/libexec/podman/quadlet",
            "/usr/lib/podman/quadlet",
        ],
    )
}

/// Parses a dotenv file of plain `KEY=value` lines (enough for the test inputs' values.env).
pub fn read_vars(path: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// The global variables of a values file, read by the loader's dotenv rules.
pub fn global_vars(values: &Path) -> Vec<(String, String)> {
    if !values.is_file() {
        return Vec::new();
    }
    release_tool::compose::load_global_vars(Some(values), None)
        .unwrap_or_else(|e| panic!("{}: {e}", values.display()))
        .into_iter()
        .collect()
}

/// Loads a stack with the project's loader: the stack directory as `generate-units` does when
/// `files` is empty, else those files as one project (`-f` list).
pub fn load(
    name: &str,
    dir: &Path,
    files: &[PathBuf],
    vars: &[(String, String)],
) -> Result<LoadedStack, String> {
    let opts = release_tool::compose::LoadOptions {
        global_vars: vars.iter().cloned().collect(),
        home: None,
        display_dir: None,
        strict: false,
    };
    let r = if files.is_empty() {
        release_tool::compose::load_stack(
            &release_tool::compose::StackRef {
                name: name.to_string(),
                dir: dir.to_path_buf(),
            },
            &opts,
        )
    } else {
        release_tool::compose::load_files(dir, files, None, &opts).map(|mut s| {
            s.name = name.to_string();
            s
        })
    };
    r.map_err(|e| e.to_string())
}

pub fn opts(v: PodmanVersion) -> RenderOptions {
    RenderOptions {
        podman_version: v,
        strict: false,
    }
}

pub const V5_4: PodmanVersion = PodmanVersion { major: 5, minor: 4 };

pub fn render(stack: &LoadedStack, v: PodmanVersion) -> Result<RenderedStack, String> {
    render_stack(stack, &opts(v)).map_err(|d| {
        d.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Writes units into `dir`.
pub fn write_units(dir: &Path, r: &RenderedStack) {
    for u in &r.units {
        std::fs::write(dir.join(&u.file_name), &u.contents).unwrap();
    }
}

pub struct DryRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `QUADLET_UNIT_DIRS=dir quadlet -dryrun -user`.
pub fn quadlet_dryrun(quadlet: &Path, dir: &Path) -> DryRun {
    let out = Command::new(quadlet)
        .env_clear()
        .env("QUADLET_UNIT_DIRS", dir)
        .env("PATH", "/usr/bin:/bin")
        .args(["-dryrun", "-user"])
        .output()
        .expect("run quadlet");
    DryRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Lines of quadlet's stderr that are more than its "Loading source unit file" progress notes.
pub fn quadlet_complaints(d: &DryRun) -> Vec<String> {
    d.stderr
        .lines()
        .filter(|l| !l.contains("Loading source unit file"))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The generated services: `name.service` → its text.
pub fn services(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("---").and_then(|l| l.strip_suffix("---")) {
            if let Some((n, t)) = cur.take() {
                out.insert(n, t);
            }
            cur = Some((name.to_string(), String::new()));
        } else if let Some((_, t)) = cur.as_mut() {
            t.push_str(line);
            t.push('\n');
        }
    }
    if let Some((n, t)) = cur {
        out.insert(n, t);
    }
    out
}

/// The value of the last `key=` line of a unit text.
pub fn key_value(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// Splits an exec line as systemd does: specifiers first (`%%` → `%`, any other `%X` → `<%X>`
/// so an unescaped one shows), then words with quotes and C escapes, then `$$` → `$` per word
/// (an unescaped `$NAME` shows as `<$NAME>`).
pub fn systemd_exec_argv(line: &str) -> Vec<String> {
    let mut spec = String::new();
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') => spec.push('%'),
                Some(x) => spec.push_str(&format!("<%{x}>")),
                None => spec.push_str("<%>"),
            }
        } else {
            spec.push(c);
        }
    }
    let chars: Vec<char> = spec.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut w = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    i += 1;
                    let e = chars.get(i).copied().unwrap_or('\\');
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
                            let h: String = chars[i + 1..i + 3].iter().collect();
                            w.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
                            i += 2;
                        }
                        'u' => {
                            let h: String = chars[i + 1..i + 5].iter().collect();
                            w.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
                            i += 4;
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
        words.push(w);
    }
    words
        .into_iter()
        .map(|w| unescape_exec_dollars(&w))
        .collect()
}

fn unescape_exec_dollars(w: &str) -> String {
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
            Some(n) if n.is_ascii_alphabetic() || *n == '_' || *n == '{' => out.push_str("<$VAR>"),
            _ => out.push('$'),
        }
    }
    out
}

/// The `podman run` argv quadlet generated for `service` (`web-api.service`).
pub fn run_argv(stdout: &str, service: &str) -> Vec<String> {
    let units = services(stdout);
    let unit = units
        .get(service)
        .unwrap_or_else(|| panic!("{service} not generated:\n{stdout}"));
    let line = key_value(unit, "ExecStart").expect("ExecStart=");
    systemd_exec_argv(&line)
}
