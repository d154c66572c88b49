//! `-q` and `-v` (issue 8): a command says what it did in one line on stderr, `-q` silences that
//! line but not warnings or errors, `-v` adds detail; stdout stays for data. Every command's help
//! lists both switches.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args(args)
        .env_remove("RELEASE_TOOL_REPO")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn examples() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .display()
        .to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn generate_units_says_what_it_wrote_unless_quiet() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let repo = examples();
    // A version, so no podman is asked.
    let base = [
        "generate-units",
        "--podman-version",
        "5.4",
        "--repo",
        &repo,
        "--output-dir",
        &dir,
    ];
    let r = tool(&base);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let err = text(&r.stderr);
    let written = std::fs::read_dir(out.path()).unwrap().count();
    let summary = format!("release-tool: wrote {written} unit(s) of 2 stack(s) to {dir}\n");
    assert!(err.ends_with(&summary), "{err} ({written} files written)");
    assert_eq!(text(&r.stdout), "", "stdout stays free for scripts");

    for q in ["-q", "--quiet"] {
        let r = tool(&[&base[..], &[q]].concat());
        assert!(r.status.success());
        assert_eq!(text(&r.stderr), "", "{q} prints nothing when all is well");
    }
    let r = tool(&[&base[..], &["-v"]].concat());
    assert!(r.status.success() && text(&r.stderr).contains(&summary));
}

#[test]
fn quiet_keeps_errors() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let r = tool(&[
        "generate-units",
        "-q",
        "--repo",
        "/nonexistent-repo",
        "--output-dir",
        &dir,
    ]);
    assert!(!r.status.success());
    assert!(
        text(&r.stderr).contains("/nonexistent-repo"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn quiet_and_verbose_together_are_refused() {
    let r = tool(&["config", "-q", "-v", "--repo", &examples()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("--quiet and --verbose"));
    assert_eq!(text(&r.stdout), "");
}

#[test]
fn every_commands_help_lists_quiet_and_verbose() {
    for c in release_tool::cli::COMMANDS {
        let r = Command::new(env!("CARGO_BIN_EXE_release-tool"))
            .args([c.name, "--help"])
            .output()
            .unwrap();
        let help = text(&r.stdout);
        assert!(
            help.contains("-q, --quiet") && help.contains("-v, --verbose"),
            "{}: {help}",
            c.name
        );
    }
}
