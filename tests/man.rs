//! Keeps `man/release-tool.1` in sync with the program: every command and flag of `cli::USAGE`,
//! every long flag `cli::parse` accepts, every exit code of `commands::exit` and every environment
//! variable the sources read must be documented, and the page must render without warnings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use release_tool::cli::USAGE;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The man page source with roff escapes for `-` undone, so `\-\-repo` reads `--repo`.
fn man_source() -> String {
    read("man/release-tool.1").replace("\\-", "-")
}

/// The lines of one `.SH NAME` section (up to the next `.SH`).
fn section<'a>(man: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!(".SH {name}");
    man.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.starts_with(".SH "))
        .collect()
}

/// The first word of each tag line of a `.TP` list: the line right after `.TP`, without its
/// font macro (`.B deploy`, `.BI --repo " DIR"`, `.BR rollback " [GEN]"`), plus any other
/// `--flag` in it.
fn tags(lines: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for w in lines.windows(2) {
        if w[0].trim() == ".TP" {
            let mut words = w[1].split_whitespace();
            let first = words.next().unwrap_or("");
            let word = if first.starts_with('.') {
                words.next().unwrap_or("")
            } else {
                first
            };
            out.insert(word.trim_matches('"').trim_end_matches(',').to_owned());
            // `.BR -h ", " --help`: every flag named in the tag counts.
            out.extend(long_flags_in(w[1]));
        }
    }
    out
}

/// Command names listed under `Commands:` in USAGE.
fn usage_commands() -> Vec<String> {
    USAGE
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Every `--flag` token in a text.
fn long_flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find("--") {
        let start = i + off;
        let before_ok = start == 0 || !(bytes[start - 1] as char).is_ascii_alphanumeric();
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
            end += 1;
        }
        let name = &text[start..end];
        if before_ok && name.len() > 2 && !name.ends_with('-') {
            out.insert(name.to_owned());
        }
        i = end.max(start + 2);
    }
    out
}

