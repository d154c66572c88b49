//! The podman and systemctl a host configures (`$RELEASE_TOOL_PODMAN`, `$RELEASE_TOOL_SYSTEMCTL`)
//! are the ones every command runs, including the Podman version `generate-units` renders for and
//! the calls of `status` (both ran `podman`/`systemctl` from `PATH` before).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use release_tool::deploy::manifest::{ContainerManifest, Manifest, Outcome, StackManifest};
use release_tool::deploy::store::StateStore;

/// A stand-in program that records its arguments in `log` and prints `out`.
fn recorder(dir: &Path, name: &str, log: &Path, out: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(
        &p,
        format!(
            "#!/bin/sh\necho \"$*\" >>'{}'\nprintf '%s' '{out}'\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_release-tool"));
    c.env_remove("RELEASE_TOOL_REPO")
        .env_remove("RELEASE_TOOL_STATE_DIR")
        .stdin(Stdio::null());
    c
}

#[test]
fn generate_units_renders_for_the_configured_podmans_version() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("podman.log");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let render = |version: &str| {
        let podman = recorder(
            t.path(),
            &format!("podman-{version}"),
            &log,
            &format!("podman version {version}\n"),
        );
        let out = t.path().join(format!("out-{version}"));
        let o = tool()
            .args(["generate-units", "--repo"])
            .arg(&examples)
            .arg("--output-dir")
            .arg(&out)
            .env("RELEASE_TOOL_PODMAN", &podman)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // 4.4 lacks NetworkName= (4.6): the examples' network names are then Quadlet's own.
    let old = render("4.4.1");
    assert!(old.contains("NetworkName= needs Podman 4.6"), "{old}");
    let new = render("5.4.2");
    assert!(!new.contains("needs Podman"), "{new}");
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().filter(|l| *l == "--version").count(),
        2,
        "{calls}"
    );
}

#[test]
fn status_asks_the_configured_podman_and_systemctl() {
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let store = StateStore::open(&state).unwrap();
    let d = store.generation_dir(1);
    fs::create_dir_all(&d).unwrap();
    let stack = StackManifest {
        hash: String::new(),
        inputs_hash: String::new(),
        units: Default::default(),
        containers: vec![ContainerManifest {
            service: "api".into(),
            unit: "web-api.service".into(),
            container_name: "web-api-1".into(),
            image: None,
            after: vec![],
            healthcheck: false,
            oneshot: false,
        }],
        secrets: vec![],
        images: Default::default(),
    };
    let m = Manifest {
        id: 1,
        git_rev: None,
        created: 0,
        outcome: Outcome::Deployed,
        parent: None,
        message: None,
        stacks: [("web".to_string(), stack)].into(),
    };
    store.write_manifest(&d, &m).unwrap();
    store.switch(Some(1)).unwrap();
    let (plog, slog) = (t.path().join("podman.log"), t.path().join("systemctl.log"));
    let podman = recorder(t.path(), "podman", &plog, "");
    let systemctl = recorder(t.path(), "systemctl", &slog, "");
    let o = tool()
        .args(["status", "--format", "json", "--state-dir"])
        .arg(&state)
        .env("RELEASE_TOOL_PODMAN", &podman)
        .env("RELEASE_TOOL_SYSTEMCTL", &systemctl)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let p = fs::read_to_string(&plog).unwrap_or_default();
    let s = fs::read_to_string(&slog).unwrap_or_default();
    assert!(
        p.contains("web-api-1"),
        "podman asked about the container: {p:?} ({err})"
    );
    assert!(
        s.contains("web-api.service"),
        "systemctl asked about the unit: {s:?} ({err})"
    );
}

#[test]
fn a_missing_podman_or_systemctl_is_exit_8_before_anything_is_done() {
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let repo = repo.display().to_string();
    let st = state.display().to_string();
    let units = t.path().join("units").display().to_string();
    let g = tool()
        .args([
            "generate-units",
            "-q",
            "--podman-version",
            "5.4",
            "--repo",
            &repo,
        ])
        .args(["--output-dir", &units])
        .output()
        .unwrap();
    assert!(g.status.success());
    let ok = recorder(t.path(), "ok", &t.path().join("ok.log"), "");
    let (p, s) = ("RELEASE_TOOL_PODMAN", "RELEASE_TOOL_SYSTEMCTL");
    let deploy = [
        "deploy",
        "--repo",
        &repo,
        "--state-dir",
        &st,
        "--podman-version",
        "5.4",
    ];
    let cases: &[(&[&str], &str)] = &[
        (&deploy, p),
        (&deploy, s),
        (&["rollback", "--state-dir", &st], p),
        (&["down", "--state-dir", &st], s),
        (&["prune", "--state-dir", &st], p),
        (
            &[
                "pull-images",
                "--units-dir",
                &units,
                "--affected-services",
                "web",
            ],
            p,
        ),
        (
            &[
                "manage-services",
                "restart",
                "--state-dir",
                &st,
                "--affected-services",
                "web",
            ],
            s,
        ),
    ];
    for (args, var) in cases {
        let name = if *var == p { "podman" } else { "systemctl" };
        let other = if *var == p { s } else { p };
        let o = tool()
            .args(*args)
            .env(var, t.path().join(format!("no-{name}")))
            .env(other, &ok)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(8), "{args:?}: {err}");
        assert!(
            err.contains(&format!("{name} not found")) && err.contains(var),
            "{args:?}: {err}"
        );
        assert!(!state.join("current").exists(), "{args:?} changed nothing");
    }
    assert!(
        !t.path().join("ok.log").exists(),
        "the other tool was not run either"
    );
}
