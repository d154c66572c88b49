//! Loading speed against docker compose, measured in the same run on the same input:
//! one typical stack (examples/services/web) and 200 generated stacks.
//! Run: `cargo bench --bench load`. Prints the time per load and the ratio (docker / ours).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use release_tool::compose::{discover_stacks, load_global_vars, load_stack, LoadOptions};

fn docker_compose() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DOCKER_COMPOSE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/local/libexec/docker/cli-plugins/docker-compose",
        "/usr/libexec/docker/cli-plugins/docker-compose",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn docker_config(bin: &Path, dir: &Path, globals: &[(String, String)]) {
    let out = Command::new(bin)
        .env_clear()
        .envs(globals.iter().cloned())
        .current_dir(dir)
        .args(["config", "--format", "json"])
        .output()
        .expect("docker compose runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, as a
/// smoke test: one round of everything, no figures worth reading (an unoptimized build).
fn rounds(n: u32) -> u32 {
    if std::env::args().any(|a| a == "--bench") {
        n
    } else {
        1
    }
}

fn time(n: u32, mut f: impl FnMut()) -> Duration {
    let n = rounds(n);
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn generate(root: &Path, count: usize) {
    for i in 0..count {
        let dir = root.join(format!("stack{i:03}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(".env"), format!("TAG=1.{i}\nPORT={}\n", 20000 + i))
            .expect("write");
        std::fs::write(
            dir.join("app.env"),
            "A=1\nB=\"two words\"\nexport C=${TAG}\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("compose.yaml"),
            format!(
                "x-common: &common\n  restart: unless-stopped\n  labels: {{tier: app}}\nservices:\n  web:\n    <<: *common\n    image: ${{REGISTRY}}/web:${{TAG}}\n    ports: [\"127.0.0.1:${{PORT}}:80\"]\n    env_file: app.env\n    volumes: [data:/data, ./conf:/conf:ro]\n    depends_on:\n      db: {{condition: service_healthy}}\n  db:\n    <<: *common\n    image: ${{REGISTRY}}/db:16\n    healthcheck:\n      test: pg_isready\n      interval: 10s\n    deploy:\n      resources:\n        limits: {{cpus: '0.5', memory: 256M}}\nvolumes:\n  data: {{}}\n# stack {i}\n"
            ),
        )
        .expect("write");
    }
}

fn main() {
    let Some(bin) = docker_compose() else {
        println!("skipped: docker compose not found (set DOCKER_COMPOSE)");
        return;
    };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let globals = load_global_vars(Some(&examples.join("values.env")), None).expect("values.env");
    let genv: Vec<(String, String)> = globals
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opts = LoadOptions {
        global_vars: globals,
        home: None,
        display_dir: None,
        strict: false,
    };

    // One typical stack.
    let web = discover_stacks(&examples.join("services"))
        .expect("stacks")
        .into_iter()
        .find(|s| s.name == "web")
        .expect("web stack");
    let ours = time(200, || {
        load_stack(&web, &opts).expect("loads");
    });
    let theirs = time(10, || docker_config(&bin, &web.dir, &genv));
    println!(
        "one stack:   release-tool {:>10.3?}  docker compose {:>10.3?}  ratio {:.0}x",
        ours,
        theirs,
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // 200 stacks.
    let tmp = tempfile::tempdir().expect("tempdir");
    let count = if rounds(2) == 1 { 10 } else { 200 };
    generate(tmp.path(), count);
    let stacks = discover_stacks(tmp.path()).expect("stacks");
    assert_eq!(stacks.len(), count);
    let ours = time(5, || {
        for s in &stacks {
            load_stack(s, &opts).expect("loads");
        }
    });
    let theirs = time(1, || {
        for s in &stacks {
            docker_config(&bin, &s.dir, &genv);
        }
    });
    println!(
        "{count} stacks:  release-tool {:>10.3?}  docker compose {:>10.3?}  ratio {:.0}x",
        ours,
        theirs,
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    if rounds(2) == 1 {
        println!("(smoke run: one round, 10 stacks, unoptimized; `cargo bench --bench load` for figures)");
    }
}
