//! Hostile repositories against the loader: files that are not what they claim, inputs built to
//! exhaust memory, out-of-range values, and messages that would forge log lines. Each failure is
//! an error naming the file (and the field), and a stack whose compose file is broken is never
//! taken for a removed stack.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use release_tool::compose::{
    discover_stacks, load_global_vars, load_stack, LoadOptions, LoadedStack, StackRef,
};

const GOOD: &str = "services:\n  web:\n    image: docker.io/library/busybox:1\n";

/// Runs `f` on a thread: a loader that blocks (on a FIFO) fails the test instead of hanging it.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: the loader blocked (or panicked)"))
}

/// A named pipe, made with mkfifo(1).
fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().expect("mkfifo runs");
    assert!(st.success(), "mkfifo {}", p.display());
}

/// `<tmp>/repo/services/{good,bad}/`, both valid.
fn make_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    for s in ["good", "bad"] {
        let d = repo.join("services").join(s);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("compose.yaml"), GOOD).expect("write");
    }
    (tmp, repo)
}

fn stack_ref(repo: &Path, name: &str) -> StackRef {
    StackRef {
        name: name.into(),
        dir: repo.join("services").join(name),
    }
}

/// The error a load must give (a load that succeeds fails the test without printing the model).
fn load_err(repo: &Path, name: &str, what: &str) -> String {
    match load(repo, name) {
        Ok(_) => panic!("{what}: loaded, but must be refused"),
        Err(e) => e,
    }
}

fn load(repo: &Path, name: &str) -> Result<LoadedStack, String> {
    let s = stack_ref(repo, name);
    within("load_stack", move || {
        load_stack(&s, &LoadOptions::default()).map_err(|e| e.to_string())
    })
}

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
    use release_tool::deploy::manifest::{Manifest, Outcome};
    use release_tool::deploy::prepare::StackRenderer;
    use release_tool::deploy::prepare::{snapshot_inputs, stack_manifests, DeploySource};
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
    snapshot_inputs(&src, &inputs).expect("snapshot");
    let renderer = RepoRenderer {
        podman_version: release_tool::translate::PodmanVersion::NEWEST,
        strict: false,
        home: None,
    };
    let stacks = renderer
        .render_all(&inputs, &|s| store.display_dir(s))
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

/// 41 lines of `.env`, each variable twice the previous one: 2^40 bytes if expanded.
fn doubling_dotenv() -> String {
    let mut s = String::from("V0=xx\n");
    for i in 1..=40 {
        s.push_str(&format!("V{i}=${{V{}}}${{V{}}}\n", i - 1, i - 1));
    }
    s
}

#[test]
fn variables_that_double_each_other_are_refused_naming_the_file() {
    let env = doubling_dotenv();
    assert!(env.len() < 700, "{}", env.len());
    let (_tmp, r) = make_repo();
    let dir = r.join("services/bad");
    std::fs::write(dir.join(".env"), &env).expect("write");
    let e = load_err(&r, "bad", "must be refused");
    assert!(
        e.contains(&dir.join(".env").display().to_string()) && e.contains("longer than"),
        "{e}"
    );
    // The same file as an env_file, and as the values file.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("app.env"), &env).expect("write");
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{GOOD}    env_file: ./app.env\n"),
    )
    .expect("write");
    let e = load_err(&repo, "bad", "env_file");
    assert!(e.contains("app.env") && e.contains("longer than"), "{e}");
    let values = dir.join("app.env");
    let e = load_global_vars(Some(&values), None)
        .map(|v| v.len())
        .expect_err("values file")
        .to_string();
    assert!(e.contains("app.env") && e.contains("longer than"), "{e}");
}

#[test]
fn interpolation_in_a_compose_file_is_bounded_in_all() {
    // Each value is under the per-value cap; together they are not.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join(".env"), format!("BIG={}\n", "x".repeat(900_000))).expect("write");
    let mut compose = String::from("services:\n  web:\n    image: x\n    labels:\n");
    for i in 0..40 {
        compose.push_str(&format!("      l{i}: $BIG\n"));
    }
    std::fs::write(dir.join("compose.yaml"), compose).expect("write");
    let e = load_err(&repo, "bad", "must be refused");
    assert!(
        e.contains(&dir.join("compose.yaml").display().to_string())
            && e.contains("services.web.labels.l")
            && e.contains("expand to more than"),
        "{e}"
    );
}

