//! `release-tool config`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: config: not implemented yet");
    super::exit::FAILURE
}
