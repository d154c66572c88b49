//! Golden tests, loaded by the project's loader: `tests/golden/<case>/input/` (a services dir; `values.env` beside it holds the
//! global variables, `podman-version` the target) → `tests/golden/<case>/expected/`, compared
//! byte for byte. `UPDATE_GOLDEN=1` rewrites `expected/` (review the diff like code).
//! Each stack's warnings are kept in `expected/<stack>.warnings` so they are reviewed too.

#[path = "golden/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use release_tool::translate::PodmanVersion;

fn version_of(case: &Path) -> PodmanVersion {
    let text =
        std::fs::read_to_string(case.join("podman-version")).unwrap_or_else(|_| "5.4".into());
    let (a, b) = text.trim().split_once('.').expect("podman-version is X.Y");
    PodmanVersion {
        major: a.parse().unwrap(),
        minor: b.parse().unwrap(),
    }
}

/// Renders every stack of a case into file name → bytes.
fn render_case(case: &Path) -> BTreeMap<String, String> {
    let input = case.join("input");
    let input_abs = std::fs::canonicalize(&input).unwrap();
    let vars = support::global_vars(&case.join("values.env"));
    let version = version_of(case);
    let mut out = BTreeMap::new();
    let mut stacks: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    stacks.sort();
    for dir in stacks {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let dir = std::fs::canonicalize(&dir).unwrap();
        let stack =
            support::load(&name, &dir, &[], &vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Absolute paths of the checkout would make the bytes depend on where it lives.
        let placeholder = |s: &str| s.replace(&*input_abs.to_string_lossy(), "@INPUT@");
        match release_tool::translate::render_stack(&stack, &support::opts(version)) {
            Ok(r) => {
                for u in &r.units {
                    out.insert(u.file_name.clone(), placeholder(&u.contents));
                }
                let w: String = r.warnings.iter().map(|w| format!("{w}\n")).collect();
                if !w.is_empty() {
                    out.insert(format!("{name}.warnings"), placeholder(&w));
                }
            }
            Err(d) => {
                let e: String = d.iter().map(|w| format!("{w}\n")).collect();
                out.insert(format!("{name}.errors"), placeholder(&e));
            }
        }
    }
    out
}

#[test]
fn golden_cases() {
    let root = support::manifest_dir().join("tests/golden");
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 3,
        "golden cases missing under {}",
        root.display()
    );
    let mut failures = Vec::new();
    for case in cases {
        let got = render_case(&case);
        let expected_dir = case.join("expected");
        if update {
            let _ = std::fs::remove_dir_all(&expected_dir);
            std::fs::create_dir_all(&expected_dir).unwrap();
            for (f, t) in &got {
                std::fs::write(expected_dir.join(f), t).unwrap();
            }
            continue;
        }
        let mut expected = BTreeMap::new();
        for e in std::fs::read_dir(&expected_dir).unwrap_or_else(|_| {
            panic!(
                "{}: no expected/ (run with UPDATE_GOLDEN=1)",
                case.display()
            )
        }) {
            let p = e.unwrap().path();
            expected.insert(
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            );
        }
        let names: std::collections::BTreeSet<_> =
            got.keys().chain(expected.keys()).cloned().collect();
        for n in names {
            match (got.get(&n), expected.get(&n)) {
                (Some(g), Some(e)) if g == e => {}
                (Some(g), Some(e)) => failures.push(format!(
                    "{}/{n} differs:\n{}",
                    case.display(),
                    similar::TextDiff::from_lines(e.as_str(), g.as_str()).unified_diff()
                )),
                (Some(_), None) => failures.push(format!(
                    "{}/{n}: generated but not expected",
                    case.display()
                )),
                (None, _) => failures.push(format!(
                    "{}/{n}: expected but not generated",
                    case.display()
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
