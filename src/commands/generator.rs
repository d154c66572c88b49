//! The systemd user generator role (systemd.generator(7)): `release-tool-generator normal [early
//! late]`, or `release-tool generator DIR [DIR DIR]`. Writes only into the normal directory.

use std::path::Path;

use crate::deploy::generator::{generate, GeneratorEnv};

/// `dirs`: the generator's one or three output directories (normal, early, late).
pub fn run(dirs: &[String]) -> u8 {
    if dirs.len() != 1 && dirs.len() != 3 {
        eprintln!(
            "release-tool-generator: expected 1 or 3 directory arguments, got {}",
            dirs.len()
        );
        return super::exit::USAGE;
    }
    let normal = Path::new(&dirs[0]);
    match generate(&GeneratorEnv::from_process(), normal) {
        Ok(report) => {
            for (stack, why) in &report.stacks_skipped {
                eprintln!("release-tool-generator: stack {stack} skipped: {why}");
            }
            super::exit::OK
        }
        Err(e) => {
            eprintln!("release-tool-generator: {e}");
            if e.contains("quadlet not found") {
                super::exit::MISSING_TOOL
            } else {
                super::exit::FAILURE
            }
        }
    }
}
