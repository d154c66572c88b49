//! The layering DESIGN.md asks for: the core (loader, translation, Quadlet writer, deploy
//! transaction, diagnostics) never reaches up into the command line (`cli`) or the commands
//! (`commands`); those wire the core to the process, not the other way round.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn nothing_below_the_commands_imports_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("diag.rs")];
    for layer in ["compose", "translate", "quadlet", "deploy"] {
        rust_files(&src.join(layer), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if [
                "crate::commands",
                "crate::cli",
                "release_tool::commands",
                "release_tool::cli",
            ]
            .iter()
            .any(|m| code.contains(m))
            {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core reaches into the commands:\n{}",
        found.join("\n")
    );
}
