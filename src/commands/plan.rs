//! `release-tool plan`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: plan: not implemented yet");
    super::exit::FAILURE
}
