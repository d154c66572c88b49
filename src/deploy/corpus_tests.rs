//! Paths in units are the committed generation's (DESIGN 4a), for every way a path reaches a unit:
//! each stack of examples/, of the corpus, and of a repo written here to use every route (parent
//! directories, `include`, `extends` from another file, a build context `..`, env files, secrets,
//! configs) is deployed with the fakes into a fresh state dir; every path a unit names under the
//! state dir must exist in the committed generation exactly when it exists in the checkout, no
//! unit may name the staging directory or the live checkout, and a second deploy changes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::effects::Effects;
use super::exact::paths_under;
use super::fake::{FakeClock, FakePodman, FakeSystemd};
use super::prepare::{deploy, shown_inputs, DeployOptions, DeployResult, DeploySource};
use super::render::RepoRenderer;
use super::store::StateStore;
use crate::compose::discover::{default_files, COMPOSE_FILES, OVERRIDE_FILES};
use crate::deploy::fake::Recorder;
use crate::translate::PodmanVersion;

pub(super) struct Case {
    label: String,
    /// The checkout: everything under it is "the repo".
    root: PathBuf,
    pub(super) src: DeploySource,
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else if ft.is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn valid_name(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("s{s}")
}

/// One checkout per corpus compose file: its repo copied whole, the file's directory the stack
/// (renamed when its name is no stack name), its parent the services dir, so `../x` means what
/// it meant upstream. Other stacks beside it are switched off (their compose files renamed).
fn corpus_cases(tmp: &Path, real: &Path, label: &str) -> Vec<Case> {
    let Ok(tsv) = fs::read_to_string(real.join("SOURCES.tsv")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, line) in tsv.lines().skip(1).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 || !cols[3].starts_with("compose") {
            continue;
        }
        let owner_repo = cols[0].replace('/', "__");
        let rel = Path::new(cols[2]);
        let root = tmp.join(format!("{label}-c{k}"));
        copy_dir(&real.join(&owner_repo), &root.join("top/repo"));
        let mut stack_dir = root
            .join("top/repo")
            .join(rel.parent().unwrap_or(Path::new("")));
        let name = stack_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if crate::compose::discover::check_stack_name(&name).is_err() {
            let renamed = stack_dir.with_file_name(valid_name(&name));
            fs::rename(&stack_dir, &renamed).unwrap();
            stack_dir = renamed;
        }
        let services_dir = stack_dir.parent().unwrap().to_path_buf();
        for e in fs::read_dir(&services_dir).unwrap() {
            let p = e.unwrap().path();
            if p == stack_dir || !p.is_dir() {
                continue;
            }
            for f in COMPOSE_FILES.iter().chain(OVERRIDE_FILES).chain(&[".env"]) {
                if p.join(f).is_file() {
                    fs::rename(p.join(f), p.join(format!("{f}.off"))).unwrap();
                }
            }
        }
        let file = rel.file_name().unwrap().to_string_lossy().into_owned();
        if default_files(&stack_dir).is_none_or(|f| f[0] != Path::new(&file)) {
            let env = stack_dir.join(".env");
            let mut text = fs::read_to_string(&env).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("COMPOSE_FILE={file}\n"));
            fs::write(&env, text).unwrap();
        }
        out.push(Case {
            label: format!("{label}/{owner_repo}/{}", rel.display()),
            src: DeploySource {
                repo: root.clone(),
                services_dir,
                vars_file: None,
                vars_json: None,
            },
            root,
        });
    }
    out
}

