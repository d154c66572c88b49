//! Broken state: the newest intact generation, or a loud failure (never exit 0 with nothing), and
//! one bad file costs only what it touches. Each case runs the generator binary as systemd would.

use super::*;

/// Stacks alpha and beta, each a container on image tag `id` and a target.
fn two_stacks(id: u64) -> Vec<(&'static str, &'static str, String)> {
    let mut units = Vec::new();
    for (s, app, target) in [
        ("alpha", "alpha-app.container", "alpha.target"),
        ("beta", "beta-app.container", "beta.target"),
    ] {
        let image = format!("[Container]\nImage=127.0.0.1:5000/lab/busybox:{id}\n");
        units.push((s, app, image));
        units.push((s, target, "[Install]\nWantedBy=default.target\n".into()));
    }
    units
}

/// Generations 1, 2 (deployed), 3 (rolled back), 4 (deployed), `current` → 4.
fn four_generations(t: &Path) -> StateStore {
    let store = StateStore::open(&t.join("state")).unwrap();
    for (id, outcome) in [
        (1, "deployed"),
        (2, "deployed"),
        (3, "rolled-back"),
        (4, "deployed"),
    ] {
        write_generation(&store, id, outcome, &two_stacks(id));
    }
    store.switch(Some(4)).unwrap();
    store
}

struct Run {
    code: Option<i32>,
    stderr: String,
    out: PathBuf,
}

/// Runs the generator binary as systemd would (empty environment) on `<t>/state` into `<t>/out`,
/// behind `prefix` (e.g. `setpriv …`).
fn run_generator(t: &Path, q: &Path, prefix: &[&str]) -> Run {
    let out = t.join("out");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let bin = env!("CARGO_BIN_EXE_release-tool");
    let mut argv: Vec<&str> = prefix.to_vec();
    argv.push(bin);
    let r = Command::new(argv[0])
        .args(&argv[1..])
        .env_clear()
        .env("RELEASE_TOOL_STATE_DIR", t.join("state"))
        .env("RELEASE_TOOL_QUADLET", q)
        .env("HOME", t.join("home"))
        .env("XDG_CONFIG_HOME", t.join("config"))
        .env("XDG_RUNTIME_DIR", t.join("runtime"))
        .arg("generator")
        .arg(&out)
        .output()
        .unwrap();
    Run {
        code: r.status.code(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        out,
    }
}

/// Both stacks were rendered from generation `id`, exit 0, and stderr says what and why.
fn assert_serves(r: &Run, id: u64, says: &[&str]) {
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for s in ["alpha", "beta"] {
        let unit = fs::read_to_string(r.out.join(format!("{s}-app.service")))
            .unwrap_or_else(|e| panic!("{s}-app.service: {e}; stderr: {}", r.stderr));
        assert!(
            unit.contains(&format!("lab/busybox:{id}\n")),
            "generation {id} wanted: {unit}"
        );
        assert!(r
            .out
            .join(format!("default.target.wants/{s}.target"))
            .exists());
    }
    for s in says {
        assert!(r.stderr.contains(s), "stderr lacks {s:?}: {}", r.stderr);
    }
}

fn replace_current(store: &StateStore, make: impl FnOnce(&Path)) {
    fs::remove_file(store.current_link()).unwrap();
    make(&store.current_link());
}

#[test]
fn dangling_current_serves_the_newest_intact_generation() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    replace_current(&store, |l| {
        std::os::unix::fs::symlink("elsewhere/7", l).unwrap()
    });
    let r = run_generator(t.path(), &q, &[]);
    let link = store.current_link();
    assert_serves(&r, 4, &[&*link.to_string_lossy(), "rendering generation 4"]);
}

#[test]
fn current_as_a_plain_file_serves_the_newest_intact_generation() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    replace_current(&store, |l| fs::write(l, "generations/2\n").unwrap());
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(&r, 4, &["is a file", "rendering generation 4"]);
}

#[test]
fn current_as_a_symlink_loop_serves_the_newest_intact_generation() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    replace_current(&store, |l| {
        std::os::unix::fs::symlink("current", l).unwrap()
    });
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(&r, 4, &["symbolic link loop", "rendering generation 4"]);
}