#[test]
fn out_of_range_ports_are_errors_naming_the_field() {
    for (port, words) in [
        ("\"70000:80\"", "host port '70000'"),
        ("\"80:70000\"", "container port '70000'"),
        ("\"80:0\"", "container port '0'"),
        ("\"1-70000:1-70000\"", "out of range"),
        ("{target: 80, published: \"70000\"}", "host port '70000'"),
        ("{target: 70000}", "services.web.ports[0].target"),
    ] {
        let (_tmp, repo) = make_repo();
        let dir = repo.join("services/bad");
        std::fs::write(
            dir.join("compose.yaml"),
            format!("{GOOD}    ports: [{port}]\n"),
        )
        .expect("write");
        let e = load_err(&repo, "bad", port);
        assert!(
            e.contains("compose.yaml:4")
                && e.contains("services.web.ports[0]")
                && e.contains(words),
            "{port}: {e}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), format!("\u{feff}{GOOD}")).expect("write");
    std::fs::write(dir.join(".env"), "\u{feff}TAG=1\n").expect("write");
    let l = load(&repo, "bad").expect("a BOM is accepted");
    assert!(l.project.services.contains_key("web"));
}

#[test]
fn messages_do_not_carry_raw_control_characters() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{GOOD}    env_file: \"x\\nrelease-tool: deployed generation 9\\r\\e[2J\"\n"),
    )
    .expect("write");
    let e = load_err(&repo, "bad", "missing env file");
    assert!(e.contains("env file"), "{e}");
    assert!(!e.chars().any(char::is_control), "{e:?}");
    assert!(e.contains("x\\nrelease-tool"), "{e}");
}

#[test]
fn include_depth_is_bounded_naming_the_file() {
    // A cycle (a includes b includes a) and a chain 20 files deep are both refused.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), "include: [./a.yaml]\n").expect("write");
    std::fs::write(dir.join("a.yaml"), format!("include: [./b.yaml]\n{GOOD}")).expect("write");
    std::fs::write(
        dir.join("b.yaml"),
        "include: [./a.yaml]\nservices:\n  b:\n    image: x\n",
    )
    .expect("write");
    let e = load_err(&repo, "bad", "include cycle");
    assert!(
        e.contains("include nested more than 16 levels") && e.contains(".yaml:1"),
        "{e}"
    );
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), "include: [./i0.yaml]\n").expect("write");
    for i in 0..20 {
        std::fs::write(
            dir.join(format!("i{i}.yaml")),
            format!(
                "include: [./i{}.yaml]\nservices:\n  s{i}:\n    image: x\n",
                i + 1
            ),
        )
        .expect("write");
    }
    std::fs::write(dir.join("i20.yaml"), GOOD).expect("write");
    let e = load_err(&repo, "bad", "include chain");
    assert!(e.contains("include nested more than 16 levels"), "{e}");
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

/// Aliases of aliases nest a tree far deeper than the file's own nesting: refused at the limit
/// (it overflowed the stack of the recursive phases before), naming the file and line.
#[test]
fn nested_aliases_cannot_build_an_unbounded_tree() {
    let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(120), "]".repeat(120));
    let mut text = format!("x-a0: &a0 {}\n", nest("1"));
    for k in 1..40 {
        text.push_str(&format!(
            "x-a{k}: &a{k} {}\n",
            nest(&format!("*a{}", k - 1))
        ));
    }
    text.push_str(GOOD);
    let (_tmp, repo) = make_repo();
    let file = repo.join("services/bad/compose.yaml");
    std::fs::write(&file, text).expect("write");
    let e = load_err(&repo, "bad", "nested aliases");
    assert!(
        e.contains(&format!("{}:3:", file.display())) && e.contains("aliases nest deeper than"),
        "{e}"
    );
}

/// A chain of 20 000 services each extending the next: refused at the depth limit, naming the
/// field (it overflowed the stack before).
#[test]
fn extends_chains_are_bounded() {
    let mut text = String::from("services:\n");
    for i in 0..20_000 {
        text.push_str(&format!("  s{i}:\n    image: x\n    extends: s{}\n", i + 1));
    }
    text.push_str("  s20000:\n    image: x\n");
    let (_tmp, repo) = make_repo();
    std::fs::write(repo.join("services/bad/compose.yaml"), text).expect("write");
    let e = load_err(&repo, "bad", "extends chain");
    assert!(
        e.contains("compose.yaml:") && e.contains(".extends: extends nested more than"),
        "{e}"
    );
}

/// Eight inclusions of the next file at each of 16 levels would load 8^16 files: refused once
/// the stack has included 256, naming the include entry.
#[test]
fn include_fan_out_is_bounded() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    let list = |next: &str| format!("include: [{}]\n", [next; 8].join(", "));
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{}{GOOD}", list("./l0.yaml")),
    )
    .expect("write");
    for d in 0..16 {
        let inc = if d < 15 {
            list(&format!("./l{}.yaml", d + 1))
        } else {
            String::new()
        };
        std::fs::write(
            dir.join(format!("l{d}.yaml")),
            format!("{inc}networks:\n  n:\n    driver: bridge\n"),
        )
        .expect("write");
    }
    let e = load_err(&repo, "bad", "include fan-out");
    assert!(e.contains("more than 256 files included"), "{e}");
    assert!(e.contains(".yaml:1:") && e.contains(": include["), "{e}");
}
