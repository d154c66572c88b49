//! Benchmarks of the host side, each as a ratio against a baseline measured in the same run:
//! 1. `generator`: the generator (`release-tool generator DIR`, as systemd runs it: verify the
//!    generation, stage its Quadlet files, run quadlet, write the targets) over 200 and over 1000
//!    stacks, against quadlet alone on the same Quadlet files as plain files, on a RAM-backed
//!    directory (/dev/shm when there is one: file creation on a disk that just deleted thousands
//!    of files varies 5x from run to run). Each round gets fresh, empty output directories, made
//!    outside the timed part, as systemd hands a generator;
//! 2. `plan`: a no-op `release-tool plan` of 200 stacks against `release-tool generate-units` of
//!    the same 200 stacks (rendering them, into RAM: no disk noise), the repo in the temporary
//!    directory; `plan` once with `$XDG_RUNTIME_DIR` in RAM (where it makes its scratch copy, as on
//!    a systemd host) and once without (the copy goes to the temporary directory's disk);
//! 3. `generate-units`: `generate-units --affected-services` of one of 200 stacks (the others are
//!    loaded only as far as their names, for the cross-stack checks) against `generate-units` of
//!    all 200, in RAM;
//! 4. `deploy`: a no-op deploy of `examples/` on the lab (as the lab user: snapshot, render, pull to
//!    check digests, compare) against one `podman pull` of its image and against one
//!    `systemctl --user daemon-reload` (what a no-op avoids).
//!
//! `cargo bench --bench deploy [-- NAME…]` runs the named ones (all without a name). With
//! `RELEASE_TOOL_BENCH_BASELINE=/path/to/an/older/release-tool`, 1 to 3 also time that binary in
//! the same rounds and print the ratio of each against its own baseline, before and after.
//! Every figure is a median over rounds that interleave the things compared; each ratio comes
//! with the lowest and highest per-round ratio (how noisy the machine was), for wall-clock time
//! and for the CPU time of the processes (steadier when other work loads the machine, but blind
//! to what runs in parallel).
//! Needs quadlet (1) and the lab as root (4); prints `skipped: …` for what is missing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use release_tool::deploy::fsutil::Durability;
use release_tool::deploy::generator::QUADLET_PATHS;
use release_tool::deploy::manifest::{sha256_hex, Manifest, Outcome, StackManifest};
use release_tool::deploy::prepare::{
    shown_inputs, snapshot_inputs, stack_manifests, DeploySource, StackRenderer,
};
use release_tool::deploy::render::RepoRenderer;
use release_tool::deploy::store::StateStore;
use release_tool::translate::PodmanVersion;

const BIN: &str = env!("CARGO_BIN_EXE_release-tool");

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

/// CPU time (user + system) of the children waited for so far, theirs included.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One contender's times, round by round: wall clock, and the CPU time of the processes it ran.
#[derive(Default, Clone)]
struct Times {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

/// Times each of `runs` interleaved rounds: in each round every contender runs once, in turn,
/// after `prepare` (untimed). A first round, not counted, warms the caches up.
fn rounds<P: FnMut(), const N: usize>(
    runs: usize,
    mut prepare: P,
    contenders: &mut [&mut dyn FnMut(); N],
) -> [Times; N] {
    let mut out: [Times; N] = std::array::from_fn(|_| Times::default());
    for round in 0..=runs {
        for (i, f) in contenders.iter_mut().enumerate() {
            prepare();
            let cpu = children_cpu();
            let t = Instant::now();
            f();
            if round > 0 {
                out[i].wall.push(t.elapsed());
                out[i].cpu.push(children_cpu() - cpu);
            }
        }
    }
    out
}

/// `a/b` per round: the median, and the lowest and highest, as `1.23 (rounds 1.10–1.40)`.
fn ratio_of(a: &[Duration], b: &[Duration]) -> String {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.as_secs_f64() / y.as_secs_f64())
        .collect();
    r.sort_by(f64::total_cmp);
    format!(
        "{:.2} (rounds {:.2}–{:.2})",
        r[r.len() / 2],
        r[0],
        r[r.len() - 1]
    )
}