#[test]
fn current_to_a_missing_generation_serves_the_newest_intact_one() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    replace_current(&store, |l| {
        std::os::unix::fs::symlink("generations/9", l).unwrap()
    });
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(
        &r,
        4,
        &[
            "generation 9, which does not exist",
            "rendering generation 4",
        ],
    );
}

// A broken current generation (4): back to 2, the newest deployed one; 3 was rolled back.

#[test]
fn corrupt_manifest_falls_back_past_a_rolled_back_generation() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    let m = store.generation_dir(4).join("manifest.json");
    fs::write(&m, "{\"id\": 4, \"outco").unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(
        &r,
        2,
        &[
            "current generation 4 is not intact",
            &*m.to_string_lossy(),
            "rendering generation 2 (deployed)",
        ],
    );
}

#[test]
fn a_unit_that_no_longer_matches_its_hash_falls_back() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    let unit = store
        .generation_dir(4)
        .join("units/beta/beta-app.container");
    fs::write(&unit, "[Container]\nImage=127.0.0.1:5000/lab/evil:1\n").unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(
        &r,
        2,
        &[
            &*unit.to_string_lossy(),
            "does not match the sha256",
            "rendering generation 2",
        ],
    );
}

#[test]
fn an_empty_units_dir_falls_back() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    let units = store.generation_dir(4).join("units");
    fs::remove_dir_all(&units).unwrap();
    fs::create_dir(&units).unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(
        &r,
        2,
        &[
            "alpha-app.container: No such file",
            "rendering generation 2",
        ],
    );
}

#[test]
fn every_generation_broken_fails_loudly_and_writes_nothing() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    for id in 1..=4 {
        fs::write(store.generation_dir(id).join("manifest.json"), "").unwrap();
    }
    let r = run_generator(t.path(), &q, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(fs::read_dir(&r.out).unwrap().count(), 0, "nothing written");
    for s in [
        "current generation 4 is not intact",
        "no intact generation",
        "generation 1:",
    ] {
        assert!(r.stderr.contains(s), "stderr lacks {s:?}: {}", r.stderr);
    }
}

#[test]
fn without_current_a_deployed_generation_is_served_and_an_undone_first_deploy_is_not() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    fs::remove_file(store.current_link()).unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(&r, 4, &["current is missing", "rendering generation 4"]);

    // A first deploy that was rolled back (`current` removed): nothing is right, exit 0.
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    write_generation(&store, 1, "rolled-back", &two_stacks(1));
    let r = run_generator(t.path(), &q, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(fs::read_dir(&r.out).unwrap().count(), 0);
    assert!(
        r.stderr.contains("no generation was ever deployed"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_unit_quadlet_cannot_load_skips_only_its_stack() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    let mut units = two_stacks(1);
    units.push((
        "gamma",
        "gamma-app.container",
        "[Container\nImage=x\n".into(),
    ));
    units.push((
        "gamma",
        "gamma.target",
        "[Unit]\nWants=gamma-app.service\n[Install]\nWantedBy=default.target\n".into(),
    ));
    write_generation(&store, 1, "deployed", &units);
    store.switch(Some(1)).unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(&r, 1, &["stack gamma skipped"]);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("stack gamma"))
        .unwrap();
    assert!(
        line.contains("error loading")
            && line.contains("gamma-app.container\"")
            && line.contains("line 1"),
        "quadlet's own reason: {line}"
    );
    assert!(!r.out.join("gamma-app.service").exists());
    // Its target, written while quadlet ran, is gone again, and so is the link to it.
    assert!(!r.out.join("gamma.target").exists());
    assert!(fs::symlink_metadata(r.out.join("default.target.wants/gamma.target")).is_err());
    assert!(!r.stderr.contains("stack alpha skipped"), "{}", r.stderr);
}

/// A manifest naming a unit by a path (hand-edited: a deploy writes file names) costs only its
/// stack, and nothing is written outside the output directory.
#[test]
fn a_unit_named_by_a_path_skips_only_its_stack() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    let mut units = two_stacks(1);
    units.push((
        "gamma",
        "../../../escape.container",
        "[Container]\nImage=x\n".into(),
    ));
    write_generation(&store, 1, "deployed", &units);
    store.switch(Some(1)).unwrap();
    let r = run_generator(t.path(), &q, &[]);
    assert_serves(
        &r,
        1,
        &["stack gamma skipped: \"../../../escape.container\" is not a file name"],
    );
    assert!(!t.path().join("escape.container").exists());
    assert!(!t.path().join("escape.service").exists());
    assert!(!r.out.join("gamma.target").exists());
}

