//! Hostile repositories against the loader, files that are not what they claim: a dangling link,
//! a link loop, a directory, a FIFO, a device, a link out of the repository where a compose file,
//! an env file, an include or extends target, a secret file or the values file should be. Each is
//! an error naming the path, and a stack whose compose file is broken is never taken for a removed
//! stack (`plan` and `deploy` exit 3 and change nothing).

#[path = "hostile/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use release_tool::compose::{discover_stacks, load_global_vars};
use support::{load, load_err, make_repo, mkfifo, within, GOOD};

/// The ways a path can fail to be a file, each with the words the error must use.
/// (what, the words its error must use, how to make it at a path; the second path is a directory
/// outside the repository).
type Impostor = (&'static str, &'static str, fn(&Path, &Path));

fn impostors() -> Vec<Impostor> {
    vec![
        ("dangling symlink", "dangling symlink", |p, _| {
            symlink("nowhere.yaml", p).expect("symlink")
        }),
        ("directory", "is a directory", |p, _| {
            std::fs::create_dir(p).expect("mkdir")
        }),
        ("FIFO", "FIFO", |p, _| mkfifo(p)),
        ("link to /dev/zero", "character device", |p, _| {
            symlink("/dev/zero", p).expect("symlink")
        }),
        ("symlink loop", "symlink loop", |p, _| {
            symlink(p.file_name().expect("name"), p).expect("symlink")
        }),
        (
            "link out of the repo",
            "outside the repository",
            |p, tmp| {
                let outside = tmp.join("outside.yaml");
                std::fs::write(&outside, GOOD).expect("write");
                symlink(&outside, p).expect("symlink");
            },
        ),
    ]
}

#[test]
fn a_compose_file_that_is_not_a_file_is_an_error_naming_it_not_a_missing_stack() {
    for (what, words, make) in impostors() {
        let (tmp, repo) = make_repo();
        let file = repo.join("services/bad/compose.yaml");
        std::fs::remove_file(&file).expect("rm");
        make(&file, tmp.path());
        let names: Vec<String> = discover_stacks(&repo.join("services"))
            .expect("discovery")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            ["bad", "good"],
            "{what}: the stack must still be found"
        );
        let e = load_err(&repo, "bad", what);
        assert!(
            e.contains(&file.display().to_string()) && e.contains(words),
            "{what}: {e}"
        );
        load(&repo, "good").unwrap_or_else(|e| panic!("{what}: the good stack: {e}"));
    }
}

/// A generation holding both stacks, as a deploy would have left it.
fn deployed_generation(repo: &Path, state: &Path) {
    use release_tool::deploy::fsutil::Durability;
    use release_tool::deploy::manifest::{Manifest, Outcome};
    use release_tool::deploy::prepare::StackRenderer;
    use release_tool::deploy::prepare::{
        shown_inputs, snapshot_inputs, stack_manifests, DeploySource,
    };
    use release_tool::deploy::render::RepoRenderer;
    use release_tool::deploy::store::StateStore;
    let store = StateStore::open(state).expect("store");
    let id = store.next_id().expect("id");
    let staging = store.staging_dir(id);
    let inputs = staging.join("inputs");
    let src = DeploySource {
        repo: repo.to_path_buf(),
        services_dir: repo.join("services"),
        vars_file: None,
        vars_json: None,
    };
    snapshot_inputs(&src, &inputs, Default::default(), Durability::Durable).expect("snapshot");
    let renderer = RepoRenderer {
        podman_version: release_tool::translate::PodmanVersion::NEWEST,
        strict: false,
        home: None,
    };
    let stacks = renderer
        .render_all(&inputs, &shown_inputs(&store))
        .expect("renders");
    let m = Manifest {
        id,
        git_rev: None,
        created: 0,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks: stack_manifests(&store, &stacks, &inputs, &BTreeMap::new()).expect("manifests"),
    };
    assert_eq!(m.stacks.len(), 2);
    store.write_manifest(&staging, &m).expect("manifest");
    store.commit_staged(id).expect("commit");
    store.switch(Some(id)).expect("switch");
}

