//! Shell completions (issue 8): generated from the one table of commands and options, checked by
//! running them in the real shells: bash completes commands, each command's options (and only
//! those), `--format` values and directories; zsh and fish parse their scripts and fish lists
//! the same completions.

mod common;

use std::process::Command;

fn script(shell: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// What bash completes for `words` (the last one being completed).
fn bash_complete(path: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _release_tool; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let o = Command::new("bash").args(["-c", &prog]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_their_options_and_values() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("release-tool.bash");
    std::fs::write(&path, script("bash")).unwrap();
    std::fs::create_dir(t.path().join("somedir")).unwrap();
    assert_eq!(bash_complete(&path, &["release-tool", "dep"]), ["deploy"]);
    assert_eq!(
        bash_complete(&path, &["release-tool", "deploy", "--ti"]),
        ["--timeout"]
    );
    // An option the command does not take is not offered.
    assert!(bash_complete(&path, &["release-tool", "config", "--w"]).is_empty());
    assert_eq!(
        bash_complete(&path, &["release-tool", "history", "--format", ""]),
        ["text", "json"]
    );
    // A value of an option is not taken for the command.
    assert_eq!(
        bash_complete(&path, &["release-tool", "--repo", "/tmp", "pl"]),
        ["plan"]
    );
    let dir = format!("{}/some", t.path().display());
    assert_eq!(
        bash_complete(&path, &["release-tool", "plan", "--repo", &dir]),
        [format!("{}/somedir", t.path().display())]
    );
    assert_eq!(
        bash_complete(&path, &["release-tool", "manage-services", "r"]),
        ["restart"]
    );
    // Every command's options are offered for it.
    for c in release_tool::cli::COMMANDS {
        let got = bash_complete(&path, &["release-tool", c.name, "--"]);
        for f in c.flags {
            assert!(got.contains(&format!("--{f}")), "{} --{f}: {got:?}", c.name);
        }
    }
}

#[test]
fn zsh_and_fish_load_their_scripts() {
    let t = tempfile::tempdir().unwrap();
    if let Some(zsh) =
        common::lab::require_binary("zsh completions", "ZSH", &["/usr/bin/zsh", "/bin/zsh"])
    {
        let path = t.path().join("_release-tool");
        std::fs::write(&path, script("zsh")).unwrap();
        let o = Command::new(zsh).arg("-n").arg(&path).output().unwrap();
        assert!(
            o.status.success(),
            "zsh -n: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    if let Some(fish) = common::lab::require_binary("fish completions", "FISH", &["/usr/bin/fish"])
    {
        let path = t.path().join("release-tool.fish");
        std::fs::write(&path, script("fish")).unwrap();
        let o = Command::new(&fish)
            .arg("--no-execute")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "fish -n: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let complete = |line: &str| {
            let o = Command::new(&fish)
                .args(["--no-config", "-c"])
                .arg(format!("source '{}'; complete -C '{line}'", path.display()))
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        assert!(
            complete("release-tool dep").starts_with("deploy\t"),
            "{}",
            complete("release-tool dep")
        );
        let opts = complete("release-tool deploy --ti");
        assert!(opts.starts_with("--timeout"), "{opts}");
        assert!(!complete("release-tool config --").contains("--wait"));
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bash, zsh or fish"));
}
