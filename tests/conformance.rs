//! Conformance against the reference: for every compose file of the corpus (`real/`, each loaded
//! as its own project with `-f`, in its own directory) and every stack of `examples/`, the real
//! `docker compose config --format json` and our loader must agree on the normalized model.
//!
//! Compared: the whole project (every service field, networks, volumes, secrets, configs, name),
//! after the normalizations documented in `tests/common/compose_ref.rs` (`$$`, `x-` keys, null
//! command/entrypoint, global variables, optional `depends_on` links to disabled services).
//!
//! When docker compose fails on a file (a missing env file, a missing required variable), ours
//! must fail too. Cases that differ on purpose are listed in `EXPECTED_DIFFERENCES`.
//!
//! Our own cases (`tests/conformance/cases/<case>/`) carry docker compose's recorded output
//! (`expected.json` or `expected-error.txt`): without docker they are compared with it, with
//! docker the recording is checked against the live output too. `UPDATE_EXPECTED=1` rewrites the
//! recordings from the live docker compose (review the diff like code).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::compose_ref::{
    canonical, check, compare, diff, docker_compose, lab_required, record, recorded, run_docker,
    same_reference, skip_or_fail, Case, EXPECTED_ERROR, EXPECTED_JSON,
};
use indexmap::IndexMap;
use serde_json::Value;

/// (corpus path, reason) for the files where we differ from docker compose on purpose.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[(
    "cases/perfile-unknown-key-override",
    "an unknown key: docker compose refuses the file, release-tool warns (file, line, field) \
     and drops the key (docs/loader.md)",
)];

fn corpus() -> Option<PathBuf> {
    let shared = PathBuf::from("/work/shared/corpus");
    if shared.is_dir() {
        return Some(shared);
    }
    let rel = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    rel.is_dir().then_some(rel)
}

/// Every compose file a corpus root's `SOURCES.tsv` lists, each as its own project with `-f`.
fn corpus_files(root: &Path, label: &str) -> Vec<Case> {
    let tsv = std::fs::read_to_string(root.join("SOURCES.tsv"))
        .unwrap_or_else(|e| panic!("{}/SOURCES.tsv: {e}", root.display()));
    let mut cases = Vec::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 || !cols[3].starts_with("compose") {
            continue;
        }
        let path = root.join(format!("{}/{}", cols[0].replace('/', "__"), cols[2]));
        let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
            continue;
        };
        cases.push(Case {
            label: format!("{label}/{}/{}", cols[0].replace('/', "__"), cols[2]),
            dir: dir.to_path_buf(),
            files: vec![file.to_string_lossy().into_owned()],
            env: IndexMap::new(),
        });
    }
    cases
}

fn cases(corpus: &Path) -> Vec<Case> {
    let real = corpus.join("real");
    let mut cases = corpus_files(&real, "real");
    // Our own corpus (tests/conformance/corpus/, same layout): more projects, loaded the same way.
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/corpus");
    cases.extend(corpus_files(&own, "corpus"));
    // ... and the combinations of its files upstream documents (COMBINATIONS.tsv: dir, -f list).
    let combos = std::fs::read_to_string(own.join("COMBINATIONS.tsv")).expect("COMBINATIONS.tsv");
    for (dir, files) in combos.lines().skip(1).filter_map(|l| l.split_once('\t')) {
        cases.push(Case {
            label: format!("corpus-multi/{dir}: {files}"),
            dir: own.join(dir),
            files: files.split_whitespace().map(str::to_string).collect(),
            env: IndexMap::new(),
        });
    }
    cases.extend(multi_file_cases(&real));
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let globals = release_tool::compose::load_global_vars(Some(&examples.join("values.env")), None)
        .expect("examples/values.env");
    for stack in
        release_tool::compose::discover_stacks(&examples.join("services")).expect("example stacks")
    {
        // Compared as whole stacks: docker compose picks the override file by itself.
        cases.push(Case {
            label: format!("examples/{}", stack.name),
            dir: stack.dir.clone(),
            files: Vec::new(),
            env: globals.clone(),
        });
    }
    cases
}

