//! Differential run: generated Compose projects (tests/differential/generate.rs: every field the
//! translation uses, short and long forms, interpolation, anchors, an override file, profiles,
//! edge values, and a share of projects with one mistake) loaded by docker compose and by our
//! loader, compared with the conformance test's normalizations (tests/common/compose_ref.rs).
//! Where both accept, our units for the project go through the real `quadlet -dryrun`, which must
//! accept every one, unless the translation refuses the project with an error naming the field.
//!
//! `DIFF_SEED` (default 1) and `DIFF_CASES` (default 700, about a minute here) choose the run;
//! case `i` uses seed `DIFF_SEED + i`, printed with each divergence: `DIFF_SEED=<it> DIFF_CASES=1`
//! replays it, `DIFF_SAVE=<dir>` keeps each divergent project in `<dir>/seed-<n>/`,
//! `DIFF_VERBOSE=1` prints docker compose's reason for each project both refuse, our
//! translation's for each it refuses, and each known divergence.
//! `ci/differential` runs it long.

mod common;
#[path = "differential/generate.rs"]
mod generate;
#[path = "golden/support.rs"]
mod support;
#[path = "differential/yaml.rs"]
mod yaml;

use std::path::Path;

use common::compose_ref::{compare_loaded, docker_compose, skip_or_fail, Case};
use indexmap::IndexMap;

/// How a known divergence is recognised.
enum Class {
    /// These texts all appear in the comparison's message.
    Texts(&'static [&'static str]),
}

/// Divergences known and not fixed here, with the reason. A divergence is matched against these
/// before it counts as a failure.
const KNOWN_DIVERGENCES: &[(Class, &str)] = &[(
    Class::Texts(&[
        "we fail but docker compose loads it: ",
        "].published: invalid host port ",
    ]),
    "on purpose: a long-syntax published port out of range is passed through by docker \
         compose config (the engine refuses it when the container is created); we refuse it \
         when loading, naming the field",
)];

enum Outcome {
    /// Both loaded the same model; quadlet accepted every unit.
    Agree,
    /// Both loaded the same model; our translation refused it, naming the field.
    TranslationRefused,
    BothRefuse,
    /// A known divergence (index into KNOWN_DIVERGENCES).
    Known(usize, String),
    Diverges(String),
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn write_project(dir: &Path, project: &generate::Project) {
    for (rel, text) in &project.files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write a generated file");
    }
}

fn run_case(docker: &Path, quadlet: &Path, seed: u64, project: &generate::Project) -> Outcome {
    let tmp = tempfile::tempdir().expect("tempdir");
    // <repo>/services/<stack>, as a deploy lays it out; the stack name is the project name.
    let dir = tmp.path().join("services/dt");
    write_project(&dir, project);
    let case = Case {
        label: format!("seed {seed}"),
        dir,
        files: Vec::new(),
        env: IndexMap::from([("TAG".to_string(), "2.0".to_string())]),
    };
    let compared = compare_loaded(case.reference(docker), case.ours(), &case.env);
    let stack = match compared {
        Ok((true, _)) => {
            if std::env::var_os("DIFF_VERBOSE").is_some() {
                let why = case.reference(docker).err().unwrap_or_default();
                let mistake = project.mistake.unwrap_or("none");
                eprintln!("both refuse seed={seed} (mistake: {mistake}): {why}");
            }
            return Outcome::BothRefuse;
        }
        Ok((false, Some(stack))) => stack,
        Ok((false, None)) => unreachable!("both accept without a stack"),
        Err(e) => {
            let known = KNOWN_DIVERGENCES.iter().position(|(class, _)| match class {
                Class::Texts(all) => all.iter().all(|m| e.contains(m)),
            });
            return match known {
                Some(i) => Outcome::Known(i, e),
                None => Outcome::Diverges(format!("loader: {e}")),
            };
        }
    };
    let rendered =
        match release_tool::translate::render_stack(&stack, &support::opts(support::V5_4)) {
            Ok(r) => r,
            Err(diags) => {
                return match diags.iter().find(|d| d.field.is_empty()) {
                    None => {
                        if std::env::var_os("DIFF_VERBOSE").is_some() {
                            for d in &diags {
                                eprintln!(
                                    "translation refuses seed={seed}: {}: {}",
                                    d.field, d.message
                                );
                            }
                        }
                        Outcome::TranslationRefused
                    }
                    Some(d) => Outcome::Diverges(format!(
                        "translation refused without naming a field: {d}"
                    )),
                }
            }
        };
    let units = tempfile::tempdir().expect("tempdir");
    support::write_units(units.path(), &rendered);
    let d = support::quadlet_dryrun(quadlet, units.path());
    let complaints = support::quadlet_complaints(&d);
    if !d.ok || !complaints.is_empty() {
        return Outcome::Diverges(format!(
            "quadlet rejects our units (exit ok={}):\n    {}",
            d.ok,
            complaints.join("\n    ")
        ));
    }
    // A flag given an empty value (`--platform=`) means an empty Compose field leaked through.
    for (name, unit) in support::services(&d.stdout) {
        if let Some(line) = support::key_value(&unit, "ExecStart") {
            let argv = support::systemd_exec_argv(&line);
            let empty = argv.iter().find(|a| {
                a.starts_with("--") && a.ends_with('=') && !a[2..a.len() - 1].contains('=')
            });
            if let Some(a) = empty {
                return Outcome::Diverges(format!("{name}: empty flag {a} in {argv:?}"));
            }
        }
    }
    Outcome::Agree
}