/// The string arguments of `needle("...")` calls in a source text.
fn call_args(src: &str, needle: &str) -> BTreeSet<String> {
    let pat = format!("{needle}(\"");
    src.match_indices(&pat)
        .filter_map(|(at, _)| {
            let rest = &src[at + pat.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

/// `(NAME, value)` of every `pub const NAME: u8 = N;` in `commands::exit`.
fn exit_codes() -> Vec<(String, u8)> {
    let src = read("src/commands/mod.rs");
    let body = src
        .split("pub mod exit")
        .nth(1)
        .expect("src/commands/mod.rs has `pub mod exit`");
    let body = &body[..body.find("\n}").expect("end of mod exit")];
    body.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("pub const ")?;
            let (name, rest) = l.split_once(':')?;
            let value = rest.split('=').nth(1)?.trim().trim_end_matches(';');
            Some((name.trim().to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_command_has_an_entry() {
    let man = man_source();
    let documented = tags(&section(&man, "COMMANDS"));
    let commands = usage_commands();
    assert!(commands.len() >= 10, "USAGE lists commands: {commands:?}");
    let missing: Vec<_> = commands
        .iter()
        .filter(|c| !documented.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "commands in cli::USAGE without an entry under COMMANDS in man/release-tool.1: \
         {missing:?} (documented: {documented:?})"
    );
    // Both manage-services sub-commands are described.
    for sub in ["manage-services restart", "manage-services status"] {
        assert!(
            man.contains(&format!(".B {sub}")),
            "man page lacks an entry for `{sub}`"
        );
    }
}

#[test]
fn every_flag_has_an_entry() {
    let man = man_source();
    let documented = tags(&section(&man, "OPTIONS"));
    let mut flags = long_flags_in(USAGE);
    let parsed = call_args(&read("src/cli.rs"), "Long");
    assert!(
        parsed.len() >= 20,
        "found the Long(\"...\") arms of cli::parse: {parsed:?}"
    );
    flags.extend(parsed.iter().map(|f| format!("--{f}")));
    let missing: Vec<_> = flags.iter().filter(|f| !documented.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "flags accepted by release-tool without an entry under OPTIONS in man/release-tool.1: \
         {missing:?}"
    );
    // And the reverse: the page documents no flag the program refuses.
    let accepted: BTreeSet<String> = parsed.iter().map(|f| format!("--{f}")).collect();
    let stale: Vec<_> = documented
        .iter()
        .filter(|f| f.starts_with("--") && !accepted.contains(*f))
        .collect();
    assert!(
        stale.is_empty(),
        "OPTIONS documents flags cli::parse does not accept: {stale:?}"
    );
}

#[test]
fn every_exit_code_is_documented() {
    let man = man_source();
    let lines = section(&man, "EXIT STATUS");
    let documented = tags(&lines);
    let text = lines.join("\n");
    let codes = exit_codes();
    assert!(codes.len() >= 8, "parsed commands::exit: {codes:?}");
    for (name, value) in &codes {
        assert!(
            documented.contains(&value.to_string()),
            "exit code {value} ({name}) has no entry under EXIT STATUS"
        );
        assert!(
            text.contains(&format!("({name})")) || text.contains(&format!(".RB ( {name} )")),
            "EXIT STATUS does not name the constant {name}"
        );
    }
    let values: BTreeSet<String> = codes.iter().map(|(_, v)| v.to_string()).collect();
    let stale: Vec<_> = documented.difference(&values).collect();
    assert!(
        stale.is_empty(),
        "EXIT STATUS lists codes not in commands::exit: {stale:?}"
    );
}

#[test]
fn every_environment_variable_read_is_documented() {
    let man = man_source();
    let documented = tags(&section(&man, "ENVIRONMENT"));
    let mut files = Vec::new();
    rust_sources(&root().join("src"), &mut files);
    let mut read_vars = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read source");
        for needle in ["env_path", "var", "var_os", "env::var", "env::var_os"] {
            read_vars.extend(
                call_args(&src, needle)
                    .into_iter()
                    .filter(|v| v.chars().all(|c| c.is_ascii_uppercase() || c == '_')),
            );
        }
    }
    assert!(
        read_vars.contains("RELEASE_TOOL_REPO"),
        "scanning src/ for environment reads found {read_vars:?}"
    );
    for required in ["RELEASE_TOOL_QUADLET", "NOTIFY_SOCKET", "XDG_STATE_HOME"] {
        read_vars.insert(required.to_owned());
    }
    let missing: Vec<_> = read_vars.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "environment variables read in src/ without an entry under ENVIRONMENT: {missing:?}"
    );
}

#[test]
fn header_names_this_version() {
    let man = read("man/release-tool.1");
    let th = man
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect(".TH line");
    let want = format!("\"release-tool {}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        th.contains(&want),
        "{th} should carry {want} (bump the man page with Cargo.toml)"
    );
}

fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn tool_or_skip(name: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        let why = format!("{name} is not installed (apt-get install groff-base man-db)");
        if std::env::var("RELEASE_TOOL_REQUIRE_LAB").as_deref() == Ok("1") {
            panic!("{why}");
        }
        println!("skipped: {why}");
    }
    found
}

#[test]
fn renders_without_warnings() {
    let Some(groff) = tool_or_skip("groff") else {
        return;
    };
    let page = root().join("man/release-tool.1");
    let out = Command::new(&groff)
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .output()
        .expect("run groff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "groff warns about man/release-tool.1:\n{stderr}"
    );

    let Some(man) = tool_or_skip("man") else {
        return;
    };
    let out = Command::new(man)
        .args(["--warnings", "-E", "UTF-8", "-l"])
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("run man");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "man -l warns about man/release-tool.1:\n{stderr}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for c in usage_commands() {
        assert!(
            text.contains(&c),
            "the rendered page does not show the command {c}"
        );
    }
    for heading in [
        "SYNOPSIS",
        "COMMANDS",
        "OPTIONS",
        "GENERATOR",
        "FILES",
        "ENVIRONMENT",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            text.lines().any(|l| l.trim_end() == heading),
            "no {heading} section"
        );
    }
}

#[test]
fn the_scanners_see_what_they_should() {
    // Guards the helpers above against silently matching nothing.
    assert_eq!(
        long_flags_in("a --repo DIR, -x --vars-json, not--this --"),
        ["--repo", "--vars-json"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let t = tags(&[".TP", ".BI --repo \" DIR\"", "text", ".TP", "plain", "x"]);
    assert!(t.contains("--repo") && t.contains("plain"));
    assert_eq!(
        call_args(r#"Long("repo") => x, Long("wait")"#, "Long"),
        ["repo", "wait"].iter().map(|s| s.to_string()).collect()
    );
}
