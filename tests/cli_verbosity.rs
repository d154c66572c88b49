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

/// The examples' units, rendered for Podman 5.4 into `dir`.
fn example_units(dir: &Path) {
    let r = tool(&[
        "generate-units",
        "-q",
        "--podman-version",
        "5.4",
        "--repo",
        &examples(),
        "--output-dir",
        &dir.display().to_string(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
}

/// A podman stand-in whose pulls succeed (after a moment) and whose images have one digest.
fn fake_podman(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("podman");
    std::fs::write(
        &p,
        "#!/bin/sh\ncase \"$1\" in\n  pull) sleep 0.5 ;;\n  image) echo 'sha256:0123456789abcdef 42' ;;\n  --version) echo 'podman version 5.4.0' ;;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// `pull-images` of the examples' units with the stand-in podman; `tty`: under `script`, with a
/// terminal for stdout and stderr. Returns what the terminal (or stderr and stdout) showed.
fn pull_images(tty: bool) -> (String, String) {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    example_units(&units);
    let bin = env!("CARGO_BIN_EXE_release-tool");
    let line = format!(
        "{bin} pull-images --units-dir {} --affected-services 'web worker'",
        units.display()
    );
    let mut cmd = if tty {
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &line]);
        c
    };
    let o = cmd
        .env("RELEASE_TOOL_PODMAN", fake_podman(t.path()))
        .env_remove("INVOCATION_ID")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    (text(&o.stdout), text(&o.stderr))
}

#[test]
fn a_terminal_shows_the_step_on_a_spinner_line_and_keeps_the_data() {
    if Command::new("script").arg("--version").output().is_err() {
        // util-linux's script(1) gives the command a terminal; CI installs it (ci/test-packages).
        assert!(
            std::env::var_os("RELEASE_TOOL_REQUIRE_LAB").is_none(),
            "script(1) is missing"
        );
        eprintln!("skipped: script(1) is missing");
        return;
    }
    let (screen, _) = pull_images(true);
    let clear = "\x1b[2K";
    assert!(
        screen.contains("pulling 1 images") && screen.contains(clear),
        "a spinner line: {screen:?}"
    );
    // Log lines print above it, and the data line comes after its last redraw, not erased by it.
    assert!(screen.contains("release-tool: pulled "), "{screen:?}");
    let after = screen.rsplit(clear).next().unwrap();
    assert!(
        after.contains("lab/busybox:1 sha256:0123456789abcdef"),
        "the data is not cleared away: {after:?}"
    );

    // Not a terminal: plain lines, no control sequences; data alone on stdout.
    let (out, err) = pull_images(false);
    assert!(!err.contains('\x1b') && !out.contains('\x1b'), "{err:?}");
    assert!(err.contains("release-tool: pulled "), "{err}");
    assert!(out.trim_end().ends_with("sha256:0123456789abcdef"), "{out}");
}

#[test]
fn verbose_shows_each_command_run_and_quiet_none() {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    let podman = fake_podman(t.path());
    example_units(&units);
    let run = |flag: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_release-tool"))
            .args(["pull-images", flag, "--units-dir"])
            .arg(&units)
            .args(["--affected-services", "web"])
            .env("RELEASE_TOOL_PODMAN", &podman)
            .env_remove("JOURNAL_STREAM")
            .output()
            .unwrap();
        assert!(o.status.success());
        text(&o.stderr)
    };
    let verbose = run("-v");
    assert!(
        verbose.contains("release-tool: debug: ran ") && verbose.contains(" pull --quiet "),
        "{verbose}"
    );
    let quiet = run("-q");
    assert_eq!(quiet, "", "-q: nothing when all is well");
    let normal = run("--jobs=1");
    assert!(
        normal.contains("release-tool: pulled ") && !normal.contains("debug:"),
        "{normal}"
    );
}

/// The binary refuses, with exit 2 and before doing anything, what the typed command line refuses:
/// a word a command does not take, an option it does not take, a value it does not know.
#[test]
fn usage_errors_exit_2_naming_the_command_and_doing_nothing() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("never-made");
    let dir = dir.display().to_string();
    for (argv, says) in [
        (
            &["history", "--state-dir", &dir, "now"][..],
            "unexpected argument 'now'",
        ),
        (
            &["rollback", "--state-dir", &dir, "two"],
            "'two' is not a generation number",
        ),
        (
            &["manage-services", "reboot", "--state-dir", &dir],
            "'restart' or 'status'",
        ),
        (&["completions", "tcsh"], "bash, zsh or fish"),
        (
            &["prune", "--state-dir", &dir, "--jobs", "3"],
            "--jobs is not an option",
        ),
        (
            &["history", "--state-dir", &dir, "--format", "bogus"],
            "--format bogus",
        ),
        (&["deploy", "--timeout", "soon"], "soon"),
    ] {
        let r = tool(argv);
        assert_eq!(r.status.code(), Some(2), "{argv:?}: {}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains(says),
            "{argv:?}: {}",
            text(&r.stderr)
        );
        assert_eq!(text(&r.stdout), "", "{argv:?}");
    }
    assert!(!state.path().join("never-made").exists());
}
