//! Benchmarks of the host side, each as a ratio against a baseline measured in the same run:
//! 1. the generator over 200 stacks (copy the generation, drop-ins, run quadlet, targets) against
//!    quadlet alone on the same 200 stacks' Quadlet files;
//! 2. a no-op deploy of `examples/` on the lab (as the lab user: snapshot, render, pull to check
//!    digests, compare) against one `podman pull` of its image and against one
//!    `systemctl --user daemon-reload` (what a no-op avoids).
//!
//! Needs quadlet (1) and the lab (2); prints `skipped: …` for what is missing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use release_tool::deploy::generator::{generate, GeneratorEnv, QUADLET_PATHS};
use release_tool::deploy::manifest::{sha256_hex, Manifest, Outcome, StackManifest};
use release_tool::deploy::store::StateStore;

const STACKS: usize = 200;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn quadlet() -> Option<PathBuf> {
    std::env::var_os("QUADLET")
        .map(PathBuf::from)
        .into_iter()
        .chain(QUADLET_PATHS.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn stack_units(i: usize) -> Vec<(String, String)> {
    let s = format!("s{i:03}");
    vec![
        (
            format!("{s}-db.container"),
            format!("[Container]\nImage=127.0.0.1:5000/lab/busybox:1\nExec=httpd -f -p 8080\nVolume={s}-data.volume:/data\nHealthCmd=true\n"),
        ),
        (
            format!("{s}-app.container"),
            format!("[Unit]\nRequires={s}-db.service\nAfter={s}-db.service\n[Container]\nImage=127.0.0.1:5000/lab/busybox:1\nExec=sleep 1000\nEnvironment=N={i}\n"),
        ),
        (format!("{s}-data.volume"), "[Volume]\n".to_string()),
        (
            format!("{s}.target"),
            format!("[Unit]\nWants={s}-db.service {s}-app.service\n[Install]\nWantedBy=default.target\n"),
        ),
    ]
}

fn bench_generator() {
    let Some(q) = quadlet() else {
        println!("skipped: generator benchmark: quadlet not found");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    let staged = store.staging_dir(1);
    let flat = t.path().join("flat");
    fs::create_dir_all(&flat).unwrap();
    let mut stacks = BTreeMap::new();
    for i in 0..STACKS {
        let d = staged.join(format!("units/s{i:03}"));
        fs::create_dir_all(&d).unwrap();
        // The generator renders what the manifest lists, checking each unit's hash.
        let sm: &mut StackManifest =
            stacks
                .entry(format!("s{i:03}"))
                .or_insert_with(|| StackManifest {
                    hash: String::new(),
                    inputs_hash: String::new(),
                    units: BTreeMap::new(),
                    containers: vec![],
                    secrets: vec![],
                    images: BTreeMap::new(),
                });
        for (name, text) in stack_units(i) {
            sm.units.insert(name.clone(), sha256_hex(text.as_bytes()));
            fs::write(d.join(&name), &text).unwrap();
            if !name.ends_with(".target") {
                fs::write(flat.join(&name), &text).unwrap();
            }
        }
    }
    let m = Manifest {
        id: 1,
        git_rev: None,
        created: 0,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks,
    };
    store.write_manifest(&staged, &m).unwrap();
    store.commit_staged(1).unwrap();
    store.switch(Some(1)).unwrap();
    let env = GeneratorEnv {
        state_dir: Some(t.path().join("state")),
        quadlet: Some(q.clone()),
        quadlet_dirs: vec![],
    };
    let out = t.path().join("out");
    let fresh = |p: &Path| {
        let _ = fs::remove_dir_all(p);
        fs::create_dir_all(p).unwrap();
    };
    let ours = time(10, || {
        fresh(&out);
        let r = generate(&env, &out).unwrap();
        assert_eq!(r.stacks_written.len(), STACKS);
    });
    let qout = t.path().join("qout");
    let alone = time(10, || {
        fresh(&qout);
        let st = Command::new(&q)
            .env("QUADLET_UNIT_DIRS", &flat)
            .args(["-no-kmsg-log", "-user"])
            .arg(&qout)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    });
    println!("generator, {STACKS} stacks (800 unit files): {ours:?} median of 10");
    println!("quadlet alone, same Quadlet files:         {alone:?} median of 10");
    println!(
        "generator/quadlet ratio: {:.2}",
        ours.as_secs_f64() / alone.as_secs_f64()
    );
}

/// The lab env file's variables.
fn lab_env() -> Option<BTreeMap<String, String>> {
    let files = std::env::var_os("RELEASE_TOOL_LAB_ENV")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/run/release-tool-lab/env", "/run/lab/env"].map(PathBuf::from));
    let text = files.into_iter().find_map(|p| fs::read_to_string(p).ok())?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// A command as the lab user, in its login cgroup, with its session environment.
fn as_lab(env: &BTreeMap<String, String>, argv: &[&str]) -> Command {
    let get = |k: &str| env.get(k).cloned().unwrap_or_default();
    let join = env
        .get("LAB_CGROUP")
        .map(|c| format!("{c}/cgroup.procs"))
        .filter(|p| Path::new(p).exists())
        .unwrap_or_default();
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(r#"[ -z "$0" ] || echo $$ >"$0"; exec "$@""#)
        .arg(join)
        .args(["runuser", "-u", &get("LAB_USER"), "--"])
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", get("LAB_HOME"))
        .env("XDG_RUNTIME_DIR", get("LAB_RUNTIME_DIR"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/bus", get("LAB_RUNTIME_DIR")),
        )
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn bench_noop_deploy() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(env) = lab_env().filter(|_| root) else {
        println!("skipped: no-op deploy benchmark: needs the lab and root");
        return;
    };
    let home = PathBuf::from(&env["LAB_HOME"]);
    let base = home.join("release-tool-bench");
    let _ = fs::remove_dir_all(&base);
    let repo = base.join("repo");
    fs::create_dir_all(&repo).unwrap();
    let bin = base.join("release-tool");
    fs::copy(env!("CARGO_BIN_EXE_release-tool"), &bin).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/.");
    Command::new("cp")
        .arg("-a")
        .arg(examples)
        .arg(&repo)
        .status()
        .unwrap();
    Command::new("chown")
        .args(["-R", &env["LAB_USER"]])
        .arg(&base)
        .status()
        .unwrap();
    let b = bin.display().to_string();
    let r = repo.display().to_string();
    // The lab user's default state dir (the one its generator reads), fresh: the first deploy
    // starts the example stacks.
    let state = home.join(".local/state/release-tool");
    let _ = fs::remove_dir_all(&state);
    let first = as_lab(&env, &[&b, "deploy", "--repo", &r, "--timeout", "60"])
        .output()
        .unwrap();
    if !first.status.success() {
        println!(
            "skipped: no-op deploy benchmark: the first deploy failed: {}",
            String::from_utf8_lossy(&first.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        let _ = fs::remove_dir_all(&base);
        let _ = fs::remove_dir_all(&state);
        return;
    }
    let noop = time(5, || {
        let o = as_lab(&env, &[&b, "deploy", "--repo", &r])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    });
    let image = env.get("LAB_IMAGE").cloned().unwrap_or_default();
    let pull = time(5, || {
        as_lab(&env, &["podman", "pull", "-q", &image])
            .status()
            .unwrap();
    });
    let reload = time(5, || {
        as_lab(&env, &["systemctl", "--user", "daemon-reload"])
            .status()
            .unwrap();
    });
    println!("no-op deploy of examples/: {noop:?} median of 5");
    println!("podman pull of {image}: {pull:?}; daemon-reload: {reload:?}");
    println!(
        "no-op deploy/podman pull ratio: {:.2}",
        noop.as_secs_f64() / pull.as_secs_f64()
    );
    println!(
        "no-op deploy/daemon-reload ratio: {:.2}",
        noop.as_secs_f64() / reload.as_secs_f64()
    );
    // Leave nothing running: stop the example stacks and forget the bench's state.
    as_lab(
        &env,
        &[
            "systemctl",
            "--user",
            "stop",
            "web.target",
            "worker.target",
            "web-*",
            "worker-*",
        ],
    )
    .status()
    .unwrap();
    let _ = fs::remove_dir_all(&base);
    let _ = fs::remove_dir_all(&state);
    as_lab(&env, &["systemctl", "--user", "daemon-reload"])
        .status()
        .unwrap();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it: then it
    // only checks that it starts (the lab deploy would take the lab user's state dir mid-suite).
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/deploy.rs: run with `cargo bench --bench deploy`");
        return;
    }
    bench_generator();
    bench_noop_deploy();
}
