//! Golden output of `release-tool config` on `examples/` (JSON and YAML): a change to the files
//! under `tests/loader/config/expected/` is a behaviour change and is reviewed as such.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test --test loader_golden`.
//! The checkout's absolute path is written as `@EXAMPLES@` so the files do not depend on it.

use std::path::Path;
use std::process::Command;

fn run(format: &str) -> String {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .args(["config", "--format", format, "--services-dir"])
        .arg(examples.join("services"))
        .output()
        .expect("release-tool runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let abs = std::path::absolute(&examples).expect("absolute path");
    String::from_utf8_lossy(&out.stdout).replace(&abs.display().to_string(), "@EXAMPLES@")
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/loader/config/expected")
        .join(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual);
        panic!(
            "{} differs from the golden file (UPDATE_GOLDEN=1 to accept):\n{}",
            path.display(),
            diff.unified_diff().header("expected", "actual")
        );
    }
}

#[test]
fn config_json_of_the_examples() {
    golden("examples.json", &run("json"));
}

#[test]
fn config_yaml_of_the_examples() {
    golden("examples.yaml", &run("yaml"));
}