/// Our own cases (tests/conformance/cases/<case>/), written to cover the fields, override rules,
/// extends/include and profile forms the corpus uses little, and the divergences the
/// differential run (tests/differential.rs) found: each a whole stack, with `TAG=2.0` set.
fn own_cases() -> Vec<Case> {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut own_dirs: Vec<PathBuf> = std::fs::read_dir(&own)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    own_dirs.sort();
    own_dirs
        .into_iter()
        .map(|dir| Case {
            label: format!(
                "cases/{}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
            dir,
            files: Vec::new(),
            env: IndexMap::from([("TAG".to_string(), "2.0".to_string())]),
        })
        .collect()
}

/// Our own cases against docker compose's recorded output (no docker needed); with docker, the
/// recording must still be what docker compose says (`UPDATE_EXPECTED=1` rewrites it).
#[test]
fn own_cases_agree_with_recorded_docker_compose() {
    let bin = docker_compose();
    if bin.is_none() && lab_required() {
        panic!("required for this test: docker compose not found (set DOCKER_COMPOSE)");
    }
    let update = std::env::var("UPDATE_EXPECTED").as_deref() == Ok("1");
    let cases = own_cases();
    let mut failures = Vec::new();
    let (mut refused, mut differ) = (0, 0);
    for case in &cases {
        let live = bin.as_deref().map(|b| case.reference(b));
        if let (true, Some(live)) = (update, &live) {
            record(&case.dir, live);
        }
        let Some(rec) = recorded(&case.dir) else {
            failures.push(format!(
                "{}: no {EXPECTED_JSON} or {EXPECTED_ERROR} (record it with UPDATE_EXPECTED=1)",
                case.label
            ));
            continue;
        };
        if let Some(live) = &live {
            if let Err(e) = same_reference(&rec, live) {
                failures.push(format!(
                    "{}: stale recording (UPDATE_EXPECTED=1 rewrites it): {e}",
                    case.label
                ));
            }
        }
        let listed = EXPECTED_DIFFERENCES.iter().find(|(l, _)| *l == case.label);
        match (compare(rec, case), listed) {
            (Ok(both_refuse), None) => refused += usize::from(both_refuse),
            (Err(e), None) => failures.push(format!("{}:\n    {e}", case.label)),
            (Err(_), Some(_)) => differ += 1,
            (Ok(_), Some((_, why))) => failures.push(format!(
                "{}: listed as an expected difference ({why}) but agrees now: remove it from \
                 EXPECTED_DIFFERENCES",
                case.label
            )),
        }
    }
    eprintln!(
        "own cases: {} agree with docker compose's recorded output ({refused} refused by both), \
         {differ} differ on purpose (EXPECTED_DIFFERENCES), {} fail, of {}{}",
        cases.len() - failures.len() - differ,
        failures.len(),
        cases.len(),
        if bin.is_some() {
            ", recordings checked against the live docker compose"
        } else {
            ", docker compose absent: recordings only"
        }
    );
    assert!(cases.len() >= 18, "too few cases: {}", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docker_compose_config_agrees() {
    let Some(corpus) = corpus() else {
        return skip_or_fail("the corpus (/work/shared/corpus or ../shared/corpus) is missing");
    };
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let cases = cases(&corpus);
    let mut agree = 0;
    let mut both_fail = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let expected = EXPECTED_DIFFERENCES
            .iter()
            .find(|(p, _)| case.label.ends_with(p));
        match (check(&bin, case), expected) {
            (Ok(failed), _) => {
                agree += 1;
                both_fail += usize::from(failed);
            }
            (Err(_), Some((_, why))) => eprintln!("differs on purpose: {}: {why}", case.label),
            (Err(e), None) => failures.push(format!("{}:\n    {e}", case.label)),
        }
    }
    let listed = cases
        .iter()
        .filter(|c| EXPECTED_DIFFERENCES.iter().any(|(l, _)| *l == c.label))
        .count();
    let total = cases.len() - listed;
    for f in &failures {
        eprintln!("DIFFERS: {f}");
    }
    eprintln!("conformance: {agree}/{total} stacks agree with docker compose config (in {both_fail} of them both refuse the file)");
    // The examples each pin one behaviour: every one must agree. The corpus needs 98 %.
    let own: Vec<&String> = failures
        .iter()
        .filter(|f| f.starts_with("examples/"))
        .collect();
    assert!(own.is_empty(), "own cases differ: {own:#?}");
    assert!(
        agree * 100 >= total * 98,
        "only {agree}/{total} agree (need 98 %)"
    );
}

/// compose-go's own loader fixtures (extends, include, cycles, profiles, version key), run
/// through docker compose (which is compose-go) and through ours: both load the same model, or
/// both refuse. Remote includes (network) are left out.
#[test]
fn compose_go_fixtures_agree() {
    let Some(corpus) = corpus() else {
        return skip_or_fail("the corpus (/work/shared/corpus or ../shared/corpus) is missing");
    };
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let td = corpus.join("compose-go/loader/testdata");
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["", "extends", "include", "combined"] {
        let Ok(rd) = std::fs::read_dir(td.join(sub)) else {
            continue;
        };
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        v.sort();
        files.extend(v);
    }
    let mut agree = 0;
    let mut failures = Vec::new();
    for f in &files {
        let case = Case {
            label: f.strip_prefix(&corpus).unwrap_or(f).display().to_string(),
            dir: f.parent().unwrap_or(Path::new("/")).to_path_buf(),
            files: vec![f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()],
            env: IndexMap::new(),
        };
        match check(&bin, &case) {
            Ok(_) => agree += 1,
            Err(e) => failures.push(format!("{}:\n    {e}", case.label)),
        }
    }
    for f in &failures {
        eprintln!("DIFFERS: {f}");
    }
    eprintln!(
        "compose-go fixtures: {agree}/{} agree with docker compose config",
        files.len()
    );
    assert!(
        files.len() >= 10,
        "too few fixtures found under {}",
        td.display()
    );
    assert!(failures.is_empty(), "{} fixtures differ", failures.len());
}

/// compose-go's dotenv fixtures, each used as an `env_file`: the environment we read equals
/// docker compose's (or both refuse the file).
#[test]
fn compose_go_dotenv_fixtures_agree() {
    let Some(corpus) = corpus() else {
        return skip_or_fail("the corpus (/work/shared/corpus or ../shared/corpus) is missing");
    };
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let fixtures = corpus.join("compose-go/dotenv/fixtures");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("dotenv fixtures")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for f in &names {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("dotenv");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(
            dir.join("compose.yaml"),
            format!(
                "services:\n  s:\n    image: x\n    env_file: {:?}\n",
                f.display().to_string()
            ),
        )
        .expect("write compose.yaml");
        let case = Case {
            label: f.display().to_string(),
            dir,
            files: vec!["compose.yaml".into()],
            env: IndexMap::new(),
        };
        if let Err(e) = check(&bin, &case) {
            failures.push(format!("{}:\n    {e}", case.label));
        }
    }
    for f in &failures {
        eprintln!("DIFFERS: {f}");
    }
    eprintln!(
        "dotenv fixtures: {}/{} agree",
        names.len() - failures.len(),
        names.len()
    );
    assert!(
        failures.is_empty(),
        "{} dotenv fixtures differ",
        failures.len()
    );
}

/// The files meant to be combined with several `-f` (overrides with `!reset`, extends across
/// files), with the variables their example env files give.
fn multi_file_cases(real: &Path) -> Vec<Case> {
    let env_of = |p: &Path| -> IndexMap<String, String> {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| release_tool::compose::dotenv::parse(&t, &|_| None).ok())
            .unwrap_or_default()
    };
    let frappe = real.join("frappe__frappe_docker");
    let mut frappe_env = env_of(&frappe.join("example.env"));
    for (k, v) in [
        ("DB_PASSWORD_SECRETS_FILE", "./example.env"),
        ("HASHED_PASSWORD", "x"),
        ("EMAIL", "a@b.c"),
        ("ROUTER", "r"),
        ("BENCH_NETWORK", "bench"),
        ("SITES", "`a.example`"),
    ] {
        frappe_env.insert(k.into(), v.into());
    }
    let mattermost = real.join("mattermost__docker");
    let mm_env = env_of(&mattermost.join("env.example"));
    let mut out = Vec::new();
    let mut add = |label: &str, dir: &Path, files: &[&str], env: &IndexMap<String, String>| {
        out.push(Case {
            label: format!("multi/{label}"),
            dir: dir.to_path_buf(),
            files: files.iter().map(|f| f.to_string()).collect(),
            env: env.clone(),
        });
    };
    add(
        "frappe: mariadb+redis+noproxy",
        &frappe,
        &[
            "compose.yaml",
            "overrides/compose.mariadb.yaml",
            "overrides/compose.redis.yaml",
            "overrides/compose.noproxy.yaml",
        ],
        &frappe_env,
    );
    add(
        "frappe: mariadb+secrets (!reset)",
        &frappe,
        &[
            "compose.yaml",
            "overrides/compose.mariadb.yaml",
            "overrides/compose.mariadb-secrets.yaml",
        ],
        &frappe_env,
    );
    add(
        "frappe: traefik-ssl+backup-cron",
        &frappe,
        &[
            "compose.yaml",
            "overrides/compose.mariadb.yaml",
            "overrides/compose.redis.yaml",
            "overrides/compose.traefik.yaml",
            "overrides/compose.traefik-ssl.yaml",
            "overrides/compose.backup-cron.yaml",
        ],
        &frappe_env,
    );
    add(
        "frappe: multi-bench",
        &frappe,
        &["compose.yaml", "overrides/compose.multi-bench.yaml"],
        &frappe_env,
    );
    add(
        "mattermost: with nginx",
        &mattermost,
        &["docker-compose.yml", "docker-compose.nginx.yml"],
        &mm_env,
    );
    add(
        "mattermost: without nginx",
        &mattermost,
        &["docker-compose.yml", "docker-compose.without-nginx.yml"],
        &mm_env,
    );
    add(
        "appwrite: with override",
        &real.join("appwrite__appwrite"),
        &["docker-compose.yml", "docker-compose.override.yml"],
        &IndexMap::new(),
    );
    let neosync = real.join("nucleuscloud__neosync");
    add(
        "neosync: compose+db",
        &neosync,
        &["compose.yml", "compose/compose-db.yml"],
        &IndexMap::new(),
    );
    add(
        "neosync: dev+auth",
        &neosync,
        &["compose.dev.yml", "compose.auth.yml"],
        &IndexMap::new(),
    );
    out
}

/// `release-tool config --format yaml` is itself a compose file docker compose reads back to the
/// same model as our JSON output (the emitter quotes what needs quoting, escapes `$`).
#[test]
fn config_yaml_reads_back_in_docker_compose() {
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let tool = env!("CARGO_BIN_EXE_release-tool");
    let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/services");
    for stack in ["web", "worker"] {
        let run = |format: &str| {
            let out = Command::new(tool)
                .env_clear()
                .args([
                    "config",
                    "--stack",
                    stack,
                    "--format",
                    format,
                    "--services-dir",
                ])
                .arg(&services)
                .output()
                .expect("release-tool runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let ours: Value = serde_json::from_str(&run("json")).expect("json");
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join(stack);
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("compose.yaml"), run("yaml")).expect("write");
        let theirs = run_docker(&bin, &dir, &["compose.yaml".to_string()], &IndexMap::new())
            .expect("docker compose reads it");
        let mut out = Vec::new();
        diff(&canonical(&theirs), &canonical(&ours), "", &mut out);
        out.retain(|d| !d.contains("docker=null ours=(absent)"));
        assert!(out.is_empty(), "{stack}: {}", out.join("\n"));
    }
}

/// Files that are not what they claim, a byte-order mark, out-of-range ports: docker compose and
/// our loader both refuse (or both load the same model). A FIFO and `/dev/zero` are left out:
/// docker compose blocks reading them (we refuse them, see tests/loader_hostile.rs).
#[test]
fn hostile_stacks_agree_with_docker_compose() {
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    const GOOD: &str = "services:\n  web:\n    image: busybox\n";
    type Make = fn(&Path);
    let cases: Vec<(&str, bool, Make)> = vec![
        ("compose.yaml is a directory", true, |d| {
            std::fs::create_dir(d.join("compose.yaml")).expect("mkdir")
        }),
        ("compose.yaml is a dangling symlink", true, |d| {
            std::os::unix::fs::symlink("nowhere.yaml", d.join("compose.yaml")).expect("link")
        }),
        ("compose.yaml is a symlink loop", true, |d| {
            std::os::unix::fs::symlink("compose.yaml", d.join("compose.yaml")).expect("link")
        }),
        ("env_file is a directory", true, |d| {
            std::fs::write(d.join("compose.yaml"), format!("{GOOD}    env_file: ./e\n"))
                .expect("write");
            std::fs::create_dir(d.join("e")).expect("mkdir");
        }),
        ("a byte-order mark", false, |d| {
            std::fs::write(d.join("compose.yaml"), format!("\u{feff}{GOOD}")).expect("write")
        }),
        ("host port 70000", true, |d| {
            std::fs::write(
                d.join("compose.yaml"),
                format!("{GOOD}    ports: [\"70000:80\"]\n"),
            )
            .expect("write")
        }),
        ("container port 70000", true, |d| {
            std::fs::write(
                d.join("compose.yaml"),
                format!("{GOOD}    ports: [\"80:70000\"]\n"),
            )
            .expect("write")
        }),
        ("container port range to 70000", true, |d| {
            std::fs::write(
                d.join("compose.yaml"),
                format!("{GOOD}    ports: [\"1-70000:1-70000\"]\n"),
            )
            .expect("write")
        }),
        ("container port 0", true, |d| {
            std::fs::write(
                d.join("compose.yaml"),
                format!("{GOOD}    ports: [\"80:0\"]\n"),
            )
            .expect("write")
        }),
        ("host port 0 and 65535", false, |d| {
            std::fs::write(
                d.join("compose.yaml"),
                format!("{GOOD}    ports: [\"0:80\", \"65535:65535\"]\n"),
            )
            .expect("write")
        }),
    ];
    let mut failures = Vec::new();
    for (label, refused, make) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("services/hostile");
        std::fs::create_dir_all(&dir).expect("mkdir");
        make(&dir);
        let case = Case {
            label: label.into(),
            dir,
            files: Vec::new(),
            env: IndexMap::new(),
        };
        match check(&bin, &case) {
            Ok(both_refused) if both_refused == refused => {}
            Ok(both_refused) => failures.push(format!("{label}: both refused = {both_refused}")),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The corpus files again, as a user would load them (as the quadlet oracle does): with the
/// variables of the repo's example env file (`.env.example`...) when it has one, and a
/// placeholder for each variable docker compose says is required (`${VAR:?}`). Files that need
/// neither are left out (`docker_compose_config_agrees` loads them); both loaders must load the
/// same model, so the files refused there for a missing variable are compared whole here.
#[test]
fn corpus_with_example_variables_agrees() {
    let Some(corpus) = corpus() else {
        return skip_or_fail("the corpus (/work/shared/corpus or ../shared/corpus) is missing");
    };
    let Some(bin) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/corpus");
    let mut cases = corpus_files(&corpus.join("real"), "real");
    cases.extend(corpus_files(&own, "corpus"));
    let (mut tried, mut agree) = (0, 0);
    let mut failures = Vec::new();
    for mut case in cases {
        let example = example_vars(&case.dir);
        let with_example = !example.is_empty();
        case.env.extend(example);
        let mut reference = case.reference(&bin);
        let mut filled = with_example;
        for _ in 0..40 {
            let Err(e) = &reference else { break };
            let Some(var) = e
                .split("required variable ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
            else {
                break;
            };
            if case.env.contains_key(&var) {
                break;
            }
            case.env.insert(var, "placeholder".into());
            filled = true;
            reference = case.reference(&bin);
        }
        if !filled {
            continue;
        }
        tried += 1;
        match compare(reference, &case) {
            Ok(_) => agree += 1,
            Err(e) => failures.push(format!(
                "{} (with {:?}):\n    {e}",
                case.label,
                case.env.keys()
            )),
        }
    }
    for f in &failures {
        eprintln!("DIFFERS: {f}");
    }
    eprintln!(
        "corpus with example and placeholder variables: {agree}/{tried} agree with docker compose config"
    );
    assert!(
        tried >= 5,
        "only {tried} files have example or required variables"
    );
    assert!(failures.is_empty(), "{} files differ", failures.len());
}

/// The variables of the example env files (`.env.example`, `env.example`, ...) in a file's
/// directory and the directories above it up to the repo, as the quadlet oracle gives them.
fn example_vars(dir: &Path) -> IndexMap<String, String> {
    const EXAMPLE_ENV: &[&str] = &[
        "env.example",
        ".env.example",
        "example.env",
        "defaults.env",
        ".env.sample",
    ];
    let mut out = IndexMap::new();
    let mut d = Some(dir);
    while let Some(dir) = d {
        if dir.join("SOURCES.tsv").is_file() {
            break;
        }
        for e in EXAMPLE_ENV {
            if let Ok(text) = std::fs::read_to_string(dir.join(e)) {
                if let Ok(vars) = release_tool::compose::dotenv::parse(&text, &|_| None) {
                    for (k, v) in vars {
                        out.entry(k).or_insert(v);
                    }
                }
            }
        }
        d = dir.parent();
    }
    out
}