/// A repo whose one stack reaches files by every route the loader has.
pub(super) fn routes_case(tmp: &Path) -> Case {
    let root = tmp.join("routes");
    let files: &[(&str, &str)] = &[
        (
            "services/app/compose.yaml",
            "include:\n  - ../lib/inc/compose.yaml\n\
             services:\n  web:\n    extends:\n      file: ../base/base.yaml\n      service: base\n\
             \x20   image: registry.example/web:1\n\
             \x20   env_file: [../env/common.env]\n\
             \x20   volumes:\n      - ../shared/conf:/etc/conf:ro\n      - ./local:/local\n\
             \x20   secrets: [pw]\n    configs: [cfg]\n\
             \x20 built:\n    build:\n      context: ..\n      dockerfile: app/Dockerfile\n\
             secrets:\n  pw:\n    file: ../secrets/pw.txt\n\
             configs:\n  cfg:\n    file: ../shared/app.conf\n",
        ),
        ("services/app/local/x", "x"),
        ("services/app/Dockerfile", "FROM scratch\n"),
        (
            "services/base/base.yaml",
            "services:\n  base:\n    image: registry.example/base:1\n\
             \x20   volumes: [./from-base:/b]\n",
        ),
        ("services/base/from-base/y", "y"),
        (
            "services/lib/inc/compose.yaml",
            "services:\n  inc:\n    image: registry.example/inc:1\n\
             \x20   volumes: [./data:/data]\n",
        ),
        ("services/lib/inc/data/z", "z"),
        ("services/env/common.env", "A=1\n"),
        ("services/shared/conf/nginx.conf", "c"),
        ("services/shared/app.conf", "a"),
        ("services/secrets/pw.txt", "pw"),
    ];
    for (p, text) in files {
        let p = root.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    Case {
        label: "routes".into(),
        src: DeploySource {
            repo: root.clone(),
            services_dir: root.join("services"),
            vars_file: None,
            vars_json: None,
        },
        root,
    }
}

fn examples_case() -> Case {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    Case {
        label: "examples".into(),
        src: DeploySource {
            repo: root.clone(),
            services_dir: root.join("services"),
            vars_file: Some(root.join("values.env")),
            vars_json: None,
        },
        root,
    }
}

/// Deploys `case` into `state`; the problems found, or Err when the case does not load.
fn check(case: &Case, state: &Path) -> Result<(Vec<String>, usize), String> {
    let store = StateStore::open(state).unwrap();
    let (podman, systemd, clock, report) = (
        FakePodman::default(),
        FakeSystemd::default(),
        FakeClock::default(),
        Recorder::default(),
    );
    let fx = Effects {
        podman: &podman,
        systemd: &systemd,
        clock: &clock,
        report: &report,
    };
    let renderer = RepoRenderer {
        podman_version: PodmanVersion::NEWEST,
        strict: false,
        home: Some(PathBuf::from("/home/someone")),
    };
    let o = DeployOptions {
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let id = match deploy(&store, &fx, &renderer, &case.src, &o).map_err(|e| e.to_string())? {
        DeployResult::Deployed(id) => id,
        DeployResult::InvalidInput(e) => return Err(format!("{e:?}")),
        other => return Ok((vec![format!("first deploy: {other:?}")], 0)),
    };
    let gen = store.generation_dir(id);
    let shown = shown_inputs(&store).display().to_string();
    let checkout = case.root.display().to_string();
    let mut problems = Vec::new();
    let mut seen = 0;
    let mut units: BTreeMap<PathBuf, String> = BTreeMap::new();
    for stack in fs::read_dir(gen.join("units")).unwrap() {
        for u in fs::read_dir(stack.unwrap().path()).unwrap() {
            let p = u.unwrap().path();
            units.insert(p.clone(), fs::read_to_string(&p).unwrap());
        }
    }
    let m = store.read_manifest(id).unwrap();
    for (unit, text) in &units {
        let unit = unit.display();
        if text.contains("/generations/.tmp-") {
            problems.push(format!("{unit} names the staging directory"));
        }
        if text.contains(&checkout) {
            problems.push(format!("{unit} names the live checkout {checkout}"));
        }
        for p in paths_under(text, &shown) {
            seen += 1;
            let rel = &p[shown.len()..].trim_start_matches('/');
            let in_gen = gen.join("inputs").join(rel);
            // `services/...` is the services directory; anything else is relative to the repo
            // (its parent): a build context `../..` names the repo itself.
            let in_checkout = match rel.strip_prefix("services") {
                Some(r) => Some(case.src.services_dir.join(r.trim_start_matches('/'))),
                None => case.src.services_dir.parent().map(|repo| repo.join(rel)),
            };
            let want = in_checkout.as_ref().is_some_and(|c| c.exists());
            if in_gen.exists() != want {
                problems.push(format!(
                    "{unit}: {p}: in the generation {}, in the checkout {want}",
                    in_gen.exists()
                ));
            }
        }
    }
    for (name, s) in &m.stacks {
        for sec in &s.secrets {
            seen += 1;
            if !gen.join(&sec.file).is_file() {
                problems.push(format!("stack {name}: secret file {} missing", sec.file));
            }
        }
    }
    match deploy(&store, &fx, &renderer, &case.src, &o).map_err(|e| e.to_string())? {
        DeployResult::NoChange(Some(g)) if g == id => {}
        other => problems.push(format!("a second deploy of nothing new: {other:?}")),
    }
    Ok((problems, seen))
}

#[test]
fn every_unit_path_is_in_the_committed_generation_and_a_redeploy_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = vec![examples_case(), routes_case(tmp.path())];
    cases.extend(corpus_cases(
        tmp.path(),
        Path::new("/work/shared/corpus/real"),
        "real",
    ));
    // Our own corpus (tests/conformance/corpus), the same layout.
    cases.extend(corpus_cases(
        tmp.path(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/corpus"),
        "corpus",
    ));
    let (mut loaded, mut skipped, mut paths) = (0, Vec::new(), 0);
    let mut problems = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        match check(case, &tmp.path().join(format!("state{i}"))) {
            Ok((p, seen)) => {
                loaded += 1;
                paths += seen;
                problems.extend(p.into_iter().map(|p| format!("{}: {p}", case.label)));
            }
            Err(e) if case.label.starts_with("real/") || case.label.starts_with("corpus/") => {
                skipped.push((case.label.clone(), e))
            }
            Err(e) => panic!("{} does not load: {e}", case.label),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The routes repo alone names 9 paths; the corpus adds many.
    assert!(
        loaded > 60 && paths > 100,
        "{loaded} stacks, {paths} paths; skipped {skipped:?}"
    );
}
