//! Translating and writing 200 stacks, against the real quadlet `-dryrun` over the same units
//! in the same run. Reports both times and their ratio (quadlet / translate).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use release_tool::compose::{LoadedStack, Project, SourceMap};
use release_tool::translate::{render_stack, PodmanVersion, RenderOptions};

const STACKS: usize = 200;
/// Rounds under `cargo bench` (which passes `--bench`); `cargo test --all-targets` runs this
/// binary without it as a smoke test: one round, figures not worth reading (unoptimized).
fn rounds() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        5
    } else {
        1
    }
}

fn stack(i: usize) -> LoadedStack {
    let name = format!("s{i:03}");
    let project: Project = serde_json::from_value(serde_json::json!({
        "name": name,
        "services": {
            "db": {
                "image": "postgres:16",
                "environment": {"POSTGRES_PASSWORD": "secret %h $HOME", "N": i.to_string()},
                "volumes": [{"type": "volume", "source": "data", "target": "/var/lib/postgresql/data"}],
                "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U postgres"], "interval": "5s", "retries": 5},
                "restart": "unless-stopped",
                "networks": {"default": null}
            },
            "migrate": {"image": "registry.example.com/app:1", "command": ["migrate", "up"], "depends_on": {"db": {"condition": "service_healthy", "required": true}}, "networks": {"default": null}},
            "app": {
                "image": "registry.example.com/app:1",
                "command": ["serve", "--port", "8080"],
                "ports": [{"target": 8080, "published": (10000 + i).to_string(), "host_ip": "127.0.0.1", "protocol": "tcp"}],
                "depends_on": {"db": {"condition": "service_healthy", "required": true}, "migrate": {"condition": "service_completed_successfully", "required": true}},
                "labels": {"com.example.stack": name},
                "deploy": {"resources": {"limits": {"cpus": 0.5, "memory": "134217728"}}},
                "networks": {"default": null}
            }
        },
        "networks": {"default": {"name": format!("{name}_default")}},
        "volumes": {"data": {"name": format!("{name}_data")}}
    }))
    .expect("bench project");
    LoadedStack {
        name,
        dir: PathBuf::from("/srv/services"),
        project,
        sources: SourceMap::default(),
        warnings: vec![],
        inputs: vec![],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let stacks: Vec<LoadedStack> = (0..STACKS).map(stack).collect();
    let opts = RenderOptions {
        podman_version: PodmanVersion::NEWEST,
        strict: false,
    };
    let mut render_only = Vec::new();
    let mut translate = Vec::new();
    let mut units = 0;
    let mut dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..rounds() {
        let start = Instant::now();
        for s in &stacks {
            std::hint::black_box(render_stack(s, &opts).expect("render"));
        }
        render_only.push(start.elapsed());
        // A fresh directory each round: every file is created, as on a first deploy.
        dir = tempfile::tempdir().expect("tempdir");
        let start = Instant::now();
        units = 0;
        for s in &stacks {
            let r = render_stack(s, &opts).expect("render");
            for u in &r.units {
                std::fs::write(dir.path().join(&u.file_name), &u.contents).expect("write");
                units += 1;
            }
        }
        translate.push(start.elapsed());
    }
    let r = median(render_only);
    let t = median(translate);
    println!(
        "translate only: {STACKS} stacks, median {r:?} over {} rounds",
        rounds()
    );
    println!("translate+write: {STACKS} stacks, {units} unit files, median {t:?}");

    let quadlet = std::env::var_os("QUADLET")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/local/libexec/podman/quadlet",
                "/usr/libexec/podman/quadlet",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file());
    let Some(quadlet) = quadlet else {
        println!("skipped: quadlet not found (set QUADLET); no ratio");
        return;
    };
    let mut q = Vec::new();
    for _ in 0..rounds() {
        let start = Instant::now();
        let out = Command::new(&quadlet)
            .env_clear()
            .env("QUADLET_UNIT_DIRS", dir.path())
            .args(["-dryrun", "-user"])
            .output()
            .expect("run quadlet");
        q.push(start.elapsed());
        assert!(
            out.status.success(),
            "quadlet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let q = median(q);
    println!("quadlet -dryrun over the same {units} units: median {q:?}");
    println!(
        "ratio translate+write / quadlet: {:.2}",
        t.as_secs_f64() / q.as_secs_f64()
    );
    println!(
        "ratio translate-only / quadlet: {:.3}",
        r.as_secs_f64() / q.as_secs_f64()
    );
}