#[test]
fn unreadable_dropins_are_reported_and_the_units_still_rendered() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    write_generation(&store, 1, "deployed", &two_stacks(1));
    store.switch(Some(1)).unwrap();
    let d = t.path().join("config/containers/systemd/container.d");
    fs::create_dir_all(d.join("30-dir.conf")).unwrap();
    fs::write(
        d.join("10-ok.conf"),
        "[Container]\nPodmanArgs=--log-level=debug\n",
    )
    .unwrap();
    fs::write(
        d.join("20-secret.conf"),
        "[Container]\nPodmanArgs=--secret\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d.join("20-secret.conf"), fs::Permissions::from_mode(0o000)).unwrap();
    std::os::unix::fs::symlink("/nonexistent", d.join("40-dangling.conf")).unwrap();
    // Readable but not a unit file: quadlet says why and goes on without it; so do we.
    fs::write(
        d.join("50-garbled.conf"),
        "[Container\nPodmanArgs=--garbled\n",
    )
    .unwrap();
    // Root reads anything: drop the capabilities that let it, so 20-secret.conf is unreadable.
    let as_root = [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--",
    ];
    let is_root = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let prefix: &[&str] = if is_root.unwrap_or(false) {
        &as_root
    } else {
        &[]
    };
    let r = run_generator(t.path(), &q, prefix);
    assert_serves(&r, 1, &[]);
    let app = fs::read_to_string(r.out.join("alpha-app.service")).unwrap();
    assert!(
        app.contains("--log-level=debug"),
        "the readable drop-in applies: {app}"
    );
    assert!(
        !app.contains("--secret") && !app.contains("--garbled"),
        "{app}"
    );
    for (name, why) in [
        ("20-secret.conf", "Permission denied"),
        ("30-dir.conf", "is a directory"),
        ("40-dangling.conf", "No such file"),
        ("50-garbled.conf", "line 1"),
    ] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains("drop-in skipped") && l.contains(name) && l.contains(why)),
            "{name}: {}",
            r.stderr
        );
    }
}

#[test]
fn status_and_rollback_name_a_broken_current() {
    let t = tempfile::tempdir().unwrap();
    let store = four_generations(t.path());
    replace_current(&store, |l| {
        std::os::unix::fs::symlink("generations/9", l).unwrap()
    });
    let bin = env!("CARGO_BIN_EXE_release-tool");
    for args in [&["status"][..], &["rollback", "2"]] {
        let r = Command::new(bin)
            .args(args)
            .arg("--state-dir")
            .arg(t.path().join("state"))
            .env("RELEASE_TOOL_QUADLET", "/nonexistent/quadlet")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&*store.current_link().to_string_lossy())
                && stderr.contains("generation 9, which does not exist"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        fs::read_link(store.current_link()).unwrap(),
        PathBuf::from("generations/9"),
        "rollback changed nothing"
    );
}

#[test]
fn a_relative_output_directory_works() {
    let Some(q) = quadlet() else { return };
    let t = tempfile::tempdir().unwrap();
    let store = StateStore::open(&t.path().join("state")).unwrap();
    write_generation(&store, 1, "deployed", &two_stacks(1));
    store.switch(Some(1)).unwrap();
    fs::create_dir_all(t.path().join("out")).unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .current_dir(t.path())
        .env_clear()
        .env("RELEASE_TOOL_STATE_DIR", t.path().join("state"))
        .env("RELEASE_TOOL_QUADLET", &q)
        .env("XDG_RUNTIME_DIR", t.path().join("runtime"))
        .args(["generator", "out"])
        .output()
        .unwrap();
    let run = Run {
        code: r.status.code(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        out: t.path().join("out"),
    };
    assert_serves(&run, 1, &[]);
}