#[test]
fn generated_projects_agree_with_docker_compose_and_quadlet() {
    let Some(docker) = docker_compose() else {
        return skip_or_fail("docker compose not found (set DOCKER_COMPOSE)");
    };
    let Some(quadlet) =
        support::quadlet("generated_projects_agree_with_docker_compose_and_quadlet")
    else {
        return;
    };
    let base = env_u64("DIFF_SEED", 1);
    let count = env_u64("DIFF_CASES", 700);
    let save = std::env::var_os("DIFF_SAVE").map(std::path::PathBuf::from);
    let started = std::time::Instant::now();
    let (mut agree, mut refused_by_translation, mut both_refuse) = (0u64, 0u64, 0u64);
    let (mut with_mistake, mut mistake_refused) = (0u64, 0u64);
    let mut known = vec![0u64; KNOWN_DIVERGENCES.len()];
    let mut first_known: Vec<Option<(u64, String)>> = vec![None; KNOWN_DIVERGENCES.len()];
    let mut divergences = Vec::new();
    for i in 0..count {
        let seed = base.wrapping_add(i);
        let project = generate::Gen::new(seed).project();
        let outcome = run_case(&docker, &quadlet, seed, &project);
        if project.mistake.is_some() {
            with_mistake += 1;
            mistake_refused += u64::from(matches!(outcome, Outcome::BothRefuse));
        }
        match outcome {
            Outcome::Agree => agree += 1,
            Outcome::TranslationRefused => refused_by_translation += 1,
            Outcome::BothRefuse => both_refuse += 1,
            Outcome::Known(k, e) => {
                known[k] += 1;
                if std::env::var_os("DIFF_VERBOSE").is_some() {
                    eprintln!("known seed={seed}: {e}");
                }
                if first_known[k].is_none() {
                    first_known[k] = Some((seed, e));
                }
            }
            Outcome::Diverges(e) => {
                if let Some(dir) = &save {
                    write_project(&dir.join(format!("seed-{seed}")), &project);
                }
                let m = project.mistake.unwrap_or("none");
                eprintln!("DIVERGES seed={seed} (mistake: {m}): {e}");
                divergences.push(seed);
            }
        }
    }
    for (k, (_, why)) in KNOWN_DIVERGENCES.iter().enumerate() {
        if known[k] > 0 {
            eprintln!("known divergence x{}: {why}", known[k]);
            if let Some((seed, e)) = &first_known[k] {
                eprintln!("    first: seed={seed}: {e}");
            }
        }
    }
    let known_total: u64 = known.iter().sum();
    let agreeing = agree + refused_by_translation + both_refuse;
    eprintln!(
        "differential: {count} cases (seeds {base}..{}) in {:.0?}: {agreeing} agree ({:.2} %): \
         {agree} both accept and quadlet accepts our units, {refused_by_translation} both accept \
         and our translation refuses naming the field, {both_refuse} both refuse \
         ({mistake_refused} of {with_mistake} with a planted mistake); {known_total} known \
         divergences, {} new divergences{}",
        base.wrapping_add(count),
        started.elapsed(),
        agreeing as f64 * 100.0 / count.max(1) as f64,
        divergences.len(),
        if divergences.is_empty() {
            String::new()
        } else {
            format!(" (seeds {divergences:?})")
        }
    );
    assert!(
        divergences.is_empty(),
        "{} divergences; replay one with DIFF_SEED=<seed> DIFF_CASES=1",
        divergences.len()
    );
    // The generator must mostly make projects both accept: else the run compares little.
    assert!(
        count < 20 || agree * 2 >= count,
        "only {agree} of {count} generated projects were accepted and translated"
    );
}