/// The wall-clock ratio, then the CPU-time one (steadier on a loaded machine, blind to overlap).
/// The baseline binary's ratio line (`baseline PATH LABEL: …`), when one was timed.
fn print_baseline(base: Option<&Path>, label: &str, before: &Times, reference: &Times) {
    if let Some(b) = base {
        println!(
            "baseline {} {label}: {}",
            b.display(),
            ratio(before, reference)
        );
    }
}

fn ratio(a: &Times, b: &Times) -> String {
    format!(
        "{}; cpu {}",
        ratio_of(&a.wall, &b.wall),
        ratio_of(&a.cpu, &b.cpu)
    )
}

fn baseline() -> Option<PathBuf> {
    std::env::var_os("RELEASE_TOOL_BENCH_BASELINE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

fn quadlet() -> Option<PathBuf> {
    std::env::var_os("QUADLET")
        .map(PathBuf::from)
        .into_iter()
        .chain(QUADLET_PATHS.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

/// A directory in RAM (/dev/shm) when there is one, else the temporary directory.
fn ram_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    tempfile::tempdir_in(shm)
        .ok()
        .filter(|_| shm.is_dir())
        .unwrap_or_else(|| tempfile::tempdir().unwrap())
}

fn stack_units(i: usize) -> Vec<(String, String)> {
    let s = format!("s{i:04}");
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

/// A state dir under `root` whose current generation holds `stacks` stacks, and the same Quadlet
/// files as plain files in `root/flat`.
fn generator_state(root: &Path, stacks: usize) {
    let store = StateStore::open(&root.join("state")).unwrap();
    let staged = store.staging_dir(1);
    let flat = root.join("flat");
    fs::create_dir_all(&flat).unwrap();
    let mut manifests = BTreeMap::new();
    for i in 0..stacks {
        let d = staged.join(format!("units/s{i:04}"));
        fs::create_dir_all(&d).unwrap();
        // The generator renders what the manifest lists, checking each unit's hash.
        let sm: &mut StackManifest =
            manifests
                .entry(format!("s{i:04}"))
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
        stacks: manifests,
    };
    store.write_manifest(&staged, &m).unwrap();
    store.commit_staged(1).unwrap();
    store.switch(Some(1)).unwrap();
}

/// Runs `bin` as the generator into `out`, with a generator's minimal environment.
fn run_generator(bin: &Path, root: &Path, quadlet: &Path, out: &Path, stacks: usize) {
    let empty = root.join("empty");
    let o = Command::new(bin)
        .arg("generator")
        .arg(out)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("RELEASE_TOOL_STATE_DIR", root.join("state"))
        .env("RELEASE_TOOL_QUADLET", quadlet)
        // No user drop-ins: quadlet alone reads none either.
        .env("HOME", &empty)
        .env("XDG_RUNTIME_DIR", &empty)
        .env("XDG_CONFIG_HOME", &empty)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let targets = fs::read_dir(out.join("default.target.wants"))
        .unwrap()
        .count();
    assert_eq!(targets, stacks);
}

fn bench_generator(stacks: usize) {
    let Some(q) = quadlet() else {
        println!("skipped: generator benchmark: quadlet not found");
        return;
    };
    let t = ram_tempdir();
    let root = t.path();
    fs::create_dir_all(root.join("empty")).unwrap();
    generator_state(root, stacks);
    let flat = root.join("flat");
    let out = root.join("out");
    let fresh = || {
        let _ = fs::remove_dir_all(&out);
        fs::create_dir_all(&out).unwrap();
    };
    let base = baseline();
    let mut ours = || run_generator(Path::new(BIN), root, &q, &out, stacks);
    let mut before = || {
        if let Some(b) = &base {
            run_generator(b, root, &q, &out, stacks);
        }
    };
    let mut alone = || {
        let st = Command::new(&q)
            .env_clear()
            .env("QUADLET_UNIT_DIRS", &flat)
            .args(["-no-kmsg-log", "-user"])
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    };
    let runs = if stacks > 500 { 10 } else { 20 };
    let [q_t, ours_t, before_t] = rounds(runs, fresh, &mut [&mut alone, &mut ours, &mut before]);
    let files = stacks * 4;
    println!(
        "generator, {stacks} stacks ({files} unit files) in {}: {:?}, quadlet alone on the same \
         Quadlet files: {:?} (medians of {runs} rounds)",
        root.parent().unwrap_or(root).display(),
        median(ours_t.wall.clone()),
        median(q_t.wall.clone())
    );
    println!(
        "generator/quadlet ratio, {stacks} stacks: {}",
        ratio(&ours_t, &q_t)
    );
    print_baseline(
        base.as_deref(),
        &format!("generator/quadlet ratio, {stacks} stacks"),
        &before_t,
        &q_t,
    );
}

/// `count` stacks under `repo/services`, each a compose file with a `.env`, an env file, a volume
/// and a config directory, and a values file: what `load` benchmarks too.
fn plan_repo(repo: &Path, count: usize) {
    fs::create_dir_all(repo).unwrap();
    fs::write(repo.join("values.env"), "REGISTRY=registry.example.com\n").unwrap();
    for i in 0..count {
        let dir = repo.join(format!("services/stack{i:03}"));
        fs::create_dir_all(dir.join("conf")).unwrap();
        fs::write(dir.join(".env"), format!("TAG=1.{i}\nPORT={}\n", 20000 + i)).unwrap();
        fs::write(
            dir.join("app.env"),
            "A=1\nB=\"two words\"\nexport C=${TAG}\n",
        )
        .unwrap();
        fs::write(dir.join("conf/app.conf"), format!("listen {i}\n")).unwrap();
        fs::write(
            dir.join("compose.yaml"),
            format!(
                "x-common: &common\n  restart: unless-stopped\n  labels: {{tier: app}}\nservices:\n  web:\n    <<: *common\n    image: ${{REGISTRY}}/web:${{TAG}}\n    ports: [\"127.0.0.1:${{PORT}}:80\"]\n    env_file: app.env\n    volumes: [data:/data, ./conf:/conf:ro]\n    depends_on:\n      db: {{condition: service_healthy}}\n  db:\n    <<: *common\n    image: ${{REGISTRY}}/db:16\n    healthcheck:\n      test: pg_isready\n      interval: 10s\n    deploy:\n      resources:\n        limits: {{cpus: '0.5', memory: 256M}}\nvolumes:\n  data: {{}}\n# stack {i}\n"
            ),
        )
        .unwrap();
    }
}

/// Deploys `repo` into `state` as a deploy would leave it (without pulling: no digests), so that
/// `plan` finds nothing to do.
fn deployed_generation(repo: &Path, state: &Path) {
    let store = StateStore::open(state).unwrap();
    let staging = store.staging_dir(1);
    let inputs = staging.join("inputs");
    let src = DeploySource {
        repo: repo.to_path_buf(),
        services_dir: repo.join("services"),
        vars_file: Some(repo.join("values.env")),
        vars_json: None,
    };
    snapshot_inputs(&src, &inputs, Default::default(), Durability::Durable).unwrap();
    let renderer = RepoRenderer {
        podman_version: PodmanVersion::NEWEST,
        strict: false,
        home: None,
    };
    let stacks = renderer.render_all(&inputs, &shown_inputs(&store)).unwrap();
    for s in &stacks {
        let d = staging.join("units").join(&s.stack);
        fs::create_dir_all(&d).unwrap();
        for u in &s.units {
            fs::write(d.join(&u.file_name), &u.contents).unwrap();
        }
    }
    let m = Manifest {
        id: 1,
        git_rev: None,
        created: 0,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks: stack_manifests(&store, &stacks, &inputs, &BTreeMap::new()).unwrap(),
    };
    store.write_manifest(&staging, &m).unwrap();
    store.commit_staged(1).unwrap();
    store.switch(Some(1)).unwrap();
}

/// Runs `bin plan`, with `$XDG_RUNTIME_DIR` set to `runtime` (where it makes its scratch copy) or
/// unset (the copy goes to the temporary directory).
fn run_plan(bin: &Path, repo: &Path, state: &Path, runtime: Option<&Path>) {
    let mut c = Command::new(bin);
    c.arg("plan")
        .arg("--repo")
        .arg(repo)
        .arg("--state-dir")
        .arg(state)
        .args(["--podman-version", "5.4"]);
    match runtime {
        Some(r) => c.env("XDG_RUNTIME_DIR", r),
        None => c.env_remove("XDG_RUNTIME_DIR"),
    };
    let o = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && stdout.contains("nothing to do"),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn bench_plan() {
    const STACKS: usize = 200;
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let state = t.path().join("state");
    plan_repo(&repo, STACKS);
    deployed_generation(&repo, &state);
    let ram = ram_tempdir();
    let runtime = ram.path().join("runtime");
    fs::create_dir_all(&runtime).unwrap();
    let out = ram.path().join("units");
    let fresh = || {
        let _ = fs::remove_dir_all(&out);
    };
    let mut render = || generate_units(Path::new(BIN), &repo, &out, None);
    let mut plan_ram = || run_plan(Path::new(BIN), &repo, &state, Some(&runtime));
    let mut plan_disk = || run_plan(Path::new(BIN), &repo, &state, None);
    let base = baseline();
    let mut before = || {
        if let Some(b) = &base {
            run_plan(b, &repo, &state, None);
        }
    };
    let runs = 10;
    let [render_t, ram_t, disk_t, before_t] = rounds(
        runs,
        fresh,
        &mut [&mut render, &mut plan_ram, &mut plan_disk, &mut before],
    );
    println!(
        "no-op plan, {STACKS} stacks in {}: {:?} with $XDG_RUNTIME_DIR in {}, {:?} without \
         (scratch copy on that disk); generate-units of the same stacks into RAM: {:?} (medians of \
         {runs} rounds)",
        t.path().parent().unwrap_or(t.path()).display(),
        median(ram_t.wall.clone()),
        ram.path().parent().unwrap_or(ram.path()).display(),
        median(disk_t.wall.clone()),
        median(render_t.wall.clone())
    );
    println!(
        "no-op plan/generate-units ratio, scratch in $XDG_RUNTIME_DIR: {}",
        ratio(&ram_t, &render_t)
    );
    println!(
        "no-op plan/generate-units ratio, scratch on the disk: {}",
        ratio(&disk_t, &render_t)
    );
    print_baseline(
        base.as_deref(),
        "no-op plan/generate-units ratio",
        &before_t,
        &render_t,
    );
}

fn generate_units(bin: &Path, repo: &Path, out: &Path, selected: Option<&str>) {
    let mut c = Command::new(bin);
    c.arg("generate-units")
        .arg("--services-dir")
        .arg(repo.join("services"))
        .arg("--vars-file")
        .arg(repo.join("values.env"))
        .arg("--output-dir")
        .arg(out)
        .args(["--podman-version", "5.4"]);
    if let Some(s) = selected {
        c.args(["--affected-services", s]);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn bench_generate_units() {
    const STACKS: usize = 200;
    let t = ram_tempdir();
    let repo = t.path().join("repo");
    plan_repo(&repo, STACKS);
    let out = t.path().join("units");
    let fresh = || {
        let _ = fs::remove_dir_all(&out);
    };
    let one = Some("stack007");
    let mut all = || generate_units(Path::new(BIN), &repo, &out, None);
    let mut selected = || generate_units(Path::new(BIN), &repo, &out, one);
    let base = baseline();
    let mut before = || {
        if let Some(b) = &base {
            generate_units(b, &repo, &out, one);
        }
    };
    let runs = 20;
    let [all_t, one_t, before_t] = rounds(runs, fresh, &mut [&mut all, &mut selected, &mut before]);
    println!(
        "generate-units --affected-services stack007 of {STACKS} stacks in {}: {:?}; \
         of all {STACKS}: {:?} (medians of {runs} rounds)",
        t.path().parent().unwrap_or(t.path()).display(),
        median(one_t.wall.clone()),
        median(all_t.wall.clone())
    );
    println!(
        "generate-units one stack/all stacks ratio: {}",
        ratio(&one_t, &all_t)
    );
    print_baseline(
        base.as_deref(),
        "generate-units one stack/all stacks ratio",
        &before_t,
        &all_t,
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("benches/deploy.rs: run with `cargo bench --bench deploy`");
        return;
    }
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| names.is_empty() || names.contains(&name);
    if wanted("generator") {
        bench_generator(200);
        bench_generator(1000);
    }
    if wanted("plan") {
        bench_plan();
    }
    if wanted("generate-units") {
        bench_generate_units();
    }
    if wanted("deploy") {
        bench_noop_deploy();
    }
}
