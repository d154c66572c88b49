//! `release-tool generate-units`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: generate-units: not implemented yet");
    super::exit::FAILURE
}
