//! Conformance against the reference: for every compose file of the corpus (`real/`, each loaded
//! as its own project with `-f`, in its own directory) and every stack of `examples/`, the real
//! `docker compose config --format json` and our loader must agree on the normalized model.
//!
//! Compared: the whole project (every service field, networks, volumes, secrets, configs, name),
//! after these documented normalizations:
//! - docker compose prints `$` as `$$` (in keys and values); we compare the values (`$$` → `$`
//!   on its side);
//! - docker compose's JSON drops service-level `x-` keys; our model keeps them (removed here);
//! - docker compose prints `"command": null` / `"entrypoint": null` for unset fields; absent and
//!   null are the same;
//! - global variables (examples/values.env) are added to every container's environment by
//!   release-tool on purpose (DESIGN.md); they are removed from ours where docker has none;
//! - an optional `depends_on` link (`required: false`) to a service disabled by profiles is
//!   dropped by release-tool on purpose (there is no unit to order against); docker keeps it.
//!
//! When docker compose fails on a file (a missing env file, a missing required variable), ours
//! must fail too. Cases that differ on purpose are listed in `EXPECTED_DIFFERENCES`.

use std::path::{Path, PathBuf};
use std::process::Command;

use indexmap::IndexMap;
use release_tool::compose::{load_files_json, LoadOptions};
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

fn docker_compose() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DOCKER_COMPOSE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    // The lab's env file names it too ($RELEASE_TOOL_LAB_ENV, /run/release-tool-lab/env, /run/lab/env).
    let lab_envs = std::env::var_os("RELEASE_TOOL_LAB_ENV")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/run/release-tool-lab/env", "/run/lab/env"].map(PathBuf::from));
    for f in lab_envs {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let found = text
            .lines()
            .filter_map(|l| l.strip_prefix("DOCKER_COMPOSE="))
            .map(|v| PathBuf::from(v.trim().trim_matches('"')))
            .find(|p| p.is_file());
        if found.is_some() {
            return found;
        }
    }
    [
        "/usr/local/libexec/docker/cli-plugins/docker-compose",
        "/usr/libexec/docker/cli-plugins/docker-compose",
        "/usr/lib/docker/cli-plugins/docker-compose",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn skip_or_fail(why: &str) {
    if std::env::var("RELEASE_TOOL_REQUIRE_LAB").as_deref() == Ok("1") {
        panic!("required for this test: {why}");
    }
    eprintln!("skipped: {why}");
}

const HOME: &str = "/nonexistent-home";

fn run_docker(
    bin: &Path,
    dir: &Path,
    files: &[String],
    env: &IndexMap<String, String>,
) -> Result<Value, String> {
    let mut args: Vec<&str> = files.iter().flat_map(|f| ["-f", f.as_str()]).collect();
    args.extend(["config", "--format", "json"]);
    let out = Command::new(bin)
        .env_clear()
        .env("HOME", HOME)
        .envs(env)
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn unescape(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("$$", "$")),
        Value::Array(a) => Value::Array(a.into_iter().map(unescape).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k.replace("$$", "$"), unescape(v)))
                .collect(),
        ),
        v => v,
    }
}

/// Sorted keys, null-valued service fields dropped.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        v => v.clone(),
    }
}

fn services_mut(v: &mut Value) -> Vec<&mut serde_json::Map<String, Value>> {
    v.get_mut("services")
        .and_then(Value::as_object_mut)
        .map(|s| s.values_mut().filter_map(Value::as_object_mut).collect())
        .unwrap_or_default()
}

fn prepare(
    mut docker: Value,
    mut ours: Value,
    globals: &IndexMap<String, String>,
) -> (Value, Value) {
    docker = unescape(docker);
    let names: Vec<String> = docker
        .get("services")
        .and_then(Value::as_object)
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    for svc in services_mut(&mut docker) {
        svc.retain(|_, v| !v.is_null());
        if let Some(Value::Object(deps)) = svc.get_mut("depends_on") {
            deps.retain(|k, _| names.contains(k));
        }
    }
    let docker_envs: IndexMap<String, Value> = docker
        .get("services")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .filter_map(|(k, svc)| svc.get("environment").map(|e| (k.clone(), e.clone())))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(services)) = ours.get_mut("services") {
        for (name, svc) in services.iter_mut() {
            let Some(svc) = svc.as_object_mut() else {
                continue;
            };
            svc.retain(|_, v| !v.is_null());
            // Service-level `x-` keys are kept in our model (docker compose's JSON drops them).
            svc.retain(|k, _| !k.starts_with("x-"));
            let theirs = docker_envs.get(name);
            if let Some(Value::Object(env)) = svc.get_mut("environment") {
                env.retain(|k, _| {
                    !globals.contains_key(k) || theirs.is_some_and(|t| t.get(k).is_some())
                });
                if env.is_empty() {
                    svc.remove("environment");
                }
            }
        }
    }
    (canonical(&docker), canonical(&ours))
}