/// `plan` (which renders exactly as `deploy` does, from a snapshot of the checkout) refuses a
/// broken compose file with exit 3 naming it, and never reports its stack as removed.
#[test]
fn plan_refuses_a_broken_compose_file_instead_of_removing_its_stack() {
    for (what, words, make) in impostors() {
        let (tmp, repo) = make_repo();
        let state = tmp.path().join("state");
        deployed_generation(&repo, &state);
        let file = repo.join("services/bad/compose.yaml");
        std::fs::remove_file(&file).expect("rm");
        make(&file, tmp.path());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_release-tool"));
        cmd.env_clear()
            .arg("plan")
            .arg("--repo")
            .arg(&repo)
            .arg("--state-dir")
            .arg(&state)
            .args(["--podman-version", "5.4", "--format", "json"]);
        let out = within("plan", move || cmd.output().expect("release-tool runs"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{what}: plan must refuse\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(
            stderr.contains(&file.display().to_string()) && stderr.contains(words),
            "{what}: {stderr}"
        );
        assert!(!stdout.contains("removed"), "{what}: {stdout}");
    }
}

/// `deploy` refuses the same way: exit 3, `current` and the generations untouched. podman and
/// systemctl are `false` here: a deploy that went on to switch would fail loudly, not touch the host.
#[test]
fn deploy_refuses_a_broken_compose_file_and_changes_nothing() {
    for (what, words, make) in impostors() {
        let (tmp, repo) = make_repo();
        let state = tmp.path().join("state");
        deployed_generation(&repo, &state);
        let listing = |state: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(state.join("generations"))
                .expect("generations")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            (
                std::fs::read_link(state.join("current")).expect("current"),
                v,
            )
        };
        let before = listing(&state);
        let file = repo.join("services/bad/compose.yaml");
        std::fs::remove_file(&file).expect("rm");
        make(&file, tmp.path());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_release-tool"));
        cmd.env_clear()
            .env("RELEASE_TOOL_PODMAN", "false")
            .env("RELEASE_TOOL_SYSTEMCTL", "false")
            .env("PATH", "/usr/bin:/bin")
            .arg("deploy")
            .arg("--repo")
            .arg(&repo)
            .arg("--state-dir")
            .arg(&state)
            .args(["--podman-version", "5.4"]);
        let out = within("deploy", move || cmd.output().expect("release-tool runs"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{what}: {stderr}");
        assert!(
            stderr.contains(&file.display().to_string()) && stderr.contains(words),
            "{what}: {stderr}"
        );
        assert_eq!(listing(&state), before, "{what}: the state changed");
    }
}

#[test]
fn every_file_a_stack_refers_to_must_be_a_regular_file() {
    // (what, compose.yaml, the file it names, how that file is made, words)
    type Make = fn(&Path);
    let cases: Vec<(&str, &str, &str, Make, &str)> = vec![
        (
            "env_file FIFO",
            "    env_file: ./app.env\n",
            "app.env",
            |p| mkfifo(p),
            "FIFO",
        ),
        (
            "env_file /dev/zero",
            "    env_file: ./app.env\n",
            "app.env",
            |p| symlink("/dev/zero", p).expect("symlink"),
            "character device",
        ),
        (
            "env_file directory",
            "    env_file: ./app.env\n",
            "app.env",
            |p| std::fs::create_dir(p).expect("mkdir"),
            "directory",
        ),
        (
            "optional env_file dangling",
            "    env_file: [{path: ./app.env, required: false}]\n",
            "app.env",
            |p| symlink("nowhere", p).expect("symlink"),
            "dangling symlink",
        ),
        (".env FIFO", "", ".env", |p| mkfifo(p), "FIFO"),
        (
            ".env directory",
            "",
            ".env",
            |p| std::fs::create_dir(p).expect("mkdir"),
            "directory",
        ),
        (
            ".env dangling",
            "",
            ".env",
            |p| symlink("nowhere", p).expect("symlink"),
            "dangling symlink",
        ),
        (
            "override file FIFO",
            "",
            "compose.override.yaml",
            |p| mkfifo(p),
            "FIFO",
        ),
        (
            "extends file directory",
            "    extends: {file: ./base.yaml, service: web}\n",
            "base.yaml",
            |p| std::fs::create_dir(p).expect("mkdir"),
            "directory",
        ),
        (
            "secret file FIFO",
            "    secrets: [s]\nsecrets:\n  s: {file: ./s.txt}\n",
            "s.txt",
            |p| mkfifo(p),
            "FIFO",
        ),
        (
            "secret file missing",
            "    secrets: [s]\nsecrets:\n  s: {file: ./s.txt}\n",
            "s.txt",
            |_| {},
            "not found",
        ),
    ];
    for (what, extra, name, make, words) in cases {
        let (_tmp, repo) = make_repo();
        let dir = repo.join("services/bad");
        std::fs::write(dir.join("compose.yaml"), format!("{GOOD}{extra}")).expect("write");
        let file = dir.join(name);
        make(&file);
        let e = load_err(&repo, "bad", what);
        assert!(
            e.contains(&file.display().to_string()) && e.contains(words),
            "{what}: {e}"
        );
    }
    // An include target that is a FIFO.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), "include: [./inc.yaml]\n").expect("write");
    mkfifo(&dir.join("inc.yaml"));
    let e = load_err(&repo, "bad", "include FIFO");
    assert!(e.contains("inc.yaml") && e.contains("FIFO"), "{e}");
}

#[test]
fn the_values_file_must_be_a_bounded_regular_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let zero = tmp.path().join("values.env");
    symlink("/dev/zero", &zero).expect("symlink");
    let e = within("values file", move || {
        load_global_vars(Some(&zero), None)
            .map(|v| v.len())
            .map_err(|e| e.to_string())
    })
    .expect_err("/dev/zero");
    assert!(
        e.contains("values.env") && e.contains("character device"),
        "{e}"
    );
    let big = tmp.path().join("big.env");
    std::fs::write(&big, format!("A={}\n", "x".repeat(5 * 1024 * 1024))).expect("write");
    let e = load_global_vars(Some(&big), None)
        .map(|v| v.len())
        .expect_err("5 MiB")
        .to_string();
    assert!(e.contains("big.env") && e.contains("too large"), "{e}");
}

/// The repository's values file is one of the stack files too: a FIFO or a dangling link named
/// `values.env` stops `plan` and `deploy` (exit 3, naming it), instead of silently dropping every
/// global variable (or blocking the snapshot's copy).
#[test]
fn a_values_file_that_is_not_a_file_stops_plan_and_deploy() {
    type Make = fn(&Path);
    let makes: [(&str, Make); 2] = [
        ("FIFO", |p| mkfifo(p)),
        ("dangling symlink", |p| {
            symlink("nowhere.env", p).expect("symlink")
        }),
    ];
    for (words, make) in makes {
        for command in ["plan", "deploy"] {
            let (tmp, repo) = make_repo();
            make(&repo.join("values.env"));
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_release-tool"));
            cmd.env_clear()
                .env("RELEASE_TOOL_PODMAN", "false")
                .env("RELEASE_TOOL_SYSTEMCTL", "false")
                .env("PATH", "/usr/bin:/bin")
                .arg(command)
                .arg("--repo")
                .arg(&repo)
                .arg("--state-dir")
                .arg(tmp.path().join("state"))
                .args(["--podman-version", "5.4"]);
            let out = within(command, move || cmd.output().expect("release-tool runs"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{command} {words}: {stderr}");
            assert!(
                stderr.contains("values.env") && stderr.contains(words),
                "{command} {words}: {stderr}"
            );
            assert!(
                !tmp.path().join("state/current").exists(),
                "{command} {words}: switched"
            );
        }
    }
}
