//! `release-tool history`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: history: not implemented yet");
    super::exit::FAILURE
}
