//! The comparison with the reference loader, shared by `tests/conformance.rs` and
//! `tests/differential.rs`: run `docker compose config --format json` and our loader on the same
//! project, normalize both (the documented normalizations below) and list the fields that differ.
//!
//! Normalizations:
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
//! docker compose's output can be recorded next to a case (`expected.json`, or
//! `expected-error.txt` when it refuses the project), with the checkout's path written as
//! [`ROOT_MARK`], so the comparison runs without docker too.

use std::path::{Path, PathBuf};
use std::process::Command;

use indexmap::IndexMap;
use release_tool::compose::{load_files_json, LoadOptions};
use serde_json::Value;

pub fn docker_compose() -> Option<PathBuf> {
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

pub fn lab_required() -> bool {
    std::env::var("RELEASE_TOOL_REQUIRE_LAB").as_deref() == Ok("1")
}

pub fn skip_or_fail(why: &str) {
    if lab_required() {
        panic!("required for this test: {why}");
    }
    eprintln!("skipped: {why}");
}

pub const HOME: &str = "/nonexistent-home";

/// What docker compose said of a project: its model, or its error message.
pub type Reference = Result<Value, String>;

pub fn run_docker(
    bin: &Path,
    dir: &Path,
    files: &[String],
    env: &IndexMap<String, String>,
) -> Reference {
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

/// Sorted keys.
pub fn canonical(v: &Value) -> Value {
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
            // Ours has no `depends_on` when every link went that way.
            if deps.is_empty() {
                svc.remove("depends_on");
            }
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
pub fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
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

pub struct Case {
    pub label: String,
    pub dir: PathBuf,
    /// `-f` files; empty for a whole stack (default files + override, as without `-f`).
    pub files: Vec<String>,
    pub env: IndexMap<String, String>,
}

impl Case {
    pub fn reference(&self, bin: &Path) -> Reference {
        run_docker(bin, &self.dir, &self.files, &self.env)
    }

    /// Our loader on the case: with no `-f` files the case is a whole stack (a directory of
    /// examples/, of the corpus or of the cases, main file + override), loaded as the deploy does.
    pub fn ours(
        &self,
    ) -> Result<(release_tool::compose::LoadedStack, Value), release_tool::compose::LoadError> {
        let opts = LoadOptions {
            global_vars: self.env.clone(),
            home: Some(PathBuf::from(HOME)),
            display_dir: None,
            strict: false,
        };
        if self.files.is_empty() {
            let name = self.dir.file_name().unwrap_or_default();
            let stack = release_tool::compose::StackRef {
                name: name.to_string_lossy().into_owned(),
                dir: self.dir.clone(),
            };
            release_tool::compose::load_stack_json(&stack, &opts)
        } else {
            let files: Vec<PathBuf> = self.files.iter().map(PathBuf::from).collect();
            load_files_json(&self.dir, &files, None, &opts)
        }
    }
}

/// `Ok(true)` when both refuse the input for the same reason, `Ok(false)` when both load the same
/// model.
pub fn check(bin: &Path, case: &Case) -> Result<bool, String> {
    compare(case.reference(bin), case)
}

/// [`check`] against a reference already at hand (run now, or recorded).
pub fn compare(docker: Reference, case: &Case) -> Result<bool, String> {
    compare_loaded(docker, case.ours(), &case.env).map(|(refused, _)| refused)
}

/// [`compare`] given our loader's result; also hands that result back when both accept.
pub fn compare_loaded(
    docker: Reference,
    ours: Result<(release_tool::compose::LoadedStack, Value), release_tool::compose::LoadError>,
    globals: &IndexMap<String, String>,
) -> Result<(bool, Option<release_tool::compose::LoadedStack>), String> {
    match (docker, ours) {
        (Err(d), Err(o)) => same_reason(&d, &o.to_string()).map(|()| (true, None)),
        (Err(d), Ok(_)) => Err(format!("docker compose fails but we load it: {d}")),
        (Ok(_), Err(e)) => Err(format!("we fail but docker compose loads it: {e}")),
        (Ok(d), Ok((stack, o))) => {
            let (d, o) = prepare(d, o, globals);
            let mut out = Vec::new();
            diff(&d, &o, "", &mut out);
            if out.is_empty() {
                Ok((false, Some(stack)))
            } else {
                Err(out.join("\n    "))
            }
        }
    }
}

/// Stands for the checkout's directory in recorded outputs.
pub const ROOT_MARK: &str = "@MANIFEST_DIR@";
pub const EXPECTED_JSON: &str = "expected.json";
pub const EXPECTED_ERROR: &str = "expected-error.txt";

fn manifest_dir() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// docker compose's recorded output for a case directory, if any.
pub fn recorded(dir: &Path) -> Option<Reference> {
    let root = manifest_dir();
    if let Ok(text) = std::fs::read_to_string(dir.join(EXPECTED_ERROR)) {
        return Some(Err(text.replace(ROOT_MARK, root)));
    }
    let text = std::fs::read_to_string(dir.join(EXPECTED_JSON)).ok()?;
    let v = serde_json::from_str(&text.replace(ROOT_MARK, root))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(EXPECTED_JSON).display()));
    Some(Ok(v))
}

/// Writes docker compose's output as the case's recording (the checkout's path as [`ROOT_MARK`]),
/// removing the other kind of recording.
pub fn record(dir: &Path, reference: &Reference) {
    let root = manifest_dir();
    let (keep, drop, text) = match reference {
        Ok(v) => (
            EXPECTED_JSON,
            EXPECTED_ERROR,
            serde_json::to_string_pretty(&canonical(v)).expect("json") + "\n",
        ),
        Err(e) => (EXPECTED_ERROR, EXPECTED_JSON, format!("{e}\n")),
    };
    std::fs::write(dir.join(keep), text.replace(root, ROOT_MARK)).expect("write the recording");
    let _ = std::fs::remove_file(dir.join(drop));
}

/// Does a live run of docker compose still say what was recorded? The same model, or a refusal
/// for the same reason.
pub fn same_reference(recorded: &Reference, live: &Reference) -> Result<(), String> {
    match (recorded, live) {
        (Ok(r), Ok(l)) => {
            let mut out = Vec::new();
            diff(&canonical(l), &canonical(r), "", &mut out);
            if out.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "docker compose (\"docker\") now differs from its recording (\"ours\"):\n    {}",
                    out.join("\n    ")
                ))
            }
        }
        (Err(r), Err(l)) => same_reason(l, r),
        (Ok(_), Err(l)) => Err(format!("recorded a model, docker compose now refuses: {l}")),
        (Err(r), Ok(_)) => Err(format!(
            "recorded a refusal ({r}), docker compose now loads it"
        )),
    }
}
/// Both refused the input: for the same reason? The reason's key words from docker compose's
/// message must be in ours (the variable, the network, the file...).
pub fn same_reason(docker: &str, ours: &str) -> Result<(), String> {
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
    } else if msg.contains("build.platforms MUST include") {
        vec!["build.platforms MUST include service.platform".into()]
    } else if msg.contains("declares mutually exclusive") {
        vec!["declares mutually exclusive `network_mode` and `networks`".into()]
    } else if msg.contains("json: unsupported value") {
        vec!["unsupported value".into()]
    } else if msg.contains("invalid additional host, missing IP") {
        vec!["invalid additional host, missing IP".into()]
    } else if let Some(h) = after("bad host name ") {
        vec![format!("bad host name {h}")]
    } else if msg.contains("as container name must be unique") {
        vec!["as container name must be unique".into()]
    } else if msg.contains("invalid project name") {
        vec!["invalid project name".into()]
    } else if msg.contains("invalid boolean") {
        // Ours says "invalid boolean" (the cast while interpolating) or "must be a boolean".
        vec!["boolean".into()]
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