/// Field paths where the two differ.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff(u, v, &p, out),
                    (u, v) => out.push(format!("{p}: docker={} ours={}", show(u), show(v))),
                }
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: docker={} ours={}", a, b)),
    }
}

fn show(v: Option<&Value>) -> String {
    v.map(|v| v.to_string())
        .unwrap_or_else(|| "(absent)".into())
}

struct Case {
    label: String,
    dir: PathBuf,
    /// `-f` files; empty for a whole stack (default files + override, as without `-f`).
    files: Vec<String>,
    env: IndexMap<String, String>,
}

/// `Ok(true)` when both refuse the input for the same reason, `Ok(false)` when both load the same
/// model. With no `-f` files the case is a whole stack (a directory of examples/ or of the corpus,
/// main file + override), loaded as the deploy does.
fn check(bin: &Path, case: &Case) -> Result<bool, String> {
    let docker = run_docker(bin, &case.dir, &case.files, &case.env);
    let opts = LoadOptions {
        global_vars: case.env.clone(),
        home: Some(PathBuf::from(HOME)),
        display_dir: None,
        strict: false,
    };
    let ours = if case.files.is_empty() {
        let name = case.dir.file_name().unwrap_or_default();
        let stack = release_tool::compose::StackRef {
            name: name.to_string_lossy().into_owned(),
            dir: case.dir.clone(),
        };
        release_tool::compose::load_stack_json(&stack, &opts)
    } else {
        let files: Vec<PathBuf> = case.files.iter().map(PathBuf::from).collect();
        load_files_json(&case.dir, &files, None, &opts)
    };
    match (docker, ours) {
        (Err(d), Err(o)) => same_reason(&d, &o.to_string()).map(|()| true),
        (Err(d), Ok(_)) => Err(format!("docker compose fails but we load it: {d}")),
        (Ok(_), Err(e)) => Err(format!("we fail but docker compose loads it: {e}")),
        (Ok(d), Ok((_, o))) => {
            let (d, o) = prepare(d, o, &case.env);
            let mut out = Vec::new();
            diff(&d, &o, "", &mut out);
            if out.is_empty() {
                Ok(false)
            } else {
                Err(out.join("\n    "))
            }
        }
    }
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
    // Our own cases (tests/conformance/cases/<case>/), written to cover the fields, override
    // rules, extends/include and profile forms the corpus uses little.
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
    for dir in own_dirs {
        let mut env = IndexMap::new();
        env.insert("TAG".to_string(), "2.0".to_string());
        cases.push(Case {
            label: format!(
                "cases/{}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
            dir,
            files: Vec::new(),
            env,
        });
    }
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
    let total = cases.len() - EXPECTED_DIFFERENCES.len();
    for f in &failures {
        eprintln!("DIFFERS: {f}");
    }
    eprintln!("conformance: {agree}/{total} stacks agree with docker compose config (in {both_fail} of them both refuse the file)");
    // Our own cases each pin one behaviour: every one must agree. The corpus needs 98 %.
    let own: Vec<&String> = failures
        .iter()
        .filter(|f| f.starts_with("cases/") || f.starts_with("examples/"))
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

/// Both refused the input: for the same reason? The reason's key words from docker compose's
/// message must be in ours (the variable, the network, the file...).
fn same_reason(docker: &str, ours: &str) -> Result<(), String> {
    let msg: String = docker
        .lines()
        .filter(|l| !l.contains("level=warning"))
        .collect::<Vec<_>>()
        .join(" ");
    let after = |marker: &str| -> Option<String> {
        msg.split_once(marker).map(|(_, r)| {
            r.split([' ', ':', '"'])
                .find(|w| !w.is_empty())
                .unwrap_or("")
                .to_string()
        })
    };
    let need: Vec<String> = if msg.contains("required variable ") {
        // docker compose names whichever missing variable it meets first (Go map order).
        vec!["required variable ".into()]
    } else if let Some(n) = after("undefined network ") {
        vec![format!("undefined network {n}")]
    } else if msg.contains("neither an image nor a build context") {
        vec!["neither an image nor a build context".into()]
    } else if let Some(f) = after("env file ") {
        vec![format!("env file {f}"), "not found".into()]
    } else if msg.contains("empty section between colons") {
        vec!["empty section between colons".into()]
    } else if let Some((_, rest)) = msg.split_once("can't set distinct values on ") {
        vec![format!(
            "can't set distinct values on {}",
            rest.split(": invalid").next().unwrap_or("")
        )]
    } else if msg.contains("invalid project name") {
        vec!["invalid project name".into()]
    } else if msg.contains("invalid boolean") {
        vec!["must be a boolean".into()]
    } else if msg.contains("No port specified") {
        vec!["invalid port".into()]
    } else {
        vec![]
    };
    if need.iter().all(|n| ours.contains(n.as_str())) {
        Ok(())
    } else {
        Err(format!(
            "both refuse, for different reasons:\n      docker: {msg}\n      ours: {ours}"
        ))
    }
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
