//! The operator's commands without a lab (issue 10, 11): a closed pipe ends a printing command
//! quietly, `plan` names the repo it could not find and shows warnings, changed input files,
//! pulls and the longest wait before a rollback.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use release_tool::deploy::manifest::{Manifest, Outcome};
use release_tool::deploy::store::StateStore;

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_release-tool"));
    c.env_remove("RELEASE_TOOL_REPO")
        .env_remove("RELEASE_TOOL_STATE_DIR")
        .stdin(Stdio::null());
    c
}

/// A state directory holding `n` generations.
fn state_with_generations(dir: &Path, n: u64) {
    let store = StateStore::open(dir).unwrap();
    for id in 1..=n {
        let d = store.generation_dir(id);
        fs::create_dir_all(&d).unwrap();
        let m = Manifest {
            id,
            git_rev: Some(format!("{id:040}")),
            created: 1_700_000_000 + id,
            outcome: Outcome::Deployed,
            parent: id.checked_sub(1).filter(|p| *p > 0),
            message: None,
            stacks: Default::default(),
        };
        store.write_manifest(&d, &m).unwrap();
    }
}

#[test]
fn a_closed_pipe_ends_printing_commands_without_a_panic() {
    let t = tempfile::tempdir().unwrap();
    state_with_generations(t.path(), 50);
    let state = t.path().display().to_string();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/services");
    for args in [
        vec!["history", "--state-dir", &state],
        vec!["config", "--services-dir", examples],
        vec!["--help"],
    ] {
        let mut child = tool()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn plan_names_the_repo_it_cannot_find() {
    let home = tempfile::tempdir().unwrap();
    // No --repo, no RELEASE_TOOL_REPO: the units' default, ~/release-tool-repo.
    let out = tool()
        .env("HOME", home.path())
        .args(["plan", "--state-dir"])
        .arg(home.path().join("state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = home.path().join("release-tool-repo");
    assert!(err.contains(&expected.display().to_string()), "{err}");
}

#[test]
fn plan_shows_warnings_changed_files_pulls_and_the_longest_wait() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    fs::create_dir_all(&run).unwrap();
    let stack = t.path().join("repo/services/app");
    fs::create_dir_all(&stack).unwrap();
    fs::write(
        stack.join("compose.yaml"),
        "services:\n  one:\n    image: reg.example/one:1\n    deploy:\n      replicas: 0\n  two:\n    image: reg.example/two:1\n    depends_on: [one]\n",
    )
    .unwrap();
    let out = tool()
        .args([
            "plan",
            "--podman-version",
            "5.4",
            "--timeout",
            "30",
            "--repo",
        ])
        .arg(t.path().join("repo"))
        .arg("--state-dir")
        .arg(t.path().join("state"))
        // The scratch snapshot goes there, and is gone afterwards.
        .env("XDG_RUNTIME_DIR", &run)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read_dir(&run).unwrap().count(), 0, "{run:?}");
    // Warnings name the checkout's files, not the scratch copy's.
    assert!(!text.contains("release-tool-plan-"), "{text}");
    assert!(
        text.contains("warning: stack app:") && text.contains("replicas"),
        "{text}"
    );
    assert!(text.contains("  added services/app/compose.yaml"), "{text}");
    assert!(text.contains("pulls: 2 image(s)"), "{text}");
    assert!(
        text.contains("  reg.example/one:1\n  reg.example/two:1\n"),
        "{text}"
    );
    assert!(
        text.contains("2 restart level(s) x 30s (--timeout) = 60s"),
        "{text}"
    );
}

/// A command pointed at a directory that is not there says which, once, and does nothing
/// (deploy, determine-changes and pull-images used to run on nothing and exit 0).
#[test]
fn a_missing_directory_is_named_once_and_nothing_runs() {
    let t = tempfile::tempdir().unwrap();
    let gone = t.path().join("gone");
    let g = gone.display().to_string();
    let state = t.path().join("state");
    let s = state.display().to_string();
    for (args, named) in [
        (vec!["deploy", "--repo", &g, "--state-dir", &s], g.clone()),
        (vec!["plan", "--repo", &g, "--state-dir", &s], g.clone()),
        (
            vec!["determine-changes", "--repo", &g, "--changed-files", "a"],
            format!("{g}/services"),
        ),
        (
            vec![
                "pull-images",
                "--affected-services",
                "web",
                "--units-dir",
                &g,
            ],
            g.clone(),
        ),
        (
            vec!["generate-units", "--services-dir", &g, "--output-dir", &s],
            g.clone(),
        ),
    ] {
        let o = tool().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            matches!(o.status.code(), Some(1) | Some(3)),
            "{args:?}: {:?} {err}",
            o.status
        );
        assert_eq!(err.matches(named.as_str()).count(), 1, "{args:?}: {err}");
        assert!(
            !state.join("generations").exists(),
            "{args:?} made a generation"
        );
    }
}
