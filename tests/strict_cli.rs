//! `--strict` through the real binary (issue 8): an unknown key is an error, not only a field
//! Podman cannot carry, in every command that takes `--strict`; without it the key is a warning
//! that points at the key, says "did you mean", and stays when the stack also has errors.
//! No lab: `deploy --strict` is refused while rendering, before anything on the host is touched.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use release_tool::cli::COMMANDS;

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_release-tool"));
    c.env_remove("RELEASE_TOOL_REPO")
        .env_remove("RELEASE_TOOL_STATE_DIR")
        .stdin(Stdio::null());
    c
}

/// A repo with one stack `web` whose compose file is `compose`.
fn repo(compose: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("repo/services/web");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("compose.yaml"), compose).unwrap();
    fs::create_dir_all(t.path().join("state")).unwrap();
    t
}

/// Runs `command` on the repo in `t` with the options it needs to get as far as loading.
fn run(t: &Path, command: &str, strict: bool) -> Output {
    let mut c = tool();
    c.arg(command).arg("--repo").arg(t.join("repo"));
    match command {
        "generate-units" => {
            c.arg("--output-dir").arg(t.join("out"));
        }
        "plan" | "deploy" => {
            c.arg("--state-dir").arg(t.join("state"));
        }
        _ => {}
    }
    if command != "config" {
        c.args(["--podman-version", "5.4"]);
    }
    if strict {
        c.arg("--strict");
    }
    c.output().unwrap()
}

const TYPO: &str = "services:\n  web:\n    image: docker.io/library/nginx:1\n    imagee: nginx\n";

#[test]
fn every_command_that_takes_strict_refuses_an_unknown_key() {
    let strict: Vec<&str> = COMMANDS
        .iter()
        .filter(|c| c.flags.contains(&"strict"))
        .map(|c| c.name)
        .collect();
    assert_eq!(strict, ["config", "generate-units", "plan", "deploy"]);
    let t = repo(TYPO);
    for command in strict {
        let out = run(t.path(), command, true);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command} --strict: {err}");
        let file = t.path().join("repo/services/web/compose.yaml");
        let want = format!(
            "{}:4:5: error: services.web.imagee: unknown key 'imagee'; did you mean 'image'?",
            file.display()
        );
        assert!(
            err.contains(&want),
            "{command} --strict:\n{err}\nwants {want}"
        );
        assert!(!err.contains("(ignored)"), "{command}: {err}");
    }
    // Nothing was deployed: no generation, no unit written.
    assert!(!t.path().join("out").join("web.target").exists());
    let generations = t.path().join("state/generations");
    assert!(fs::read_dir(&generations).map_or(true, |mut d| d.next().is_none()));
}

#[test]
fn without_strict_an_unknown_key_is_a_warning_at_the_key() {
    let t = repo(TYPO);
    // deploy would go on to pull: the commands that stop short of the host.
    for command in ["config", "generate-units", "plan"] {
        let out = run(t.path(), command, false);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(0), "{command}: {text}");
        assert!(
            text.contains(
                "compose.yaml:4:5: warning: services.web.imagee: unknown key 'imagee' (ignored); \
                 did you mean 'image'?"
            ),
            "{command}:\n{text}"
        );
    }
}

#[test]
fn the_unknown_key_warning_stays_when_the_stack_has_errors() {
    // `imagee` is the cause of the error: the service has no image.
    let t = repo("services:\n  web:\n    imagee: nginx\n    ports: [\"x:y:z:w\"]\n");
    for command in ["config", "generate-units", "plan"] {
        let out = run(t.path(), command, false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command}: {err}");
        assert!(
            err.contains("compose.yaml:3:5: warning: services.web.imagee: unknown key 'imagee'"),
            "{command}:\n{err}"
        );
        assert!(err.contains("error:"), "{command}:\n{err}");
    }
    // The same when the error comes from the translation, after a load that succeeded.
    let t = repo("services:\n  web:\n    image: \"Not An Image\"\n    imagee: nginx\n");
    for command in ["generate-units", "plan"] {
        let out = run(t.path(), command, false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command}: {err}");
        assert!(
            err.contains("compose.yaml:4:5: warning: services.web.imagee: unknown key 'imagee'")
                && err.contains(
                    "services.web.image: \"Not An Image\" is not a valid image reference"
                ),
            "{command}:\n{err}"
        );
    }
}
