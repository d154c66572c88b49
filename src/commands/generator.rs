//! The systemd user generator role (systemd.generator(7)): `release-tool-generator normal [early
//! late]`, or `release-tool generator DIR [DIR DIR]`. Writes only into the normal directory. Its
//! stderr is where systemd sends a generator's messages (the journal); the rules are in
//! systemd/README.md.

use std::path::Path;

use crate::deploy::generator::{generate, GeneratorEnv, GeneratorError};

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
            if let Some(n) = &report.notice {
                eprintln!("release-tool-generator: {n}");
            }
            for d in &report.dropins_skipped {
                eprintln!("release-tool-generator: Quadlet drop-in skipped: {d}");
            }
            for (stack, why) in &report.stacks_skipped {
                eprintln!("release-tool-generator: stack {stack} skipped: {why}");
            }
            super::exit::OK
        }
        Err(e) => {
            eprintln!("release-tool-generator: {e}");
            match e {
                GeneratorError::QuadletNotFound(_) => super::exit::MISSING_TOOL,
                _ => super::exit::FAILURE,
            }
        }
    }
}
