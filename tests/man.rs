//! Keeps `man/release-tool.1` in sync with the program. Its per-command option lists are
//! generated from `cli::COMMANDS`/`cli::FLAGS` (the table `--help` and the completions come from):
//! the page must hold exactly what `cli::man::options_by_command` renders
//! (`RELEASE_TOOL_BLESS_MAN=1` rewrites it). Every command, every option, every exit code of
//! `commands::exit::ALL` and every environment variable the sources read must be documented, and
//! the page, rendered by groff and `man -l`, must show each command with each of its options.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use release_tool::cli::{man as cli_man, COMMANDS, FLAGS};
use release_tool::commands::exit;

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

/// Every command name, from the table.
fn commands() -> Vec<String> {
    COMMANDS.iter().map(|c| c.name.to_owned()).collect()
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
    let commands = commands();
    let missing: Vec<_> = commands
        .iter()
        .filter(|c| !documented.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "commands in cli::COMMANDS without an entry under COMMANDS in man/release-tool.1: \
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
    let mut flags: BTreeSet<String> = FLAGS.iter().map(|f| format!("--{}", f.name)).collect();
    flags.extend(["--help".to_owned(), "--version".to_owned()]);
    flags.extend(
        release_tool::cli::GLOBAL_SWITCHES
            .iter()
            .map(|(_, l, _)| format!("--{l}")),
    );
    let missing: Vec<_> = flags.iter().filter(|f| !documented.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "options in cli::FLAGS without an entry under OPTIONS in man/release-tool.1: {missing:?}"
    );
    // And the reverse: the page documents no option the program refuses.
    let stale: Vec<_> = documented
        .iter()
        .filter(|f| f.starts_with("--") && !flags.contains(*f))
        .collect();
    assert!(
        stale.is_empty(),
        "OPTIONS documents options cli::FLAGS does not have: {stale:?}"
    );
}

#[test]
fn the_options_by_command_are_generated_from_the_table() {
    let path = root().join("man/release-tool.1");
    let page = read("man/release-tool.1");
    let region = cli_man::options_by_command();
    let Some(regenerated) = cli_man::replace_region(&page, &region) else {
        panic!(
            "man/release-tool.1 has no generated region (a line starting {:?})",
            cli_man::BEGIN
        );
    };
    if regenerated == page {
        return;
    }
    if std::env::var("RELEASE_TOOL_BLESS_MAN").as_deref() == Ok("1") {
        std::fs::write(&path, regenerated).expect("rewrite man/release-tool.1");
        return;
    }
    panic!(
        "man/release-tool.1's options by command differ from src/cli.rs (COMMANDS, FLAGS); \
         RELEASE_TOOL_BLESS_MAN=1 cargo test --test man rewrites them"
    );
}

#[test]
fn every_exit_code_is_documented() {
    let man = man_source();
    let lines = section(&man, "EXIT STATUS");
    let documented = tags(&lines);
    let text = lines.join("\n");
    let codes = exit::ALL;
    for (name, value) in codes {
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
        // `bin(VAR, default)`: runtime.rs's lookup of the podman and systemctl binaries.
        for needle in [
            "env_path",
            "var",
            "var_os",
            "env::var",
            "env::var_os",
            "bin",
        ] {
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
    // Each command has its subsection under OPTIONS BY COMMAND (a heading indented 3 columns),
    // listing every option it takes.
    let rendered: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim_end() != cli_man::SECTION)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect();
    assert!(
        !rendered.is_empty(),
        "no {} section in:\n{text}",
        cli_man::SECTION
    );
    let is_heading = |l: &str| l.starts_with("   ") && !l.starts_with("    ");
    for c in COMMANDS {
        let start = rendered
            .iter()
            .position(|l| is_heading(l) && l.trim().split(' ').next() == Some(c.name))
            .unwrap_or_else(|| panic!("the rendered page has no subsection for {}", c.name));
        let body: Vec<&str> = rendered[start + 1..]
            .iter()
            .take_while(|l| !is_heading(l))
            .copied()
            .collect();
        let shown = long_flags_in(&body.join("\n").replace(['\u{2010}', '\u{2212}'], "-"));
        for f in c.options() {
            assert!(
                shown.contains(&format!("--{}", f.name)),
                "the rendered subsection of {} does not show --{}:\n{}",
                c.name,
                f.name,
                body.join("\n")
            );
        }
        assert!(shown.contains("--help"), "{}: no --help", c.name);
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
        cli_man::SECTION,
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
